"""The headless core: workspaces that index documents and answer with cited passages.

Never imports Qt. Start with `Library`: it creates and opens `Workspace`s.
"""

from .errors import AppError, BackendError, DocumentError, UserError
from .library import Library
from .records import Answer, AnswerToken, Citation, DocumentRecord, DocumentStatus, Passage
from .settings import Settings
from .workspace import Workspace

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
    "Passage",
    "Settings",
    "UserError",
    "Workspace",
]
