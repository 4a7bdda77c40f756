"""How to load a model: what the fit planner decides and the user may override."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

BackendSampling = Literal["auto", "on", "off"]


@dataclass
class LoadOptions:
    model_path: str
    n_ctx: int = 8192
    n_gpu_layers: int = 0  # layers offloaded to the GPU; -1 means all
    n_cpu_moe: int = 0  # keep the MoE expert weights of the first N layers in CPU memory
    flash_attn: bool = True
    n_threads: int | None = None  # None: all physical cores
    use_mmap: bool = True
    backend_sampling: BackendSampling = "auto"  # sample on the GPU where that is faster

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LoadOptions:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


@dataclass
class SamplingOptions:
    """gpt-oss defaults (OpenAI: temperature 1.0, top_p 1.0). A top-k keeps sampling cheap on a
    201k vocabulary; no repetition penalty."""

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 40
    max_tokens: int = 4096
    seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SamplingOptions:
        """A value that is not a finite number of the right kind keeps its default: a chat's
        stored settings may come from an imported or hand-edited file, and a string here would
        otherwise fail deep in the engine ("'<' not supported between 'int' and 'str'")."""
        out = cls()
        for name, kind in (
            ("temperature", float),
            ("top_p", float),
            ("top_k", int),
            ("max_tokens", int),
            ("seed", int),
        ):
            value = d.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if not math.isfinite(value) or (kind is int and not float(value).is_integer()):
                continue
            setattr(out, name, kind(value))
        return out
