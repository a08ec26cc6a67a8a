"""Tests of the worker's gateway package against real Redis and the simulator."""
