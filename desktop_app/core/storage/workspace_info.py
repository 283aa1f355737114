"""What a workspace's workspace.json holds, and how processes change it without losing each
other's changes."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

__all__ = ["INFO_FILE", "WorkspaceInfo", "change_info", "info_stamp"]

INFO_FILE = "workspace.json"


@dataclass(slots=True)
class WorkspaceInfo:
    """What workspace.json holds."""

    id: str
    name: str
    created_at: float
    embedder: dict[str, Any] | None = None  # {"name": ..., "dimensions": ...} once indexed
    overrides: dict[str, Any] = field(default_factory=dict)
    pinned: list[str] = field(default_factory=list)  # documents always given to the model
    watched: list[str] = field(default_factory=list)  # folders kept in sync (Workspace.sync)
    shared: dict[str, Any] | None = None  # a shared workspace's server (SharedStore.to_json)

    @classmethod
    def load(cls, folder: Path) -> WorkspaceInfo:
        data = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
        return cls(data["id"], data["name"], data["created_at"], data.get("embedder"),
                   data.get("overrides", {}), data.get("pinned", []), data.get("watched", []),
                   data.get("shared"))

    def save(self, folder: Path) -> None:
        tmp = folder / (INFO_FILE + ".tmp")
        tmp.write_text(json.dumps({
            "id": self.id, "name": self.name, "created_at": self.created_at,
            "embedder": self.embedder, "overrides": self.overrides, "pinned": self.pinned,
            "watched": self.watched, "shared": self.shared,
        }, indent=2), encoding="utf-8")
        tmp.replace(folder / INFO_FILE)


def change_info(folder: Path, change: Callable[[WorkspaceInfo], object]
                ) -> tuple[WorkspaceInfo, tuple[int, int]]:
    """Read a workspace's workspace.json, change it and write it back, one process at a time:
    a change another process made since this one last read the file is kept."""
    with FileLock(folder / (INFO_FILE + ".lock")):
        info = WorkspaceInfo.load(folder)
        change(info)
        info.save(folder)
        return info, info_stamp(folder / INFO_FILE)  # stamped before another writer can write


def info_stamp(path: Path) -> tuple[int, int]:
    """When a file last changed, and its size: enough to tell that another process wrote it."""
    try:
        status = path.stat()
    except OSError:
        return (0, 0)
    return (status.st_mtime_ns, status.st_size)
