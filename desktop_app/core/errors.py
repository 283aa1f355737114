"""The one exception tree of the core.

    AppError                     any failure the core reports to a person
    ├── UserError                the request cannot be done as asked (CLI exit code 1)
    │   ├── WorkspaceNotFound
    │   ├── WorkspaceExists
    │   ├── EmbedderMismatch     the index was built with another embedder: re-index first
    │   ├── ModelNotFound
    │   └── InvalidModelFile     the file is not a GGUF model llama.cpp can load
    ├── DownloadError            a model could not be fetched or verified
    ├── DocumentError            one file could not be indexed; the batch goes on
    └── BackendError             a parser, embedder, store or model failed underneath
        ├── IndexDamaged         a workspace's search index cannot be read: it is rebuilt
        └── ServerError          a server the app talks to refused or could not be reached

Third-party exceptions are translated at the boundary (`raise BackendError(...) from exc`).
"""

from __future__ import annotations

__all__ = [
    "AppError",
    "BackendError",
    "DocumentError",
    "DownloadError",
    "EmbedderMismatch",
    "IndexDamaged",
    "InvalidModelFile",
    "ModelNotFound",
    "ServerError",
    "UserError",
    "WorkspaceExists",
    "WorkspaceNotFound",
]


class AppError(Exception):
    """Root of every error the core raises on purpose."""


class UserError(AppError):
    """The request cannot be done as asked; the message says what to do instead."""


class WorkspaceNotFound(UserError):
    pass


class WorkspaceExists(UserError):
    pass


class EmbedderMismatch(UserError):
    pass


class ModelNotFound(UserError):
    pass


class InvalidModelFile(UserError):
    """The file is not a GGUF model llama.cpp can load."""


class DownloadError(AppError):
    """The file could not be fetched or verified; the message says what to do."""


class DocumentError(AppError):
    """A single document failed; its message is shown to the user as the reason."""


class BackendError(AppError):
    pass


class IndexDamaged(BackendError):
    """The vector store's files cannot be opened, read or searched. Nothing is lost: the
    workspace rebuilds it from the passages in its own database (Workspace.heal)."""


class ServerError(BackendError):
    """An inference or vector server refused the request or could not be reached; the
    message names the server and says what to check."""
