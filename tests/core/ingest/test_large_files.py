"""A large file is indexed a part at a time: progress inside it, cancel inside it, all or nothing."""

from __future__ import annotations

import pytest

from desktop_app.core import DocumentStatus
from desktop_app.core.ingest.parsing import streaming
from desktop_app.core.records import AddFinished, FileFinished, FileProgress
from tests.core.ingest.parsing.test_streaming import long_text
from tests.core.test_workspace import run, vector_count


@pytest.fixture(autouse=True)
def small_parts(monkeypatch):
    monkeypatch.setattr(streaming, "STREAM_FROM_BYTES", 10_000)
    monkeypatch.setattr(streaming, "PART_CHARS", 4_000)
    monkeypatch.setattr(streaming, "_BLOCK_BYTES", 1_500)


def staged_rows(workspace) -> int:
    return workspace.store._db.conn.execute("SELECT count(*) FROM staged_chunks").fetchone()[0]  # noqa: SLF001


def consistent(library, workspace) -> bool:
    chunks = workspace.store.chunk_count()
    return vector_count(library, workspace) == chunks and staged_rows(workspace) == 0


def test_progress_moves_inside_a_large_file(fake_library, tmp_path):
    path = tmp_path / "big.txt"
    path.write_text(long_text(600), encoding="utf-8")
    events = list(fake_library.create("Notes").add([path]))
    inside = [e for e in events if isinstance(e, FileProgress)]
    assert len(inside) > 5
    read = [e.file_bytes_done for e in inside]
    assert read == sorted(read) and 0 < read[0] < read[-1] == path.stat().st_size == inside[0].file_bytes
    done = [e.chunks_done for e in inside]
    assert done == sorted(done)
    (finished,) = [e for e in events if isinstance(e, FileFinished)]
    assert finished.record.status is DocumentStatus.INDEXED and finished.record.chunks == done[-1]


def test_a_large_file_is_searchable_from_end_to_end(fake_library, tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("The Zephyr vacuum opens the file.\n\n" + long_text(600)
                    + "\n\nThe walrus saxophone closes it.", encoding="utf-8")
    workspace = fake_library.create("Notes")
    run(workspace.add([path]))
    assert consistent(fake_library, workspace)
    assert workspace.search("Zephyr vacuum", 1)[0].chunk.ordinal == 0
    last = workspace.search("walrus saxophone", 1)[0].chunk
    assert last.ordinal == workspace.documents()[0].chunks - 1 and last.text.endswith("closes it.")


def test_cancelling_inside_a_large_file_keeps_its_previous_version(fake_library, tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("First version about the Zephyr vacuum.\n\n" + long_text(600), encoding="utf-8")
    workspace = fake_library.create("Notes")
    run(workspace.add([path]))
    before = sorted(workspace.store.chunk_ids())
    path.write_text("Second version about a walrus.\n\n" + long_text(600, seed=9), encoding="utf-8")
    progress = workspace.add([path])
    for event in progress:
        if isinstance(event, FileProgress) and event.file_bytes_done > event.file_bytes // 2:
            break
    progress.close()  # what the window's Cancel button does
    assert sorted(workspace.store.chunk_ids()) == before
    assert consistent(fake_library, workspace)
    assert "First version" in workspace.search("Zephyr vacuum", 1)[0].chunk.text
    finished = run(workspace.add([path]))  # and the next add finishes the job
    assert finished.count(DocumentStatus.INDEXED) == 1 and consistent(fake_library, workspace)
    assert "Second version" in workspace.search("walrus", 1)[0].chunk.text


def test_a_large_file_broken_near_its_end_fails_alone_and_leaves_nothing(fake_library, tmp_path, notes):
    broken = tmp_path / "broken.txt"
    broken.write_bytes(long_text(600).encode() + b"\n\n\xff\xfe a broken tail")
    workspace = fake_library.create("Notes")
    events = list(workspace.add([broken, notes]))
    assert any(isinstance(e, FileProgress) and e.path == str(broken) for e in events)  # got far
    finished = events[-1]
    assert isinstance(finished, AddFinished)
    assert finished.count(DocumentStatus.FAILED) == 1 and finished.count(DocumentStatus.INDEXED) == 3
    (record,) = [r for r in workspace.documents() if r.path == str(broken)]
    assert "not valid UTF-8" in (record.error or "") and record.chunks == 0
    assert consistent(fake_library, workspace)
