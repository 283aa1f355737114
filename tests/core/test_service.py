"""The engine server over a real pipe, in one process: typed operations in, events out."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from multiprocessing import Pipe
from pathlib import Path
from typing import ClassVar

import pytest

from desktop_app.core.operations import AddPaths, ApplySettings, Ask, DeleteWorkspace, RemovePaths
from desktop_app.core.records import AddFinished, Answer, AnswerToken
from desktop_app.core.service import Server


@pytest.fixture
def engine(fake_library):
    """The parent's end of a pipe whose other end a Server reads on a thread."""
    parent, child = Pipe()
    thread = threading.Thread(target=Server(child, fake_library).loop, daemon=True)
    thread.start()
    assert parent.recv() == ("ready",)
    yield parent
    parent.send(("quit",))
    thread.join(timeout=10)
    assert not thread.is_alive()


def run_job(conn, job_id, operation):
    conn.send(("start", job_id, operation))
    events = []
    while True:
        message = conn.recv()
        assert message[1] == job_id
        if message[0] != "event":
            return events, message
        events.append(message[2])


def test_adding_then_asking_through_the_server(engine, fake_library, notes):
    fake_library.create("Notes")
    events, last = run_job(engine, 1, AddPaths("Notes", (str(notes),)))
    assert last[0] == "done" and isinstance(last[2], AddFinished) and len(last[2].records) == 3
    assert any(type(e).__name__ == "FileStarted" for e in events)
    run_job(engine, 2, ApplySettings(fake_library.settings.with_overrides({"min_relevance": 0.0})))
    events, last = run_job(engine, 3, Ask("Notes", "How long does the Zephyr battery last?"))
    assert [type(e).__name__ for e in events[:2]] == ["AnswerStage", "AnswerStage"]
    assert isinstance(events[2], AnswerToken) and isinstance(last[2], Answer)
    assert last[2].retrieved and last[2].thread_id is not None


def test_settings_sent_to_the_server_apply_to_the_next_operation(engine, fake_library, notes):
    fake_library.create("Notes")
    run_job(engine, 1, AddPaths("Notes", (str(notes),)))
    # A relevance bar no passage reaches: the question is declined without the model.
    _, applied = run_job(engine, 2, ApplySettings(fake_library.settings.with_overrides(
        {"min_relevance": 0.99})))
    assert applied[0] == "done" and applied[2].min_relevance == 0.99
    _, last = run_job(engine, 3, Ask("Notes", "How long does the Zephyr battery last?"))
    assert not last[2].answered_from_documents


def test_a_failing_operation_reports_words_and_the_server_goes_on(engine, fake_library):
    _, last = run_job(engine, 1, RemovePaths("Nowhere", ("/x",)))
    assert last == ("failed", 1, "no workspace named 'Nowhere' (see: workspace list)")
    fake_library.create("Gone")
    _, last = run_job(engine, 2, DeleteWorkspace("Gone"))
    assert last == ("done", 2, None) and fake_library.list() == []


@dataclass(frozen=True)
class Endless:
    """An operation that goes on until it is cancelled, and says when it was closed."""

    closed: Path  # written when the operation is closed
    lane: ClassVar[str] = "answer"

    def run(self, library):
        try:
            while True:
                yield "more"
        finally:
            self.closed.write_text("closed")


def test_cancelling_closes_the_operation_and_other_lanes_keep_working(engine, fake_library, tmp_path):
    closed = tmp_path / "closed"
    engine.send(("start", 1, Endless(closed)))
    assert engine.recv() == ("event", 1, "more")
    fake_library.create("Busy")  # the index lane runs while the answer lane is busy
    engine.send(("start", 2, DeleteWorkspace("Busy")))
    engine.send(("cancel", 1))
    ends = {}
    while len(ends) < 2:
        message = engine.recv()
        if message[0] != "event":
            ends[message[1]] = message[0]
    assert ends == {1: "cancelled", 2: "done"} and closed.read_text() == "closed"
