"""The simulator's `/_sim` control API: injected events reach sessions, read-backs, stats, load."""
