"""The settings dialog's server section: answers from an OpenAI-compatible server instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from desktop_app.core import Settings
from desktop_app.core.errors import UserError

from .jobs import Job
from .widgets import named, named_button, with_button

__all__ = ["ServerSettings"]

# Starts a connection check (the settings to try, a key typed but not saved yet) in the engine.
Checker = Callable[[Settings, str | None], Job]


class ServerSettings(QGroupBox):
    """Address, model (as the server lists them), API key and TLS of an inference server.
    Checked, the server answers; unchecked, the model on this computer does."""

    def __init__(self, settings: Settings, key_saved: bool, checker: Checker | None,
                 parent: QWidget | None = None) -> None:
        super().__init__("Answer with a model on a server (OpenAI-compatible)", parent)
        self.setObjectName("serverSettings")
        self.setCheckable(True)
        self.setChecked(bool(settings.server_url))
        self._settings, self._checker = settings, checker
        self._job: Job | None = None
        self.url = named(QLineEdit(settings.server_url), "serverUrl", "Server address")
        self.url.setPlaceholderText("https://llm.example.org/v1")
        self.model = named(QComboBox(), "serverModel", "Model on the server")
        self.model.setEditable(True)
        self.model.addItem(settings.server_model)
        self.model.setPlaceholderText("the first model the server offers")
        self.key = named(QLineEdit(), "serverKey", "API key")
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText("saved (type to replace)" if key_saved else "none saved")
        self.verify_tls = named(QCheckBox("Check the server's certificate"), "serverVerifyTls",
                                "Check the server's certificate")
        self.verify_tls.setChecked(settings.server_verify_tls)
        self.ca_bundle = named(QLineEdit(settings.server_ca_bundle), "serverCaBundle",
                               "Certificate authorities file")
        self.ca_bundle.setPlaceholderText("the system's authorities")
        self.allow_http = named(QCheckBox("Allow plain http to another computer (trusted "
                                          "network only: the key and passages are not encrypted)"),
                                "serverAllowHttp", "Allow plain http")
        self.allow_http.setChecked(settings.server_allow_http)
        self.check = named_button("Check connection", "checkServer",
                                  "Connect to the server and list its models")
        self.check.clicked.connect(self._on_check_clicked)
        self.status = named(QLabel(), "serverStatus", "Server connection")
        self.status.setWordWrap(True)
        self._lay_out()

    def _lay_out(self) -> None:
        form = QFormLayout(self)
        form.addRow("Address", self.url)
        form.addRow("Model", self.model)
        form.addRow("API key", self.key)
        form.addRow("Certificate authorities",
                    with_button(self.ca_bundle, "File…", self._on_browse_clicked))
        form.addRow("", self.verify_tls)
        form.addRow("", self.allow_http)
        check_row = QHBoxLayout()
        check_row.addWidget(self.check)
        check_row.addStretch(1)
        form.addRow("", check_row)
        form.addRow("", self.status)

    def values(self) -> dict[str, Any]:
        """The server settings as the person left them (no address: this computer answers)."""
        return {"server_url": self.url.text().strip() if self.isChecked() else "",
                "server_model": self.model.currentText().strip(),
                "server_verify_tls": self.verify_tls.isChecked(),
                "server_ca_bundle": self.ca_bundle.text().strip(),
                "server_allow_http": self.allow_http.isChecked()}

    def typed_key(self) -> str | None:
        """A key typed in this dialog, to be saved on OK (None: keep the saved one)."""
        return self.key.text().strip() or None

    def cancel_check(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def _on_check_clicked(self) -> None:
        if self._checker is None or self._job is not None:
            return
        try:
            candidate = self._settings.with_overrides(
                {**self.values(), "server_url": self.url.text().strip()}, strict=True)
        except UserError as exc:
            self.status.setText(str(exc))
            return
        if not candidate.server_url:
            self.status.setText("Type the server's address first.")
            return
        self._job = self._checker(candidate, self.typed_key())
        self._job.finished.connect(self._on_check_finished)
        self._job.failed.connect(self._on_check_failed)
        self._job.cancelled.connect(self._on_check_failed)
        self.check.setEnabled(False)
        self.status.setText(f"Connecting to {candidate.server_url}…")

    def _on_check_finished(self, facts: object) -> None:
        self._end_check()
        if not isinstance(facts, dict):
            return
        chosen = self.model.currentText()
        self.model.clear()
        self.model.addItems([str(m) for m in facts.get("models", [])])
        self.model.setCurrentText(chosen or str(facts.get("model", "")))
        self.status.setText(
            f"Connected: {facts['model']} answers, with a context of {facts['context_size']} "
            f"tokens (from {facts['context_from']}); tokens counted by "
            f"{facts['token_counts']}.")

    def _on_check_failed(self, message: object = "cancelled") -> None:
        self._end_check()
        self.status.setText(f"Could not use the server: {message}")

    def _end_check(self) -> None:
        self._job = None
        self.check.setEnabled(True)

    def _on_browse_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Certificate authorities (PEM)", "",
                                              "Certificates (*.pem *.crt *.cer);;All files (*)")
        if path:
            self.ca_bundle.setText(path)
