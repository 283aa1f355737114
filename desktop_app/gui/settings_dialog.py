"""The settings dialog: model, GPU, context, sampling, retrieval and chunking."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QMessageBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_app.build_info import describe_build
from desktop_app.core import Settings
from desktop_app.core.errors import InvalidModelFile, UserError
from desktop_app.core.models.downloads import DownloadProgress
from desktop_app.core.models.model_manager import AUTO, ModelChoice, Models
from desktop_app.core.storage.settings import SETTING_LIMITS

from .jobs import Job
from .server_settings import Checker, ServerSettings
from .widgets import named, named_button, with_button

__all__ = ["SettingsDialog"]

Box = TypeVar("Box", QSpinBox, QDoubleSpinBox)
# Starts a download of (catalogue id, quant, catalogue file or None) in the engine.
Downloader = Callable[[str, str, Path | None], Job]


# Spin boxes take any number a person may type; out-of-range ones are refused with the
# reason when OK is pressed (a spin box's own range would silently change what was typed).
_TYPED_MAX = {"int": 10**9, "float": 1e6}


def _entry(model: str, choices: dict[str, ModelChoice]) -> str:
    """The list entry for a `model` setting: a bare catalogue id stands for its installed
    quantization (else its recommended one)."""
    if model in choices:
        return model
    variants = [c for c in choices.values() if c.id == model]
    chosen = (next((c for c in variants if c.installed), None)
              or next((c for c in variants if c.recommended), None)
              or next(iter(variants), None))
    return chosen.setting if chosen is not None else model


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, models: Models, parent: QWidget | None = None,
                 last_run: str = "", downloads: Downloader | None = None,
                 server_checker: Checker | None = None, server_key_saved: bool = False) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self._original = settings
        self._models = models
        self._last_run = last_run
        self._build = describe_build()
        form = QFormLayout()
        self.model = named(QComboBox(), "modelChoice", "Model")
        self._choices: dict[str, ModelChoice] = {}
        for choice in models.choices(settings.context_size):  # every quantization
            self._choices[choice.setting or choice.id] = choice
            self.model.addItem(choice.label(), choice.setting or choice.id)
        self._add_automatic_choice(settings.context_size)
        current = _entry(settings.model, self._choices)
        if self.model.findData(current) < 0:
            self.model.addItem(current, current)
        self.model.setCurrentIndex(self.model.findData(current))
        self.fit = QLabel()
        self.fit.setObjectName("modelFit")
        # Whole lines, no wrapping: a wrapped label in a form row is given too little height.
        self.model.currentIndexChanged.connect(self._show_fit)
        form.addRow("Model", with_button(self.model, "GGUF file…", self._on_browse_clicked))
        form.addRow("", self.fit)
        self._downloads = downloads
        self._job: Job | None = None
        self._downloading: ModelChoice  # set when a download starts
        self.download = named_button("Download", "downloadModel",
                                     "Download the chosen model; its checksum is verified")
        self.download.clicked.connect(self._on_download_clicked)
        self.download_status = named(QLabel(), "downloadStatus", "Download progress")
        for widget in (self.download, self.download_status):  # no jump when they come and go
            policy = widget.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            widget.setSizePolicy(policy)
        self._download_row = QHBoxLayout()
        self._download_row.addWidget(self.download)
        self._download_row.addStretch(1)
        form.addRow("", self._download_row)
        form.addRow("", self.download_status)
        self._form = form
        self._show_fit()
        self.gpu_layers = self._number(QSpinBox(), "gpuLayers", "gpu_layers", settings)
        self.gpu_layers.setSpecialValueText("all (when the GPU allows)")
        form.addRow("GPU layers (0 = CPU only)", self.gpu_layers)
        self.context_size = self._number(QSpinBox(), "contextSize", "context_size", settings, 512)
        self.context_size.valueChanged.connect(self._on_context_changed)
        self.model.currentIndexChanged.connect(self._check_context)
        form.addRow("Context size (tokens)", self.context_size)
        self.temperature = self._number(QDoubleSpinBox(), "temperature", "temperature", settings, 0.1)
        form.addRow("Temperature", self.temperature)
        self.top_k = self._number(QSpinBox(), "topK", "top_k", settings)
        form.addRow("Passages per answer", self.top_k)
        self.chunk_tokens = self._number(QSpinBox(), "chunkTokens", "chunk_tokens", settings, 8)
        form.addRow("Chunk size (word pieces)", self.chunk_tokens)
        self.chunk_overlap = self._number(QDoubleSpinBox(), "chunkOverlap", "chunk_overlap", settings, 0.01)
        form.addRow("Chunk overlap", self.chunk_overlap)
        self.embedder = self._embedder_choice(settings.embedder, models)
        form.addRow("Embedder", self.embedder)
        self.server = ServerSettings(settings, server_key_saved, server_checker)
        note = QLabel("Changing the embedder or the chunking re-indexes your documents. "
                      "Everything else applies to the next answer.")
        note.setWordWrap(True)
        self.problem = named(QLabel(), "settingsProblem", "Why these settings cannot be saved")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("font-weight: bold;")  # readable in light and dark themes
        self.problem.setVisible(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        # The dialog grows with its text (download messages come and go).
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        layout.addLayout(form)
        layout.addWidget(self.server)
        layout.addWidget(note)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)

    def _add_automatic_choice(self, context: int) -> None:
        """First in the list: whichever built-in model fits this computer (the default)."""
        try:
            entry = self._models.builtin(context)
        except UserError:  # no built-in model installed: nothing to offer automatically
            return
        self.model.insertItem(0, f"Best built-in model for this computer (now {entry.name})", AUTO)
        automatic = next((c for c in self._choices.values() if c.id == entry.id and c.installed),
                         None)
        if automatic is not None:
            self._choices[AUTO] = automatic

    @staticmethod
    def _embedder_choice(current: str, models: Models) -> QComboBox:
        """Built-in and catalogue embedders, with their published scores; one not downloaded
        says how to get it (models download ID)."""
        box = QComboBox()
        box.setObjectName("embedderChoice")
        choices = models.embedders()
        for choice in choices:
            box.addItem(choice.label(), choice.id)
        if current not in {c.id for c in choices}:  # a file or folder the person set
            box.addItem(current, current)
        box.setCurrentIndex(box.findData(current))
        return box

    @staticmethod
    def _number(box: Box, name: str, setting: str, settings: Settings, step: float = 1) -> Box:
        """A spin box for one setting, with the range Settings itself accepts."""
        box.setObjectName(name)
        low = SETTING_LIMITS[setting][0]
        box.setRange(low, _TYPED_MAX["int" if isinstance(box, QSpinBox) else "float"])  # type: ignore[arg-type]
        box.setSingleStep(step)  # type: ignore[arg-type]
        box.setValue(getattr(settings, setting))
        return box

    def _show_fit(self) -> None:
        """This machine, the chosen model's fit here, and where the last answer's model ran."""
        choice = self._choices.get(str(self.model.currentData()))
        lines = [f"This computer: {self._models.hardware.describe()}.", f"This app: {self._build}."]
        if choice is not None:
            lines.append(f"{choice.name} {choice.quant}: {choice.fit_text}"
                         + ("" if choice.installed else " · not downloaded yet"))
        if self._last_run:
            lines.append(f"Last answer: {self._last_run}")
        self.fit.setText("\n".join(lines))
        self._show_download_button()

    # -- downloading the chosen model --------------------------------------------------------

    def _chosen(self) -> ModelChoice | None:
        return self._choices.get(str(self.model.currentData()))

    def _show_download_button(self) -> None:
        choice = self._chosen()
        if self._job is not None:
            self.download.setText("Cancel download")
        elif choice is not None:
            self.download.setText(f"Download ({choice.size_text})")
        wanted = choice is not None and choice.downloadable and not choice.installed
        self.download.setVisible(self._downloads is not None and (self._job is not None or wanted))
        self.download_status.setVisible(bool(self.download_status.text()))

    def _on_download_clicked(self) -> None:
        choice = self._chosen()
        if self._job is not None:
            self._job.cancel()
            return
        if choice is None or self._downloads is None:
            return
        self._downloading = choice
        self._job = self._downloads(choice.id, choice.quant, self._models.catalog)
        self._job.progressed.connect(self._on_download_progressed)
        self._job.finished.connect(self._on_download_finished)
        self._job.failed.connect(self._on_download_failed)
        self._job.cancelled.connect(self._on_download_cancelled)
        self.download_status.setText(f"Downloading {choice.name} {choice.quant}…")
        self._show_download_button()

    def _on_download_progressed(self, step: DownloadProgress) -> None:
        choice = self._downloading
        self.download_status.setText(f"{choice.name} {choice.quant}: {step.describe()}")

    def _on_download_finished(self, _last: object) -> None:
        choice = replace(self._downloading, installed=True)
        self._choices[choice.setting or choice.id] = choice
        self.model.setItemText(self.model.findData(choice.setting or choice.id), choice.label())
        self._end_download(f"{choice.name} {choice.quant} is downloaded and verified. "
                           "Choose OK to use it.")
        self._show_fit()

    def _on_download_failed(self, message: str) -> None:
        self._end_download(f"Download failed: {message}")

    def _on_download_cancelled(self) -> None:
        self._end_download("Download cancelled. The part already fetched is kept: downloading "
                           "again resumes it.")

    def _end_download(self, message: str) -> None:
        self._job = None
        self.download_status.setText(message)
        self._show_download_button()

    def done(self, result: int) -> None:
        """Closing the dialog cancels a download in progress (what was fetched is kept)."""
        if self._job is not None:
            self._job.cancel()
        self.server.cancel_check()
        super().done(result)

    def _on_browse_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a GGUF model", "", "GGUF models (*.gguf)")
        if not path:
            return
        try:
            info = self._models.inspect(Path(path))
        except InvalidModelFile as exc:
            QMessageBox.warning(self, "Not a usable model", str(exc))
            return
        self.model.addItem(f"{info.name} · {info.quantization} · {info.path.name}", path)
        self.model.setCurrentIndex(self.model.count() - 1)

    def _on_context_changed(self, context: int) -> None:
        """The fit of every model at the new context size, and a word if the chosen model
        cannot read that much."""
        for choice in self._models.choices(context):
            key = choice.setting or choice.id
            self._choices[key] = choice
            index = self.model.findData(key)
            if index >= 0:
                self.model.setItemText(index, choice.label())
        if AUTO in self._choices:
            self._choices[AUTO] = next(c for c in self._choices.values()
                                       if c.id == self._choices[AUTO].id and c.installed)
        self._show_fit()
        self._check_context()

    def _check_context(self) -> None:
        """Say at once when the chosen model cannot read the context size asked."""
        chosen = self._chosen()
        context = self.context_size.value()
        self._show_problem(chosen.context_problem(context) if chosen is not None else "")

    def _show_problem(self, problem: str) -> None:
        self.problem.setText(problem[:1].upper() + problem[1:] + "." if problem else "")
        self.problem.setVisible(bool(problem))

    def problem_with(self, changes: dict[str, Any]) -> str:
        """Why these changes cannot be saved, or "": a value out of its range, a model not
        downloaded yet, a context the model cannot read."""
        try:
            settings = self._original.with_overrides(changes, strict=True)
        except UserError as exc:
            return str(exc)
        chosen = self._chosen()
        if settings.server_url or not {"model", "context_size"} & changes.keys():
            return ""
        if chosen is not None and not chosen.installed:
            return (f"{chosen.name} {chosen.quant} is not downloaded yet: download it first "
                    "(the Download button), or choose an installed model")
        return self._models.problem(settings.model, settings.context_size)

    def accept(self) -> None:
        problem = self.problem_with(self.changes())
        if problem:
            self._show_problem(problem)
            return
        super().accept()

    def changes(self) -> dict[str, Any]:
        """The fields the user changed, by name."""
        values = {
            "model": self.model.currentData(), "gpu_layers": self.gpu_layers.value(),
            "context_size": self.context_size.value(), "temperature": round(self.temperature.value(), 2),
            "top_k": self.top_k.value(), "chunk_tokens": self.chunk_tokens.value(),
            "chunk_overlap": round(self.chunk_overlap.value(), 2),
            "embedder": self.embedder.currentData(), **self.server.values(),
        }
        if values["model"] == _entry(self._original.model, self._choices):
            values["model"] = self._original.model  # the same file, named as before
        return {k: v for k, v in values.items() if getattr(self._original, k) != v}
