"""Watched folders: real file-system events, debounced; a sync indexes what changed."""

from __future__ import annotations

import threading

import pytest

from desktop_app.core import DocumentStatus, Library
from desktop_app.core.backends import FakeBackends
from desktop_app.core.errors import UserError
from desktop_app.core.ingest.watching import FolderWatcher
from tests.core.test_workspace import run, statuses


class Calls:
    def __init__(self) -> None:
        self.folders: list[set[str]] = []
        self.event = threading.Event()

    def __call__(self, folders: set[str]) -> None:
        self.folders.append(folders)
        self.event.set()


@pytest.fixture
def watched(tmp_path):
    folder = tmp_path / "watched"
    folder.mkdir()
    calls = Calls()
    watcher = FolderWatcher(calls, quiet_s=0.2)
    watcher.watch([str(folder)])
    yield folder, calls, watcher
    watcher.stop()


def test_a_new_file_is_one_change_after_a_quiet_moment(watched):
    folder, calls, _ = watched
    for n in range(20):  # a copy of many files ...
        (folder / f"note{n}.txt").write_text(f"note {n}", encoding="utf-8")
    assert calls.event.wait(10)
    assert calls.folders == [{str(folder)}]  # ... is one change


def test_reading_files_and_hidden_files_are_not_changes(watched):
    folder, calls, _ = watched
    (folder / "kept.txt").write_text("already there", encoding="utf-8")
    assert calls.event.wait(10)
    calls.folders.clear()
    calls.event.clear()
    (folder / "kept.txt").read_text(encoding="utf-8")  # the indexer reading it
    (folder / ".kept.txt.swp").write_text("an editor's swap file", encoding="utf-8")
    (folder / ".git").mkdir()
    (folder / ".git" / "index").write_text("x", encoding="utf-8")
    assert not calls.event.wait(1.5) and calls.folders == []


def test_deleting_and_moving_files_in_subfolders_are_changes(watched):
    folder, calls, _ = watched
    (folder / "sub").mkdir()
    (folder / "sub" / "a.txt").write_text("a", encoding="utf-8")
    assert calls.event.wait(10)
    calls.event.clear()
    (folder / "sub" / "a.txt").rename(folder / "b.txt")
    assert calls.event.wait(10)
    calls.event.clear()
    (folder / "b.txt").unlink()
    assert calls.event.wait(10)


def test_a_sync_indexes_new_and_changed_files_and_forgets_deleted_ones(fake_library, notes):
    workspace = fake_library.create("Notes")
    assert workspace.watch([notes]) == [str(notes.resolve())]
    assert run(workspace.sync()).count(DocumentStatus.INDEXED) == 3
    (notes / "new.txt").write_text("A note about the walrus.", encoding="utf-8")
    (notes / "zephyr.txt").write_text("The Zephyr 4000 battery lasts 90 minutes.", encoding="utf-8")
    (notes / "bread.md").unlink()
    finished = run(workspace.sync())
    assert finished.count(DocumentStatus.INDEXED) == 2 and finished.count(DocumentStatus.SKIPPED) == 1
    assert sorted(statuses(workspace)) == ["meeting.txt", "new.txt", "zephyr.txt"]
    assert "90 minutes" in workspace.search("Zephyr battery", 1)[0].chunk.text
    assert workspace.unwatch([notes]) == [str(notes.resolve())] and workspace.watched() == []
    assert len(workspace.documents()) == 3  # unwatching keeps the documents


def test_only_folders_can_be_watched(fake_library, notes):
    with pytest.raises(UserError, match="only folders can be watched"):
        fake_library.create("Notes").watch([notes / "zephyr.txt"])


def test_two_processes_changing_one_workspace_keep_each_others_changes(tmp_path, notes):
    window = Library(tmp_path / "home", backends=FakeBackends())
    engine = Library(tmp_path / "home", backends=FakeBackends())
    run(window.create("Notes").add([notes]))
    in_engine = engine.open("Notes")  # opened, then the window changes the workspace
    window.open("Notes").pin([notes / "zephyr.txt"])
    in_engine.watch([notes])  # from its copy read before the pin
    assert in_engine.pinned() == [str((notes / "zephyr.txt").resolve())]
    reopened = Library(tmp_path / "home", backends=FakeBackends()).open("Notes")
    assert reopened.pinned() and reopened.watched() == [str(notes.resolve())]
    for library in (window, engine):
        library.close()
