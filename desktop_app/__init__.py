"""Private, offline chat with your own documents."""

__version__ = "0.1.0"
