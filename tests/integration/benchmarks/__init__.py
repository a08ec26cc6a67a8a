"""Smoke tests of the fleet benchmarks in loadtests/: they run and print their figures."""
