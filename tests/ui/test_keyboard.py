"""The window from the keyboard (issue 16): every action of a message (Copy, Edit, Regenerate,
‹ ›, the Thinking toggle, a tool card) is reached with Tab and used with Enter or Space, focus is
drawn in both themes, Ctrl+Q quits, and the ⋯ menu lists the app's actions."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget

from app.store import Store
from app.ui.prefs import UiPrefs


def _chat(store: Store) -> int:
    c = store.create_conversation("Keys")
    q = store.add_message(c.id, "user", "What is 6 times 7?")
    store.add_message(c.id, "assistant", "An older answer.", parent_id=q.id)
    store.add_message(c.id, "assistant", "It is 42.", reasoning="Multiply.", parent_id=q.id)
    return c.id


def tab_through(qtbot, start: QWidget, steps: int = 60) -> list[QWidget]:  # type: ignore[no-untyped-def]
    """Press Tab from ``start``; the widgets that got the focus, in order."""
    start.setFocus()
    seen = []
    for _ in range(steps):
        focused = QApplication.focusWidget()
        assert focused is not None
        qtbot.keyClick(focused, Qt.Key.Key_Tab)
        now = QApplication.focusWidget()
        if now is not None and now not in seen:
            seen.append(now)
    return seen


def test_every_message_action_is_reached_with_tab_and_used_from_the_keyboard(  # type: ignore[no-untyped-def]
    qtbot, store, make_window
) -> None:
    cid = _chat(store)
    win = make_window()
    win.resize(1000, 700)
    win.conversations.open(cid)
    user, reply = win.chat.widgets
    assert reply.thinking is not None and reply.nav.isVisible()
    reached = tab_through(qtbot, win.composer.edit)
    for w in (
        user.edit_button,
        user.copy_button,
        reply.thinking.toggle,
        reply.nav.prev,
        reply.copy_button,
        reply.regen_button,
    ):
        assert w in reached, w.toolTip() or w.text()
    # Enter and Space use them.
    reply.copy_button.setFocus()
    qtbot.keyClick(reply.copy_button, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: QGuiApplication.clipboard().text() == "It is 42.")
    reply.thinking.toggle.setFocus()
    qtbot.keyClick(reply.thinking.toggle, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: reply.thinking is not None and reply.thinking.expanded)
    qtbot.keyClick(reply.thinking.toggle, Qt.Key.Key_Enter)
    qtbot.waitUntil(lambda: reply.thinking is not None and not reply.thinking.expanded)
    reply.nav.prev.setFocus()
    qtbot.keyClick(reply.nav.prev, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: win.chat.widgets[-1].data.content == "An older answer.")
    user = win.chat.widgets[0]
    user.edit_button.setFocus()
    qtbot.keyClick(user.edit_button, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: user._edit_box is not None and user._edit_box.hasFocus())
    qtbot.keyClick(user._edit_box, Qt.Key.Key_Escape)
    assert user._edit_box is None


def test_a_tool_card_opens_from_the_keyboard(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    c = store.create_conversation("Tools")
    store.add_message(c.id, "user", "Compute 6 times 7.")
    call = {"name": "python", "arguments": "print(6 * 7)"}
    store.add_message(c.id, "assistant", "", tool_calls=[call])
    store.add_message(c.id, "tool", "42", name="python", tool_result={"status": "ok", "text": "42"})
    store.add_message(c.id, "assistant", "It is 42.")
    win = make_window()
    win.conversations.open(c.id)
    card = win.chat.widgets[-1].cards[0]
    assert card.toggle in tab_through(qtbot, win.composer.edit)
    assert not card.expanded
    card.toggle.setFocus()
    qtbot.keyClick(card.toggle, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: card.expanded)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_focus_is_drawn_in_both_themes(qtbot, store, make_window, theme: str) -> None:  # type: ignore[no-untyped-def]
    cid = _chat(store)
    win = make_window(prefs=UiPrefs(theme=theme))
    win.conversations.open(cid)
    reply = win.chat.widgets[-1]
    for button in (reply.copy_button, reply.thinking.toggle, win.settings_button):  # type: ignore[union-attr]
        win.composer.edit.setFocus()
        qtbot.waitUntil(lambda b=button: not b.hasFocus())
        plain = button.grab().toImage()
        button.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(button.hasFocus)
        focused = button.grab().toImage()
        assert plain != focused, f"{button.text()}: focus not drawn ({theme})"


def test_ctrl_q_quits_and_the_menu_lists_the_apps_actions(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    win = make_window()
    titles = [a.text() for a in win.chrome.menu.actions() if not a.isSeparator()]
    for wanted in ("New chat", "Import a chat…", "Models…", "Settings…", "About Hearth", "Quit"):
        assert wanted in titles
    assert win.chrome.menu_button.menu() is win.chrome.menu
    qtbot.keyClick(win, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not win.isVisible())


# Offscreen, an open menu warns that it cannot raise itself or grab the keyboard.
@pytest.mark.qt_log_ignore("does not support raise", "does not support grabbing")
def test_the_menu_opens_inside_the_window_below_its_button(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    # The ⋯ button sits at the window's right edge: its menu opens leftwards from there (it
    # opened rightwards, past the window's edge), its entries still left to right.
    from PySide6.QtCore import QPoint, QTimer

    win = make_window()
    win.resize(800, 600)
    qtbot.waitUntil(lambda: win.width() == 800)
    button, menu = win.chrome.menu_button, win.chrome.menu
    seen: dict[str, object] = {}

    def look() -> None:
        seen["menu"] = menu.geometry()
        menu.close()

    QTimer.singleShot(200, look)
    button.showMenu()  # returns once the menu has closed
    geo = seen["menu"]
    right = button.mapToGlobal(QPoint(button.width(), button.height()))
    assert geo.right() <= right.x() and abs(geo.right() + 1 - right.x()) <= 2, (geo, right)
    assert geo.top() >= right.y() - 1, (geo, right)
    assert menu.layoutDirection() == Qt.LayoutDirection.LeftToRight
