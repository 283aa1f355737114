"""The Library facade: the user's workspaces, the global settings and the shared backends."""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from pathlib import Path

from filelock import FileLock

from desktop_app.core.backends import Backends, RealBackends
from desktop_app.core.errors import UserError, WorkspaceExists, WorkspaceNotFound
from desktop_app.core.models.model_manager import Models
from desktop_app.core.paths import resolve_config_dir, resolve_data_dir
from desktop_app.core.search.shared_index import SharedStore
from desktop_app.core.storage.api_keys import KeyStore
from desktop_app.core.storage.settings import Settings, load_settings, save_settings
from desktop_app.core.storage.workspace_info import INFO_FILE, WorkspaceInfo, change_info
from desktop_app.core.workspace import Workspace

__all__ = ["Library"]

log = logging.getLogger(__name__)


class Library:
    """Create, list, rename, delete and open workspaces under one data directory."""

    def __init__(self, data_dir: str | Path | None = None, backends: Backends | None = None) -> None:
        self.data_dir = resolve_data_dir(data_dir)
        self.workspaces_dir = self.data_dir / "workspaces"
        self.models_dir = self.data_dir / "models"
        self.models = Models(self.models_dir)
        self.settings_path = resolve_config_dir(data_dir) / "settings.json"
        # API keys of servers, beside the settings but never in them.
        self.keys = KeyStore(self.settings_path.parent)
        self.workspaces_dir.mkdir(parents=True, exist_ok=True)
        self.backends: Backends = backends or RealBackends()
        self._settings = load_settings(self.settings_path)
        self._open: dict[str, Workspace] = {}

    # -- settings ----------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._settings

    def use_settings(self, settings: Settings) -> Settings:
        """Take settings another process has saved (the window's, sent to its engine) without
        reading the file again; open workspaces see them at once."""
        self._settings = settings
        return settings

    def update_settings(self, **changes: object) -> Settings:
        """Change and persist global settings; open workspaces see them at once."""
        settings = self._settings.with_overrides(dict(changes), strict=True)
        self.check_model(settings, changes)
        save_settings(settings, self.settings_path)
        self._settings = settings
        return settings

    def check_model(self, settings: Settings, changes: dict[str, object]) -> None:
        """Refuse a model that is not installed, or a context longer than it was trained for,
        when `changes` touch either (a model on a server says for itself)."""
        if settings.server_url or not {"model", "context_size"} & changes.keys():
            return
        problem = self.models.problem(settings.model, settings.context_size)
        if problem:
            raise UserError(problem)

    # -- workspaces --------------------------------------------------------------------------

    def list(self) -> list[WorkspaceInfo]:
        infos = []
        for folder in sorted(self.workspaces_dir.iterdir()):
            if (folder / INFO_FILE).is_file():
                infos.append(WorkspaceInfo.load(folder))
        return sorted(infos, key=lambda i: i.name.lower())

    def create(self, name: str, shared: SharedStore | None = None) -> Workspace:
        """A new workspace; with `shared`, one whose passages live on a Chroma server, new
        there or already filled by others (its embedder is then taken for this workspace)."""
        name = _valid_name(name)
        with self._naming_lock():  # two processes creating one name make one workspace
            if self._find(name) is not None:
                raise WorkspaceExists(f"a workspace named {name!r} already exists")
            info = WorkspaceInfo(uuid.uuid4().hex[:12], name, time.time())
            if shared is not None:
                self._join(info, shared)
            folder = self.workspaces_dir / info.id
            folder.mkdir(parents=True)
            info.save(folder)
        return self.open(name)

    def _join(self, info: WorkspaceInfo, shared: SharedStore) -> None:
        """Reach the server (a wrong address, token or certificate fails here, before
        anything is created) and take the embedder its passages were made with."""
        index = self.backends.shared_index(shared, self.keys.load(shared.url))
        try:
            embedder = index.embedder()
        finally:
            index.close()
        info.shared = shared.to_json()
        if embedder is not None:
            info.embedder = embedder
            info.overrides["embedder"] = embedder["name"]

    def _naming_lock(self) -> FileLock:
        self.workspaces_dir.mkdir(parents=True, exist_ok=True)
        return FileLock(self.workspaces_dir / ".naming.lock")

    def open(self, name: str) -> Workspace:
        folder = self._find(name)
        if folder is None:
            raise WorkspaceNotFound(f"no workspace named {name!r} (see: workspace list)")
        key = folder.name
        if key not in self._open:  # (its workspace.json is read afresh whenever it changes)
            self._open[key] = Workspace(folder, lambda: self._settings, self.backends, self.models_dir,
                                          self.keys)
        return self._open[key]

    def open_or_create(self, name: str) -> Workspace:
        try:
            return self.create(name)
        except WorkspaceExists:
            return self.open(name)

    def rename(self, name: str, new_name: str) -> None:
        new_name = _valid_name(new_name)
        folder = self._find(name)
        if folder is None:
            raise WorkspaceNotFound(f"no workspace named {name!r}")
        other = self._find(new_name)
        if other is not None and other != folder:
            raise WorkspaceExists(f"a workspace named {new_name!r} already exists")
        change_info(folder, lambda info: setattr(info, "name", new_name))

    def delete(self, name: str) -> None:
        folder = self._find(name)
        if folder is None:
            raise WorkspaceNotFound(f"no workspace named {name!r}")
        self._close_open(folder)
        shutil.rmtree(folder)

    def forget(self, name: str) -> None:
        """Close a workspace this process has open (before another process deletes it)."""
        folder = self._find(name)
        if folder is not None:
            self._close_open(folder)

    def _close_open(self, folder: Path) -> None:
        workspace = self._open.pop(folder.name, None)
        if workspace is not None:
            workspace.close()

    def close(self) -> None:
        for workspace in self._open.values():
            workspace.close()
        self._open.clear()

    def _find(self, name: str) -> Path | None:
        wanted = name.strip().casefold()
        for folder in self.workspaces_dir.iterdir():
            info_file = folder / INFO_FILE
            if info_file.is_file() and WorkspaceInfo.load(folder).name.casefold() == wanted:
                return folder
        return None


def _valid_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise UserError("a workspace needs a name")
    if len(cleaned) > 100:
        raise UserError("a workspace name can be at most 100 characters")
    return cleaned
