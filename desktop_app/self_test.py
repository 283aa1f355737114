"""`desktop-app --self-test`: prove an installation works, offline, in under a minute.

It creates a throw-away workspace, indexes the bundled sample PDF with the real parser and
embedder, asks the bundled model a question whose answer is on page 1, and checks that the
answer cites that document and page and that the cited passage holds the fact. Exit 0 when all
of that holds; otherwise 1, with the step that failed.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from desktop_app import ASSETS

__all__ = ["run_self_test"]

DOCUMENT = "word-processor-history.pdf"  # in the bundled samples
QUESTION = "Who patented the typewriter, and when?"
FACT = "1868"


def run_self_test(out: object = sys.stdout) -> int:
    from desktop_app.core import Library
    from desktop_app.core.records import DocumentStatus, FileFinished

    def say(message: str) -> None:
        print(message, file=out, flush=True)  # type: ignore[call-overload]

    started = time.perf_counter()
    document = ASSETS / "samples" / DOCUMENT
    if not document.is_file():
        say(f"FAIL: the bundled sample {document} is missing")
        return 1
    with tempfile.TemporaryDirectory(prefix="desktop-app-self-test-") as home:
        library = Library(home)
        try:
            library.update_settings(temperature=0.0)
            workspace = library.create("Self-test")
            finished = [e for e in workspace.add([document]) if isinstance(e, FileFinished)]
            if not finished or finished[0].record.status is not DocumentStatus.INDEXED:
                reason = finished[0].record.error if finished else "no result"
                say(f"FAIL: indexing {DOCUMENT}: {reason}")
                return 1
            say(f"ok   indexed {DOCUMENT}: {finished[0].record.chunks} passages")
            answer = workspace.ask(QUESTION)
            say(f"ok   answered: {answer.text[:160]!r}")
            say(f"     model {answer.model or 'not loaded'}")
            cited = [c for c in answer.citations
                     if Path(c.passage.chunk.document).name == DOCUMENT and c.passage.chunk.page == 1]
            if not cited:
                say(f"FAIL: the answer does not cite {DOCUMENT}, page 1")
                return 1
            if not any(FACT in c.passage.chunk.text for c in cited):
                say(f"FAIL: the cited passage does not hold {FACT}")
                return 1
            say(f"ok   cited {DOCUMENT}, page 1, whose passage says {FACT}")
        except Exception as exc:  # noqa: BLE001 - any failure is the answer this command gives
            say(f"FAIL: {type(exc).__name__}: {exc}")
            return 1
        finally:
            library.close()
    say(f"PASS in {time.perf_counter() - started:.1f} s")
    return 0
