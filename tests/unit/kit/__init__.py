"""Tests of the feature kit."""
