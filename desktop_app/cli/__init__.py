"""The command-line client of the core."""
