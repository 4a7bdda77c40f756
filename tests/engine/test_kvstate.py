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
    ask,
    first_turn,
    follow_up,
    host,
)


@pytest.mark.parametrize("sampling", [GREEDY, SAMPLED], ids=["greedy", "sampled"])
def test_restored_continuation_equals_a_full_reread(
    tiny_model: Path, sampling: SamplingOptions
) -> None:
    first = first_turn(tiny_model)
    path = kvfiles.path_for(KEY)
    with kvfiles.StateFile(path) as sf:
        saved = sf.n_tokens
    # What is saved is what the next prompt shares: the first prompt, not the reply (Harmony
    # drops its analysis, which came first).
    assert saved == first.stats.prompt_tokens > 4 * 128

    with host(tiny_model) as client:
        restored = ask(client, follow_up(), sampling=sampling)
    with host(tiny_model) as client:
        reread = ask(client, follow_up(), key=None, sampling=sampling)

    assert restored.stats.restored_tokens == restored.stats.cached_tokens == saved
    assert reread.stats.cached_tokens == 0
    assert restored.stats.prompt_tokens == reread.stats.prompt_tokens
    assert len(restored.events) > 0 and restored.events == reread.events


def test_the_state_is_saved_again_after_each_reply(tiny_model: Path) -> None:
    first_turn(tiny_model)
    with host(tiny_model) as client:
        second = ask(client, follow_up(), script="<|channel|>final<|message|>Sure.<|return|>")
    with kvfiles.StateFile(kvfiles.path_for(KEY)) as sf:
        # No analysis in that reply: the next prompt shares its answer too (all but <|return|>,
        # which history writes as <|end|>).
        assert sf.n_tokens > second.stats.prompt_tokens
        saved = sf.n_tokens
    third = [
        *follow_up(),
        Message("assistant", "Sure.", channel="final"),
        Message("user", "Thanks."),
    ]
    with host(tiny_model) as client:
        reply = ask(client, third)
    with host(tiny_model) as client:
        reread = ask(client, third, key=None)
    assert reply.stats.restored_tokens == saved
    assert reply.events == reread.events


def test_regenerating_after_a_restart_uses_the_state(tiny_model: Path) -> None:
    """A new reply to the same question: the prompt is exactly the saved tokens."""
    first = first_turn(tiny_model)
    question = [Message("user", LONG)]
    with host(tiny_model) as client:
        again = ask(client, question)
    with host(tiny_model) as client:
        reread = ask(client, question, key=None)
    # The last prompt token is evaluated again for its logits; the rest comes from disk.
    assert again.stats.restored_tokens == again.stats.cached_tokens
    assert again.stats.cached_tokens == first.stats.prompt_tokens - 1
    assert again.events == reread.events


def test_an_edit_inside_the_restored_part_reads_the_chat_again(tiny_model: Path) -> None:
    """A restored context holds only the last window of the sliding-window layers: a prompt that
    shares less of it must be evaluated from the start, never rolled back into the gap."""
    first_turn(tiny_model)
    edited = [Message("user", LONG[: len(LONG) // 2] + "A different ending.")]
    with host(tiny_model) as client:
        assert ask(client, follow_up()).stats.restored_tokens > 0
        after_restore = ask(client, edited, key=None)
    with host(tiny_model) as client:
        reread = ask(client, edited, key=None)
    assert after_restore.stats.cached_tokens == 0
    assert after_restore.events == reread.events

    # The chat edited the same way (its key given): the file does not match past the edit, so
    # it is not used; the reply is still right.
    with host(tiny_model) as client:
        edited_chat = ask(client, edited)
    assert edited_chat.stats.restored_tokens == 0
    assert edited_chat.events == reread.events


def test_the_context_already_holding_the_chat_needs_no_file(tiny_model: Path) -> None:
    with host(tiny_model) as client:
        ask(client, [Message("user", LONG)], script="<|channel|>final<|message|>Hi.<|return|>")
        again = ask(client, [*follow_up()[:1], Message("assistant", "Hi."), Message("user", "x")])
    assert again.stats.restored_tokens == 0 and again.stats.cached_tokens > 4 * 128


def test_another_chat_in_between_then_back(tiny_model: Path) -> None:
    """Switching chats in one window: the other chat replaces the context; coming back restores
    the first from disk."""
    first_turn(tiny_model)
    other = [Message("user", "Something else entirely. " * 20)]
    with host(tiny_model) as client:
        ask(client, other, key="chat-2", script="<|channel|>final<|message|>Ok.<|return|>")
        back = ask(client, follow_up())
        # and chat 2 comes back from its own file
        two = ask(
            client, [*other, Message("assistant", "Ok."), Message("user", "More?")], key="chat-2"
        )
    assert back.stats.restored_tokens > 4 * 128
    assert two.stats.restored_tokens > 0
