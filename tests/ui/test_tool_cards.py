"""Tool calls in the window: the real engine (scripted replies), the real sandboxed python kernel,
the real store. The card asks before the run, shows the run, and the answer follows; reopened
from the store the reply shows the same steps."""

from __future__ import annotations

from app.tools.settings import ToolSettings
from app.ui.tool_card import ToolCard
from tests.helpers.gui import script_next, wait_reply

CALL = (
    "<|channel|>analysis<|message|>Let me compute.<|end|>"
    "<|start|>assistant<|channel|>analysis to=python code<|message|>print(6 * 7)<|call|>"
)
ANSWER = (
    "<|channel|>analysis<|message|>It printed 42.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>Six times seven is **42**.<|return|>"
)


def _python(mode: str) -> None:
    settings = ToolSettings.load()
    settings.set_mode("python", mode)  # type: ignore[arg-type]
    settings.save()


def _pending_card(win) -> ToolCard | None:  # type: ignore[no-untyped-def]
    w = win.turns.streaming
    card = w.pending_card() if w is not None else None
    return card if card is not None and card.waiting else None


def test_ask_run_and_answer_then_reopen(qtbot, ready_window, store) -> None:  # type: ignore[no-untyped-def]
    win = ready_window
    _python("ask")
    sent = script_next(win, CALL, ANSWER)
    win.conversations.send("What is 6 * 7?")
    qtbot.waitUntil(lambda: _pending_card(win) is not None, timeout=60_000)
    card = _pending_card(win)
    assert card is not None and card.expanded and "waiting for your OK" in card.title
    assert "print(6 * 7)" in card.code.blocks()[0].code  # type: ignore[attr-defined]
    card.run_button.click()
    wait_reply(qtbot, win, timeout=60_000)

    reply = win.chat.widgets[-1]
    assert reply.data.content == "Six times seven is **42**."
    (card,) = reply.cards
    assert card.title.startswith("Ran Python ·") and card.result is not None
    assert card.output.toPlainText().strip() == "42"
    assert len(sent) == 2  # the continuation after the result
    assert sent[1].messages[-1].name == "python" and sent[1].messages[-1].content.strip() == "42"

    # Reopened from the store: the same steps, the same card.
    cid = win.conversation_id
    win.conversations.new_chat()
    win.conversations.open(cid)
    reply = win.chat.widgets[-1]
    assert [c.title.split(" ·")[0] for c in reply.cards] == ["Ran Python"]
    assert reply.cards[0].output.toPlainText().strip() == "42"
    assert reply.data.content == "Six times seven is **42**."
    assert reply.data.steps[0].reasoning == "Let me compute."
    assert reply.thinking is not None and reply.thinking.text() == "It printed 42."


def test_dont_run_tells_the_model_and_the_card_says_not_run(qtbot, ready_window) -> None:  # type: ignore[no-untyped-def]
    win = ready_window
    _python("ask")
    sent = script_next(win, CALL, ANSWER)
    win.conversations.send("What is 6 * 7?")
    qtbot.waitUntil(lambda: _pending_card(win) is not None, timeout=60_000)
    card = _pending_card(win)
    assert card is not None
    card.deny_button.click()
    wait_reply(qtbot, win, timeout=60_000)
    reply = win.chat.widgets[-1]
    assert reply.cards[0].title.startswith("Not run: Python")
    assert "declined" in sent[1].messages[-1].content


def test_stop_while_asked_ends_the_turn(qtbot, ready_window, store) -> None:  # type: ignore[no-untyped-def]
    win = ready_window
    _python("ask")
    script_next(win, CALL, ANSWER)
    win.conversations.send("What is 6 * 7?")
    qtbot.waitUntil(lambda: _pending_card(win) is not None, timeout=60_000)
    win.turns.stop()
    wait_reply(qtbot, win, timeout=60_000)
    reply = win.chat.widgets[-1]
    assert reply.data.status == "cancelled"
    path = store.active_path(win.conversation_id)
    assert [m.role for m in path] == ["user", "assistant", "tool"]
    assert path[2].tool_result is not None and path[2].tool_result["status"] == "refused"
