"""Protocol-level simulators of Discord (later Lavalink) for tests, load tests, local runs."""
