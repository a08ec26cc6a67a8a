"""Tests of the levels feature's pure rules and settings."""
