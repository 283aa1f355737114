"""The settings dialog: model, GPU, context, sampling, retrieval and chunking."""

from __future__ import annotations

from typing import Any, TypeVar

import psutil
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import Settings
from desktop_app.core.catalog import load_catalog
from desktop_app.core.embedding import BUILTIN_EMBEDDERS

__all__ = ["REINDEX_FIELDS", "SettingsDialog"]

Box = TypeVar("Box", QSpinBox, QDoubleSpinBox)

# Changing any of these makes the existing index stale.
REINDEX_FIELDS = {"embedder", "chunk_tokens", "chunk_overlap"}


def _fit_note(size_bytes: int | None) -> str:
    if not size_bytes:
        return ""
    available = psutil.virtual_memory().available
    need = size_bytes * 1.3  # weights plus a modest KV cache and runtime overhead
    return "fits in memory" if need < available else "needs more memory than is free"


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self._original = settings
        form = QFormLayout()
        self.model = QComboBox()
        self.model.setObjectName("modelChoice")
        self.model.setAccessibleName("Model")
        for entry in load_catalog().values():
            for variant in entry.variants:
                size = variant.get("size_bytes")
                mb = f"{size / 1e6:,.0f} MB" if size else "size unknown"
                label = f"{entry.name} · {variant['quant']} · {mb} · {_fit_note(size)}"
                self.model.addItem(label, entry.id)
        if self.model.findData(settings.model) < 0:
            self.model.addItem(settings.model, settings.model)
        self.model.setCurrentIndex(self.model.findData(settings.model))
        browse = QPushButton("GGUF file…")
        browse.clicked.connect(self._on_browse_clicked)
        row = QHBoxLayout()
        row.addWidget(self.model, 1)
        row.addWidget(browse)
        form.addRow("Model", row)
        self.gpu_layers = self._number(QSpinBox(), "gpuLayers", -1, 999, settings.gpu_layers)
        self.gpu_layers.setSpecialValueText("all (when the GPU allows)")
        form.addRow("GPU layers (0 = CPU only)", self.gpu_layers)
        self.context_size = self._number(QSpinBox(), "contextSize", 512, 131072, settings.context_size, 512)
        form.addRow("Context size (tokens)", self.context_size)
        self.temperature = self._number(QDoubleSpinBox(), "temperature", 0.0, 2.0, settings.temperature, 0.1)
        form.addRow("Temperature", self.temperature)
        self.top_k = self._number(QSpinBox(), "topK", 1, 50, settings.top_k)
        form.addRow("Passages per answer", self.top_k)
        self.chunk_tokens = self._number(QSpinBox(), "chunkTokens", 32, 254, settings.chunk_tokens, 8)
        form.addRow("Chunk size (word pieces)", self.chunk_tokens)
        self.chunk_overlap = self._number(QDoubleSpinBox(), "chunkOverlap", 0.0, 0.5, settings.chunk_overlap, 0.01)
        form.addRow("Chunk overlap", self.chunk_overlap)
        self.embedder = QComboBox()
        self.embedder.setObjectName("embedderChoice")
        self.embedder.addItems(sorted(set(BUILTIN_EMBEDDERS) | {settings.embedder}))
        self.embedder.setCurrentText(settings.embedder)
        form.addRow("Embedder", self.embedder)
        note = QLabel("Changing the embedder or the chunking re-indexes your documents. "
                      "Everything else applies to the next answer.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    @staticmethod
    def _number(box: Box, name: str, low: float, high: float, value: float, step: float = 1) -> Box:
        box.setObjectName(name)
        box.setRange(low, high)  # type: ignore[arg-type]  # ints for QSpinBox, floats for QDoubleSpinBox
        box.setSingleStep(step)  # type: ignore[arg-type]
        box.setValue(value)  # type: ignore[arg-type]
        return box

    def _on_browse_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a GGUF model", "", "GGUF models (*.gguf)")
        if path:
            self.model.addItem(path, path)
            self.model.setCurrentIndex(self.model.count() - 1)

    def changes(self) -> dict[str, Any]:
        """The fields the user changed, by name."""
        values = {
            "model": self.model.currentData(), "gpu_layers": self.gpu_layers.value(),
            "context_size": self.context_size.value(), "temperature": round(self.temperature.value(), 2),
            "top_k": self.top_k.value(), "chunk_tokens": self.chunk_tokens.value(),
            "chunk_overlap": round(self.chunk_overlap.value(), 2),
            "embedder": self.embedder.currentText(),
        }
        return {k: v for k, v in values.items() if getattr(self._original, k) != v}
