"""Small widget helpers shared by the window's panels."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QPoint, QSize
from PySide6.QtWidgets import QApplication, QHBoxLayout, QPushButton, QWidget

__all__ = ["fit_to_screen", "named", "named_button", "with_button"]

# An error notice: the theme's own text colour (readable on light and dark) on a faint red
# band with a red edge, rather than red text, which is hard to read on a dark status bar.
ERROR_STYLE = ("background: rgba(176, 0, 32, 0.16); border-left: 3px solid #d32f2f; "
               "padding: 2px 6px; font-weight: bold;")

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


def fit_to_screen(widget: QWidget, width: int, height: int) -> None:
    """Size a top-level widget to `width` x `height`, or to 90% of the screen it opens on
    when that is smaller (a laptop at 150% scaling has about 1280 x 720 to offer), and
    centre it there, so no part opens off-screen."""
    screen = widget.screen() or QApplication.primaryScreen()
    if screen is None:
        widget.resize(width, height)
        return
    room = screen.availableGeometry()
    size = QSize(min(width, int(room.width() * 0.9)), min(height, int(room.height() * 0.9)))
    size = size.expandedTo(widget.minimumSizeHint())  # what its layout cannot go below
    widget.resize(size)
    corner = room.center() - QPoint(size.width() // 2, size.height() // 2)
    widget.move(QPoint(max(room.left(), corner.x()), max(room.top(), corner.y())))
