"""Integration tests of the Discord simulator, served in-process on a loopback port."""
