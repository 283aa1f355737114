"""Where the app keeps its data: platformdirs by default, relocatable for tests and users."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["HOME_ENV", "resolve_cache_dir", "resolve_config_dir", "resolve_data_dir"]

HOME_ENV = "DESKTOP_APP_HOME"
APP_NAME = "desktop-app"


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: an explicit path, else $DESKTOP_APP_HOME, else the user data dir."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    from_env = os.environ.get(HOME_ENV)
    if from_env:
        return Path(from_env).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def resolve_config_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where settings live: beside the data when it was relocated, else the user config dir."""
    if explicit or os.environ.get(HOME_ENV):
        return resolve_data_dir(explicit) / "config"
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def resolve_cache_dir() -> Path:
    """What the app learns about this machine (not the person's data): beside the data when it
    was relocated, else the user cache dir."""
    if os.environ.get(HOME_ENV):
        return resolve_data_dir() / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
