"""Small widget helpers shared by the window's panels."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton

__all__ = ["named_button"]


def named_button(text: str, name: str, tip: str) -> QPushButton:
    """A push button with a stable objectName, an accessible name and a tooltip."""
    button = QPushButton(text)
    button.setObjectName(name)
    button.setAccessibleName(tip)
    button.setToolTip(tip)
    return button
