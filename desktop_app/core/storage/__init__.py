"""Storage: the workspace database, its chunks and threads, settings, keys and locks."""
