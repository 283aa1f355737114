"""The "New workspace" dialog: a name, and optionally a team's server to share it on."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.errors import UserError
from desktop_app.core.search.shared_index import SharedStore

from .widgets import named, with_button

__all__ = ["NewWorkspaceDialog"]


class NewWorkspaceDialog(QDialog):
    """Asks for a name; with "Share it on a team server" checked, also for the server's
    address, the workspace's name there, the token and the certificate authority."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New workspace")
        self.name = named(QLineEdit(), "workspaceName", "Workspace name")
        self.shared = named(QGroupBox("Share it on a team server (Chroma behind a TLS proxy)"),
                            "sharedWorkspace", "Share it on a team server")
        self.shared.setCheckable(True)
        self.shared.setChecked(False)
        self.url = named(QLineEdit(), "sharedUrl", "Server address")
        self.url.setPlaceholderText("https://kb.example.org")
        self.collection = named(QLineEdit(), "sharedName", "Name on the server")
        self.collection.setPlaceholderText("from the workspace name")
        self.token = named(QLineEdit(), "sharedToken", "Token")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("the proxy's token (kept in the system keyring)")
        self.ca_bundle = named(QLineEdit(), "sharedCaBundle", "Certificate authorities file")
        self.ca_bundle.setPlaceholderText("the system's authorities")
        self.allow_http = named(QCheckBox("Allow plain http to another computer (trusted "
                                          "network only: the token and passages travel "
                                          "unencrypted)"), "sharedAllowHttp", "Allow plain http")
        self.problem = named(QLabel(""), "newWorkspaceProblem", "Why it cannot be created")
        self.problem.setWordWrap(True)
        form = QFormLayout(self.shared)
        form.addRow("Server", self.url)
        form.addRow("Name there", self.collection)
        form.addRow("Token", self.token)
        form.addRow("Authority", with_button(self.ca_bundle, "File…", self._choose_ca_bundle))
        form.addRow("", self.allow_http)
        form.addRow(QLabel("Everyone who uses the same server and name shares the documents: "
                           "what one adds, all can ask about."))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        top = QFormLayout()
        top.addRow("Name", self.name)
        layout.addLayout(top)
        layout.addWidget(self.shared)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)

    def store(self) -> SharedStore | None:
        """The server to share on, as typed (None when not shared); UserError if it cannot be."""
        if not self.shared.isChecked():
            return None
        name = self.collection.text().strip() or SharedStore.name_for(self.name.text())
        return SharedStore(self.url.text().strip(), name, ca_bundle=self.ca_bundle.text().strip(),
                           allow_http=self.allow_http.isChecked())

    def _accept(self) -> None:
        if not self.name.text().strip():
            self.problem.setText("A workspace needs a name.")
            return
        try:
            self.store()
        except UserError as exc:
            self.problem.setText(str(exc)[:1].upper() + str(exc)[1:] + ".")
            return
        self.accept()

    def _choose_ca_bundle(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Certificate authorities (PEM)")
        if path:
            self.ca_bundle.setText(path)
