"""Unit tests of the benchmarks: their pure parts."""
