"""Chaos tests: a whole local fleet broken while it serves."""
