"""Tests of the core feature's pure rules."""
