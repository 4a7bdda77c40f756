"""What the engine sends back: events of a reply, its stats, and the loaded model's facts.

Every event has ``to_dict()`` (with a ``type`` field) and ``event_from_dict()`` rebuilds it; the
same dictionaries travel over the engine host's pipe and are what ``hearth chat --jsonl`` prints.

Types: ``reasoning`` / ``content`` / ``preamble`` (text deltas of the analysis, final and
commentary-without-recipient channels), ``tool_call`` (recipient, arguments, constrain, channel),
``tool_result`` (the turn ran the tool: status, what the model reads, what the user sees),
``prefill`` (progress through a long prompt), ``trimmed`` (oldest turns left out so the prompt
fits the context), ``done`` (the stats; always
the last event of a reply that did not fail), ``error`` (kind + a sentence for the user; last).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Literal

StopReason = Literal["return", "call", "max_tokens", "cancelled", "context_full"]


@dataclass
class GenerationStats:
    prompt_tokens: int = 0  # tokens in the rendered prompt
    cached_tokens: int = 0  # of those, reused from the KV cache (not evaluated again)
    restored_tokens: int = 0  # of the cached ones, restored from the chat's state on disk
    generated_tokens: int = 0
    prefill_tps: float = 0.0  # evaluated prompt tokens per second
    generation_tps: float = 0.0  # tokens per second after the first
    ttft_s: float = 0.0  # request received -> first token sampled
    context_used: int = 0  # tokens in the context after the reply
    context_size: int = 0
    stop_reason: str = "return"
    total_s: float = 0.0
    backend_sampling: bool = False  # the sampler chain ran inside the compute graph (GPU)
    reasoning_tokens: int = 0  # of the generated tokens, those of the thinking's text
    dropped_tokens: int = 0  # control tokens sampled out of place: dropped, never shown as text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GenerationStats:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class ModelInfo:
    """What the engine host reports after a load."""

    path: str
    name: str = ""
    architecture: str = ""
    n_ctx: int = 0  # context size of this load
    n_ctx_train: int = 0  # the model's own maximum
    n_layer: int = 0
    n_params: int = 0
    size_bytes: int = 0
    n_gpu_layers: int = 0
    n_cpu_moe: int = 0
    n_threads: int = 0
    flash_attn: bool = True
    gpu_offload: bool = False  # this llama.cpp build can use a GPU
    backend_sampling: bool = False  # the sampler chain runs in the compute graph
    load_s: float = 0.0
    quantization: str = ""
    devices: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelInfo:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class EngineEvent:
    type: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EngineEvent:
        return event_from_dict(d)


@dataclass
class ReasoningEvent(EngineEvent):
    type: ClassVar[str] = "reasoning"
    text: str = ""


@dataclass
class ContentEvent(EngineEvent):
    type: ClassVar[str] = "content"
    text: str = ""


@dataclass
class PreambleEvent(EngineEvent):
    type: ClassVar[str] = "preamble"
    text: str = ""


@dataclass
class ToolCallEvent(EngineEvent):
    type: ClassVar[str] = "tool_call"
    recipient: str = ""
    arguments: str = ""
    constrain: str | None = None
    channel: str | None = None
    recipient_first: bool = True  # False: "<|channel|>analysis to=python" (built-in tools)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        if self.recipient_first:
            del d["recipient_first"]  # the usual order: --jsonl lines stay as they were
        return d


@dataclass
class ToolResultEvent(EngineEvent):
    """A tool the model called has run (sent by the turn, not the engine: the turn runs tools).
    ``text`` is what the model reads; ``output`` what the user may read (can be longer);
    ``images``/``files`` are the files it produced ({"path", "name", "mime", "size"})."""

    type: ClassVar[str] = "tool_result"
    recipient: str = ""
    status: str = "ok"  # ok | error | timeout | refused | interrupted | unavailable
    text: str = ""
    output: str = ""
    duration_s: float = 0.0
    truncated: bool = False
    error: str = ""
    images: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PrefillEvent(EngineEvent):
    """Progress through a long prompt (more than one 512-token chunk to evaluate): sent before
    each chunk, so a reader can show "Reading the chat… 40 %"."""

    type: ClassVar[str] = "prefill"
    evaluated: int = 0  # prompt tokens evaluated so far in this reply (not counting the cache)
    total: int = 0  # prompt tokens this reply has to evaluate


@dataclass
class TrimmedEvent(EngineEvent):
    """Oldest turns were left out of the prompt so it fits the context."""

    type: ClassVar[str] = "trimmed"
    dropped_messages: int = 0
    message: str = ""


@dataclass
class DoneEvent(EngineEvent):
    type: ClassVar[str] = "done"
    stats: GenerationStats = field(default_factory=GenerationStats)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "stats": self.stats.to_dict()}


@dataclass
class ErrorEvent(EngineEvent):
    """kind: engine_died, not_loaded, context_overflow, bad_request, load_failed, internal, ..."""

    type: ClassVar[str] = "error"
    kind: str = "internal"
    message: str = ""


_TYPES: dict[str, type[EngineEvent]] = {
    c.type: c
    for c in (
        ReasoningEvent,
        ContentEvent,
        PreambleEvent,
        ToolCallEvent,
        ToolResultEvent,
        PrefillEvent,
        TrimmedEvent,
        DoneEvent,
        ErrorEvent,
    )
}
EVENT_TYPES = tuple(_TYPES)


def event_from_dict(d: dict[str, Any]) -> EngineEvent:
    kind = d.get("type")
    cls = _TYPES.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown engine event type {kind!r}")
    if cls is DoneEvent:
        return DoneEvent(stats=GenerationStats.from_dict(d.get("stats") or {}))
    names = {f.name for f in fields(cls)}  # ClassVar ``type`` is not a field
    return cls(**{k: v for k, v in d.items() if k in names})
