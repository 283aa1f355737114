"""The workspace's SQLite database: schema, migrations and the connection that owns them."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["CARD_CHUNKS", "CARD_SQL", "FTS_REBUILD_SQL", "Database"]

# A document's card, what its passages cannot say about themselves: its path, its context
# header and its opening text (its first two chunks), where titles, parties and
# periods usually stand.
CARD_CHUNKS = 2
CARD_SQL = f"""
    INSERT INTO documents_fts(path, name, card)
    SELECT documents.path, documents.path, (SELECT group_concat(piece, ' ') FROM
        (SELECT CASE ordinal WHEN 0 THEN context || ' ' || text ELSE text END AS piece
         FROM chunks WHERE chunks.document = documents.path ORDER BY ordinal LIMIT {CARD_CHUNKS}))
    FROM documents WHERE documents.status = 'indexed'
"""
# Fill the keyword indexes from the chunks and documents tables.
FTS_REBUILD_SQL = (
    "INSERT INTO chunks_fts(rowid, text) SELECT rowid, text FROM chunks;\n"
    + CARD_SQL
)

# Each entry upgrades the schema by one version (PRAGMA user_version).
_MIGRATIONS: list[str] = [
    """
    CREATE TABLE documents (
        path TEXT PRIMARY KEY,
        sha256 TEXT,
        size_bytes INTEGER NOT NULL DEFAULT 0,
        mtime REAL,
        status TEXT NOT NULL,
        chunks INTEGER NOT NULL DEFAULT 0,
        pages INTEGER,
        error TEXT,
        signature TEXT,
        updated_at REAL NOT NULL
    );
    CREATE TABLE chunks (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        document TEXT NOT NULL REFERENCES documents(path) ON DELETE CASCADE,
        ordinal INTEGER NOT NULL,
        text TEXT NOT NULL,
        page INTEGER,
        section TEXT,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        kinds TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX chunks_by_document ON chunks(document, ordinal);
    CREATE VIRTUAL TABLE chunks_fts USING fts5(
        text, tokenize = 'porter unicode61 remove_diacritics 2'
    );
    -- Chunk ids that may exist in the vector store without a row in `chunks` (written before
    -- the SQLite commit, or deleted from SQLite before the vector store): swept on open.
    CREATE TABLE vector_journal (id TEXT PRIMARY KEY);
    CREATE TABLE threads (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content TEXT NOT NULL,
        citations TEXT NOT NULL DEFAULT '[]',
        created_at REAL NOT NULL
    );
    CREATE INDEX messages_by_thread ON messages(thread_id, id);
    """,
    """
    -- Chunks of the document being indexed, written a batch at a time so that a file of any
    -- size is held in memory a part at a time. They become `chunks` in the file's last
    -- transaction; rows left by an interrupted run are cleared by the next writer.
    CREATE TABLE staged_chunks AS
        SELECT id, document, ordinal, text, page, section, start, end, kinds FROM chunks WHERE 0;
    CREATE UNIQUE INDEX staged_by_id ON staged_chunks(id);
    CREATE INDEX staged_by_document ON staged_chunks(document, ordinal);
    """,
    """
    -- Each chunk carries a header of its document's context (title, period, section), which
    -- is embedded with the chunk but never shown as its text; documents get a searchable card.
    ALTER TABLE chunks ADD COLUMN context TEXT NOT NULL DEFAULT '';
    ALTER TABLE staged_chunks ADD COLUMN context TEXT NOT NULL DEFAULT '';
    CREATE VIRTUAL TABLE documents_fts USING fts5(
        path UNINDEXED, name, card, tokenize = 'porter unicode61 remove_diacritics 2'
    );
    """ + CARD_SQL,
]


class Database:
    """One SQLite connection, shared by the stores of a workspace; writes go through `transaction`."""

    def __init__(self, path: Path | str) -> None:
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.lock = threading.RLock()
        self.conn.execute("PRAGMA foreign_keys = ON")
        # The window and its engine process share the file: wait for the other's write.
        self.conn.execute("PRAGMA busy_timeout = 15000")
        if str(path) != ":memory:":
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
        self._migrate()

    def _migrate(self) -> None:
        """One step at a time, each reading the version inside its own write transaction:
        two processes opening a new workspace at once must not both run the same step
        ("table documents already exists")."""
        while True:
            with self.transaction():
                version = int(self.conn.execute("PRAGMA user_version").fetchone()[0])
                if version >= len(_MIGRATIONS):
                    return
                for statement in _MIGRATIONS[version].split(";\n"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {version + 1}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All-or-nothing: a crash or exception inside leaves the database as it was."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def close(self) -> None:
        with self.lock:
            self.conn.close()
