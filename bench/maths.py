"""Maths benchmarks: the two renderers side by side, and a maths-heavy answer streaming.

1. The 30 formulas of tests/ui/test_math.py (fractions, matrices, aligned, cases, sums,
   integrals): how many each renderer typesets and how long one takes — ziamath + Qt
   rasterisation (what Hearth uses) and matplotlib's mathtext (rendering to an Agg bitmap).
2. A 4,000-token answer with a formula every ~40 tokens streams through the real worker into the
   real window (bench/gui.py's ``stream_stalls``, with this text instead of its own): the GUI
   thread's longest stall. Target ≤ 50 ms.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from bench.core import Context, Result, median, percentile

_SECTION = r"""## Problem {n}

We solve $x^2 - {a}x + {b} = 0$ with the quadratic formula:

$$
x = \frac{{{a} \pm \sqrt{{{a}^2 - 4 \cdot {b}}}}}{{2}}
$$

so the roots satisfy $x_1 + x_2 = {a}$ and $x_1 x_2 = {b}$. The matrix form is

\[
A_{n} = \begin{{pmatrix}} {a} & {b} \\ 1 & 0 \end{{pmatrix}}, \quad \det A_{n} = -{b}
\]

and the series \(\sum_{{k=1}}^{{{a}}} k^2 = \frac{{{a}({a}+1)(2 \cdot {a}+1)}}{{6}}\) checks out.

$$\begin{{aligned}} f_{n}(x) &= {a}x^2 + {b} \\ f_{n}'(x) &= {c}x \end{{aligned}}$$

"""


def maths_tokens(n_tokens: int) -> list[str]:
    """~n_tokens 4-character pieces of a maths answer whose formulas are all different."""
    text = ""
    n = 1
    while len(text) < n_tokens * 4:
        text += _SECTION.format(n=n, a=n + 2, b=n * 3 + 1, c=2 * (n + 2))
        n += 1
    return [text[i : i + 4] for i in range(0, len(text), 4)][:n_tokens]


def renderers(snippets: list[str]) -> dict[str, dict[str, float]]:
    """Coverage and time per formula of ziamath (+ rasterising) and of matplotlib's mathtext."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.mathtext import MathTextParser

    from app.ui.math_render import _svg, rasterise

    parser = MathTextParser("agg")
    prop = FontProperties(size=11)

    def zia(tex: str) -> None:
        rasterise(_svg(tex, True, "#1f2328", 14.0), 14.0, 1.0)

    def mathtext(tex: str) -> None:
        parser.parse(f"${tex}$", dpi=96, prop=prop)

    out = {}
    fn: Callable[[str], None]
    for name, fn in (("ziamath", zia), ("mathtext", mathtext)):
        fn("x^2")  # fonts loaded once, as in the app
        times, cpu, ok = [], [], 0
        for tex in snippets:
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                fn(tex)
                ok += 1
            except Exception:
                pass
            times.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
        out[name] = {
            "rendered": float(ok),
            "median_ms": median(times) * 1000,
            "p90_ms": percentile(times, 90) * 1000,
            "max_ms": max(times) * 1000,
            "cpu_median_ms": median(cpu) * 1000,
            "cpu_p90_ms": percentile(cpu, 90) * 1000,
        }
    return out


def run(ctx: Context) -> list[Result]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from bench import gui
    from tests.ui.test_math import SNIPPETS

    QApplication.instance() or QApplication(["hearth-bench"])
    r = renderers(SNIPPETS)
    results = [
        Result(
            "maths",
            f"{name}: formulas typeset of {len(SNIPPETS)}",
            figures["rendered"],
            "",
            "",
            figures,
        )
        for name, figures in r.items()
    ]
    results += [
        Result(
            "maths",
            f"{name}: median time per formula (CPU {figures['cpu_median_ms']:.0f} ms)",
            figures["median_ms"],
            "ms",
        )
        for name, figures in r.items()
    ]

    n = 1500 if ctx.quick else 4000
    own = gui.markdown_tokens
    gui.markdown_tokens = maths_tokens  # stream_stalls streams this text instead of its own
    try:
        s = gui.stream_stalls(n_tokens=n)
    finally:
        gui.markdown_tokens = own
        # Its render thread writes the disk cache into this run's scratch folder: stop it
        # before the folder goes.
        from app.ui import math_render

        math_render.renderer().shutdown(wait=True)
        math_render._renderer = None
    # The same stream of plain Markdown in the same run: what the machine's load alone costs.
    plain = gui.stream_stalls(n_tokens=n)
    results.append(
        Result(
            "maths",
            "max GUI stall, plain Markdown answer (same run, for comparison)",
            plain["max_stall_ms"],
            "ms",
            "",
            plain,
        )
    )
    results.append(
        Result(
            "maths",
            f"max GUI stall streaming a {n:,}-token maths answer",
            s["max_stall_ms"],
            "ms",
            "<= 50",
            s,
        )
    )
    results.append(Result("maths", "p99 GUI stall (maths answer)", s["p99_stall_ms"], "ms"))
    return results
