"""Small widgets the window's parts share."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolButton


def action_button(text: str, tip: str) -> QToolButton:
    """A flat text button of a message or code block (Copy, Edit, Regenerate, ‹ ›)."""
    b = QToolButton()
    b.setObjectName("msgAction")
    b.setText(text)
    b.setToolTip(tip)
    b.setCursor(Qt.CursorShape.PointingHandCursor)
    b.setAutoRaise(True)
    return b
