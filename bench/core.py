"""What every benchmark shares: the run context and the result row."""

from __future__ import annotations

import operator
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


@dataclass
class Result:
    """One figure. ``value`` is what the target is checked against (usually a ratio measured side by
    side in the same run); ``detail`` carries the raw numbers behind it."""

    bench: str
    name: str
    value: float
    unit: str = ""
    target: str = ""  # e.g. ">= 0.97"; empty: informational
    detail: dict[str, Any] = field(default_factory=dict)
    # (lowest, highest) of the runs behind a median: how far one run can be trusted
    spread: tuple[float, float] | None = None

    @property
    def ok(self) -> bool | None:
        if not self.target:
            return None
        op, bound = self.target.split()
        return _OPS[op](self.value, float(bound))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ok"] = self.ok
        return d


@dataclass
class Context:
    tiny_model: Path
    work: Path  # a scratch folder for this run (also HEARTH_HOME)
    model: Path | None = None  # a real or 20b-shaped model given with --model
    quick: bool = False  # fewer repetitions (for a smoke run in tests)


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def spread(xs: list[float]) -> tuple[float, float]:
    return (min(xs), max(xs)) if xs else (0.0, 0.0)


def percentile(xs: list[float], p: float) -> float:
    s = sorted(xs)
    if not s:
        return 0.0
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]
