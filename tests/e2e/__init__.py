"""The operator against the Kubernetes emulator and whole fleets; marked `e2e` by path."""
