"""A chat's KV state on disk, through the real engine host: a reply after a restart restores the
state and evaluates only the new tokens, and continues exactly as a full re-read does (the tiny
gpt-oss model alternates a 128-token sliding-window layer with a full one, and the history is
several windows long), greedy and sampled; what is saved is what the next prompt shares."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine import kvfiles
from app.engine.options import SamplingOptions
from app.harmony import Message
from tests.helpers.kvchat import (
    GREEDY,
    KEY,
    LONG,
    SAMPLED,
    Reply,
    SavedChat,
    ask,
    first_turn,
    follow_up,
    host,
    reread,
    save_chat,
)

MODES = {"greedy": GREEDY, "sampled": SAMPLED}


@pytest.fixture(scope="module")
def saved(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> SavedChat:
    return save_chat(tiny_model, tmp_path_factory.mktemp("kv-saved"))


@pytest.fixture(scope="module")
def rereads(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Reply]:
    home = tmp_path_factory.mktemp("kv-reread")
    return {name: reread(tiny_model, home, follow_up(), s) for name, s in MODES.items()}


def test_what_is_saved_is_what_the_next_prompt_shares(saved: SavedChat) -> None:
    # The first prompt, not the reply: Harmony drops the reply's analysis, which came first.
    saved.install()
    with kvfiles.StateFile(kvfiles.path_for(KEY)) as sf:
        assert sf.n_tokens == saved.first.stats.prompt_tokens > 4 * 128


@pytest.mark.parametrize("mode", list(MODES))
def test_restored_continuation_equals_a_full_reread(
    tiny_model: Path, saved: SavedChat, rereads: dict[str, Reply], mode: str
) -> None:
    saved.install()
    with host(tiny_model) as client:
        restored = ask(client, follow_up(), sampling=MODES[mode])
    n = saved.first.stats.prompt_tokens
    assert restored.stats.restored_tokens == restored.stats.cached_tokens == n
    assert restored.stats.prompt_tokens == rereads[mode].stats.prompt_tokens
    assert len(restored.events) > 0 and restored.events == rereads[mode].events


def test_the_state_is_saved_again_after_each_reply(tiny_model: Path, saved: SavedChat) -> None:
    saved.install()
    with host(tiny_model) as client:
        second = ask(client, follow_up(), script="<|channel|>final<|message|>Sure.<|return|>")
    with kvfiles.StateFile(kvfiles.path_for(KEY)) as sf:
        # No analysis in that reply: the next prompt shares its answer too (all but <|return|>,
        # which history writes as <|end|>).
        assert sf.n_tokens > second.stats.prompt_tokens
        saved_now = sf.n_tokens
    third = [
        *follow_up(),
        Message("assistant", "Sure.", channel="final"),
        Message("user", "Thanks."),
    ]
    with host(tiny_model) as client:
        reply = ask(client, third)
        # the same chat, its context already in memory: no file needed
        again = ask(client, third)
    with host(tiny_model) as client:
        full = ask(client, third, key=None)
    assert reply.stats.restored_tokens == saved_now
    assert again.stats.restored_tokens == 0 and again.stats.cached_tokens > saved_now
    assert reply.events == full.events == again.events


def test_regenerating_after_a_restart_uses_the_state(tiny_model: Path, saved: SavedChat) -> None:
    """A new reply to the same question: the prompt is exactly the saved tokens."""
    saved.install()
    question = [Message("user", LONG)]
    with host(tiny_model) as client:
        again = ask(client, question)
    with host(tiny_model) as client:
        full = ask(client, question, key=None)
    # The last prompt token is evaluated again for its logits; the rest comes from disk.
    assert again.stats.restored_tokens == again.stats.cached_tokens
    assert again.stats.cached_tokens == saved.first.stats.prompt_tokens - 1
    assert again.events == full.events


def test_an_edit_inside_the_restored_part_reads_the_chat_again(
    tiny_model: Path, saved: SavedChat
) -> None:
    """A restored context holds only the last window of the sliding-window layers: a prompt that
    shares less of it must be evaluated from the start, never rolled back into the gap."""
    saved.install()
    edited = [Message("user", LONG[: len(LONG) // 2] + "A different ending.")]
    with host(tiny_model) as client:
        assert ask(client, follow_up()).stats.restored_tokens > 0
        after_restore = ask(client, edited, key=None)
    assert after_restore.stats.cached_tokens == 0

    # The chat edited that way (its key given): the file does not match past the edit, so it is
    # not used, and the chat is read whole.
    saved.install()
    with host(tiny_model) as client:
        edited_chat = ask(client, edited)
    assert edited_chat.stats.cached_tokens == 0
    assert after_restore.events == edited_chat.events


def test_switching_chats_and_back(tiny_model: Path, saved: SavedChat) -> None:
    """Two chats in one window: the other chat replaces the context; coming back restores the
    first from disk, then the other from its own file."""
    saved.install()
    other = [Message("user", "Something else entirely. " * 20)]
    with host(tiny_model) as client:
        ask(client, other, key="chat-2", script="<|channel|>final<|message|>Ok.<|return|>")
        back = ask(client, follow_up())
        two = ask(
            client, [*other, Message("assistant", "Ok."), Message("user", "More?")], key="chat-2"
        )
    assert back.stats.restored_tokens == saved.first.stats.prompt_tokens
    assert two.stats.restored_tokens > 0


def test_a_reply_cut_short_in_its_thinking_keeps_the_thinking(tiny_model: Path) -> None:
    """A reply stopped mid-thought is stored with its thinking, which the next prompt keeps
    (no final answer came after it): the state covers it."""
    cut = first_turn(tiny_model, key="chat-3")  # (a whole reply, to compare sizes)
    with host(tiny_model) as client:
        stopped = ask(
            client,
            [Message("user", LONG + "?")],
            key="chat-4",
            sampling=SamplingOptions(max_tokens=20),
            script="<|channel|>analysis<|message|>" + "Let me think about it. " * 5,
        )
    assert stopped.stats.stop_reason == "max_tokens"
    with kvfiles.StateFile(kvfiles.path_for("chat-4")) as sf:
        assert sf.n_tokens > stopped.stats.prompt_tokens + 10
    with kvfiles.StateFile(kvfiles.path_for("chat-3")) as sf:
        assert sf.n_tokens == cut.stats.prompt_tokens


def test_a_turn_with_a_tool_call_saves_up_to_its_first_thinking(tiny_model: Path) -> None:
    """Between tool calls the turn's thinking stays in the prompt; once the turn has its answer
    Harmony drops it, so the next prompt shares only the history before the turn's reply."""
    M = Message
    think = M("assistant", "I need the tool.", channel="analysis")
    call = M("assistant", "{}", channel="commentary", recipient="functions.f", content_type="json")
    result = M("tool", '{"ok": true}', name="functions.f", recipient="assistant")
    with host(tiny_model) as client:
        first = ask(
            client,
            [M("user", LONG)],
            script="<|channel|>analysis<|message|>I need the tool.<|end|>"
            "<|start|>assistant to=functions.f<|channel|>commentary <|constrain|>json"
            "<|message|>{}<|call|>",
        )
        assert first.stats.stop_reason == "call" and not kvfiles.path_for(KEY).exists()
        ask(
            client,
            [M("user", LONG), think, call, result],
            script="<|channel|>analysis<|message|>Done.<|end|>"
            "<|start|>assistant<|channel|>final<|message|>It worked.<|return|>",
        )
    with kvfiles.StateFile(kvfiles.path_for(KEY)) as sf:
        assert sf.n_tokens == first.stats.prompt_tokens
    history = [
        M("user", LONG),
        think,
        call,
        result,
        M("assistant", "Done.", channel="analysis"),
        M("assistant", "It worked.", channel="final"),
        M("user", "Thanks."),
    ]
    with host(tiny_model) as client:
        restored = ask(client, history)
    with host(tiny_model) as client:
        full = ask(client, history, key=None)
    assert restored.stats.restored_tokens == first.stats.prompt_tokens
    assert restored.events == full.events
