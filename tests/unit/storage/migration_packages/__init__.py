"""Packages of ``.sql`` files for the migration loading tests (data, not tests)."""
