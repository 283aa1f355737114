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


@pytest.fixture
def real_library(tmp_path: Path, real_backends: RealBackends) -> Iterator[Library]:
    library = Library(tmp_path / "home", backends=real_backends)
    # Greedy decoding: the same question gets the same answer, run after run.
    library.update_settings(temperature=0.0)
    yield library
    library.close()
