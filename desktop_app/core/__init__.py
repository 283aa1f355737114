"""The headless core: workspaces that index documents and answer with cited passages.

Never imports Qt. Start with `Library`: it creates and opens `Workspace`s.
"""

from desktop_app.core.errors import AppError, BackendError, DocumentError, UserError
from desktop_app.core.library import Library
from desktop_app.core.records import (
    Answer,
    AnswerToken,
    Citation,
    DocumentRecord,
    DocumentStatus,
    Passage,
    Source,
)
from desktop_app.core.storage.history import Message, Thread
from desktop_app.core.storage.settings import Settings
from desktop_app.core.workspace import Workspace

__all__ = [
    "Answer",
    "AnswerToken",
    "AppError",
    "BackendError",
    "Citation",
    "DocumentError",
    "DocumentRecord",
    "DocumentStatus",
    "Library",
    "Message",
    "Passage",
    "Settings",
    "Source",
    "Thread",
    "UserError",
    "Workspace",
]
