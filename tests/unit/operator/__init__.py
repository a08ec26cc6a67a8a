"""Tests of the operator: the DiscordBot CRD and its spec parser."""
