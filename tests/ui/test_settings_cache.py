"""Settings → Cache: how much chat state is saved, the space it may use, Clear; and the window
after a restart on a long chat: the next reply reads only the new message, and the status line
says how much was cached."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from app.engine import kvfiles
from app.ui.settings.cache_page import CachePage
from app.ui.settings.dialog import SettingsDialog
from tests.helpers.gui import harmony_reply, load, script_next, wait_reply
from tests.helpers.kvchat import LONG


def _page(qtbot) -> CachePage:  # type: ignore[no-untyped-def]
    dialog = SettingsDialog(page="Cache")
    qtbot.addWidget(dialog)
    page = dialog.page("Cache")
    assert isinstance(page, CachePage)
    page.dialog = dialog  # type: ignore[attr-defined]  # the page lives as long as its dialog
    return page


def _state(key: str, size: int) -> Path:
    path = kvfiles.path_for(key)
    kvfiles.write_state(path, key, {"model": {"path": "/m/model.gguf"}}, [1, 2, 3], bytes(size))
    return path


def test_usage_budget_and_clear(qtbot) -> None:  # type: ignore[no-untyped-def]
    old = _state("chat-1", 300_000)
    kvfiles.touch(old)
    _state("chat-2", 300_000)
    page = _page(qtbot)
    assert page.usage.text() == f"2 chats, {kvfiles.human(kvfiles.total_size())}"  # ~600 KB
    assert page.automatic.isChecked() and not page.budget.isEnabled()

    page.automatic.setChecked(False)  # a budget of its own: 0 MB keeps nothing
    page.budget.setValue(0)
    page.budget.editingFinished.emit()
    assert kvfiles.budget_setting() == 0
    assert page.usage.text() == "0 chats, 0 bytes"
    assert "Removed the 2 least recently used" in page.message.text()

    page.automatic.setChecked(True)
    assert kvfiles.budget_setting() is None
    size = _state("chat-3", 1000).stat().st_size
    page.refresh()
    assert page.usage.text() == f"1 chat, {kvfiles.human(size)}"
    qtbot.mouseClick(page.clear_button, Qt.MouseButton.LeftButton)
    assert page.message.text() == f"Removed 1 saved state ({kvfiles.human(size)})."
    assert kvfiles.entries() == [] and not page.clear_button.isEnabled()


def test_reopening_hearth_on_a_long_chat(qtbot, make_window, tiny_model: Path) -> None:  # type: ignore[no-untyped-def]
    win = make_window()
    load(qtbot, win, tiny_model)
    script_next(win, harmony_reply("Short answer.", "Thinking about it."))
    win.conversations.send(LONG)
    wait_reply(qtbot, win)
    first = dict(win.last_stats)
    assert "cached" not in win.status_context.text()
    conversation = win.conversation_id
    win.shutdown()  # Hearth closed (the engine host saves the chat's state on its way out)

    again = make_window()
    load(qtbot, again, tiny_model)
    again.conversations.open(conversation)
    script_next(again, harmony_reply("Next."))
    again.conversations.send("And then?")
    wait_reply(qtbot, again)
    stats = again.last_stats
    assert stats["restored_tokens"] == stats["cached_tokens"] == first["prompt_tokens"]
    assert f"· {first['prompt_tokens']:,} cached" in again.status_context.text()
