"""The fit plan for one model, with every value open to the user's override."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.engine.options import LoadOptions
from app.hub.hardware import Hardware
from app.hub.planner import LoadPlan, Verdict, plan, plan_with_overrides
from app.hub.shape import ModelShape
from app.ui.models.qtmodels import VERDICT_COLORS


class PlanPanel(QWidget):
    """Shows ``plan(shape, hw)``; editing a value re-plans with it as an override."""

    planChanged = Signal(object)  # LoadPlan

    def __init__(self, hw: Hardware, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hw = hw
        self.shape: ModelShape | None = None
        self.model_path = ""
        self.auto: LoadPlan | None = None
        self.plan: LoadPlan | None = None
        self._updating = False

        self.title = QLabel("Select a model to see how it would run on this computer.")
        self.title.setWordWrap(True)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.PlainText)

        self.ctx = QSpinBox()
        self.ctx.setRange(2048, 131072)
        self.ctx.setSingleStep(2048)
        self.ctx.setSuffix(" tokens")
        self.ctx.setToolTip("How much text the model keeps in mind (the KV cache grows with it).")
        self.ngl = QSpinBox()
        self.ngl.setRange(-1, 0)
        self.ngl.setSpecialValueText("all")
        self.ngl.setToolTip("Layers on the GPU (all: every layer and the output head).")
        self.ncmoe = QSpinBox()
        self.ncmoe.setRange(0, 0)
        self.ncmoe.setToolTip(
            "Keep the expert weights of the first N layers in RAM (llama.cpp's --n-cpu-moe): "
            "slower, but frees GPU memory."
        )
        self.flash = QCheckBox("Flash attention")
        self.flash.setToolTip("Less memory for attention and faster on every backend.")
        self.reset_button = QPushButton("Automatic")
        self.reset_button.setToolTip("Back to the planner's choice for this computer.")

        # The settings only show once there is a model to plan (no stale values otherwise).
        self.controls = QWidget()
        form = QFormLayout(self.controls)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Context", self.ctx)
        form.addRow("GPU layers", self.ngl)
        form.addRow("Experts on CPU for", self.ncmoe)
        row = QHBoxLayout()
        row.addWidget(self.flash)
        row.addStretch(1)
        row.addWidget(self.reset_button)
        form.addRow(row)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.verdict)
        lay.addWidget(self.controls)

        for w in (self.ctx, self.ngl, self.ncmoe):
            w.valueChanged.connect(self._edited)
        self.flash.toggled.connect(self._edited)
        self.reset_button.clicked.connect(self.reset)
        self._set_enabled(False)

    def _set_enabled(self, on: bool) -> None:
        self.controls.setVisible(on)
        self.verdict.setVisible(on)

    def set_model(self, shape: ModelShape | None, model_path: str = "", title: str = "") -> None:
        self.shape = shape
        self.model_path = model_path
        if shape is None:
            self.title.setText(title or "Select a model to see how it would run on this computer.")
            self.verdict.clear()
            self.auto = self.plan = None
            self._set_enabled(False)
            return
        self.title.setText(title or shape.name)
        self.auto = plan(shape, self.hw, model_path)
        self._set_enabled(True)
        self._show(self.auto)

    def reset(self) -> None:
        if self.auto is not None:
            self._show(self.auto)

    def _show(self, p: LoadPlan) -> None:
        self.plan = p
        self._updating = True
        try:
            assert self.shape is not None
            self.ngl.setRange(-1, self.shape.n_layer)
            self.ncmoe.setRange(0, self.shape.n_layer)
            self.ctx.setValue(p.n_ctx)
            self.ngl.setValue(p.n_gpu_layers)
            self.ncmoe.setValue(p.n_cpu_moe)
            self.flash.setChecked(p.flash_attn)
            gpu = self.hw.gpu_offload and bool(self.hw.gpus)
            self.ngl.setEnabled(gpu)
            self.ncmoe.setEnabled(gpu and self.shape.is_moe)
        finally:
            self._updating = False
        color = VERDICT_COLORS[p.verdict].name()
        self.verdict.setStyleSheet(f"color: {color}; font-weight: bold;")
        text = p.summary
        if p.warnings and p.verdict != Verdict.NONE:
            text += "\n" + "\n".join(f"Note: {w}." for w in p.warnings)
        self.verdict.setText(text)
        self.planChanged.emit(p)

    def _edited(self) -> None:
        if self._updating or self.shape is None or self.auto is None:
            return
        a = self.auto
        p = plan_with_overrides(
            self.shape,
            self.hw,
            self.model_path,
            n_ctx=self.ctx.value() if self.ctx.value() != a.n_ctx else None,
            n_gpu_layers=self.ngl.value() if self.ngl.value() != a.n_gpu_layers else None,
            n_cpu_moe=self.ncmoe.value() if self.ncmoe.value() != a.n_cpu_moe else None,
            flash_attn=self.flash.isChecked(),
        )
        self._show(p)

    def load_options(self) -> LoadOptions | None:
        if self.plan is None or not self.model_path:
            return None
        return self.plan.to_load_options(self.model_path)
