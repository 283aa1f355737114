"""The chat: the streamed conversation, what can be done with its answers, the question box."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import Source

from .chat_input import ChatInput
from .rendering import Turn, conversation_markdown
from .widgets import named, named_button

__all__ = ["ChatPanel"]

EMPTY_WORKSPACE = (
    "### This workspace has no documents yet\n\n"
    "Drop files or folders anywhere on this window, or use **Add files…** / **Add folder…**. "
    "PDF, Word, PowerPoint, Excel, web pages, e-mails, e-books and notes are read; everything "
    "stays on this computer."
)
_RENDER_DELAY_MS = 40  # streamed tokens are coalesced into one re-render per 40 ms


class ChatPanel(QWidget):
    question_submitted = Signal(str)
    stop_requested = Signal()
    citation_clicked = Signal(list, int)  # the answer's citations, the marker number
    # The last question again, its new answer replacing the old (the question: as it was
    # for "Regenerate", as edited for "Edit").
    replace_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editing = False  # the next question replaces the last one and its answer
        self.answer_view = named(QTextBrowser(), "answerView", "Conversation")
        self.answer_view.setOpenLinks(False)
        self.input = ChatInput()
        # Which documents the next question is answered from: all, a folder's, or one.
        self.scope = named(QComboBox(), "scopeChoice", "Answer from these documents")
        self.scope.addItem("All documents", None)
        # It takes the row's width, so a chosen document's name stays readable, but asks for
        # little more than "All documents" as its minimum: a long name never widens the window.
        self.scope.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.scope.setMinimumContentsLength(16)
        self.scope.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.scope.setToolTip("Answer from all documents, from the documents of one folder, "
                              "or from one chosen document only")
        self.send_button = named_button("Send", "sendButton", "Send the question (Enter)")
        self.stop_button = named_button("Stop", "stopButton", "Stop the answer (Esc)")
        self.stop_button.setEnabled(False)
        # Where the answer is, while the person waits: stage, time so far, then speed.
        self.status = named(QLabel(), "answerStatus", "Where the answer is")
        self.status.setVisible(False)
        scope_row = QHBoxLayout()
        scope_row.addWidget(QLabel("Answer from"))
        scope_row.addWidget(self.scope, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.input, 1)
        bottom.addWidget(self.send_button)
        bottom.addWidget(self.stop_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.answer_view, 1)
        layout.addWidget(self.status)
        layout.addLayout(scope_row)
        layout.addLayout(bottom)

        self.turns: list[Turn] = []
        self._empty = False
        self._render_timer = QTimer(self, singleShot=True, interval=_RENDER_DELAY_MS)
        self._render_timer.timeout.connect(self.refresh_view)
        self._clock = QTimer(self, interval=500)
        self._clock.timeout.connect(self._show_status)
        self._stage = ""
        self._started = self._first_token = 0.0
        self._pieces = 0
        self._answering = False
        self.input.submitted.connect(self._on_input_submitted)
        self.send_button.clicked.connect(lambda: self._on_input_submitted(self.input.toPlainText().strip()))
        self.stop_button.clicked.connect(self.stop_requested)
        self.answer_view.anchorClicked.connect(self._on_answer_view_anchor_clicked)

    # -- content -----------------------------------------------------------------------------

    def set_documents(self, paths: list[str]) -> None:
        """The documents a question can be limited to; the current choice stays while its
        document does."""
        current = self.scope.currentData()
        self.scope.clear()
        self.scope.addItem("All documents", None)
        choices = [(f"Folder {Path(f).name or f} ({n} documents)", f) for f, n in _folders(paths)]
        for label, path in choices + [(Path(p).name, p) for p in paths]:
            self.scope.addItem(label, path)
            self.scope.setItemData(self.scope.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
        self.scope.setCurrentIndex(max(0, self.scope.findData(current)))

    def scope_paths(self) -> tuple[str, ...]:
        """The documents the next question is limited to; () for all of them."""
        chosen = self.scope.currentData()
        return () if chosen is None else (str(chosen),)

    def show_turns(self, turns: list[Turn], empty_workspace: bool) -> None:
        self.turns = turns
        self._empty = empty_workspace
        self.end_editing()
        self.refresh_view()

    def begin_answer(self, question: str, replacing: bool = False) -> None:
        if replacing and len(self.turns) >= 2:
            del self.turns[-2:]
        self.end_editing()
        self.turns += [Turn("user", question), Turn("assistant", "")]
        self.input.clear()
        self.set_answering(True)
        self._started, self._first_token, self._pieces = time.monotonic(), 0.0, 0
        self.show_stage("Starting")
        self.refresh_view()

    def show_stage(self, stage: str) -> None:
        """What the answer is waiting for now ("Reading 5 passages (1,240 tokens, about
        20 s)"); the time so far is added and kept up to date."""
        self._stage = stage
        self.status.setVisible(True)
        self._clock.start()
        self._show_status()

    def append_token(self, text: str) -> None:
        if not self._first_token:
            self._first_token = time.monotonic()
        self._pieces += 1
        self.turns[-1].text += text
        if not self._render_timer.isActive():
            self._render_timer.start()

    def finish_answer(self, text: str, citations: list[Source], note: str) -> None:
        turn = self.turns[-1]
        turn.text, turn.citations, turn.note = text, citations, note
        self.set_answering(False)
        self._clock.stop()
        self._show_status(done="Stopped" if note.startswith("Stopped") else
                          "No answer" if note.startswith("No answer") else "Answered")
        self.refresh_view()

    def _show_status(self, done: str = "") -> None:
        """The stage and the time so far; once writing, the speed; `done` ("Answered",
        "Stopped", "No answer") when it is over."""
        now = time.monotonic()
        if self._first_token:
            writing = now - self._first_token
            speed = f", {self._pieces / writing:.1f} tokens/s" if writing >= 0.5 else ""
            first = f"first word after {self._first_token - self._started:.1f} s"
            self.status.setText(f"{done or 'Writing'}: {first}{speed}"
                                + (f", {now - self._started:.1f} s in all" if done else ""))
        elif done:
            self.status.setText(f"{done} after {now - self._started:.1f} s")
        else:
            self.status.setText(f"{self._stage}… {now - self._started:.0f} s")

    def set_answering(self, answering: bool) -> None:
        self.send_button.setEnabled(not answering)
        self.stop_button.setEnabled(answering)
        self._answering = answering

    def end_editing(self) -> None:
        self.editing = False
        self.send_button.setText("Send")

    def refresh_view(self) -> None:
        self._render_timer.stop()
        markdown = conversation_markdown(self.turns, actions=not self._answering)
        if not markdown and self._empty:
            markdown = EMPTY_WORKSPACE
        self.answer_view.setMarkdown(markdown)
        bar = self.answer_view.verticalScrollBar()
        bar.setValue(bar.maximum())

    # -- slots -------------------------------------------------------------------------------

    def _on_input_submitted(self, text: str) -> None:
        if text and self.send_button.isEnabled():
            (self.replace_requested if self.editing else self.question_submitted).emit(text)

    def _on_answer_view_anchor_clicked(self, url: QUrl) -> None:
        action, _, where = url.toString().partition(":")
        if action == "cite":
            turn_index, number = (int(x) for x in where.split(":"))
            if 0 <= turn_index < len(self.turns):
                self.citation_clicked.emit(self.turns[turn_index].citations, number)
        elif action == "copy" and where.isdigit() and int(where) < len(self.turns):
            QGuiApplication.clipboard().setText(_copyable(self.turns[int(where)]))
            self.status.setText("The answer is copied, with the sources it cites.")
            self.status.setVisible(True)
        elif action in ("regenerate", "edit") and self._last_question() is not None:
            question = self._last_question() or ""
            if action == "regenerate":
                self.replace_requested.emit(question)
                return
            self.editing = True
            self.input.setPlainText(question)
            self.input.setFocus()
            self.send_button.setText("Replace")
            self.status.setText("Edit the question: Replace asks it again in place of the last "
                                "question and its answer.")
            self.status.setVisible(True)

    def _last_question(self) -> str | None:
        if len(self.turns) >= 2 and self.turns[-2].role == "user":
            return self.turns[-2].text
        return None


def _copyable(turn: Turn) -> str:
    """An answer as a person pastes it elsewhere: its text, then each source it cites."""
    cited = [s for s in turn.citations if s.cited]
    lines = [turn.text.strip()]
    if cited:
        lines += ["", *(f"[{s.n}] {Path(s.document).name}"
                        + (f", page {s.page}" if s.page is not None else "") for s in cited)]
    return "\n".join(lines)


def _folders(paths: list[str]) -> list[tuple[str, int]]:
    """Folders holding two or more of the documents, with how many; none when one folder
    holds them all (that is "All documents")."""
    counts: dict[str, int] = {}
    for path in paths:
        parent = str(Path(path).parent)
        counts[parent] = counts.get(parent, 0) + 1
    if len(counts) < 2:
        return []
    return sorted((folder, n) for folder, n in counts.items() if n >= 2)
