"""Settings of one workspace, beside the global ones: the model, how many passages, how long
an answer, and instructions of its own."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core import Settings, Workspace
from desktop_app.core.errors import UserError
from desktop_app.core.models.model_manager import AUTO, Models

from .widgets import named

__all__ = ["WorkspaceSettingsDialog"]

SAME = None  # the item data of "as in Settings": no override


class WorkspaceSettingsDialog(QDialog):
    """Each field starts at "as in Settings" (the global value, shown) unless the workspace
    overrides it; OK saves the overrides and drops those set back."""

    FIELDS = ("model", "top_k", "max_answer_tokens", "instructions")

    def __init__(self, workspace: Workspace, base: Settings, models: Models,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("workspaceSettingsDialog")
        self.setWindowTitle(f"Settings of “{workspace.name}”")
        self._workspace, self._base, self._models = workspace, base, models
        overrides = workspace.info.overrides
        self.model = named(QComboBox(), "workspaceModel", "Model for this workspace")
        default = "the best built-in model here" if base.model == AUTO else base.model
        self.model.addItem(f"As in Settings ({default})", SAME)
        for choice in models.choices(base.context_size):
            if choice.installed:
                self.model.addItem(f"{choice.name} · {choice.quant} · {choice.fit_text}",
                                   choice.setting or choice.id)
        if "model" in overrides and self.model.findData(overrides["model"]) < 0:
            self.model.addItem(str(overrides["model"]), overrides["model"])
        self.model.setCurrentIndex(max(0, self.model.findData(overrides.get("model", SAME))))
        self.top_k = self._number("workspaceTopK", "top_k", base.top_k, overrides)
        self.answer_tokens = self._number("workspaceAnswerTokens", "max_answer_tokens",
                                          base.max_answer_tokens, overrides)
        self.instructions = named(QPlainTextEdit(str(overrides.get("instructions", ""))),
                                  "workspaceInstructions", "Instructions for this workspace")
        self.instructions.setPlaceholderText(
            "Told to the model with every question here, after the app's own rules, e.g. "
            "“These are Acme's contracts: name the clause you quote.” or “Answer in French.”")
        self.instructions.setMaximumHeight(90)
        self.problem = named(QLabel(), "workspaceSettingsProblem", "Why it cannot be saved")
        self.problem.setWordWrap(True)
        self.problem.setVisible(False)
        form = QFormLayout()
        form.addRow("Model", self.model)
        form.addRow("Passages per answer", self.top_k)
        form.addRow("Answer length (tokens)", self.answer_tokens)
        form.addRow("Instructions", self.instructions)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("What is left at “as in Settings” follows the global settings."))
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)

    @staticmethod
    def _number(name: str, setting: str, base: int, overrides: dict[str, Any]) -> QSpinBox:
        """A spin box whose lowest value stands for "as in Settings"."""
        box = named(QSpinBox(), name, setting)
        box.setRange(0, 10**9)  # refused with the reason on OK, never clamped while typed
        box.setSpecialValueText(f"as in Settings ({base})")
        box.setValue(int(overrides.get(setting, 0)))
        return box

    def overrides(self) -> dict[str, Any]:
        """Each field's override, None where it follows the global setting."""
        text = self.instructions.toPlainText().strip()
        return {"model": self.model.currentData(),
                "top_k": self.top_k.value() or None,
                "max_answer_tokens": self.answer_tokens.value() or None,
                "instructions": text or None}

    def accept(self) -> None:
        overrides = self.overrides()
        try:
            model = overrides["model"]
            problem = self._models.problem(model, self._base.context_size) if model else ""
            if problem:
                raise UserError(problem)
            self._workspace.update_settings(**overrides)
        except UserError as exc:
            self.problem.setText(str(exc)[:1].upper() + str(exc)[1:] + ".")
            self.problem.setVisible(True)
            return
        super().accept()
