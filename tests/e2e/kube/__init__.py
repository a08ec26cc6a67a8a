"""An in-memory Kubernetes for e2e tests: the API emulator, its fixtures and a simulated kubelet.

Owns test infrastructure only; nothing here is imported by Shoal's own packages.
"""

from __future__ import annotations

__all__: list[str] = []
