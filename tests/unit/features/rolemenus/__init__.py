"""Tests of role menus' pure parts: rules, components, settings."""
