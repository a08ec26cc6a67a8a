"""A package with no migration files at all."""
