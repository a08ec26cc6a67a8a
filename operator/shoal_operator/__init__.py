"""The Shoal operator (arrives with issue 4)."""
