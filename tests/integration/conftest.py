"""Real backends, loaded once per test session (models are read-only, stores are per test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.core import Library
from desktop_app.core.backends import RealBackends


@pytest.fixture(scope="session")
def real_backends() -> RealBackends:
    return RealBackends()


@pytest.fixture(scope="session")
def exported(tmp_path_factory) -> Path:
    """The built-in embedder exported to ONNX as the installer build exports it."""
    from desktop_app.core.ingest.embedding import BUILTIN_EMBEDDERS
    from desktop_app.core.ingest.onnx_embedding import export_onnx

    return export_onnx(BUILTIN_EMBEDDERS["all-MiniLM-L6-v2"](), tmp_path_factory.mktemp("m") / "minilm")


@pytest.fixture
def real_library(tmp_path: Path, real_backends: RealBackends) -> Iterator[Library]:
    library = Library(tmp_path / "home", backends=real_backends)
    # Greedy decoding: the same question gets the same answer, run after run.
    library.update_settings(temperature=0.0)
    yield library
    library.close()
