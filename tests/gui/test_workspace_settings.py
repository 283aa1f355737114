"""A workspace's own settings, set in the window, reach its next answer in the engine."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog

from desktop_app.gui.workspace_settings import WorkspaceSettingsDialog
from tests.gui.conftest import drop, idle


def test_workspace_settings_are_saved_refused_with_reasons_and_set_back(fake_window, qtbot,
                                                                        notes, monkeypatch):
    drop(fake_window, [notes])
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    workspace = fake_window.workspace
    dialog = WorkspaceSettingsDialog(workspace, fake_window.library.settings,
                                     fake_window.library.models)
    qtbot.addWidget(dialog)
    assert dialog.top_k.text().startswith("as in Settings (5)")
    dialog.top_k.setValue(99)  # kept as typed, refused with the reason
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted and "top_k" in dialog.problem.text()
    dialog.top_k.setValue(2)
    dialog.instructions.setPlainText("Answer in one line.")
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert workspace.info.overrides == {"top_k": 2, "instructions": "Answer in one line."}
    assert workspace.settings.top_k == 2 and fake_window.library.settings.top_k == 5

    again = WorkspaceSettingsDialog(workspace, fake_window.library.settings,
                                    fake_window.library.models)
    qtbot.addWidget(again)
    assert again.top_k.value() == 2 and again.instructions.toPlainText() == "Answer in one line."
    again.top_k.setValue(0)  # back to "as in Settings"
    again.accept()
    assert workspace.info.overrides == {"instructions": "Answer in one line."}

    monkeypatch.setattr(WorkspaceSettingsDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    fake_window.open_workspace_settings(workspace.name)
    assert "apply to its next answer" in fake_window.notice.text()


def test_a_chunking_change_names_every_workspace_out_of_date_and_reindexes_them(
        fake_window, qtbot, notes, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    drop(fake_window, [notes])
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    other = fake_window.library.create("Other")
    list(other.add([notes / "zephyr.txt"]))
    assert fake_window.workspace.out_of_date() == 0 and other.out_of_date() == 0
    asked = []

    def answer(parent, title, text):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer)
    assert fake_window.change_settings(chunk_tokens=100)
    assert other.out_of_date() == 1 and fake_window.workspace.out_of_date() == 3
    fake_window.offer_reindex()
    assert "My documents: 3 documents" in asked[0] and "Other: 1 document" in asked[0]
    qtbot.waitUntil(lambda: other.out_of_date() == 0
                    and fake_window.workspace.out_of_date() == 0, timeout=20_000)


def test_the_document_list_acts_open_show_reindex_remove(fake_window, qtbot, notes, monkeypatch):
    from PySide6.QtCore import Qt

    drop(fake_window, [notes])
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    opened = []
    monkeypatch.setattr("desktop_app.gui.main_window.QDesktopServices.openUrl",
                        lambda url: opened.append(url.toLocalFile()) or True)
    documents = fake_window.workspaces.document_list
    zephyr = next(documents.item(i) for i in range(documents.count())
                  if documents.item(i).data(Qt.ItemDataRole.UserRole).endswith("zephyr.txt"))
    documents.setCurrentItem(zephyr)
    documents.itemDoubleClicked.emit(zephyr)
    assert opened == [str(notes / "zephyr.txt")]
    menu = {a.text(): a for a in fake_window.workspaces.document_menu().actions()}
    assert list(menu) == ["Open", "Show in folder", "Re-index", "Pin / unpin", "Remove"]
    menu["Show in folder"].trigger()
    assert opened[-1] == str(notes)
    menu["Re-index"].trigger()
    qtbot.waitUntil(idle(fake_window), timeout=10_000)
    assert "1 indexed" in fake_window.notice.text()  # read again, though unchanged
    documents.setCurrentRow(0)  # the list was refilled: select again, as a person would
    fake_window.workspaces.document_menu().actions()[-1].trigger()  # Remove
    qtbot.waitUntil(lambda: len(fake_window.workspace.documents()) == 2, timeout=10_000)


def test_tab_goes_as_the_eye_reads(fake_window):
    from PySide6.QtCore import Qt

    start = fake_window.workspaces.workspace_list
    order, widget = [], start
    for _ in range(500):
        widget = widget.nextInFocusChain()
        if widget is start:
            break
        if widget.focusPolicy() & Qt.FocusPolicy.TabFocus and widget.isVisible() \
                and widget.isEnabled():
            order.append(widget.objectName())
    anchors = ["documentList", "threadSearch", "threadList", "settingsButton", "answerView",
               "scopeChoice", "chatInput", "sendButton", "sourcesView"]
    assert [name for name in order if name in anchors] == anchors


def test_the_window_and_the_pdf_viewer_open_inside_the_screen(fake_window, qtbot):
    from desktop_app.gui.pdf_viewer import PdfViewer
    from tests.conftest import DATA

    viewer = PdfViewer(str(DATA / "word-processor-history.pdf"), 1, "")
    qtbot.addWidget(viewer)
    for widget in (fake_window, viewer):
        room = widget.screen().availableGeometry()
        assert room.contains(widget.geometry()), (widget.geometry(), room)
