"""A damaged search index or workspace database heals itself, with real Chroma files.

The passages are embedded by the fast hashing embedder: what is tested is Chroma's files and
our database, and more than a thousand passages are needed before Chroma writes every HNSW
file (its index_metadata.pickle among them).
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from desktop_app.core import Library
from desktop_app.core.backends import FakeBackends
from desktop_app.core.records import AddFinished, DocumentStatus, Repairing
from desktop_app.core.search.vectors import ChromaVectorStore, VectorStore
from tests.conftest import DATA

pytestmark = pytest.mark.integration

QUESTION = "the Zephyr vacuum battery charges in three hours"


@dataclass
class ChromaBackends(FakeBackends):
    """The unit-test backends, but vectors in a real Chroma store on disk."""

    def vector_store(self, path: Path) -> VectorStore:
        return ChromaVectorStore(path)


def write_notes(folder: Path, paragraphs: int = 1200) -> Path:
    rng = random.Random(7)
    # A real vocabulary: every passage is a little similar to the question, as in real notes
    # (passages all equally far from it would leave the HNSW search nothing to follow).
    words = sorted(set((DATA / "war-and-peace-1p.txt").read_text(encoding="utf-8").split()))
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(4):
        text = "\n\n".join(" ".join(rng.choice(words) for _ in range(180))
                           for _ in range(paragraphs // 4))
        (folder / f"notes{n}.txt").write_text(text, encoding="utf-8")
    (folder / "zephyr.txt").write_text(
        "The Zephyr 3000 vacuum cleaner battery charges fully in three hours.", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def notes(tmp_path_factory) -> Path:
    return write_notes(tmp_path_factory.mktemp("notes"))


@pytest.fixture
def home(notes, tmp_path) -> Path:
    """A home with one workspace of 1,200+ passages. Built for each test, not copied: Chroma
    caches HNSW indexes in memory by segment id, which a copy would share."""
    home = tmp_path / "home"
    library = Library(home, backends=ChromaBackends())
    *_, finished = library.create("Notes").add([notes])
    library.close()
    assert isinstance(finished, AddFinished) and finished.count(DocumentStatus.INDEXED) == 5
    return home


def vectors_dir(home: Path) -> Path:
    (folder,) = [p for p in (home / "workspaces").iterdir() if p.is_dir()]
    return folder / "vectors"


def segment_file(name: str) -> Callable[[Path], Path]:
    def find(home: Path) -> Path:
        (path,) = vectors_dir(home).glob(f"*/{name}")
        return path
    return find


def cut(path: Path, size: int) -> None:
    with path.open("r+b") as handle:
        handle.truncate(size)


def overwrite(path: Path, data: bytes, at: int = 0) -> None:
    with path.open("r+b") as handle:
        handle.seek(at)
        handle.write(data)


DAMAGE = {
    "header cut short": lambda home: cut(segment_file("header.bin")(home), 50),
    "header zeroed": lambda home: overwrite(segment_file("header.bin")(home), bytes(100)),
    "level-0 links garbled": lambda home: overwrite(segment_file("data_level0.bin")(home),
                                                    random.Random(1).randbytes(4000), 3000),
    "upper links cut": lambda home: cut(segment_file("link_lists.bin")(home), 0),
    "pickle garbled": lambda home: overwrite(segment_file("index_metadata.pickle")(home),
                                             random.Random(2).randbytes(1000)),
    "chroma.sqlite3 half cut": lambda home: cut(vectors_dir(home) / "chroma.sqlite3",
                                                (vectors_dir(home) / "chroma.sqlite3").stat().st_size // 2),
    "vectors deleted": lambda home: shutil.rmtree(vectors_dir(home)),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_search_index_is_rebuilt_from_the_stored_passages(home, damage):
    before = Library(home, backends=ChromaBackends())
    (expected,) = exhaustive_search(before.open("Notes"))
    before.close()
    DAMAGE[damage](home)

    library = Library(home, backends=ChromaBackends())
    workspace = library.open("Notes")
    events = list(workspace.heal())
    assert all(isinstance(e, Repairing) for e in events)
    assert "search index of 'Notes' is damaged" in events[0].message
    assert "rebuilt" in events[-1].message and events[-1].done == events[-1].total > 1200
    (found,) = exhaustive_search(workspace)
    assert found.chunk.id == expected.chunk.id and found.dense_score == pytest.approx(expected.dense_score)
    assert_every_passage_has_its_vector(workspace)
    assert list(workspace.heal()) == []  # sound now: nothing more to do
    assert len(list(vectors_dir(home).parent.glob("vectors.damaged-*"))) == 1  # kept aside
    library.close()

    again = Library(home, backends=ChromaBackends())  # and it stays sound on disk
    assert list(again.open("Notes").heal()) == []
    again.close()


def exhaustive_search(workspace):
    """The top passage for QUESTION with every vector a candidate: HNSW's approximate top-40
    on these near-alike texts can miss the one outlier note, before a rebuild as after it."""
    every = replace(workspace.settings.retrieval(), dense_candidates=5000, keyword_candidates=5000)
    return workspace.search(QUESTION, 1, retrieval=every)


def assert_every_passage_has_its_vector(workspace) -> None:
    """Each stored passage's vector is in the index and is its text's embedding (checked
    exactly, over the whole index: HNSW's approximate top-k on these near-alike texts may
    miss an outlier, which says nothing about the rebuild)."""
    vectors, embedder = workspace._vector_store(), workspace._embedder()  # noqa: SLF001
    (batch, *_) = workspace.store.chunk_batches(5000)
    assert vectors.count() == len(batch) == workspace.store.chunk_count()
    zephyr = next(c for c in batch if c.document.endswith("zephyr.txt"))
    (vector,) = embedder.embed_documents([zephyr.searchable_text])  # its header, then its text
    (best_id, similarity), *_ = vectors.query(vector, len(batch))
    assert best_id == zephyr.id and similarity == pytest.approx(1.0, abs=1e-5)


def test_an_add_heals_the_index_before_it_indexes(home, tmp_path):
    cut(segment_file("header.bin")(home), 10)
    (tmp_path / "new.txt").write_text("A new note about a walrus playing the saxophone.", encoding="utf-8")
    library = Library(home, backends=ChromaBackends())
    events = list(library.open("Notes").add([tmp_path / "new.txt"]))
    repairs = [e for e in events if isinstance(e, Repairing)]
    assert repairs and "rebuilt" in repairs[-1].message
    assert isinstance(events[-1], AddFinished) and events[-1].count(DocumentStatus.INDEXED) == 1
    assert_every_passage_has_its_vector(library.open("Notes"))  # the new note's among them
    assert any(p.chunk.document.endswith("new.txt")
               for p in library.open("Notes").search("walrus saxophone", 5))
    library.close()


def test_a_damaged_workspace_database_keeps_what_can_be_read(home, notes):
    database = vectors_dir(home).parent / "workspace.sqlite3"
    overwrite(database, b"\xff" * 4096 * 3, 4096 * 5)  # three pages in the middle garbled

    library = Library(home, backends=ChromaBackends())
    workspace = library.open("Notes")
    note = workspace.take_repair_note()
    assert note is not None and "its database was damaged" in note and "a copy is kept" in note
    assert "Saved: " in note and list(database.parent.glob("workspace.sqlite3.damaged-*"))
    # What survived is kept; documents that lost passages are indexed again by the next add.
    *_, finished = workspace.add([notes])
    assert isinstance(finished, AddFinished) and not finished.count(DocumentStatus.FAILED)
    assert len(workspace.documents()) == 5 and not any(r.error for r in workspace.documents())
    (found,) = exhaustive_search(workspace)
    assert found.chunk.document.endswith("zephyr.txt") and found.keyword_rank == found.dense_rank == 1
    assert list(workspace.heal()) == []
    library.close()
