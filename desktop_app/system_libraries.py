"""The system libraries Qt's X11 window support loads, checked before Qt is: a missing one
is named with the command that installs it.

Without this check, a fresh Debian or Ubuntu machine printed Qt's own message ("could not
load the Qt platform plugin xcb"), which named neither libxcb-icccm4 nor libxcb-keysyms1, the
two libraries actually missing. The Linux package declares the same list as dependencies.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable

__all__ = ["XCB_LIBRARIES", "missing_window_libraries", "window_libraries_problem"]

# The shared libraries Qt's xcb platform plugin needs (its own and libQt6XcbQpa's, beyond
# what any desktop has), and the Debian/Ubuntu package of each.
XCB_LIBRARIES = {
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}


def _loads(name: str) -> bool:
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def missing_window_libraries(loads: Callable[[str], bool] = _loads) -> list[str]:
    """The Debian packages of the X11 libraries this machine cannot load (none elsewhere:
    Qt brings its own on Windows and macOS, and Wayland or a chosen platform needs none)."""
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM") or not os.environ.get("DISPLAY"):
        return []
    return [package for library, package in XCB_LIBRARIES.items() if not loads(library)]


def window_libraries_problem(loads: Callable[[str], bool] = _loads) -> str | None:
    """What to tell a person whose machine lacks libraries the window needs, or None."""
    missing = missing_window_libraries(loads)
    if not missing:
        return None
    return ("The window needs system libraries this computer does not have: "
            f"{', '.join(missing)}.\nInstall them (Debian, Ubuntu) with:\n\n"
            f"    sudo apt-get install {' '.join(missing)}\n\n"
            "then start the app again. Without a window, the command line works as it is: "
            "python -m desktop_app.cli --help")
