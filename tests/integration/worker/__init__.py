"""Acceptance tests of the shard worker: worker processes, the simulator, real Redis."""
