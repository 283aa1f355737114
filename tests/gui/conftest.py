"""Offscreen Qt, and windows over fake or real backends."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop_app.app import build_window  # noqa: E402
from desktop_app.core.answer.llm import ChatMessage, ScriptedModel  # noqa: E402
from desktop_app.core.backends import FakeBackends  # noqa: E402
from desktop_app.core.ingest.parsing import ParsedDocument, PlainTextParser  # noqa: E402
from desktop_app.gui.main_window import MainWindow  # noqa: E402


class SlowParser(PlainTextParser):
    """Takes a while per file, so a test can cancel between files."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def parse(self, path: Path) -> ParsedDocument:
        time.sleep(self.seconds)
        return super().parse(path)


class SlowModel(ScriptedModel):
    """Streams a long answer slowly, so a test can stop it."""

    def __init__(self, seconds_per_token: float = 0.02) -> None:
        super().__init__(reply=" ".join(["word"] * 400))
        self.seconds = seconds_per_token

    def stream(self, messages: Sequence[ChatMessage], max_tokens: int, temperature: float) -> Iterator[str]:
        for piece in super().stream(messages, max_tokens, temperature):
            time.sleep(self.seconds)
            yield piece


class CrashingModel(ScriptedModel):
    """Kills its process with a real SIGSEGV while answering, as a crash in llama.cpp would."""

    def stream(self, messages: Sequence[ChatMessage], max_tokens: int, temperature: float) -> Iterator[str]:
        yield "The answer"
        os.kill(os.getpid(), signal.SIGSEGV)
        time.sleep(60)  # the signal may reach another thread: this one never goes on


def drop(window: MainWindow, paths: Sequence[Path]) -> None:
    """Drag local files onto the window and release them, as a person would."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(200, 200), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, event)


def idle(window: MainWindow) -> Callable[[], bool]:
    def check() -> bool:
        jobs = (window.index_job, window.answer_job)
        return all(j is None or not j.running for j in jobs) and window.chat.send_button.isEnabled()
    return check


def fake_backends(parser_seconds: float = 0.0, slow_model: bool = False,
                  crashing_model: bool = False, reply: str | None = None) -> FakeBackends:
    """Built in the engine process (this function is what gets pickled, not the backends)."""
    backends = FakeBackends(model=ScriptedModel(reply=reply))
    if parser_seconds:
        backends.parser_impl = SlowParser(parser_seconds)
    if slow_model:
        backends.model = SlowModel()
    if crashing_model:
        backends.model = CrashingModel()
    return backends


@pytest.fixture
def make_window(qtbot, tmp_path) -> Iterator[Callable[..., MainWindow]]:
    windows: list[MainWindow] = []

    def make(make_backends: Callable[[], FakeBackends] | None = None, home: Path | None = None) -> MainWindow:
        window = build_window(home or tmp_path / "home", make_backends)
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()


@pytest.fixture
def fake_window(make_window) -> MainWindow:
    window = make_window(fake_backends)
    window.change_settings(min_relevance=0.0)
    return window
