"""The one exception tree of the core.

    AppError                     any failure the core reports to a person
    ├── UserError                the request cannot be done as asked (CLI exit code 1)
    │   ├── WorkspaceNotFound
    │   ├── WorkspaceExists
    │   ├── EmbedderMismatch     the index was built with another embedder: re-index first
    │   └── ModelNotFound
    ├── DocumentError            one file could not be indexed; the batch goes on
    └── BackendError             a parser, embedder, store or model failed underneath

Third-party exceptions are translated at the boundary (`raise BackendError(...) from exc`).
"""

from __future__ import annotations

__all__ = [
    "AppError",
    "BackendError",
    "DocumentError",
    "EmbedderMismatch",
    "ModelNotFound",
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


class DocumentError(AppError):
    """A single document failed; its message is shown to the user as the reason."""


class BackendError(AppError):
    pass
