"""Keyword (BM25) indexes: the Protocol, SQLite FTS5 beside the chunks, and a pure-Python fake."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Sequence
from typing import Protocol

from desktop_app.core.records import Chunk
from desktop_app.core.storage.database import CARD_CHUNKS, CARD_SQL, Database

__all__ = ["FtsKeywordIndex", "KeywordIndex", "MemoryKeywordIndex", "query_terms"]

_WORD = re.compile(r"\w+", re.UNICODE)
# Words too common to say anything about relevance; dropping them keeps OR-queries fast.
STOPWORDS = frozenset(
    "a an and are as at be by can could did do does for from had has have how i if in is it its "
    "me my of on or our so than that the their them then there these they this to was we were "
    "what when where which who whom why will with would you your".split()
)


def query_terms(text: str) -> list[str]:
    """Distinct lowercase words of a query, stopwords removed, in order of appearance."""
    words = [w.lower() for w in _WORD.findall(text)]
    return list(dict.fromkeys(w for w in words if w not in STOPWORDS))


class KeywordIndex(Protocol):
    """BM25 over chunk texts and over documents' cards.

    `add`, `remove`, `describe` and `forget` take effect in the caller's current transaction
    where the index has one. `search` returns up to n (chunk id, BM25 score) pairs, best first,
    higher is better, and matches any of the query's words (not all); only among the ids
    `within` when given. A document's card is its path, its context header and its first
    CARD_CHUNKS chunks (where titles, parties and dates stand): `describe` makes it from the
    document's chunks once they are added, `search_documents` ranks documents by it as
    `search` ranks chunks.
    """

    def add(self, chunks: Sequence[Chunk]) -> None: ...

    def remove(self, ids: Sequence[str]) -> None: ...

    def describe(self, document: str) -> None: ...

    def forget(self, document: str) -> None: ...

    def search(self, query: str, n: int, within: Collection[str] | None = None
               ) -> list[tuple[str, float]]: ...

    def search_documents(self, query: str, n: int) -> list[tuple[str, float]]: ...


def _match(query: str) -> str | None:
    """An FTS5 query matching any of the query's words, or None when it has none."""
    terms = query_terms(query)
    return " OR ".join(f'"{t}"' for t in terms) if terms else None


class FtsKeywordIndex:
    """FTS5 in the workspace database: written in the same transaction as the chunk rows."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, chunks: Sequence[Chunk]) -> None:
        self._db.conn.executemany(
            "INSERT INTO chunks_fts(rowid, text) SELECT rowid, text FROM chunks WHERE id = ?",
            [(c.id,) for c in chunks],
        )

    def describe(self, document: str) -> None:
        self._db.conn.execute(CARD_SQL + " AND documents.path = ?", (document,))

    def forget(self, document: str) -> None:
        self._db.conn.execute("DELETE FROM documents_fts WHERE path = ?", (document,))

    def remove(self, ids: Sequence[str]) -> None:
        self._db.conn.executemany(
            "DELETE FROM chunks_fts WHERE rowid = (SELECT rowid FROM chunks WHERE id = ?)",
            [(i,) for i in ids],
        )

    def search(self, query: str, n: int, within: Collection[str] | None = None
               ) -> list[tuple[str, float]]:
        match = _match(query)
        if match is None or n <= 0:
            return []
        if within is not None:
            return self._search_within(match, n, within)
        with self._db.lock:
            # FTS5's own `rank` column (BM25) with ORDER BY rank LIMIT n takes its fast path;
            # joining after the limit keeps the join to n rows (about 35% faster at 100k chunks).
            rows = self._db.conn.execute(
                "SELECT c.id, hits.rank FROM (SELECT rowid, rank FROM chunks_fts"
                " WHERE chunks_fts MATCH ? ORDER BY rank LIMIT ?) AS hits"
                " JOIN chunks c ON c.rowid = hits.rowid ORDER BY hits.rank",
                (match, n),
            ).fetchall()
        return [(row[0], -float(row[1])) for row in rows]

    def search_documents(self, query: str, n: int) -> list[tuple[str, float]]:
        match = _match(query)
        if match is None or n <= 0:
            return []
        with self._db.lock:
            rows = self._db.conn.execute(
                "SELECT path, rank FROM documents_fts WHERE documents_fts MATCH ?"
                " ORDER BY rank LIMIT ?", (match, n)).fetchall()
        return [(row[0], -float(row[1])) for row in rows]

    def _search_within(self, match: str, n: int, within: Collection[str]) -> list[tuple[str, float]]:
        """The same ranking (BM25 over the whole workspace), among some chunks only."""
        with self._db.lock:
            self._db.conn.execute("CREATE TEMP TABLE IF NOT EXISTS scope(id TEXT PRIMARY KEY)")
            self._db.conn.execute("DELETE FROM scope")
            self._db.conn.executemany("INSERT OR IGNORE INTO scope(id) VALUES (?)",
                                      [(i,) for i in within])
            rows = self._db.conn.execute(
                "SELECT c.id, chunks_fts.rank FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid"
                " JOIN scope s ON s.id = c.id WHERE chunks_fts MATCH ? ORDER BY chunks_fts.rank LIMIT ?",
                (match, n),
            ).fetchall()
        return [(row[0], -float(row[1])) for row in rows]


class MemoryKeywordIndex:
    """Okapi BM25 (k1=1.2, b=0.75) in memory, without stemming; the fake for unit tests."""

    def __init__(self) -> None:
        self._chunks: dict[str, Counter[str]] = {}
        self._placed: dict[str, tuple[str, int, str]] = {}  # id -> document, ordinal, card text
        self._cards: dict[str, Counter[str]] = {}

    def add(self, chunks: Sequence[Chunk]) -> None:
        for chunk in chunks:
            self._chunks[chunk.id] = _bag(chunk.text)
            opening = f"{chunk.context} {chunk.text}" if chunk.ordinal == 0 else chunk.text
            self._placed[chunk.id] = (chunk.document, chunk.ordinal, opening)

    def remove(self, ids: Sequence[str]) -> None:
        for chunk_id in ids:
            self._chunks.pop(chunk_id, None)
            self._placed.pop(chunk_id, None)

    def describe(self, document: str) -> None:
        opening = sorted((o, t) for d, o, t in self._placed.values() if d == document)[:CARD_CHUNKS]
        self._cards[document] = _bag(" ".join([document, *(t for _, t in opening)]))

    def forget(self, document: str) -> None:
        self._cards.pop(document, None)

    def search(self, query: str, n: int, within: Collection[str] | None = None
               ) -> list[tuple[str, float]]:
        ranked = _bm25(self._chunks, query_terms(query))
        return [item for item in ranked if within is None or item[0] in within][:n]

    def search_documents(self, query: str, n: int) -> list[tuple[str, float]]:
        return _bm25(self._cards, query_terms(query))[:n]


def _bag(text: str) -> Counter[str]:
    return Counter(w.lower() for w in _WORD.findall(text))


def _bm25(bags: dict[str, Counter[str]], terms: list[str]) -> list[tuple[str, float]]:
    """Okapi BM25 of each bag of words for the terms, best first."""
    if not terms or not bags:
        return []
    count = len(bags)
    average = sum(sum(c.values()) for c in bags.values()) / count
    scores: dict[str, float] = {}
    for term in terms:
        having = [key for key, bag in bags.items() if term in bag]
        idf = math.log(1 + (count - len(having) + 0.5) / (len(having) + 0.5))
        for key in having:
            tf = bags[key][term]
            length = sum(bags[key].values())
            norm = tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / average))
            scores[key] = scores.get(key, 0.0) + idf * norm
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
