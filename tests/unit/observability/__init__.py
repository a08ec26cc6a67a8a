"""Tests of logging, metrics and the readiness rules (no servers)."""
