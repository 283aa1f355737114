"""The window over fast fakes: what a person sees and does."""

from __future__ import annotations

import json
import re
from functools import partial
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QMessageBox, QPushButton, QSpinBox

from desktop_app.core import Library, Source
from desktop_app.core.backends import FakeBackends
from desktop_app.core.models.engine_check import EngineChecks, EngineConfig
from desktop_app.core.storage.settings import SCHEMA_VERSION
from desktop_app.gui.settings_dialog import SettingsDialog
from tests.gui.conftest import drop, fake_backends, idle

pytestmark = pytest.mark.gui

NAMES = ["workspaceList", "documentList", "indexProgress", "cancelIndexButton", "chatInput",
         "sendButton", "stopButton", "answerView", "sourcesView", "settingsButton"]


def test_widgets_have_stable_names_and_an_empty_workspace_invites_a_drop(fake_window):
    for name in NAMES:
        assert fake_window.findChild(object, name) is not None, name
    assert "Drop files or folders" in fake_window.chat.answer_view.toPlainText()
    assert fake_window.workspaces.workspace_list.count() == 1


def test_dropping_files_indexes_them_and_lists_failures(fake_window, qtbot, notes):
    assert fake_window.indexing.failures.isHidden()  # no empty box before anything failed
    (notes / "empty.txt").write_text("", encoding="utf-8")
    drop(fake_window, [notes])
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    items = [fake_window.workspaces.document_list.item(i).text()
             for i in range(fake_window.workspaces.document_list.count())]
    assert len(items) == 4 and any(re.fullmatch(r"✓ zephyr\.txt \(\d+ chunks?\)", t) for t in items)
    assert not any(" 1 chunks" in t for t in items)
    assert any("empty.txt: file is empty" in t for t in items)
    failures = fake_window.indexing.failures
    assert failures.count() == 1 and "file is empty" in failures.item(0).text()
    assert "could not be read" in fake_window.notice.text()


def test_asking_streams_an_answer_and_shows_its_sources(fake_window, qtbot, notes):
    drop(fake_window, [notes])
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    qtbot.keyClicks(fake_window.chat.input, "How long does the Zephyr battery last?")
    qtbot.keyClick(fake_window.chat.input, Qt.Key.Key_Return)
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    text = fake_window.chat.answer_view.toPlainText()
    assert "How long does the Zephyr battery last?" in text and "[1]" in text
    sources = fake_window.sources.list
    assert sources.count() >= 1 and "zephyr.txt" in sources.item(0).text()
    assert "45 minutes" in fake_window.sources.detail.toPlainText()
    threads = fake_window.threads.list
    assert threads.count() == 1 and threads.item(0).text().startswith(
        "How long does the Zephyr battery last?\ntoday ")


def test_the_sources_show_every_passage_the_model_was_given_cited_ones_first(fake_window, qtbot,
                                                                            notes):
    drop(fake_window, [notes])
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    fake_window.ask("How long does the Zephyr battery last?")
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    items = [fake_window.sources.list.item(i).text() for i in range(fake_window.sources.list.count())]
    assert len(items) == 4 and items[0].startswith("[1] zephyr.txt")  # every chunk of the notes
    assert "cited by the answer" in items[0] and "relevance ●●●●●" in items[0]
    assert all("found by the app, not cited by the model" in item for item in items[1:])
    assert fake_window.sources.summary.isHidden()


def test_an_answer_that_cites_nothing_says_so_and_still_shows_its_passages(make_window, qtbot, notes):
    window = make_window(partial(fake_backends, reply="Penguins live in Antarctica."))
    window.change_settings(min_relevance=0.0)
    drop(window, [notes])
    qtbot.waitUntil(idle(window), timeout=10_000)
    window.ask("How long does the Zephyr battery last?")
    qtbot.waitUntil(idle(window), timeout=10_000)
    assert window.sources.list.count() == 4
    assert "No passage supports this answer" in window.sources.summary.text()
    assert window.sources.detail.toPlainText()  # the first passage, in full
    window.select_thread(window.thread_id)  # reopened later: the same sources
    assert window.sources.list.count() == 4


def test_clicking_a_marker_shows_that_passage(fake_window, qtbot, notes):
    drop(fake_window, [notes])
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    fake_window.ask("Where is the quarterly meeting?")
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    fake_window.sources.show_sources([])
    fake_window.chat.answer_view.anchorClicked.emit(QUrl("cite:1:1"))
    assert "room 204" in fake_window.sources.detail.toPlainText()


def test_cancel_mid_index_keeps_finished_files(make_window, qtbot, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(8):
        (folder / f"note{i}.txt").write_text(f"Note number {i} about topic {i}.", encoding="utf-8")
    window = make_window(partial(fake_backends, parser_seconds=0.3))
    drop(window, [folder])
    qtbot.waitUntil(lambda: window.workspaces.document_list.count() >= 1, timeout=10_000)
    qtbot.mouseClick(window.indexing.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(idle(window), timeout=10_000)
    done = window.workspaces.document_list.count()
    assert 1 <= done < 8
    assert "Cancelled" in window.indexing.label.text()
    assert not window.indexing.cancel_button.isVisible()
    assert len(window.workspace.documents()) == done


def test_stop_mid_answer_keeps_the_partial_answer(make_window, qtbot, notes):
    window = make_window(partial(fake_backends, slow_model=True))
    window.change_settings(min_relevance=0.0)
    drop(window, [notes])
    qtbot.waitUntil(idle(window), timeout=10_000)
    window.ask("How long does the battery last?")
    qtbot.waitUntil(lambda: "word word" in window.chat.answer_view.toPlainText(), timeout=10_000)
    assert window.chat.stop_button.isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(idle(window), timeout=10_000)
    assert "Stopped." in window.chat.answer_view.toPlainText()
    assert window.chat.answer_view.toPlainText().count("word") < 400
    messages = window.workspace.messages(window.thread_id)
    assert messages[-1].role == "assistant" and messages[-1].content.startswith("word")


def test_settings_round_trip_through_the_config_file(fake_window, qtbot, tmp_path):
    def fill_in() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, SettingsDialog):  # not shown yet on a busy machine
            QTimer.singleShot(50, fill_in)
            return
        dialog.findChild(QSpinBox, "topK").setValue(9)
        dialog.temperature.setValue(0.7)
        dialog.accept()

    QTimer.singleShot(100, fill_in)
    qtbot.mouseClick(fake_window.settings_button, Qt.MouseButton.LeftButton)
    assert fake_window.library.settings.top_k == 9
    reopened = Library(tmp_path / "home", backends=FakeBackends())
    assert reopened.settings.top_k == 9 and reopened.settings.temperature == 0.7
    assert f'"schema_version": {SCHEMA_VERSION}' in reopened.settings_path.read_text()
    dialog = SettingsDialog(reopened.settings, reopened.models)
    assert dialog.top_k.value() == 9 and dialog.changes() == {}
    dialog.deleteLater()


def test_deleting_a_workspace_asks_first(fake_window, qtbot, monkeypatch):
    fake_window.library.create("Scratch")
    fake_window.reload_workspaces(select="Scratch")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    fake_window.delete_workspace("Scratch")
    assert [i.name for i in fake_window.library.list()] == ["My documents", "Scratch"]
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    fake_window.delete_workspace("Scratch")
    qtbot.waitUntil(lambda: fake_window.workspaces.workspace_list.count() == 1, timeout=10_000)
    assert [i.name for i in fake_window.library.list()] == ["My documents"]


def test_a_missing_source_file_is_reported_not_opened(fake_window):
    fake_window.open_source(Source(1, "/nowhere/gone.pdf", 1, "x", 0.5))
    assert "no longer there" in fake_window.notice.text()


def test_the_pdf_viewer_opens_at_the_cited_page_with_the_whole_passage_highlighted(qtbot):
    from desktop_app.gui.pdf_viewer import PdfViewer
    from tests.conftest import DATA

    passage = ("Specialized Word Processing Tools In addition to general-purpose word "
               "processors, specialized tools have emerged to cater to specific industries and "
               "needs. These tools incorporate unique features tailored to their users' "
               "workflows:")
    viewer = PdfViewer(str(DATA / "word-processor-history.pdf"), 3, passage)
    qtbot.addWidget(viewer)
    viewer.show()
    assert viewer.document.pageCount() == 5 and viewer.page == 2
    assert viewer.spans[2].whole and viewer.highlighted() >= 4  # every line of it, not 6 words
    assert "Page 3 of 5 · the cited passage is highlighted" in viewer.where.text()
    assert not viewer.image.pixmap().isNull()
    viewer.next.click()
    assert viewer.page == 3 and viewer.highlighted() == 0 and "highlighted" not in viewer.where.text()
    assert isinstance(viewer, QDialog) and Path(viewer.windowTitle()).name == "word-processor-history.pdf"


def test_a_passage_is_found_in_a_pages_text_however_its_lines_break():
    from desktop_app.gui.pdf_viewer import find_span

    page = ("Title\r\nThe Zephyr 3000 vacuum cleaner has a bat-\r\ntery life of 45 minutes. It "
            "charges\r\nfully in 3 hours.\r\nNext section")
    span = find_span(page, "The Zephyr 3000 vacuum cleaner has a battery life of 45 minutes. "
                           "It charges fully in 3 hours.")
    assert span is not None and span.whole
    assert page[span.start:span.end].startswith("The Zephyr") and page[span.start:span.end].endswith("3 hours.")
    running_on = find_span(page, "It charges fully in 3 hours. Next section and more on the next page")
    assert running_on is not None and not running_on.whole
    assert page[running_on.end - 7:running_on.end] == "section"
    assert find_span(page, "Words that are not on this page at all") is None


def test_each_source_says_why_it_was_retrieved(fake_window, qtbot, notes):
    drop(fake_window, [notes])
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    fake_window.ask("How long does the Zephyr battery last?")
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    tip = fake_window.sources.list.item(0).toolTip()
    assert "meaning: rank" in tip and "keywords: rank 1" in tip and "fused score" in tip


def test_settings_show_this_machine_each_models_fit_and_where_the_last_answer_ran(qtbot, tmp_path):
    from desktop_app.core.models.hardware import Gpu, Hardware
    from desktop_app.core.models.model_manager import Models
    from desktop_app.core.storage.settings import Settings

    gpu_machine = Hardware(32 * 2**30, 30 * 2**30, [Gpu("Test GPU", 8 * 2**30, 8 * 2**30, "CUDA")], True)
    dialog = SettingsDialog(Settings(model="llama-3.1-8b-instruct"),
                            Models(tmp_path, hardware=gpu_machine), None, "m: 33/33 layers on CUDA0")
    qtbot.addWidget(dialog)
    fit = dialog.findChild(QLabel, "modelFit").text()
    assert "Test GPU (CUDA) 8.0 of 8.0 GiB free" in fit
    # Not downloaded: the dialog shows the recommended quant, the best that fits the GPU whole.
    assert "Llama 3.1 8B Instruct" in fit and "fits on Test GPU: all 32 layers on the GPU" in fit
    assert "not downloaded yet" in fit and "Last answer: m: 33/33 layers on CUDA0" in fit
    assert "build" in fit  # which llama.cpp build this is
    dialog.model.setCurrentIndex(dialog.model.findData("qwen2.5-14b-instruct:Q4_K_M"))
    assert "partly on Test GPU" in dialog.fit.text()  # 14B at Q4_K_M: 9 GB, more than 8 GiB
    # Every quantization is there, with its size and fit; "best" marks one per model.
    labels = [dialog.model.itemText(i) for i in range(dialog.model.count())]
    llama = [t for t in labels if t.startswith("Llama 3.1 8B")]
    assert [t.split(" · ")[1] for t in llama] == ["Q4_K_M", "Q6_K", "Q8_0"]
    assert sum("best quantization here" in t for t in llama) == 1
    # The fit follows the context size as it is edited.
    dialog.model.setCurrentIndex(dialog.model.findData("llama-3.1-8b-instruct:Q8_0"))
    before = dialog.fit.text()
    dialog.context_size.setValue(32768)
    assert dialog.fit.text() != before and "needs" in dialog.fit.text()


def test_settings_refuse_with_reasons_and_never_change_what_was_typed(qtbot, tmp_path):
    from desktop_app.core.models.model_manager import Models
    from desktop_app.core.storage.settings import Settings

    dialog = SettingsDialog(Settings(model="llama-3.1-8b-instruct"), Models(tmp_path))
    qtbot.addWidget(dialog)
    dialog.temperature.lineEdit().setText("7.5")
    dialog.temperature.interpretText()
    assert dialog.temperature.value() == 7.5  # kept as typed, then refused with the reason
    dialog.accept()
    assert dialog.result() != dialog.DialogCode.Accepted
    assert "temperature" in dialog.problem.text() and not dialog.problem.isHidden()
    dialog.temperature.setValue(0.5)
    dialog.model.setCurrentIndex(dialog.model.findData("llama-3.1-8b-instruct:Q6_K"))
    dialog.accept()  # a model not downloaded cannot be saved as the one that answers
    assert "not downloaded yet: download it first" in dialog.problem.text()
    dialog.model.setCurrentIndex(dialog.model.findData("smollm2-135m-instruct:Q4_1"))
    dialog.context_size.setValue(99_999)
    assert "trained for at most 8,192 tokens" in dialog.problem.text()  # said at once
    dialog.accept()
    assert dialog.result() != dialog.DialogCode.Accepted
    dialog.context_size.setValue(8192)
    dialog.accept()
    assert dialog.result() == dialog.DialogCode.Accepted
    assert dialog.changes()["model"] == "smollm2-135m-instruct:Q4_1"


def _catalog_serving(tmp_path: Path, server_url: str, size: int, sha256: str) -> Path:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"schema_version": 1, "models": [{
        "id": "tiny", "name": "Tiny", "parameters": 1_000_000, "variants": [{
            "quant": "Q4_K_M", "file": "tiny.gguf", "url": server_url,
            "size_bytes": size, "sha256": sha256}]}]}))
    return catalog


def test_the_settings_dialog_downloads_the_chosen_model(fake_window, qtbot, tmp_path):
    from desktop_app.core.storage.settings import Settings
    from tests.core.models.test_downloads import BODY, SHA, Server

    server = Server("normal")
    try:
        catalog = _catalog_serving(tmp_path, server.url, len(BODY), SHA)
        models = fake_window.library.models.with_catalog(catalog)
        dialog = SettingsDialog(Settings(model="tiny"), models, downloads=fake_window.download_model)
        qtbot.addWidget(dialog)
        button = dialog.findChild(QPushButton, "downloadModel")
        assert not button.isHidden() and button.text() == "Download (0.00 GB)"
        assert "not downloaded yet" in dialog.fit.text()
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        status = dialog.findChild(QLabel, "downloadStatus")
        qtbot.waitUntil(lambda: "downloaded and verified" in status.text(), timeout=30_000)
    finally:
        server.close()
    target = fake_window.library.models_dir / "tiny.gguf"
    assert target.read_bytes() == BODY
    assert button.isHidden() and "not downloaded yet" not in dialog.fit.text()
    assert "installed" in dialog.model.currentText()


def test_a_failed_download_says_why_and_leaves_no_file(fake_window, qtbot, tmp_path):
    from desktop_app.core.storage.settings import Settings
    from tests.core.models.test_downloads import BODY, SHA, Server

    server = Server("wrong")  # serves other bytes than the published checksum
    try:
        catalog = _catalog_serving(tmp_path, server.url, len(BODY), SHA)
        models = fake_window.library.models.with_catalog(catalog)
        dialog = SettingsDialog(Settings(model="tiny"), models, downloads=fake_window.download_model)
        qtbot.addWidget(dialog)
        qtbot.mouseClick(dialog.findChild(QPushButton, "downloadModel"), Qt.MouseButton.LeftButton)
        status = dialog.findChild(QLabel, "downloadStatus")
        qtbot.waitUntil(lambda: "Download failed" in status.text(), timeout=30_000)
    finally:
        server.close()
    assert "checksum mismatch" in status.text()
    assert not list(fake_window.library.models_dir.glob("tiny.gguf*"))
    assert dialog.findChild(QPushButton, "downloadModel").text().startswith("Download (")


def test_an_engine_crash_while_answering_is_reported_once_and_the_next_start_is_safer(
        make_window, qtbot, notes, tmp_path, monkeypatch):
    monkeypatch.setenv("DESKTOP_APP_HOME", str(tmp_path / "home"))
    window = make_window(partial(fake_backends, crashing_model=True))
    window.change_settings(min_relevance=0.0)
    drop(window, [notes])
    qtbot.waitUntil(idle(window), timeout=10_000)
    window.ask("How long does the battery last?")
    qtbot.waitUntil(idle(window), timeout=20_000)
    notice = window.notice.text()
    assert "crashed while answering" in notice and "SIGSEGV" in notice
    assert "from now on it runs with weight repacking off" in notice
    config, reason = EngineChecks().current()  # what the next engine start loads with
    assert config == EngineConfig(None, extra_buffers=False) and "SIGSEGV" in reason


def test_a_conversation_exports_as_markdown(fake_window, qtbot, notes, tmp_path, monkeypatch):
    drop(fake_window, [notes])
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    fake_window.ask("How long does the Zephyr battery last?")
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    target = tmp_path / "exported.md"
    monkeypatch.setattr("desktop_app.gui.main_window.QFileDialog.getSaveFileName",
                        lambda *args, **kwargs: (str(target), "Markdown (*.md)"))
    fake_window.export_thread()
    text = target.read_text(encoding="utf-8")
    assert "**Question:** How long does the Zephyr battery last?" in text
    assert "zephyr.txt" in text and "45 minutes" in text
    assert "exported to" in fake_window.notice.text()


def test_a_question_can_be_asked_of_one_document(fake_window, qtbot, notes):
    fake_window.resize(1280, 800)
    fake_window.show()  # before there are documents, as a person opens the app
    qtbot.waitExposed(fake_window)
    drop(fake_window, [notes])
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    scope = fake_window.chat.scope
    assert [scope.itemText(i) for i in range(scope.count())] == [
        "All documents", "bread.md", "meeting.txt", "zephyr.txt"]
    scope.setCurrentIndex(scope.findText("bread.md"))
    fake_window.ask("How long does the battery last?")
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    (message,) = [m for m in fake_window.workspace.messages(fake_window.thread_id) if m.role == "assistant"]
    assert message.citations and all(c.document.endswith("bread.md") for c in message.citations)
    fake_window.refresh_documents()  # the choice stays while its document does
    assert scope.currentText() == "bread.md"
    # The choice stays readable: the box takes its row, room for a long document name.
    long_name = "word-processor-history-2025.pdf"
    assert scope.width() > scope.fontMetrics().horizontalAdvance(long_name)


def test_a_question_can_be_asked_of_one_folder(fake_window, qtbot, notes, tmp_path):
    manuals = tmp_path / "manuals"
    manuals.mkdir()
    (manuals / "kettle.txt").write_text("The kettle battery? It has none: it boils in 3 minutes.")
    (manuals / "lamp.txt").write_text("The lamp battery lasts 12 hours on one charge.")
    drop(fake_window, [notes, manuals])
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    scope = fake_window.chat.scope
    labels = [scope.itemText(i) for i in range(scope.count())]
    assert labels[:3] == ["All documents", "Folder manuals (2 documents)", "Folder notes (3 documents)"]
    scope.setCurrentIndex(1)
    fake_window.ask("How long does the battery last?")
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    (message,) = [m for m in fake_window.workspace.messages(fake_window.thread_id) if m.role == "assistant"]
    assert message.citations
    assert all("/manuals/" in c.document for c in message.citations)


def test_pinning_a_document_marks_it_and_gives_it_to_every_answer(fake_window, qtbot, notes):
    drop(fake_window, [notes])
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    documents = fake_window.workspaces.document_list
    (bread,) = [documents.item(i) for i in range(documents.count()) if "bread.md" in documents.item(i).text()]
    bread.setSelected(True)
    qtbot.mouseClick(fake_window.findChild(QPushButton, "pinDocumentsButton"), Qt.MouseButton.LeftButton)
    assert [documents.item(i).text() for i in range(documents.count())][0] == "📌 bread.md (1 chunk), pinned"
    fake_window.ask("How long does the battery last?")
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    assert "bread.md" in fake_window.sources.list.item(0).text()


def test_a_watched_folder_stays_in_sync_as_files_come_and_go(fake_window, qtbot, notes, tmp_path):
    documents = fake_window.workspaces.document_list
    fake_window.watch_folder(str(notes))
    qtbot.waitUntil(lambda: documents.count() == 3 and idle(fake_window)(), timeout=10_000)
    (notes / "new.txt").write_text("A note about the walrus.", encoding="utf-8")
    qtbot.waitUntil(lambda: documents.count() == 4, timeout=20_000)
    (notes / "bread.md").unlink()
    qtbot.waitUntil(lambda: documents.count() == 3, timeout=20_000)
    listed = " ".join(documents.item(i).text() for i in range(documents.count()))
    assert "bread.md" not in listed and "new.txt" in listed

    # Closed and opened again: what changed meanwhile is found at once.
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    fake_window.watching.stop()
    (notes / "later.txt").write_text("Written while the app was closed.", encoding="utf-8")
    fake_window.reload_workspaces()
    qtbot.waitUntil(lambda: documents.count() == 4, timeout=20_000)


def test_a_folder_add_names_each_file_it_skipped_and_why(fake_window, qtbot, notes):
    (notes / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0 legacy word")
    (notes / "song.mp3").write_bytes(b"ID3")
    drop(fake_window, [notes])
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    failures = fake_window.indexing.failures
    listed = [failures.item(i).text() for i in range(failures.count())]
    assert any("old.doc" in item and "save it as .docx" in item for item in listed)
    assert any("song.mp3" in item and "unsupported format .mp3" in item for item in listed)
    assert "2 in unsupported formats" in fake_window.indexing.label.text()


def test_the_wait_for_an_answer_is_explained_then_its_speed_shown(make_window, qtbot, notes):
    window = make_window(partial(fake_backends, slow_model=True))
    window.change_settings(min_relevance=0.0)
    drop(window, [notes])
    qtbot.waitUntil(idle(window), timeout=10_000)
    seen: list[str] = []
    window.ask("How long does the Zephyr battery last?")
    window.answer_job.progressed.connect(lambda _e: seen.append(window.chat.status.text()))
    qtbot.waitUntil(lambda: "Writing" in window.chat.status.text(), timeout=10_000)
    qtbot.waitUntil(lambda: "tokens/s" in window.chat.status.text(), timeout=10_000)
    window.stop_answer()
    qtbot.waitUntil(idle(window), timeout=10_000)
    assert any(text.startswith("Reading ") and "passage" in text and "tokens" in text for text in seen)
    assert window.chat.status.text().startswith("Stopped: first word after")


def _ask(window, qtbot, question: str) -> None:
    window.ask(question)
    qtbot.waitUntil(idle(window), timeout=10_000)


def test_conversations_are_listed_with_dates_searched_and_reopened_where_left(make_window, qtbot,
                                                                              notes, tmp_path):
    window = make_window(fake_backends)
    window.change_settings(min_relevance=0.0)
    drop(window, [notes])
    qtbot.waitUntil(idle(window), timeout=10_000)
    _ask(window, qtbot, "How long does the Zephyr battery last?")
    window.new_chat()
    _ask(window, qtbot, "Where is the quarterly meeting?")
    listed = [window.threads.list.item(i).text() for i in range(window.threads.list.count())]
    assert [t.split("\n")[0] for t in listed] == ["Where is the quarterly meeting?",
                                                  "How long does the Zephyr battery last?"]
    window.threads.search.setText("room 204")  # said in an answer, not in any title
    qtbot.waitUntil(lambda: window.threads.list.count() == 1, timeout=5_000)
    assert window.threads.list.item(0).text().startswith("Where is the quarterly meeting?")
    window.threads.search.setText("penguins")
    qtbot.waitUntil(lambda: "No conversation" in window.threads.list.item(0).text(), timeout=5_000)
    window.threads.search.clear()
    qtbot.waitUntil(lambda: window.threads.list.count() == 2, timeout=5_000)
    window.threads.list.itemClicked.emit(window.threads.list.item(1))  # the older one
    assert "Zephyr" in window.chat.answer_view.toPlainText()
    window.close()
    reopened = make_window(fake_backends, home=tmp_path / "home")
    assert "Where is the quarterly meeting?" in reopened.chat.answer_view.toPlainText()
    assert reopened.threads.current_thread() == reopened.thread_id is not None


def test_an_answer_can_be_copied_regenerated_and_its_question_edited(fake_window, qtbot, notes):
    from PySide6.QtGui import QGuiApplication

    drop(fake_window, [notes])
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    _ask(fake_window, qtbot, "How long does the Zephyr battery last?")
    view = fake_window.chat.answer_view
    assert "Copy · Regenerate · Edit question" in view.toPlainText()
    view.anchorClicked.emit(QUrl("copy:1"))
    copied = QGuiApplication.clipboard().text()
    assert "45 minutes" in copied and "[1] zephyr.txt" in copied

    view.anchorClicked.emit(QUrl("regenerate:1"))
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    messages = fake_window.workspace.messages(fake_window.thread_id)
    assert [m.role for m in messages] == ["user", "assistant"]  # replaced, not added
    assert view.toPlainText().count("How long does the Zephyr battery last?") == 1

    view.anchorClicked.emit(QUrl("edit:1"))
    assert fake_window.chat.input.toPlainText() == "How long does the Zephyr battery last?"
    assert fake_window.chat.send_button.text() == "Replace"
    fake_window.chat.input.setPlainText("Where is the quarterly meeting?")
    qtbot.mouseClick(fake_window.chat.send_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    messages = fake_window.workspace.messages(fake_window.thread_id)
    assert [m.content for m in messages][0] == "Where is the quarterly meeting?"
    assert len(messages) == 2 and "room 204" in messages[1].content
    assert fake_window.chat.send_button.text() == "Send"
