"""Parsers for the isolation tests; a module of their own, so a spawned worker can import them."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from desktop_app.core.ingest.parsing import ParsedDocument, PlainTextParser


class Misbehaving(PlainTextParser):
    """Reads plain text, except files whose name says to hang, to eat memory or to crash."""

    def parse(self, path: Path) -> ParsedDocument:
        if "hang" in path.name:
            time.sleep(3600)
        if "hog" in path.name:
            hoard = [bytearray(50_000_000) for _ in range(40)]  # 2 GB, touched page by page
            for block in hoard:
                block[::4096] = b"x" * len(block[::4096])
            time.sleep(3600)
        if "crash" in path.name:
            os.kill(os.getpid(), signal.SIGSEGV)
        if "mark" in path.name:  # says it was read, and by whom
            path.with_suffix(".read").write_text(str(os.getpid()), encoding="utf-8")
        return super().parse(path)


def misbehaving() -> Misbehaving:
    return Misbehaving()
