"""A migration file whose name lacks the four-digit version."""
