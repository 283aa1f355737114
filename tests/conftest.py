"""Shared fixtures: fake-backed libraries for unit tests, real ones for integration tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core.offline import seal_environment

seal_environment()

from desktop_app.core import Library  # noqa: E402
from desktop_app.core.backends import FakeBackends, RealBackends  # noqa: E402
from tests.native_crashes import (  # noqa: E402, F401 - hooks: native crashes fail one test
    pytest_configure,
    pytest_handlecrashitem,
    pytest_sessionstart,
)
from tests.servers import Proxy  # noqa: E402

DATA = Path(__file__).parent / "data"


@pytest.fixture
def fake_library(tmp_path: Path) -> Iterator[Library]:
    library = Library(tmp_path / "home", backends=FakeBackends())
    yield library
    library.close()


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    """A folder of small text notes with distinct content."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "zephyr.txt").write_text(
        "The Zephyr 3000 vacuum cleaner has a battery life of 45 minutes.\n\n"
        "It charges fully in 3 hours from the wall dock.", encoding="utf-8")
    (folder / "bread.md").write_text(
        "# Sourdough\n\nMix 500 g flour with 350 g water and 100 g starter.\n\n"
        "Bake at 240 degrees for 40 minutes.", encoding="utf-8")
    (folder / "meeting.txt").write_text(
        "Page one is about the agenda.\fThe quarterly meeting is on March 14 in room 204.",
        encoding="utf-8")
    return folder


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A private copy of tests/data, safe to edit."""
    target = tmp_path / "data"
    shutil.copytree(DATA, target, ignore=shutil.ignore_patterns("NOTICE*"))
    return target


# -- the real backends: loaded once per test session (models are read-only, stores per test) --

@pytest.fixture(scope="session")
def real_backends() -> RealBackends:
    return RealBackends()


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in embedder exported to ONNX as the installer build exports it."""
    from desktop_app.core.ingest.embedding import BUILTIN_EMBEDDERS
    from desktop_app.core.ingest.onnx_embedding import export_onnx

    folder = tmp_path_factory.mktemp("m") / "minilm"
    return export_onnx(BUILTIN_EMBEDDERS["all-MiniLM-L6-v2"](), folder)


@pytest.fixture
def real_library(tmp_path: Path, real_backends: RealBackends) -> Iterator[Library]:
    library = Library(tmp_path / "home", backends=real_backends)
    # Greedy decoding: the same question gets the same answer, run after run.
    library.update_settings(temperature=0.0)
    yield library
    library.close()


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Chroma server on 127.0.0.1 for the whole run; each test uses its own collections."""
    from tests.servers import chroma_server

    with chroma_server(tmp_path_factory.mktemp("chroma")) as url:
        yield url


@pytest.fixture(scope="session")
def team_proxy(chroma_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    """Caddy in front of that server: TLS with a test authority, and a bearer token."""
    from tests.servers import caddy_binary, caddy_proxy

    if caddy_binary() is None:
        pytest.skip("Caddy is not installed (Debian/Ubuntu: sudo apt install caddy); the test "
                    "set-up unpacks Debian's package into .venv/tools where apt-get is available")
    with caddy_proxy(chroma_url, tmp_path_factory.mktemp("proxy"), "team-token-0123") as proxy:
        yield proxy
