"""Two shard generations side by side: listener gating, claims, real worker processes."""
