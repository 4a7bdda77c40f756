"""Answer now in the window, the thinking budget and the python tool's mode in Chat settings."""

from __future__ import annotations

from app.tools.settings import ToolSettings
from tests.helpers.gui import script_next, wait_reply

LONG_THOUGHT: list[str | int] = ["<|channel|>analysis<|message|>", 3000]


def test_answer_now_ends_the_thinking_and_the_answer_follows(qtbot, ready_window, store) -> None:  # type: ignore[no-untyped-def]
    win = ready_window
    sent = script_next(win, LONG_THOUGHT)  # type: ignore[arg-type]
    win.conversations.send("Think about it.")
    qtbot.waitUntil(lambda: win.composer.answer_button.isVisible(), timeout=30_000)
    assert win.composer.answer_button.isEnabled()
    win.composer.answer_button.click()
    wait_reply(qtbot, win, timeout=60_000)
    assert not win.composer.answer_button.isVisible()
    reply = win.chat.widgets[-1]
    assert reply.data.content and reply.data.reasoning
    assert reply.thinking is not None and not reply.thinking.live  # folded to "Thought for…"
    stored = store.active_path(win.conversation_id)[-1]
    assert stored.content == reply.data.content and stored.reasoning == reply.data.reasoning
    assert len(sent) == 1


def test_budget_and_python_mode_are_per_chat(qtbot, ready_window, store) -> None:  # type: ignore[no-untyped-def]
    win = ready_window
    panel = win.settings
    panel.budget.setValue(512)
    panel.python_mode.setCurrentIndex(panel.python_mode.findData("auto"))
    script_next(win, "<|channel|>final<|message|>Hi.<|return|>")
    win.conversations.send("Hello")
    wait_reply(qtbot, win)
    cid = win.conversation_id
    assert store.get_conversation(cid).settings["reasoning_budget"] == 512
    tools = ToolSettings.load()
    assert tools.mode_for("python", cid) == "auto"
    assert tools.mode_for("python", None) == "off"  # chosen for this chat only
    win.conversations.new_chat()
    assert panel.budget.value() == 0 and panel.python_mode.currentData() == "off"
    win.conversations.open(cid)
    assert panel.budget.value() == 512 and panel.python_mode.currentData() == "auto"
