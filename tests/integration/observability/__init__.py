"""The health and metrics server on a real loopback port."""
