"""Tests against real Redis and PostgreSQL servers and the simulators; marked `integration`."""
