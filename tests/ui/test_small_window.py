"""The window at 800x600 and at its minimum size (issue 16 #9): the Chat settings panel scrolls
instead of being cut off (and never makes the window wider), the sidebar folds away by itself
when there is no room for it and comes back with a button or Ctrl+B, "Change model…" stays whole,
and a reply's stats take at most two lines."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QWidget

from app.engine.events import ModelInfo
from app.store import Store
from app.ui.chrome import MIN_HEIGHT, MIN_WIDTH

STATS = {"generated_tokens": 412, "generation_tps": 2045.5, "ttft_s": 0.02, "context_size": 8192}


def _chat(store: Store) -> int:
    c = store.create_conversation("How do I read a large CSV file in Python?")
    store.add_message(c.id, "user", "How do I read a large CSV file without running out of memory?")
    store.add_message(c.id, "assistant", "Read it **in pieces**.", stats=STATS)
    return c.id


def inside(w: QWidget, win: QWidget) -> bool:
    """The whole widget lies inside the window (nothing cut off at its edges)."""
    top_left = w.mapTo(win, QPoint(0, 0))
    return (
        top_left.x() >= 0
        and top_left.y() >= 0
        and top_left.x() + w.width() <= win.width()
        and top_left.y() + w.height() <= win.height()
    )


def _as_if_loaded(win) -> None:  # type: ignore[no-untyped-def]
    win.engine.info = ModelInfo(path="/m/gpt-oss-20b-mxfp4.gguf", name="gpt-oss-20b", n_ctx=8192)
    win.models.refresh()


def test_chat_settings_fit_an_800x600_window(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    cid = _chat(store)
    win = make_window()
    _as_if_loaded(win)
    win.conversations.open(cid)
    win.resize(800, 600)
    qtbot.waitUntil(lambda: win.width() == 800)
    win.toggle_settings()
    qtbot.wait(50)
    # The window stays 800 wide: the sidebar folds away to make room (it made the window
    # 1026 x 679, larger than the screen).
    assert (win.width(), win.height()) == (800, 600)
    assert not win.sidebar.isVisible() and win.chrome.sidebar_wanted
    panel = win.settings
    assert inside(panel, win)
    # Every setting can be reached: the panel scrolls to the last one.
    last = panel.all_settings_button
    panel.scroller.ensureWidgetVisible(last)
    qtbot.waitUntil(lambda: last.visibleRegion().boundingRect().height() == last.height())
    for w in (panel.effort, panel.budget, panel.temperature, panel.max_tokens, panel.python_mode):
        panel.scroller.ensureWidgetVisible(w)
        assert w.visibleRegion().boundingRect().width() == w.width(), w
    # The status line keeps "Change model…" whole beside the model, speed and context.
    assert win.model_button.text() == "Change model…"
    assert inside(win.model_button, win) and inside(win.server.button, win)
    for label in (win.status_model, win.status_speed, win.status_context):
        right = label.mapTo(win, QPoint(label.width(), 0)).x()
        assert right <= win.model_button.mapTo(win, QPoint(0, 0)).x()
    # A reply's stats: at most two lines in the chat's column.
    reply = win.chat.widgets[-1]
    stats = reply.stats_label
    qtbot.waitUntil(lambda: stats.height() > 0)
    assert stats.height() <= 2 * stats.fontMetrics().lineSpacing() + 4
    # Closing the panel brings the sidebar back.
    win.toggle_settings()
    qtbot.waitUntil(win.sidebar.isVisible)
    win.engine.info = None


def test_the_sidebar_folds_with_a_button_ctrl_b_and_a_narrow_window(
    qtbot, store, make_window
) -> None:  # type: ignore[no-untyped-def]
    _chat(store)
    win = make_window()
    win.resize(1000, 700)
    qtbot.waitUntil(lambda: win.width() == 1000)
    assert win.sidebar.isVisible()
    win.chrome.sidebar_button.click()
    assert not win.sidebar.isVisible() and win.prefs.extra["sidebar"] is False
    qtbot.keyClick(win, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert win.sidebar.isVisible()
    # Settings open in a window too narrow for both: the sidebar folds, and comes back.
    win.resize(900, 700)
    qtbot.waitUntil(lambda: win.width() == 900)
    win.toggle_settings()
    assert not win.sidebar.isVisible() and win.width() == 900
    # Asking for the sidebar then closes the settings instead of widening the window.
    qtbot.keyClick(win, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert win.sidebar.isVisible() and not win.settings.isVisible() and win.width() == 900


def test_everything_fits_the_minimum_size(qtbot, store, make_window) -> None:  # type: ignore[no-untyped-def]
    cid = _chat(store)
    win = make_window()
    _as_if_loaded(win)
    win.conversations.open(cid)
    win.resize(300, 200)  # as small as it goes
    qtbot.waitUntil(lambda: win.width() == MIN_WIDTH)
    assert (win.width(), win.height()) == (MIN_WIDTH, MIN_HEIGHT)
    for settings in (False, True):
        if settings:
            win.toggle_settings()
            qtbot.wait(50)
        assert (win.width(), win.height()) == (MIN_WIDTH, MIN_HEIGHT)
        for w in (
            win.composer.send_button,
            win.composer.edit,
            win.settings_button,
            win.chrome.menu_button,
            win.chrome.sidebar_button,
            win.model_button,
        ):
            assert w.isVisible() and inside(w, win), w
        qtbot.waitUntil(lambda: inside(win.chat.widgets[-1].copy_button, win))
    win.engine.info = None
