"""Pure logic of the Discord simulator: rate-limit arithmetic, body rules."""
