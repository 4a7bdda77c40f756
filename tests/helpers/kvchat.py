"""Helpers for the KV-state tests: engine hosts that come and go (a restart is a new host
process), a chat whose first reply left its state on disk, and replies compared event for event."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.engine import kvfiles
from app.engine.client import EngineClient, GenerateRequest
from app.engine.events import DoneEvent, EngineEvent, GenerationStats
from app.engine.options import LoadOptions, SamplingOptions
from app.harmony import Message

KEY = "chat-1"
# Longer than the 128-token sliding window several times over (about one token per character).
LONG = "The river runs past the old stone mill, and on to the sea. " * 10
THINK = "The user wants the next part. I will answer briefly."
ANSWER = "Hello world, the answer is 42."
REPLY = (
    f"<|channel|>analysis<|message|>{THINK}<|end|>"
    f"<|start|>assistant<|channel|>final<|message|>{ANSWER}<|return|>"
)
# A reply that ends in a tool call: the turn goes on, so nothing is saved after it.
CALL = "<|channel|>commentary to=functions.f <|constrain|>json<|message|>{}<|call|>"
GREEDY = SamplingOptions(temperature=0.0, max_tokens=40)
SAMPLED = SamplingOptions(temperature=1.0, top_k=40, seed=1234, max_tokens=40)
WHOLE = SamplingOptions(max_tokens=1000)  # for scripted replies


@contextmanager
def host(model: Path, home: Path | None = None, **options: object) -> Iterator[EngineClient]:
    """A fresh engine host (its own process: nothing in memory from an earlier one), under
    ``home`` as HEARTH_HOME (default: the test's)."""
    client = EngineClient(env={**os.environ, "HEARTH_HOME": str(home)} if home else None)
    client.start()
    try:
        opts = {"n_ctx": 4096, "n_threads": 1, **options}
        client.load(LoadOptions(model_path=str(model), **opts))  # type: ignore[arg-type]
        yield client
    finally:
        client.close(timeout=60)


@dataclass
class Reply:
    events: list[tuple[str, str]]  # (type, text) of every text event: the reply, exactly
    stats: GenerationStats


def ask(
    client: EngineClient,
    messages: list[Message],
    *,
    key: str | None = KEY,
    sampling: SamplingOptions = GREEDY,
    script: str | None = None,
) -> Reply:
    if script is not None and sampling is GREEDY:
        sampling = WHOLE
    request = GenerateRequest(
        messages=list(messages),
        sampling=sampling,
        script=script,
        suppress_stop=script is None,  # free replies run to max_tokens
        kv_key=key,
    )
    events: list[EngineEvent] = list(client.stream(request))
    done = events[-1]
    assert isinstance(done, DoneEvent), done
    texts = [(e.type, str(getattr(e, "text", ""))) for e in events if hasattr(e, "text")]
    return Reply(texts, done.stats)


def first_turn(
    model: Path, question: str = LONG, key: str = KEY, home: Path | None = None, **options: object
) -> Reply:
    """One scripted reply in a host that then exits (its state saved on the way out)."""
    with host(model, home, **options) as client:
        return ask(client, [Message("user", question)], key=key, sampling=WHOLE, script=REPLY)


@dataclass
class SavedChat:
    """The state file ``first_turn`` left, to put in each test's own cache folder."""

    data: bytes
    first: Reply

    def install(self, key: str = KEY) -> Path:
        path = kvfiles.path_for(key)
        path.write_bytes(self.data)
        return path


def save_chat(model: Path, home: Path) -> SavedChat:
    first = first_turn(model, home=home)
    return SavedChat((home / "cache" / "kv" / f"{KEY}.kvstate").read_bytes(), first)


def reread(model: Path, home: Path, messages: list[Message], sampling: SamplingOptions) -> Reply:
    """The reply after reading the whole chat (no state), in a fresh host."""
    with host(model, home) as client:
        reply = ask(client, messages, key=None, sampling=sampling)
    assert reply.stats.cached_tokens == 0
    return reply


def follow_up(question: str = LONG, next_question: str = "And then?") -> list[Message]:
    """The history the chat sends after ``first_turn``: the reply as stored, a new question."""
    return [
        Message("user", question),
        Message("assistant", THINK, channel="analysis"),
        Message("assistant", ANSWER, channel="final"),
        Message("user", next_question),
    ]
