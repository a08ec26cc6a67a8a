"""Shoal: one Discord bot at any scale on Kubernetes."""
