"""Integration tests of the levels feature: ledger, flushing and the tap."""
