"""The engine host's wire format: length-prefixed JSON frames over a pipe.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON (one object with
an ``op`` field for commands, a ``type`` field for replies). Length-prefixing keeps reading cheap
(two reads per frame, no scanning) and makes a torn pipe obvious: a short read is end of stream.

Commands (client -> host): ``load`` {options}, ``generate`` {request}, ``cancel``, ``unload``,
``shutdown``. Replies (host -> client): ``ready``, ``loaded`` {info}, ``unloaded``, the reply events
of app/engine/events.py, and ``error`` {kind, message}.
"""

from __future__ import annotations

import json
import struct
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from app.engine.options import SamplingOptions
from app.harmony.model import Message, PromptSettings, Tool, ToolNamespace

_HEADER = struct.Struct(">I")
MAX_FRAME = 256 * 1024 * 1024  # a conversation, not a model: anything bigger is a broken stream


class ProtocolError(Exception):
    pass


def encode_frame(obj: dict[str, Any]) -> bytes:
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _HEADER.pack(len(data)) + data


def write_frame(stream: IO[bytes], obj: dict[str, Any]) -> None:
    stream.write(encode_frame(obj))
    stream.flush()


def _read_exact(stream: IO[bytes], n: int) -> bytes | None:
    chunks = []
    while n > 0:
        chunk = stream.read(n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: IO[bytes]) -> dict[str, Any] | None:
    """The next frame, or None at end of stream (the other side is gone)."""
    head = _read_exact(stream, _HEADER.size)
    if head is None:
        return None
    (n,) = _HEADER.unpack(head)
    if n > MAX_FRAME:
        raise ProtocolError(f"frame of {n} bytes is too large")
    body = _read_exact(stream, n)
    if body is None:
        return None
    obj = json.loads(body.decode("utf-8"))
    if not isinstance(obj, dict):
        raise ProtocolError("frame is not a JSON object")
    return obj


@dataclass
class GenerateRequest:
    """One reply to generate.

    ``script`` is a testing aid: instead of sampling, the engine forces these tokens (a string is
    tokenized with special tokens, e.g. ``"<|channel|>final<|message|>Hi<|return|>"``; a list gives
    one vocabulary token text per element, e.g. ``"Ġworld"``, falling back to tokenizing an element
    that isn't a single token; an integer N element samples N tokens there, with the special tokens
    forbidden: ``["<|channel|>analysis<|message|>", 300, "<|end|>…<|message|>", 700, "<|return|>"]``
    thinks, then answers, at the speed of real sampling). Everything else (decode, pieces, parser,
    events, stats) is real.
    ``suppress_stop`` (a benchmark aid) forbids the stop tokens so a reply runs to max_tokens.
    ``grammar`` (GBNF, llama.cpp's grammar format; Harmony's control tokens may be written as
    token references such as ``<|channel|>``) constrains sampling: with ``grammar_mode`` "final"
    from the final channel's ``<|message|>`` on (the answer; it then ends with ``<|return|>``),
    with "call" the whole reply (which ends with ``<|call|>``). ``trim=False`` fails with
    ``context_overflow`` instead of leaving out the oldest turns when the prompt does not fit.
    ``reasoning_budget``: after about this many tokens of thinking the engine ends the thinking
    and makes the model answer (as the ``answer_now`` command does; checked per batch of tokens,
    so it may run a few tokens over).
    ``kv_key`` names the chat (e.g. "chat-12"): the host restores the chat's KV state from disk
    when its context holds less of the prompt, and saves the state the next prompt will share
    after the reply (``app.engine.kvstate``). None: neither.
    """

    messages: list[Message]
    settings: PromptSettings = field(default_factory=PromptSettings)
    sampling: SamplingOptions = field(default_factory=SamplingOptions)
    script: str | list[str | int] | None = None
    suppress_stop: bool = False
    grammar: str | None = None
    grammar_mode: str = "final"  # final | call
    trim: bool = True
    reasoning_budget: int | None = None
    kv_key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": [m.to_dict() for m in self.messages],
            "settings": settings_to_dict(self.settings),
            "sampling": self.sampling.to_dict(),
            "script": self.script,
            "suppress_stop": self.suppress_stop,
            "grammar": self.grammar,
            "grammar_mode": self.grammar_mode,
            "trim": self.trim,
            "reasoning_budget": self.reasoning_budget,
            "kv_key": self.kv_key,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GenerateRequest:
        script = d.get("script")
        if script is not None and not isinstance(script, str):
            script = [
                s if isinstance(s, int) and not isinstance(s, bool) else str(s) for s in script
            ]
        return cls(
            messages=[Message.from_dict(m) for m in d.get("messages") or []],
            settings=settings_from_dict(d.get("settings") or {}),
            sampling=SamplingOptions.from_dict(d.get("sampling") or {}),
            script=script,
            suppress_stop=bool(d.get("suppress_stop", False)),
            grammar=str(d["grammar"]) if d.get("grammar") else None,
            grammar_mode="call" if d.get("grammar_mode") == "call" else "final",
            trim=bool(d.get("trim", True)),
            reasoning_budget=_positive(d.get("reasoning_budget")),
            kv_key=str(d["kv_key"]) if d.get("kv_key") else None,
        )


def _positive(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return value if ok else None


def settings_to_dict(s: PromptSettings) -> dict[str, Any]:
    return asdict(s)


def settings_from_dict(d: dict[str, Any]) -> PromptSettings:
    known = {k: d[k] for k in PromptSettings.__dataclass_fields__ if k in d}
    tools = known.get("tools") or []
    known["tools"] = [
        t
        if isinstance(t, Tool)
        else Tool(**{k: v for k, v in t.items() if k in Tool.__dataclass_fields__})
        for t in tools
    ]
    namespaces = known.get("builtin_tools") or []
    known["builtin_tools"] = [
        n if isinstance(n, ToolNamespace) else ToolNamespace.from_dict(n) for n in namespaces
    ]
    return PromptSettings(**known)
