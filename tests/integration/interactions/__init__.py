"""Commands through the real hikari and arc path against the Discord simulator and Redis."""
