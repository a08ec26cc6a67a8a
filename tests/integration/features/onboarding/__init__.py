"""Onboarding's repository against a real PostgreSQL with its migrations applied."""
