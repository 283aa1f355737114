"""One contract for every parser: the plain-text fake, the real one in this process, and the
real one in its worker process, as the app indexes. A file it can read gives its text in
order, whole or in parts; a file it cannot gives a DocumentError saying why, and nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core.errors import DocumentError
from desktop_app.core.ingest.parsing import (
    Parser,
    PlainTextParser,
    create_isolated_parser,
    create_parser,
)
from tests.conftest import DATA

NOTE = "The quarterly meeting is on March 14.\n\nIt is in room 204.\fPage two has the agenda."


@pytest.fixture(scope="module", params=["plain text", pytest.param("real", marks=pytest.mark.integration),
                                        pytest.param("isolated", marks=pytest.mark.integration)])
def parser(request: pytest.FixtureRequest) -> Iterator[Parser]:
    made = {"plain text": PlainTextParser, "real": create_parser,
            "isolated": create_isolated_parser}[request.param]()
    made.warm_up()
    yield made
    close = getattr(made, "close", None)
    if close is not None:
        close()


def _texts(elements: list) -> str:
    return " ".join(e.text for e in elements)


def test_a_readable_file_gives_its_text_in_order_whole_or_in_parts(parser, tmp_path):
    note = tmp_path / "meeting.txt"
    note.write_text(NOTE, encoding="utf-8")
    assert parser.supports(note) and not parser.supports(tmp_path / "tool.xyz")
    whole = _texts(parser.parse(note).elements)
    for fact in ("March 14", "room 204", "agenda"):
        assert fact in whole
    assert whole.index("March 14") < whole.index("room 204") < whole.index("agenda")
    in_parts = " ".join(_texts(part.elements) for part in parser.parts(note))
    assert in_parts.split() == whole.split()


def _bad_files(folder: Path) -> dict[str, Path]:
    (folder / "empty.txt").write_bytes(b"")
    (folder / "a folder.txt").mkdir()
    (folder / "tool.xyz").write_text("not a document format", encoding="utf-8")
    (folder / "cut.pdf").write_bytes((DATA / "word-processor-history.pdf").read_bytes()[:700])
    return {"missing": folder / "gone.txt", "empty": folder / "empty.txt",
            "folder": folder / "a folder.txt", "unsupported": folder / "tool.xyz",
            "truncated PDF": folder / "cut.pdf", "password PDF": DATA / "password.pdf"}


@pytest.mark.parametrize("kind", ["missing", "empty", "folder", "unsupported", "truncated PDF",
                                  "password PDF"])
def test_a_file_it_cannot_read_is_a_document_error_with_a_reason(parser, tmp_path, kind):
    path = _bad_files(tmp_path)[kind]
    with pytest.raises(DocumentError) as whole:
        parser.parse(path)
    with pytest.raises(DocumentError) as in_parts:
        list(parser.parts(path))
    assert str(whole.value).strip() and str(in_parts.value) == str(whole.value)


def test_text_that_is_not_utf8_is_read_or_refused_in_words(parser, tmp_path):
    odd = tmp_path / "latin1.txt"
    odd.write_bytes("Caf\xe9 au lait, cr\xe8me br\xfbl\xe9e.\n".encode("latin-1") + b"\xff\xfe\x80")
    try:
        elements = parser.parse(odd).elements
    except DocumentError as exc:
        assert str(exc).strip()
    else:
        assert "au lait" in _texts(elements)
