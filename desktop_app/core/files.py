"""Small facts about files on disk, shared by indexing and downloads."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["file_digest", "file_size"]


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in blocks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, algorithm).hexdigest()


def file_size(path: Path) -> int:
    """Size in bytes; 0 for a file that is missing or cannot be read."""
    try:
        return path.stat().st_size
    except OSError:
        return 0
