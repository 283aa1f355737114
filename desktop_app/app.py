"""Start the desktop window: `python -m desktop_app` (or `build_window` from a script)."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable
from pathlib import Path

from desktop_app import ASSETS
from desktop_app.core.offline import seal_environment

seal_environment()

from PySide6.QtGui import QIcon  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop_app.core import Library  # noqa: E402
from desktop_app.core.backends import Backends  # noqa: E402
from desktop_app.gui.jobs import Engine  # noqa: E402
from desktop_app.gui.main_window import MainWindow  # noqa: E402

__all__ = ["build_window", "main"]

ICON = ASSETS / "icon.png"


def build_window(
    data_dir: str | Path | None = None, make_backends: Callable[[], Backends] | None = None
) -> MainWindow:
    """The real main window over the given data dir, without entering the event loop.

    Indexing and answering run in a child process that builds its backends with
    `make_backends` (a picklable callable; the real ones by default).
    """
    QApplication.instance() or QApplication(sys.argv[:1])
    library = Library(data_dir)  # this process only reads and writes the small SQLite state
    engine = Engine(library.data_dir, make_backends)
    engine.warm_up()  # spawning takes tens of milliseconds: do it before anyone is waiting
    window = MainWindow(library, engine)
    # Everything built so far lives as long as the window: keep it out of the garbage
    # collector's full passes, which otherwise pause the GUI thread for 50-100 ms at times.
    gc.freeze()
    return window


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="desktop-app", description="Private, offline chat with your documents.")
    parser.add_argument("--data-dir", default=None, help="where workspaces live (or $DESKTOP_APP_HOME)")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("desktop-app")
    QApplication.setDesktopFileName("desktop-app")  # matches the installed menu entry and its icon
    QApplication.setWindowIcon(QIcon(str(ICON)))
    window = build_window(args.data_dir)
    window.show()
    return int(app.exec())
