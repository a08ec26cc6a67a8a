"""Tests of onboarding's pure parts: settings, rules, components."""
