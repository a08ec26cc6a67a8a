"""Protocol-level simulators of Discord (and later Lavalink) for tests, load tests and the local fleet."""
