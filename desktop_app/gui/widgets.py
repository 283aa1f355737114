"""Small widget helpers shared by the window's panels."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

__all__ = ["named", "named_button", "with_button"]

W = TypeVar("W", bound=QWidget)


def named(widget: W, name: str, accessible: str) -> W:
    """The widget with a stable objectName (for tests and styling) and an accessible name."""
    widget.setObjectName(name)
    widget.setAccessibleName(accessible)
    return widget


def named_button(text: str, name: str, tip: str) -> QPushButton:
    """A push button with a stable objectName, an accessible name and a tooltip."""
    button = named(QPushButton(text), name, tip)
    button.setToolTip(tip)
    return button


def with_button(widget: QWidget, text: str, clicked: Callable[[], None]) -> QHBoxLayout:
    """A form row's field with a button beside it ("File…" next to a path, say)."""
    button = QPushButton(text)
    button.clicked.connect(clicked)
    row = QHBoxLayout()
    row.addWidget(widget, 1)
    row.addWidget(button)
    return row
