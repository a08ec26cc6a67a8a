"""Unit tests of the pure parts of `shoal.local`."""
