"""A workspace's conversations: most recent first, each with when it was last used, and a
search box that finds them by title or by anything said in them."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import Thread

from .widgets import named, named_button

__all__ = ["ThreadsPanel", "when"]

_SEARCH_DELAY_MS = 200  # typing pauses this long before the list is searched again


class ThreadsPanel(QWidget):
    thread_selected = Signal(int)
    new_thread_requested = Signal()
    rename_thread_requested = Signal(int)
    delete_thread_requested = Signal(int)
    search_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = named(QLineEdit(), "threadSearch", "Search conversations")
        self.search.setPlaceholderText("Search conversations…")
        self.search.setClearButtonEnabled(True)
        self.list = named(QListWidget(), "threadList", "Conversations")
        self.list.setWordWrap(True)
        new = named_button("New chat", "newChatButton", "New chat (Ctrl+N)")
        rename = named_button("Rename", "renameChatButton", "Rename this chat")
        delete = named_button("Delete", "deleteChatButton", "Delete this chat")
        buttons = QHBoxLayout()
        for button in (new, rename, delete):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self._search_timer = QTimer(self, singleShot=True, interval=_SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(lambda: self.search_changed.emit(self.search.text()))
        self.search.textChanged.connect(lambda _text: self._search_timer.start())
        self.list.itemActivated.connect(self._on_item_chosen)
        self.list.itemClicked.connect(self._on_item_chosen)
        new.clicked.connect(self.new_thread_requested)
        rename.clicked.connect(lambda: self._emit_current(self.rename_thread_requested))
        delete.clicked.connect(lambda: self._emit_current(self.delete_thread_requested))

    def set_threads(self, threads: Sequence[Thread], current: int | None) -> None:
        """The list, `current` selected (none: a new conversation is being started)."""
        self.list.blockSignals(True)
        self.list.clear()
        now = time.time()
        for thread in threads:
            item = QListWidgetItem(f"{thread.title}\n{when(thread.updated_at, now)}")
            item.setData(Qt.ItemDataRole.UserRole, thread.id)
            item.setToolTip(f"{thread.title}\nstarted {when(thread.created_at, now)}")
            self.list.addItem(item)
            if thread.id == current:
                self.list.setCurrentItem(item)
        if current is None:
            self.list.setCurrentRow(-1)
        self.list.blockSignals(False)
        if not threads and self.search.text().strip():
            self.list.addItem(QListWidgetItem("No conversation mentions that"))
            self.list.item(0).setFlags(Qt.ItemFlag.NoItemFlags)

    def current_thread(self) -> int | None:
        item = self.list.currentItem()
        found = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return found if isinstance(found, int) else None

    def _on_item_chosen(self, item: QListWidgetItem) -> None:
        thread_id = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(thread_id, int):
            self.thread_selected.emit(thread_id)

    def _emit_current(self, signal: Any) -> None:
        thread_id = self.current_thread()
        if thread_id is not None:
            signal.emit(thread_id)


def when(timestamp: float, now: float | None = None) -> str:
    """"today 14:03", "yesterday 09:12", "Mon 14:03" within a week, else "3 Dec 2026"."""
    now = time.time() if now is None else now
    then, today = time.localtime(timestamp), time.localtime(now)
    midnight = (0, 0, 0, 0, 0, -1)  # hour, minute, second, weekday, day of year, DST unknown
    days = round((time.mktime(today[:3] + midnight) - time.mktime(then[:3] + midnight)) / 86400)
    clock = time.strftime("%H:%M", then)
    if days <= 0:
        return f"today {clock}"
    if days == 1:
        return f"yesterday {clock}"
    if days < 7:
        return f"{time.strftime('%a', then)} {clock}"
    return f"{then.tm_mday} {time.strftime('%b %Y', then)}"
