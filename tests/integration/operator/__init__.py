"""Integration tests of the operator's I/O: Discord's API through the simulator."""
