"""Pure planning for the fleet: shard ranges, identify buckets, close-code policy, reshard plans.

Stdlib only, no I/O: every function takes data (and `now`) and returns a decision. The
operator and `shoal local up` share it. import-linter enforces both rules.
"""
