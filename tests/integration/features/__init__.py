"""Integration tests of the features, against real Redis and PostgreSQL."""
