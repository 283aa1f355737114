"""Damaged workspace files: set them aside (never delete them) and save what can be read.

The search index (Chroma's files under `vectors/`) is derived data: Workspace.heal rebuilds
it from the passages in the workspace database. The workspace database holds what cannot be
derived (the passages of documents that may be gone from disk, the conversations), so a
damaged one is copied aside and every row that can still be read is carried into a new one;
documents whose passages were lost are marked for re-indexing.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import time
from pathlib import Path

from desktop_app.core.errors import BackendError
from desktop_app.core.storage.database import FTS_REBUILD_SQL, Database
from desktop_app.core.storage.writer_lock import WriterLock

__all__ = ["open_database", "set_aside"]

log = logging.getLogger(__name__)
KEEP_COPIES = 3  # damaged copies kept per file; older ones are deleted
REPAIR_WAIT_S = 60
# Tables carried over from a damaged database, parents first (foreign keys).
_SALVAGED = ("documents", "chunks", "threads", "messages")


def set_aside(path: Path) -> Path | None:
    """Rename a damaged file or folder to `NAME.damaged-TIMESTAMP` beside it; returns the new
    path (None when there was nothing there). Only the newest KEEP_COPIES copies stay."""
    if not path.exists():
        return None
    target = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    n = 1
    while target.exists():
        n += 1
        target = target.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
    path.rename(target)
    copies = sorted(path.parent.glob(f"{path.name}.damaged-*"), key=lambda p: p.stat().st_mtime)
    for old in copies[:-KEEP_COPIES]:
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    return target


def _problem(path: Path) -> str | None:
    """What is wrong with the database file, or None when SQLite finds it sound."""
    try:
        conn = sqlite3.connect(str(path))
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    found = [str(r[0]) for r in rows if r[0] != "ok"]
    return "; ".join(found[:3]) or None


def open_database(path: Path, writer: WriterLock) -> tuple[Database, str | None]:
    """The workspace database, checked; a damaged one is replaced by what could be saved
    from it, by one process (the workspace's writer). The second value says what happened,
    for the person (None when all was well)."""
    if not path.exists() or _problem(path) is None:
        return Database(path), None
    if not writer.acquire_blocking("database repair", REPAIR_WAIT_S):
        raise BackendError(f"the workspace database {path} is damaged and another process is "
                           "using it; close the other window or command and try again")
    try:
        problem = _problem(path)  # another process may have repaired it meanwhile
        if problem is None:
            return Database(path), None
        return _replace(path, problem)
    finally:
        writer.release()


def _replace(path: Path, problem: str) -> tuple[Database, str]:
    log.error("workspace database %s is damaged: %s", path, problem)
    kept = set_aside(path)
    for suffix in ("-wal", "-shm"):
        sidecar = path.with_name(path.name + suffix)
        if sidecar.exists() and kept is not None:
            sidecar.rename(kept.with_name(kept.name + suffix))
    database = Database(path)
    saved = _salvage(kept, database) if kept is not None else {}
    counts = ", ".join(f"{n} {table}" for table, n in saved.items())
    return database, (f"its database was damaged ({problem}); a copy is kept in {kept}. "
                      f"Saved: {counts or 'nothing'}; documents whose passages were lost are "
                      "indexed again by the next add")


def _salvage(damaged: Path, database: Database) -> dict[str, int]:
    """Copy every readable row of the damaged file into the new database; rows per table."""
    saved: dict[str, int] = {}
    try:
        source = sqlite3.connect(f"file:{damaged}?mode=ro", uri=True)
    except sqlite3.DatabaseError:
        return saved
    try:
        with database.transaction() as conn:
            for table in _SALVAGED:
                saved[table] = _copy_rows(source, conn, table)
            for statement in FTS_REBUILD_SQL.split(";\n"):
                conn.execute(statement)
            # A document whose passages did not all survive is indexed again by the next add.
            conn.execute("UPDATE documents SET sha256 = NULL, signature = NULL WHERE chunks !="
                         " (SELECT count(*) FROM chunks WHERE chunks.document = documents.path)")
    finally:
        source.close()
    return saved


def _copy_rows(source: sqlite3.Connection, target: sqlite3.Connection, table: str) -> int:
    """Rows are read one by one: a damaged page ends the table, not the salvage."""
    copied = 0
    try:
        cursor = source.execute(f"SELECT * FROM {table}")  # noqa: S608 - a fixed table name
        columns = [d[0] for d in cursor.description]
        insert = (f"INSERT OR IGNORE INTO {table}({', '.join(columns)}) "  # noqa: S608
                  f"VALUES ({', '.join('?' * len(columns))})")
        for row in cursor:
            try:
                target.execute(insert, row)
                copied += 1
            except sqlite3.IntegrityError:
                continue  # e.g. a chunk whose document row was lost
    except sqlite3.DatabaseError as exc:
        log.warning("salvaging %s stopped after %d rows: %s", table, copied, exc)
    return copied
