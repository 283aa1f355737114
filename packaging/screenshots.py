"""Screenshots of the real window in its main states, for docs/screenshots/.

    xvfb-run -s "-screen 0 1400x900x24" python packaging/screenshots.py [DOCUMENTS_FOLDER]

Uses the real backends and a temporary data folder; DOCUMENTS_FOLDER defaults to tests/data.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from desktop_app.core.offline import seal_environment

seal_environment()

from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop_app.app import build_window  # noqa: E402
from desktop_app.gui.main_window import MainWindow  # noqa: E402
from desktop_app.gui.new_workspace import NewWorkspaceDialog  # noqa: E402
from desktop_app.gui.pdf_viewer import PdfViewer  # noqa: E402
from desktop_app.gui.settings_dialog import SettingsDialog  # noqa: E402
from desktop_app.gui.workspace_settings import WorkspaceSettingsDialog  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"


def wait_until(predicate: Callable[[], bool], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not reach the expected state")
        QApplication.processEvents()
        time.sleep(0.01)


def ask(window: MainWindow, question: str) -> None:
    """Type a question, send it, and wait for the whole answer."""
    window.chat.input.setPlainText(question)
    window.chat.send_button.click()
    wait_until(lambda: window.answer_job is not None and not window.answer_job.running
               and window.chat.send_button.isEnabled())
    QApplication.processEvents()


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "data"
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as home:
        window = build_window(home)
        window.library.update_settings(temperature=0.0)
        window.show()
        wait_until(lambda: window.isVisible())
        QApplication.processEvents()
        window.grab().save(str(OUT / "empty-workspace.png"))

        window.add_paths([str(folder)])
        wait_until(lambda: window.workspaces.document_list.count() >= 4)
        window.grab().save(str(OUT / "indexing.png"))
        wait_until(lambda: not (window.index_job and window.index_job.running))

        ask(window, "Who patented the typewriter in 1868?")
        window.grab().save(str(OUT / "answer-with-sources.png"))

        assert window.workspace is not None and window.thread_id is not None
        reply = window.workspace.messages(window.thread_id)[-1]  # the answer, with its sources
        cited = next((s for s in reply.citations
                      if s.cited and s.document.lower().endswith(".pdf")), None)
        if cited is not None:
            viewer = PdfViewer(cited.document, cited.page, cited.supporting_text, window)
            viewer.show()
            QApplication.processEvents()
            viewer.grab().save(str(OUT / "pdf-viewer-highlight.png"))
            viewer.close()

        scope = window.chat.scope
        pdf = next((i for i in range(scope.count())
                    if str(scope.itemData(i) or "").endswith("word-processor-history.pdf")), None)
        if pdf is not None:
            window.new_chat()
            scope.setCurrentIndex(pdf)
            ask(window, "When did the term word processor first appear?")
            window.grab().save(str(OUT / "answer-from-one-document.png"))
            scope.setCurrentIndex(0)

        own = WorkspaceSettingsDialog(window.workspace, window.library.settings,
                                      window.library.models, window)
        own.show()
        QApplication.processEvents()
        own.grab().save(str(OUT / "workspace-settings.png"))
        own.close()

        dialog = SettingsDialog(window.library.settings, window.library.models, window,
                                window.model_report)
        dialog.show()
        QApplication.processEvents()
        dialog.grab().save(str(OUT / "settings.png"))
        dialog.close()

        shared = NewWorkspaceDialog(window)
        shared.name.setText("Team docs")
        shared.shared.setChecked(True)
        shared.url.setText("https://kb.example.org")
        shared.token.setText("a token")
        shared.show()
        QApplication.processEvents()
        shared.grab().save(str(OUT / "new-shared-workspace.png"))
        shared.close()
        window.close()
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
