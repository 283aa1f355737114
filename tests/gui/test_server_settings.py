"""The settings dialog's server section against a real llama.cpp server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from desktop_app.core.models.model_manager import resolve_model
from desktop_app.gui.settings_dialog import SettingsDialog
from tests.gui.conftest import drop, idle
from tests.servers import llama_server

pytestmark = [pytest.mark.gui, pytest.mark.integration]

KEY = "sk-window-51c2"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("server") / "server.log"
    with llama_server(resolve_model("smollm2-135m-instruct", log.parent, 2048), log, KEY) as url:
        yield url


def fill_in_server(dialog: SettingsDialog, url: str, key: str) -> None:
    dialog.server.setChecked(True)
    dialog.server.url.setText(url)
    dialog.server.key.setText(key)


def test_checking_the_connection_lists_the_models_or_says_what_is_wrong(fake_window, qtbot, server):
    settings = fake_window.library.settings
    dialog = SettingsDialog(settings, fake_window.library.models,
                            server_checker=fake_window.check_server)
    qtbot.addWidget(dialog)
    fill_in_server(dialog, server, "wrong key")
    qtbot.mouseClick(dialog.server.check, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Could not use the server" in dialog.server.status.text(), timeout=30_000)
    assert "refused the API key (HTTP 401)" in dialog.server.status.text()

    dialog.server.key.setText(KEY)
    qtbot.mouseClick(dialog.server.check, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Connected" in dialog.server.status.text(), timeout=30_000)
    assert "smollm2 answers" in dialog.server.status.text()
    assert "counted by the server's tokenizer" in dialog.server.status.text()
    assert [dialog.server.model.itemText(i) for i in range(dialog.server.model.count())] == ["smollm2"]

    dialog.server.url.setText("http://192.0.2.7/v1")  # another computer, without TLS
    qtbot.mouseClick(dialog.server.check, Qt.MouseButton.LeftButton)
    assert "unencrypted" in dialog.server.status.text()


def test_a_server_set_in_the_dialog_answers_in_the_window(make_window, qtbot, server, data_copy):
    window = make_window()  # real backends: the engine asks the server
    window.change_settings(temperature=0.0)

    def fill_in() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, SettingsDialog):
            QTimer.singleShot(50, fill_in)
            return
        fill_in_server(dialog, server, KEY)
        dialog.accept()

    QTimer.singleShot(100, fill_in)
    qtbot.mouseClick(window.settings_button, Qt.MouseButton.LeftButton)
    assert window.library.settings.server_url == server
    qtbot.waitUntil(lambda: window.library.keys.load(server) == KEY, timeout=10_000)
    assert KEY not in window.library.settings_path.read_text()

    drop(window, [data_copy / "family-day.eml"])
    qtbot.waitUntil(idle(window), timeout=300_000)
    window.ask("What will there be at the family day?")
    qtbot.waitUntil(idle(window), timeout=300_000)
    assert window.model_report.startswith("smollm2: remote: smollm2 at 127.0.0.1:")
    shown = window.chat.answer_view.toPlainText()
    assert "What will there be at the family day?" in shown
    assert len(shown.split("What will there be at the family day?")[-1].strip()) > 10
