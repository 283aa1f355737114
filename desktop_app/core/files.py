"""Small facts about files on disk, shared by indexing and downloads."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["file_digest", "file_size", "resolved", "symlink_problem"]


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


def resolved(path: Path) -> Path:
    """The absolute path with links followed; a link that loops or points at nothing stays as
    written (absolute), so that it fails alone with its reason instead of stopping the batch."""
    path = path.expanduser()
    try:
        target = path.resolve()
    except (RuntimeError, OSError):  # "Symlink loop from ..."
        return path.absolute()
    return path.absolute() if path.is_symlink() and not target.exists() else target


def symlink_problem(path: Path) -> str | None:
    """Why a symbolic link cannot be read: it loops or points at nothing; None otherwise."""
    if not path.is_symlink() or path.exists():
        return None
    try:
        path.resolve(strict=True)
    except RuntimeError:
        return "it is a symbolic link that loops back on itself"
    except OSError:
        pass
    return f"it is a symbolic link to {path.readlink()}, which does not exist"
