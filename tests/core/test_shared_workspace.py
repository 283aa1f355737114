"""Shared workspaces: two apps (two data folders) on one Chroma server, behind Caddy with TLS
and a bearer token, both started for real on 127.0.0.1."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core import Library
from desktop_app.core.backends import FakeBackends
from desktop_app.core.errors import ServerError, UserError
from desktop_app.core.records import AddFinished, DocumentStatus, Syncing
from desktop_app.core.search.shared_index import SharedStore
from tests.servers import Proxy, caddy_proxy


def _library(home: Path, proxy: Proxy, token: str | None = None) -> Library:
    library = Library(home, backends=FakeBackends())
    library.keys.save(proxy.url, token or proxy.token)
    return library


def _store(proxy: Proxy, collection: str) -> SharedStore:
    return SharedStore(proxy.url, collection, ca_bundle=str(proxy.ca_bundle))


@pytest.fixture
def collection() -> str:
    return f"team-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def two_apps(tmp_path: Path, team_proxy: Proxy) -> Iterator[tuple[Library, Library]]:
    a, b = _library(tmp_path / "a", team_proxy), _library(tmp_path / "b", team_proxy)
    yield a, b
    a.close()
    b.close()


def _add(workspace, *paths) -> AddFinished:
    events = list(workspace.add(paths))
    assert isinstance(events[-1], AddFinished)
    return events[-1]


def _found(workspace, query: str) -> tuple[list[str], list[str]]:
    """The documents of the best dense and the best keyword passage for `query`."""
    dense, keyword = workspace.candidates([query], workspace.settings.retrieval())[0]
    chunks = workspace.store.chunks([i for i, _ in dense[:1] + keyword[:1]])
    return [chunks[i].document for i, _ in dense[:1]], [chunks[i].document for i, _ in keyword[:1]]


def test_what_one_app_adds_the_other_finds_by_dense_and_keyword_search(two_apps, team_proxy,
                                                                        collection, notes):
    a, b = two_apps
    team_a = a.create("Team", _store(team_proxy, collection))
    finished = _add(team_a, notes)
    assert {r.status for r in finished.records} == {DocumentStatus.INDEXED}

    team_b = b.create("Team docs", _store(team_proxy, collection))
    synced = list(team_b.heal())  # what opening it does before the first search
    assert synced and isinstance(synced[0], Syncing) and "3 documents added" in synced[0].message
    zephyr = str(notes / "zephyr.txt")
    assert _found(team_b, "Zephyr vacuum battery life") == ([zephyr], [zephyr])
    assert b.open("Team docs").info.embedder == team_a.info.embedder  # taken from the server
    # The token stays in the key store: never in the workspace's file.
    assert team_proxy.token not in (team_b.folder / "workspace.json").read_text()


def test_a_file_both_add_is_stored_once_and_a_removal_reaches_both(two_apps, team_proxy,
                                                                   collection, notes, tmp_path):
    a, b = two_apps
    team_a = a.create("Team", _store(team_proxy, collection))
    _add(team_a, notes)
    team_b = b.create("Team", _store(team_proxy, collection))
    copy = tmp_path / "my copy of zephyr.txt"
    copy.write_bytes((notes / "zephyr.txt").read_bytes())
    record = _add(team_b, copy).records[0]
    assert record.status is DocumentStatus.SKIPPED
    assert "already in this workspace as" in (record.error or "")
    assert team_b._vector_store().count() == team_a.store.chunk_count()  # noqa: SLF001

    assert team_a.remove([notes / "zephyr.txt"]) == [str(notes / "zephyr.txt")]
    b.close()
    team_b = Library(tmp_path / "b", backends=FakeBackends()).open("Team")  # the next open
    list(team_b.heal())
    assert str(notes / "zephyr.txt") not in {r.path for r in team_b.documents()}
    assert _found(team_b, "Zephyr vacuum battery life")[1] != [str(notes / "zephyr.txt")]
    team_b.close()


def test_a_changed_file_replaces_its_passages_for_everyone(two_apps, team_proxy, collection,
                                                           notes):
    a, b = two_apps
    team_a = a.create("Team", _store(team_proxy, collection))
    _add(team_a, notes)
    team_b = b.create("Team", _store(team_proxy, collection))
    list(team_b.heal())
    (notes / "zephyr.txt").write_text("The Zephyr 4000 runs for 90 minutes on one charge.\n")
    _add(team_a, notes)
    _add(team_b, notes / "bread.md")  # an add also takes what others changed
    texts = [c.text for c in team_b.store.document_chunks(str(notes / "zephyr.txt"))]
    assert texts == ["The Zephyr 4000 runs for 90 minutes on one charge."]
    assert team_b._vector_store().count() == team_a.store.chunk_count()  # noqa: SLF001


def test_a_proxy_that_stops_mid_add_fails_it_clearly_and_the_next_add_finishes(
        tmp_path, chroma_url, collection, notes):
    with caddy_proxy(chroma_url, tmp_path / "proxy", "t0ken-4567") as proxy:
        library = _library(tmp_path / "a", proxy)
        team = library.create("Team", _store(proxy, collection))
        events = team.add([notes])
        with pytest.raises(ServerError, match="127.0.0.1"):
            for event in events:
                if getattr(event, "index", 0) == 2:  # the second file has started: stop
                    proxy.stop()
        indexed = [r.path for r in team.documents() if r.status is DocumentStatus.INDEXED]
        assert len(indexed) == 1  # the first file only: nothing half-written counts
        proxy.start()
        finished = _add(team, notes)
        assert sorted(r.status.value for r in finished.records) == ["indexed", "indexed",
                                                                    "skipped"]
        other = _library(tmp_path / "b", proxy).create("Team", _store(proxy, collection))
        list(other.heal())
        assert len(other.documents()) == 3
        assert other._vector_store().count() == team.store.chunk_count()  # noqa: SLF001
        library.close()


def test_a_wrong_token_or_an_untrusted_certificate_is_refused_with_words(tmp_path, team_proxy,
                                                                         collection):
    library = _library(tmp_path / "a", team_proxy, token="wrong")
    with pytest.raises(ServerError, match="refused the token.*server key --url"):
        library.create("Team", _store(team_proxy, collection))
    library.keys.save(team_proxy.url, team_proxy.token)
    with pytest.raises(ServerError, match="certificate this computer does not trust"):
        library.create("Team", SharedStore(team_proxy.url, collection))  # no --ca-bundle
    assert library.list() == []  # nothing was created
    library.close()


def test_plain_http_to_another_computer_is_refused_unless_allowed():
    with pytest.raises(UserError, match="unencrypted.*allow plain http"):
        SharedStore("http://10.1.2.3:8000", "team")
    assert SharedStore("http://10.1.2.3:8000", "team", allow_http=True).host == "10.1.2.3:8000"
    with pytest.raises(UserError, match="cannot name a shared workspace"):
        SharedStore("https://kb.example.org", "a b")


def test_a_shared_workspace_is_not_reindexed_from_one_computer(fake_library, team_proxy,
                                                                collection):
    fake_library.keys.save(team_proxy.url, team_proxy.token)
    team = fake_library.create("Team", _store(team_proxy, collection))
    with pytest.raises(UserError, match="empty it for everyone"):
        list(team.reindex())
    info = json.loads((team.folder / "workspace.json").read_text())
    assert info["shared"]["collection"] == collection and info["shared"]["verify_tls"]


def test_scoped_questions_and_answers_work_on_a_shared_workspace(two_apps, team_proxy,
                                                                 collection, notes):
    a, b = two_apps
    _add(a.create("Team", _store(team_proxy, collection)), notes)
    team_b = b.create("Team", _store(team_proxy, collection))
    bread = str(notes / "bread.md")
    scoped = team_b.search("Zephyr vacuum battery life", only=[bread])
    assert scoped and {p.chunk.document for p in scoped} == {bread}
    answer = team_b.ask("How long does the Zephyr battery last?")
    assert answer.text and str(notes / "zephyr.txt") in {s.document for s in answer.sources()}
