"""Integration tests of `shoal.local`: real servers, the simulator and worker processes."""
