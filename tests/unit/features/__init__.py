"""Tests of the features' pure rules."""
