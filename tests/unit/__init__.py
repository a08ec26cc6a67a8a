"""Pure tests: no servers, no sockets, no real time; marked `unit` by path."""
