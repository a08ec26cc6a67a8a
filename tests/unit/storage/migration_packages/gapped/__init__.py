"""Migrations 1 and 3: version 2 is missing."""
