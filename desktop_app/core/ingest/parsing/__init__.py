"""Parsers: turn a file into text elements with their page, slide or sheet."""

from desktop_app.core.ingest.parsing.base import (
    SUPPORTED_EXTENSIONS,
    ParsedDocument,
    ParsedPart,
    Parser,
    check_readable,
    unsupported_reason,
)
from desktop_app.core.ingest.parsing.plaintext import PlainTextParser

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "ParsedDocument",
    "ParsedPart",
    "Parser",
    "PlainTextParser",
    "check_readable",
    "create_isolated_parser",
    "create_parser",
    "unsupported_reason",
]


def create_parser() -> Parser:
    """The real parser (unstructured for office formats, pdfium for PDF); imports lazily."""
    from desktop_app.core.offline import seal_environment

    seal_environment()  # before unstructured is imported: it pings home unless told not to
    from desktop_app.core.ingest.parsing.documents import DocumentParser

    return DocumentParser()


def create_isolated_parser(workers: int | None = None) -> Parser:
    """The real parser in worker processes (`workers`, or as many as the cores spare), each
    file within a time and memory budget (isolation.py): what the app indexes with."""
    from desktop_app.core.ingest.parsing.isolation import IsolatedParser

    return IsolatedParser(create_parser, workers=workers)
