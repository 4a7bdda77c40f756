"""A tool call in the chat: "Ran Python · 0.4 s", folded; open, the code (highlighted), its
output, an error with its traceback, the plots inline and the files it wrote (Open / Save as…).

While the call waits for the user's consent the card is open and asks: Run / Don't run, with
"Don't ask again in this chat".
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.ui.markdown import MarkdownColors
from app.ui.markdown_view import MarkdownView, WrapLabel
from app.ui.widgets import KeyButton

OUTPUT_LINES = 18  # shown before the output scrolls
IMAGE_WIDTH = 560

_VERBS = {
    "ok": "Ran",
    "error": "Ran",
    "timeout": "Timed out:",
    "refused": "Not run:",
    "interrupted": "Stopped:",
    "unavailable": "Could not run",
}


def tool_label(recipient: str) -> str:
    """ "python" -> "Python"; "browser.search" -> "Search (documents)"; "functions.x_y" -> x_y."""
    if recipient == "python":
        return "Python"
    if recipient.startswith("browser."):
        return f"{recipient.split('.', 1)[1].capitalize()} (documents)"
    return recipient.removeprefix("functions.")


def _code_document(call: dict[str, Any]) -> str:
    """The call's arguments as a fenced block: python code, or pretty JSON for a function."""
    args = str(call.get("arguments", ""))
    if call.get("name") == "python":
        return f"```python\n{args}\n```"
    try:
        args = json.dumps(json.loads(args), indent=2, ensure_ascii=False)
    except ValueError:
        pass
    return f"```json\n{args}\n```"


class ToolCard(QFrame):
    """One call and its result; ``set_result`` when the run is over."""

    def __init__(
        self,
        call: dict[str, Any],
        colors: MarkdownColors,
        result: dict[str, Any] | None = None,
        status: str = "done",
    ) -> None:
        super().__init__()
        self.setObjectName("toolCard")
        self.call = call
        self.result: dict[str, Any] | None = None
        self.row_status = status  # the tool row's: streaming / done / cancelled / interrupted
        self.expanded = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 8)
        lay.setSpacing(6)
        self.toggle = KeyButton()  # Tab reaches it; Enter or Space folds and unfolds
        self.toggle.setObjectName("toolToggle")
        self.toggle.setCursor(Qt.CursorShape.PointingHandCursor)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.toggle.clicked.connect(lambda: self.set_expanded(not self.expanded))
        lay.addWidget(self.toggle)
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(6)
        self.code = MarkdownView(colors)
        self.code.set_document(_code_document(call))
        body.addWidget(self.code)
        self.error_label = WrapLabel()  # a long path or word wraps inside the card
        self.error_label.setObjectName("toolError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        body.addWidget(self.error_label)
        self.output = QPlainTextEdit()
        self.output.setObjectName("toolOutput")
        self.output.setReadOnly(True)
        self.output.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.output.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.output.hide()
        body.addWidget(self.output)
        self.images = QVBoxLayout()
        body.addLayout(self.images)
        self.files = QVBoxLayout()
        body.addLayout(self.files)
        self.consent = QWidget()
        self.consent.hide()
        body.addWidget(self.consent)
        lay.addWidget(self.body)
        self._answer: Callable[[bool, bool], None] | None = None
        if result is not None:
            self.set_result(result)
        else:
            self._set_title()
        self.set_expanded(False)

    # -- state ----------------------------------------------------------------------------------

    @property
    def title(self) -> str:
        return self.toggle.text()[2:]

    def _set_title(self) -> None:
        name = tool_label(str(self.call.get("name", "")))
        r = self.result
        if r is None:
            if self.row_status in ("cancelled", "interrupted"):
                text = f"{name} · stopped before it finished"
            elif self._answer is not None:
                text = f"{name} · waiting for your OK"
            else:
                text = f"Running {name}…"
        else:
            status = str(r.get("status", "ok"))
            seconds = float(r.get("duration_s") or 0.0)
            verb = _VERBS.get(status, "Ran")
            text = f"{verb} {name}"
            if status in ("ok", "error", "timeout") and seconds:
                text += f" · {seconds:.1f} s"
            if status == "error":
                text += " · error"
        self.toggle.setText(("▾ " if self.expanded else "▸ ") + text)

    def set_expanded(self, on: bool) -> None:
        self.expanded = on
        self.body.setVisible(on)
        self._set_title()

    def set_result(self, result: dict[str, Any]) -> None:
        self.result = result
        self._answer = None
        self.consent.hide()
        error = str(result.get("error") or "")
        output = str(result.get("output") or result.get("text") or "")
        if result.get("status") != "ok" and error and output.strip() == error.strip():
            output = ""  # the sentence is the whole story: shown once, as the error
        self.error_label.setText(error)
        self.error_label.setVisible(bool(error))
        self.output.setPlainText(output)
        self.output.setVisible(bool(output))
        lines = min(OUTPUT_LINES, max(1, output.rstrip("\n").count("\n") + 1))
        fm = self.output.fontMetrics()
        m = self.output.contentsMargins()
        margins = (
            int(self.output.document().documentMargin() * 2)
            + 2 * self.output.frameWidth()
            + m.top()
            + m.bottom()
            + 6
        )
        # No scroll bar for a short output; a long one scrolls after OUTPUT_LINES lines.
        self.output.setFixedHeight(lines * fm.lineSpacing() + margins)
        for f in result.get("images") or []:
            self._add_image(f)
        for f in result.get("files") or []:
            self._add_file(f)
        self._set_title()

    def _add_image(self, f: dict[str, Any]) -> None:
        pix = QPixmap(str(f.get("path", "")))
        if pix.isNull():
            self._add_file(f)
            return
        label = QLabel()
        label.setObjectName("toolImage")
        if pix.width() > IMAGE_WIDTH:
            pix = pix.scaledToWidth(IMAGE_WIDTH, Qt.TransformationMode.SmoothTransformation)
        label.setPixmap(pix)
        label.setToolTip(str(f.get("name") or f.get("path", "")))
        self.images.addWidget(label)

    def _add_file(self, f: dict[str, Any]) -> None:
        path = Path(str(f.get("path", "")))
        row = QHBoxLayout()
        name = QLabel(str(f.get("name") or path.name))
        name.setObjectName("statusNote")
        open_button = QPushButton("Open")
        open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))))
        save = QPushButton("Save as…")
        save.clicked.connect(lambda: self._save_as(path))
        row.addWidget(name, 1)
        row.addWidget(open_button)
        row.addWidget(save)
        self.files.addLayout(row)

    def _save_as(self, path: Path) -> None:
        target, _ = QFileDialog.getSaveFileName(self, "Save the file", str(Path.home() / path.name))
        if target:
            try:
                shutil.copyfile(path, target)
            except OSError as exc:
                self.error_label.setText(f"Could not save {path.name}: {exc.strerror}.")
                self.error_label.show()

    # -- consent --------------------------------------------------------------------------------

    def ask(self, answer: Callable[[bool, bool], None]) -> None:
        """Show Run / Don't run; ``answer(run, always)`` is called once, with the choice."""
        self._answer = answer
        lay = QHBoxLayout(self.consent)
        lay.setContentsMargins(0, 0, 0, 0)
        self.always = QCheckBox("Don't ask again in this chat")
        self.run_button = QPushButton("Run")
        self.run_button.setObjectName("primary")
        self.deny_button = QPushButton("Don't run")
        self.run_button.clicked.connect(lambda: self._decide(True))
        self.deny_button.clicked.connect(lambda: self._decide(False))
        lay.addWidget(self.always, 1)
        lay.addWidget(self.deny_button)
        lay.addWidget(self.run_button)
        self.consent.show()
        self.set_expanded(True)
        self.run_button.setFocus()

    def _decide(self, run: bool) -> None:
        answer, self._answer = self._answer, None
        self.consent.hide()
        self._set_title()
        if answer is not None:
            answer(run, run and self.always.isChecked())

    @property
    def waiting(self) -> bool:
        return self._answer is not None
