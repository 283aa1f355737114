"""Chat threads and their messages, with the citations each answer carried."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from desktop_app.core.errors import UserError
from desktop_app.core.records import Source
from desktop_app.core.storage.database import Database

__all__ = ["ChatHistory", "Message", "Thread"]


@dataclass(frozen=True, slots=True)
class Thread:
    id: int
    title: str
    created_at: float
    updated_at: float

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "created_at": self.created_at,
                "updated_at": self.updated_at}


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    thread_id: int
    role: str
    content: str
    citations: list[Source] = field(default_factory=list)  # what the answer showed beside it
    created_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "role": self.role, "content": self.content,
                "citations": [c.to_json() for c in self.citations], "created_at": self.created_at}


class ChatHistory:
    def __init__(self, db: Database) -> None:
        self._db = db

    def create_thread(self, title: str = "New chat") -> Thread:
        now = time.time()
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO threads(title, created_at, updated_at) VALUES (?, ?, ?)", (title, now, now)
            )
        return Thread(int(cursor.lastrowid or 0), title, now, now)

    def threads(self, matching: str = "") -> list[Thread]:
        """Most recently used first; with `matching`, only threads whose title or any message
        holds it (case-insensitive for ASCII letters, as SQLite's LIKE is)."""
        query = "SELECT id, title, created_at, updated_at FROM threads"
        params: tuple[str, ...] = ()
        if matching.strip():
            pattern = "%" + re.sub(r"([\\%_])", r"\\\1", matching.strip()) + "%"
            query += (" WHERE title LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m"
                      " WHERE m.thread_id = threads.id AND m.content LIKE ? ESCAPE '\\')")
            params = (pattern, pattern)
        with self._db.lock:
            rows = self._db.conn.execute(query + " ORDER BY updated_at DESC, id DESC",
                                         params).fetchall()
        return [Thread(*r) for r in rows]

    def thread(self, thread_id: int) -> Thread:
        with self._db.lock:
            row = self._db.conn.execute(
                "SELECT id, title, created_at, updated_at FROM threads WHERE id = ?", (thread_id,)
            ).fetchone()
        if row is None:
            raise UserError(f"no chat thread {thread_id} in this workspace")
        return Thread(*row)

    def rename_thread(self, thread_id: int, title: str) -> None:
        self.thread(thread_id)
        with self._db.transaction() as conn:
            conn.execute("UPDATE threads SET title = ? WHERE id = ?", (title, thread_id))

    def delete_thread(self, thread_id: int) -> None:
        self.thread(thread_id)
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM threads WHERE id = ?", (thread_id,))

    def drop_last_exchange(self, thread_id: int) -> str | None:
        """Delete the thread's last question and everything after it (its answer); returns
        that question, None when the thread has none."""
        with self._db.transaction() as conn:
            row = conn.execute("SELECT id, content FROM messages WHERE thread_id = ? AND role = 'user'"
                               " ORDER BY id DESC LIMIT 1", (thread_id,)).fetchone()
            if row is None:
                return None
            conn.execute("DELETE FROM messages WHERE thread_id = ? AND id >= ?", (thread_id, row[0]))
        return str(row[1])

    def add_message(
        self, thread_id: int, role: str, content: str, citations: list[Source] | None = None
    ) -> Message:
        now = time.time()
        payload = json.dumps([c.to_json() for c in citations or []])
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO messages(thread_id, role, content, citations, created_at)"
                " VALUES (?, ?, ?, ?, ?)", (thread_id, role, content, payload, now),
            )
            conn.execute("UPDATE threads SET updated_at = ? WHERE id = ?", (now, thread_id))
        return Message(int(cursor.lastrowid or 0), thread_id, role, content, citations or [], now)

    def messages(self, thread_id: int) -> list[Message]:
        with self._db.lock:
            rows = self._db.conn.execute(
                "SELECT id, thread_id, role, content, citations, created_at FROM messages"
                " WHERE thread_id = ? ORDER BY id", (thread_id,),
            ).fetchall()
        return [Message(r[0], r[1], r[2], r[3], [Source.from_json(c) for c in json.loads(r[4])],
                        r[5]) for r in rows]
