"""A file that hangs, eats memory or crashes its reader fails alone; the batch goes on."""

from __future__ import annotations

import pytest

from desktop_app.core import DocumentStatus, Library
from desktop_app.core.backends import FakeBackends
from desktop_app.core.errors import DocumentError
from desktop_app.core.ingest.parsing.isolation import IsolatedParser
from tests.core.ingest.parsing.parsing_workers import misbehaving
from tests.core.test_workspace import run

BUDGET_S, BUDGET_BYTES = 2.0, 600 * 2**20


@pytest.fixture
def parser():
    parser = IsolatedParser(misbehaving, lambda size: BUDGET_S, lambda size: BUDGET_BYTES)
    yield parser
    parser.close()


def note(folder, name: str, text: str = "A perfectly ordinary note about the Zephyr vacuum."):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name, reason", [
    ("hang.txt", "reading it took longer than 2 s, so it was stopped"),
    ("hog.txt", "reading it needed more than 0.6 GB of memory, so it was stopped"),
    ("crash.txt", "the document reader crashed on this file (signal 11)"),
])
def test_a_file_over_budget_fails_with_the_reason_and_the_next_one_is_read(parser, tmp_path,
                                                                             name, reason):
    with pytest.raises(DocumentError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parser.parse(note(tmp_path, name))
    parsed = parser.parse(note(tmp_path, "fine.txt"))  # a new worker, at once
    assert parsed.elements[0].text.startswith("A perfectly ordinary note")


def test_a_parse_error_comes_back_as_the_files_own_error(parser, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DocumentError, match="file is empty"):
        parser.parse(empty)


def test_a_hanging_file_fails_alone_in_a_folder_add(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    note(folder, "a.txt")
    note(folder, "hang.txt")
    note(folder, "z.txt", "The walrus plays the saxophone.")
    backends = FakeBackends(parser_impl=IsolatedParser(misbehaving, lambda size: BUDGET_S,
                                                       lambda size: BUDGET_BYTES))
    library = Library(tmp_path / "home", backends=backends)
    try:
        finished = run(library.create("Notes").add([folder]))
        assert finished.count(DocumentStatus.INDEXED) == 2
        (failed,) = [r for r in finished.records if r.status is DocumentStatus.FAILED]
        assert failed.path.endswith("hang.txt") and "took longer than 2 s" in (failed.error or "")
        assert library.open("Notes").search("walrus saxophone", 1)
    finally:
        backends.parser_impl.close()  # type: ignore[attr-defined]
        library.close()
