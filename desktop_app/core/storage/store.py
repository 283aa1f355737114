"""Documents, their chunks and the vector journal, in the workspace database."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from desktop_app.core.records import Chunk, DocumentRecord, DocumentStatus
from desktop_app.core.search.keywords import KeywordIndex
from desktop_app.core.storage.database import Database

__all__ = ["ChunkStore", "StoredDocument"]


@dataclass(frozen=True, slots=True)
class StoredDocument:
    path: str
    sha256: str | None
    status: DocumentStatus
    chunks: int
    signature: str | None


_CHUNK_COLUMNS = "id, document, ordinal, text, page, section, start, end, kinds, context"


def _row(chunk: Chunk) -> tuple[Any, ...]:
    """A chunk as a row of _CHUNK_COLUMNS."""
    c = chunk
    return (c.id, c.document, c.ordinal, c.text, c.page, c.section, c.start, c.end,
            ",".join(c.kinds), c.context)


def _chunk(row: Sequence[Any]) -> Chunk:
    """A Chunk from a row of _CHUNK_COLUMNS."""
    return Chunk(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                 tuple(k for k in row[8].split(",") if k), row[9])


class ChunkStore:
    def __init__(self, db: Database, keywords: KeywordIndex) -> None:
        self._db = db
        self._keywords = keywords

    # -- documents -------------------------------------------------------------------------

    def document(self, path: str) -> StoredDocument | None:
        with self._db.lock:
            row = self._db.conn.execute(
                "SELECT path, sha256, status, chunks, signature FROM documents WHERE path = ?", (path,)
            ).fetchone()
        if row is None:
            return None
        return StoredDocument(row[0], row[1], DocumentStatus(row[2]), row[3], row[4])

    def documents(self) -> list[DocumentRecord]:
        with self._db.lock:
            rows = self._db.conn.execute(
                "SELECT path, status, chunks, error, pages, size_bytes FROM documents ORDER BY path"
            ).fetchall()
        return [DocumentRecord(r[0], DocumentStatus(r[1]), r[2], r[3], r[4], r[5]) for r in rows]

    def paths_under(self, folder: str) -> list[str]:
        prefix = folder.rstrip("/\\") + "/"
        with self._db.lock:
            rows = self._db.conn.execute(
                "SELECT path FROM documents WHERE substr(path, 1, ?) = ?", (len(prefix), prefix)
            ).fetchall()
        return [r[0] for r in rows]

    def record_status(self, record: DocumentRecord, sha256: str | None) -> list[str]:
        """Record a skip or a failure; a failed document keeps no chunks (their ids are returned)."""
        dropped: list[str] = []
        with self._db.transaction() as conn:
            if record.status is DocumentStatus.FAILED:
                dropped = self._delete_chunks(record.path)
            conn.execute(
                "INSERT INTO documents(path, sha256, size_bytes, status, chunks, pages, error, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET"
                " sha256 = CASE WHEN excluded.status = 'failed' THEN NULL ELSE sha256 END,"
                " status = excluded.status, error = excluded.error, updated_at = excluded.updated_at,"
                " chunks = CASE WHEN excluded.status = 'failed' THEN 0 ELSE chunks END",
                (record.path, sha256, record.size_bytes, record.status.value, record.chunks,
                 record.pages, record.error, time.time()),
            )
        return dropped

    def replace_document(
        self, record: DocumentRecord, sha256: str, signature: str, chunks: Sequence[Chunk]
    ) -> list[str]:
        """Swap a document's chunks for new ones held in memory; returns the ids dropped."""
        self.stage(chunks)
        return self.commit_staged(record, sha256, signature)

    def stage(self, chunks: Sequence[Chunk]) -> None:
        """Write chunks of the document being indexed, not yet searchable, and journal their
        vectors (about to be written) in the same transaction."""
        with self._db.transaction() as conn:
            conn.executemany(f"INSERT OR REPLACE INTO staged_chunks({_CHUNK_COLUMNS})"
                             " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [_row(c) for c in chunks])
            conn.executemany("INSERT OR IGNORE INTO vector_journal(id) VALUES (?)",
                             [(c.id,) for c in chunks])

    def commit_staged(self, record: DocumentRecord, sha256: str, signature: str) -> list[str]:
        """In one transaction, make the staged chunks the document's chunks (the old ones go);
        returns the ids of old chunks that are not among the new, whose vectors must go."""
        path = record.path
        with self._db.transaction() as conn:
            count = int(conn.execute("SELECT count(*) FROM staged_chunks WHERE document = ?",
                                     (path,)).fetchone()[0])
            dropped = [r[0] for r in conn.execute(
                "SELECT id FROM chunks WHERE document = ? AND id NOT IN"
                " (SELECT id FROM staged_chunks WHERE document = ?)", (path, path))]
            self._delete_chunks(path)
            conn.execute(
                "INSERT INTO documents(path, sha256, size_bytes, status, chunks, pages, error,"
                " signature, updated_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)"
                " ON CONFLICT(path) DO UPDATE SET sha256 = excluded.sha256,"
                " size_bytes = excluded.size_bytes, status = excluded.status,"
                " chunks = excluded.chunks, pages = excluded.pages, error = NULL,"
                " signature = excluded.signature, updated_at = excluded.updated_at",
                (path, sha256, record.size_bytes, record.status.value, count,
                 record.pages, signature, time.time()),
            )
            conn.execute(f"INSERT INTO chunks({_CHUNK_COLUMNS}) SELECT {_CHUNK_COLUMNS}"
                         " FROM staged_chunks WHERE document = ? ORDER BY ordinal", (path,))
            for batch in self._staged_batches(path):
                self._keywords.add(batch)
            self._keywords.describe(path)
            # The new vectors are referenced now; only the dropped ones stay pending deletion.
            conn.execute("DELETE FROM vector_journal WHERE id IN"
                         " (SELECT id FROM staged_chunks WHERE document = ?)", (path,))
            conn.execute("DELETE FROM staged_chunks WHERE document = ?", (path,))
        return dropped

    def _staged_batches(self, path: str, size: int = 2000) -> Iterator[list[Chunk]]:
        """Inside a transaction: a document's staged chunks, `size` at a time."""
        after = -1
        while True:
            rows = self._db.conn.execute(
                f"SELECT {_CHUNK_COLUMNS} FROM staged_chunks WHERE document = ? AND ordinal > ?"
                " ORDER BY ordinal LIMIT ?", (path, after, size)).fetchall()
            if not rows:
                return
            after = rows[-1][2]
            yield [_chunk(r) for r in rows]

    def discard_staged(self) -> int:
        """Drop chunks staged by a run that did not finish (their journaled vectors are swept
        by `settle_journal`); returns how many."""
        with self._db.transaction() as conn:
            return conn.execute("DELETE FROM staged_chunks").rowcount

    def remove_document(self, path: str) -> list[str]:
        """Forget a document; returns its chunk ids, journaled for deletion from the vectors."""
        with self._db.transaction() as conn:
            ids = self._delete_chunks(path)
            conn.execute("DELETE FROM documents WHERE path = ?", (path,))
        return ids

    def _delete_chunks(self, path: str) -> list[str]:
        """Inside a transaction: drop a document's chunks and journal their vectors for deletion."""
        conn = self._db.conn
        ids = [r[0] for r in conn.execute("SELECT id FROM chunks WHERE document = ?", (path,))]
        self._keywords.remove(ids)
        self._keywords.forget(path)
        conn.execute("DELETE FROM chunks WHERE document = ?", (path,))
        conn.executemany("INSERT OR IGNORE INTO vector_journal(id) VALUES (?)", [(i,) for i in ids])
        return ids

    def signatures(self) -> dict[str | None, int]:
        """How many documents (failed ones aside) were indexed with each signature (None:
        marked for re-indexing)."""
        with self._db.lock:
            rows = self._db.conn.execute(
                "SELECT signature, count(*) FROM documents WHERE status != 'failed'"
                " GROUP BY signature").fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def mark_all_stale(self) -> None:
        """Make the next add re-index every document, whatever its hash says."""
        with self._db.transaction() as conn:
            conn.execute("UPDATE documents SET signature = NULL")

    # -- chunks ----------------------------------------------------------------------------

    def chunks(self, ids: Iterable[str]) -> dict[str, Chunk]:
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Chunk] = {}
        with self._db.lock:
            for start in range(0, len(wanted), 500):
                batch = wanted[start:start + 500]
                marks = ",".join("?" * len(batch))
                for r in self._db.conn.execute(
                    f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE id IN ({marks})", batch,
                ):
                    found[r[0]] = _chunk(r)
        return found

    def chunk_count(self) -> int:
        with self._db.lock:
            return int(self._db.conn.execute("SELECT count(*) FROM chunks").fetchone()[0])

    def current_chunk_count(self) -> int:
        """Chunks of documents indexed with the current settings (not awaiting a re-index):
        each of these has a vector."""
        with self._db.lock:
            return int(self._db.conn.execute(
                "SELECT count(*) FROM chunks JOIN documents ON documents.path = chunks.document"
                " WHERE documents.signature IS NOT NULL").fetchone()[0])

    def chunk_batches(self, size: int) -> Iterator[list[Chunk]]:
        """Every chunk, `size` at a time, in a stable order."""
        after = -1
        while True:
            with self._db.lock:
                rows = self._db.conn.execute(
                    f"SELECT rowid, {_CHUNK_COLUMNS} FROM chunks WHERE rowid > ?"
                    " ORDER BY rowid LIMIT ?", (after, size)).fetchall()
            if not rows:
                return
            after = rows[-1][0]
            yield [_chunk(r[1:]) for r in rows]

    def document_chunks(self, path: str) -> list[Chunk]:
        """A document's chunks in reading order."""
        with self._db.lock:
            return [_chunk(r) for r in self._db.conn.execute(
                f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE document = ? ORDER BY ordinal", (path,))]

    def chunk_ids_of(self, documents: Sequence[str]) -> list[str]:
        """The chunk ids of some documents (by path)."""
        found: list[str] = []
        with self._db.lock:
            for start in range(0, len(documents), 500):
                batch = list(documents[start:start + 500])
                found += [r[0] for r in self._db.conn.execute(
                    f"SELECT id FROM chunks WHERE document IN ({','.join('?' * len(batch))})", batch)]
        return found

    def chunk_ids(self) -> list[str]:
        with self._db.lock:
            return [r[0] for r in self._db.conn.execute("SELECT id FROM chunks")]

    # -- vector journal --------------------------------------------------------------------

    def settle_journal(self) -> list[str]:
        """Forget journaled ids that a chunk references; return the rest, whose vectors must go."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM vector_journal WHERE id IN (SELECT id FROM chunks)")
            return [r[0] for r in conn.execute("SELECT id FROM vector_journal")]

    def clear_journal(self, ids: Sequence[str]) -> None:
        with self._db.transaction() as conn:
            conn.executemany("DELETE FROM vector_journal WHERE id = ?", [(i,) for i in ids])
