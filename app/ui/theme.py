"""Light and dark themes: a palette, a style sheet and the colours the Markdown renderer bakes in.

The theme follows the system (``QStyleHints.colorScheme``) unless the user picks one in the
preferences. Fusion is used everywhere so the app looks the same on every platform.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from app.ui.markdown import MarkdownColors

THEME_CHOICES = ("system", "light", "dark")


@dataclass(frozen=True)
class Theme:
    name: str  # "light" or "dark"
    window: str
    surface: str  # chat background
    sidebar: str
    text: str
    muted: str
    accent: str
    accent_text: str
    border: str
    user_bubble: str
    code_bg: str
    code_header: str
    hover: str
    selection: str
    error_bg: str
    error_text: str
    info_bg: str
    link: str
    pygments_style: str
    table_border: str

    @property
    def markdown(self) -> MarkdownColors:
        return MarkdownColors(
            text=self.text,
            muted=self.muted,
            link=self.link,
            code_bg=self.code_bg,
            border=self.table_border,
            header_bg=self.code_header,
            pygments_style=self.pygments_style,
        )


LIGHT = Theme(
    name="light",
    window="#ffffff",
    surface="#ffffff",
    sidebar="#f6f6f4",
    text="#1f2328",
    muted="#6b7079",
    accent="#c2410c",
    accent_text="#ffffff",
    border="#e2e2de",
    user_bubble="#f1efe9",
    code_bg="#f6f8fa",
    code_header="#eceef1",
    hover="#ebeae6",
    selection="#fde3d3",
    error_bg="#fdecea",
    error_text="#8a1c13",
    info_bg="#eef4fb",
    link="#0a62c9",
    pygments_style="default",
    table_border="#c9ccd1",
)

DARK = Theme(
    name="dark",
    window="#1b1b1d",
    surface="#212124",
    sidebar="#18181a",
    text="#e6e6e6",
    muted="#9a9aa2",
    accent="#f97316",
    accent_text="#1b1b1d",
    border="#34343a",
    user_bubble="#2d2d32",
    code_bg="#17171a",
    code_header="#2a2a2f",
    hover="#2a2a2e",
    selection="#5a3112",
    error_bg="#3d1d1a",
    error_text="#ffb4a8",
    info_bg="#1d2a3a",
    link="#6cb4ff",
    pygments_style="monokai",
    table_border="#45454c",
)


def system_prefers_dark() -> bool:
    app = QGuiApplication.instance()
    if app is None:
        return False
    hints = QGuiApplication.styleHints()
    return bool(hints.colorScheme() == Qt.ColorScheme.Dark)


def resolve(choice: str) -> Theme:
    """The theme for a preference value ("system", "light" or "dark")."""
    if choice == "dark":
        return DARK
    if choice == "light":
        return LIGHT
    return DARK if system_prefers_dark() else LIGHT


def palette_for(t: Theme) -> QPalette:
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: t.window,
        QPalette.ColorRole.WindowText: t.text,
        QPalette.ColorRole.Base: t.surface,
        QPalette.ColorRole.AlternateBase: t.sidebar,
        QPalette.ColorRole.Text: t.text,
        QPalette.ColorRole.Button: t.window,
        QPalette.ColorRole.ButtonText: t.text,
        QPalette.ColorRole.Highlight: t.selection,
        QPalette.ColorRole.HighlightedText: t.text,
        QPalette.ColorRole.ToolTipBase: t.surface,
        QPalette.ColorRole.ToolTipText: t.text,
        QPalette.ColorRole.PlaceholderText: t.muted,
        QPalette.ColorRole.Link: t.link,
    }
    for role, color in roles.items():
        p.setColor(role, QColor(color))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor(t.muted))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor(t.muted))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor(t.muted))
    return p


def stylesheet(t: Theme) -> str:
    return f"""
QWidget {{ font-size: 10.5pt; }}
QMainWindow, #chatPane {{ background: {t.surface}; }}
#sidebar {{ background: {t.sidebar}; border-right: 1px solid {t.border}; }}
#sidebar QListView {{ background: transparent; border: none; outline: none; }}
#sidebar QListView::item {{ padding: 7px 10px; border-radius: 6px; margin: 1px 6px; }}
#sidebar QListView::item:hover {{ background: {t.hover}; }}
#sidebar QListView::item:selected {{ background: {t.selection}; color: {t.text}; }}
#sectionLabel {{ color: {t.muted}; font-size: 9pt; font-weight: 600; padding: 8px 16px 2px 16px; }}
#newChat {{ background: {t.accent}; color: {t.accent_text}; border: none; border-radius: 8px;
    padding: 8px 12px; font-weight: 600; }}
#newChat:hover {{ background: {"#ea580c" if t.name == "dark" else "#9a3412"}; }}
QLineEdit, QPlainTextEdit {{
    background: {t.surface}; border: 1px solid {t.border}; border-radius: 6px; padding: 4px 6px;
    selection-background-color: {t.selection}; selection-color: {t.text}; }}
QLineEdit:focus, QPlainTextEdit:focus {{ border-color: {t.accent}; }}
#composerFrame {{ background: {t.surface}; border: 1px solid {t.border}; border-radius: 12px; }}
#composerFrame QPlainTextEdit {{ border: none; background: transparent; padding: 2px; }}
#sendButton {{ background: {t.accent}; color: {t.accent_text}; border: none; border-radius: 8px;
    padding: 6px 14px; font-weight: 600; }}
#sendButton:disabled {{ background: {t.border}; color: {t.muted}; }}
#stopButton {{ background: {t.text}; color: {t.surface}; border: none; border-radius: 8px;
    padding: 6px 14px; font-weight: 600; }}
#userBubble {{ background: {t.user_bubble}; border-radius: 12px; }}
#codeBlock {{ background: {t.code_bg}; border: 1px solid {t.border}; border-radius: 8px; }}
#codeHeader {{ background: {t.code_header}; border-top-left-radius: 8px;
    border-top-right-radius: 8px; border-bottom: 1px solid {t.border}; }}
#codeLang {{ color: {t.muted}; font-size: 9pt; }}
#thinkingToggle {{ color: {t.muted}; border: 1px solid transparent; background: transparent;
    text-align: left; padding: 1px 2px; border-radius: 4px; }}
#thinkingToggle:hover {{ color: {t.text}; }}
#thinkingBody {{ color: {t.muted}; background: transparent; border: none;
    border-left: 2px solid {t.border}; padding-left: 8px; }}
QToolButton#msgAction {{ color: {t.muted}; border: 1px solid transparent; background: transparent;
    padding: 1px 5px; border-radius: 4px; font-size: 9pt; }}
QToolButton#msgAction:hover {{ background: {t.hover}; color: {t.text}; }}
QToolButton#msgAction:disabled {{ color: {t.border}; }}
#toolCard {{ border: 1px solid {t.border}; border-radius: 8px; background: {t.surface}; }}
#toolToggle {{ color: {t.muted}; border: 1px solid transparent; background: transparent;
    text-align: left; padding: 1px 2px; font-weight: 600; border-radius: 4px; }}
#toolToggle:hover {{ color: {t.text}; }}
#toolOutput {{ background: {t.code_bg}; border: 1px solid {t.border}; border-radius: 6px;
    font-family: monospace; font-size: 9pt; }}
#toolError {{ color: {t.error_text}; }}
#statusNote {{ color: {t.muted}; font-size: 9pt; }}
#attachChip {{ border: 1px solid {t.border}; border-radius: 8px; background: {t.code_bg}; }}
#attachChipError {{ border: 1px solid {t.error_text}; border-radius: 8px;
    background: {t.error_bg}; }}
#attachChipError QLabel {{ color: {t.error_text}; }}
#attachWarning {{ color: {t.error_text}; font-size: 9pt; }}
QToolButton#sentAttachment {{ border: 1px solid {t.border}; border-radius: 8px; padding: 3px 8px;
    background: {t.user_bubble}; }}
QToolButton#sentAttachment:hover {{ background: {t.hover}; }}
QToolButton#chatFolders {{ border: 1px solid {t.border}; border-radius: 6px;
    padding: 4px 20px 4px 8px; background: {t.surface}; }}
QToolButton#chatFolders::menu-indicator {{ subcontrol-position: right center; right: 6px; }}
QToolButton#chatFolders:hover {{ background: {t.hover}; }}
#msgStatus {{ color: {t.muted}; font-size: 9pt; font-style: italic; }}
#banner {{ background: {t.error_bg}; border-radius: 8px; }}
#banner QLabel {{ color: {t.error_text}; }}
#infoBar {{ background: {t.info_bg}; border-radius: 8px; }}
#emptyTitle {{ font-size: 18pt; font-weight: 600; }}
#emptyText {{ color: {t.muted}; }}
#settingsPanel {{ background: {t.sidebar}; border-left: 1px solid {t.border}; }}
#settingsScroll, #settingsBody {{ background: transparent; }}
QToolButton#headerButton {{ border: 1px solid {t.border}; border-radius: 6px; padding: 4px 9px;
    background: {t.surface}; }}
QToolButton#headerButton:hover {{ background: {t.hover}; }}
QToolButton#headerButton::menu-indicator {{ image: none; width: 0; }}
#panelTitle {{ font-weight: 600; font-size: 11pt; }}
QPushButton {{ border: 1px solid {t.border}; border-radius: 6px; padding: 5px 12px;
    background: {t.surface}; }}
QPushButton:hover {{ background: {t.hover}; }}
QPushButton#primary {{ background: {t.accent}; color: {t.accent_text}; border: none;
    font-weight: 600; }}
/* Dialogs (rename, remove, errors) in the window's colours; the answer that acts is the accent
   button, as in the window. */
QDialog, QMessageBox {{ background: {t.surface}; }}
/* (No bold here: a button's size is measured in its plain font, so a bold default one lost the
   ends of its text: "Ise this serve".) */
QDialog QPushButton:default {{ background: {t.accent}; color: {t.accent_text};
    border: 1px solid {t.accent}; }}
QMessageBox QLabel {{ color: {t.text}; }}
/* Where the keyboard is, in both themes: the accent colour around the focused control. */
QPushButton:focus, QToolButton:focus, QToolButton#msgAction:focus, #thinkingToggle:focus,
#toolToggle:focus {{ border: 1px solid {t.accent}; }}
QPushButton#primary:focus, #newChat:focus, #sendButton:focus, #stopButton:focus {{
    border: 2px solid {t.text}; }}
#sidebar QListView:focus {{ border: 1px solid {t.accent}; border-radius: 6px; }}
QStatusBar {{ background: {t.sidebar}; border-top: 1px solid {t.border}; color: {t.muted}; }}
QStatusBar QLabel {{ color: {t.muted}; padding: 0 6px; font-size: 9pt; }}
QScrollArea {{ border: none; background: {t.surface}; }}
QScrollBar:vertical {{ background: transparent; width: 10px; margin: 0; }}
QScrollBar::handle:vertical {{ background: {t.border}; border-radius: 4px; min-height: 30px; }}
QScrollBar::add-line:vertical, QScrollBar::sub-line:vertical {{ height: 0; }}
QScrollBar::add-page:vertical, QScrollBar::sub-page:vertical {{ background: transparent; }}
QScrollBar:horizontal {{ background: transparent; height: 10px; margin: 0; }}
QScrollBar::handle:horizontal {{ background: {t.border}; border-radius: 4px; min-width: 30px; }}
QScrollBar::add-line:horizontal, QScrollBar::sub-line:horizontal {{ width: 0; }}
QScrollBar::add-page:horizontal, QScrollBar::sub-page:horizontal {{ background: transparent; }}
"""


def apply(app: QApplication, t: Theme) -> None:
    app.setStyle("Fusion")
    app.setPalette(palette_for(t))
    app.setStyleSheet(stylesheet(t))
