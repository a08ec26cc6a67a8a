"""Shoal's test suite: unit/ (pure), integration/ (real servers, simulators), e2e/ (fleets)."""
