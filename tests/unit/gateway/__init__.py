"""Tests of the gateway helpers that need no server."""
