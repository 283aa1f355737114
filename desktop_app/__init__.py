"""Private, offline chat with your own documents."""

from pathlib import Path

__version__ = "0.1.0"

# Files that ship with the app (sample documents, icon): beside the package in a checkout, and
# at the same place relative to it in a frozen bundle.
ASSETS = Path(__file__).resolve().parent.parent / "assets"
