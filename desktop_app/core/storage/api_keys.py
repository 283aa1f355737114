"""API keys for servers, kept apart from the settings: in the system's keyring where there is
one (the `keyring` package: Secret Service, macOS Keychain, Windows Credential Locker), else in
a file only this user can read. Keys never enter settings files, logs, --json output or
exported conversations: nothing but the server's backend reads them.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

__all__ = ["KeyStore"]

log = logging.getLogger(__name__)

SERVICE = "desktop-app"


class KeyStore:
    """Keys by server address. `folder` holds the fallback file (`api-keys.json`, mode 0600)."""

    def __init__(self, folder: Path) -> None:
        self._file = folder / "api-keys.json"

    def save(self, url: str, key: str) -> str:
        """Keep `key` for the server at `url`; returns where it went, for the person."""
        import keyring
        from keyring.errors import KeyringError

        try:
            keyring.set_password(SERVICE, url, key)
            self._write({k: v for k, v in self._read().items() if k != url})
            return f"the system keyring ({type(keyring.get_keyring()).__name__})"
        except (KeyringError, RuntimeError) as exc:  # no keyring on this machine
            log.info("no usable keyring (%s); keeping the key in %s", exc, self._file)
        self._write({**self._read(), url: key})
        return f"{self._file} (readable by you only)"

    def load(self, url: str) -> str | None:
        import keyring
        from keyring.errors import KeyringError

        try:
            key = keyring.get_password(SERVICE, url)
        except (KeyringError, RuntimeError):
            key = None
        return key if key is not None else self._read().get(url)

    def delete(self, url: str) -> bool:
        """Forget the key for `url`; whether there was one."""
        import keyring
        from keyring.errors import KeyringError, PasswordDeleteError

        found = False
        try:
            keyring.delete_password(SERVICE, url)
            found = True
        except (PasswordDeleteError, KeyringError, RuntimeError):
            pass
        stored = self._read()
        if url in stored:
            self._write({k: v for k, v in stored.items() if k != url})
            found = True
        return found

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self._file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _write(self, keys: dict[str, str]) -> None:
        if not keys and not self._file.exists():
            return
        self._file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._file.with_suffix(".tmp")
        # Created readable by this user only, before a byte of a key is written.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(keys, handle)
        os.chmod(tmp, 0o600)
        tmp.replace(self._file)
