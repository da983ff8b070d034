"""Domain layer: plain data, no I/O, no UI."""
