"""A shared workspace in the window: created from the New workspace dialog against a real
Chroma server behind Caddy, showing what another member added."""

from __future__ import annotations

import uuid

from PySide6.QtWidgets import QDialog

from desktop_app.core import Library
from desktop_app.core.backends import FakeBackends
from desktop_app.core.search.shared_index import SharedStore
from desktop_app.gui.new_workspace import NewWorkspaceDialog
from tests.gui.conftest import idle


def _filled(proxy, collection: str, token: str):
    def fill(dialog: NewWorkspaceDialog) -> QDialog.DialogCode:
        dialog.name.setText("Team docs")
        dialog.shared.setChecked(True)
        dialog.url.setText(proxy.url)
        dialog.collection.setText(collection)
        dialog.token.setText(token)
        dialog.ca_bundle.setText(str(proxy.ca_bundle))
        dialog._accept()  # noqa: SLF001 - what OK does
        return dialog.result()
    return fill


def test_a_shared_workspace_made_in_the_window_shows_what_others_added(
        fake_window, qtbot, team_proxy, notes, tmp_path, monkeypatch):
    collection = f"team-{uuid.uuid4().hex[:8]}"
    other = Library(tmp_path / "other", backends=FakeBackends())
    other.keys.save(team_proxy.url, team_proxy.token)
    store = SharedStore(team_proxy.url, collection, ca_bundle=str(team_proxy.ca_bundle))
    list(other.create("Team", store).add([notes]))
    other.close()

    monkeypatch.setattr(NewWorkspaceDialog, "exec", _filled(team_proxy, collection, "wrong"))
    fake_window.create_workspace()
    qtbot.waitUntil(lambda: "refused the token" in fake_window.notice.text(), timeout=20_000)
    assert "Team docs" not in [i.name for i in fake_window.library.list()]

    monkeypatch.setattr(NewWorkspaceDialog, "exec", _filled(team_proxy, collection,
                                                            team_proxy.token))
    fake_window.create_workspace()
    qtbot.waitUntil(lambda: fake_window.workspace is not None
                    and fake_window.workspace.name == "Team docs", timeout=20_000)
    qtbot.waitUntil(idle(fake_window), timeout=20_000)
    qtbot.waitUntil(lambda: len(fake_window.workspace.documents()) == 3, timeout=20_000)
    assert team_proxy.token not in (fake_window.workspace.folder / "workspace.json").read_text()
    fake_window.ask("How long does the Zephyr battery last?")
    qtbot.waitUntil(idle(fake_window), timeout=20_000)
    assert fake_window.chat.turns[-1].citations  # answered from the shared passages


def test_the_dialog_refuses_a_plain_http_server_with_words(qtbot):
    dialog = NewWorkspaceDialog()
    qtbot.addWidget(dialog)
    dialog.name.setText("Team")
    dialog.shared.setChecked(True)
    dialog.url.setText("http://10.0.0.5:8000")
    dialog._accept()  # noqa: SLF001
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert "unencrypted" in dialog.problem.text()
