"""``make bench``: every benchmark, side by side in one run.

Each module listed in SUITES has ``run(ctx: Context) -> list[Result]``. Results go to the terminal
as a table and to ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.core import Context, Result  # noqa: E402

# Benchmark modules in the order they run.
SUITES: list[str] = [
    "bench.store",
    "bench.engine_stream",
    "bench.server",
    "bench.remote",
    "bench.download",
    "bench.gui",
    "bench.memory",
    "bench.library",
    "bench.maths",
]


def _table(results: list[Result]) -> str:
    rows = [("benchmark", "figure", "value", "target", "ok")]
    for r in results:
        ok = "" if r.ok is None else ("yes" if r.ok else "NO")
        rows.append((r.bench, r.name, f"{r.value:.3g} {r.unit}".strip(), r.target, ok))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def markdown_table(results: list[Result]) -> str:
    """The same table for the READMEs (bench/results/latest.md), pasted as it is."""
    lines = ["| suite | figure | value | target | ok |", "|---|---|---:|---|---|"]
    for r in results:
        ok = "" if r.ok is None else ("yes" if r.ok else "**no**")
        target = r.target.replace(">=", "≥").replace("<=", "≤")
        value = f"{_fmt(r.value)} {r.unit}".strip()
        lines.append(f"| {r.bench} | {r.name} | {value} | {target} | {ok} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["gpu"]:  # `python -m bench gpu --model PATH`: see bench/gpu.py
        from bench import gpu

        return gpu.main(argv[1:])
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--model", type=Path, help="also measure this GGUF (e.g. the 20b-shaped model)")
    ap.add_argument("--only", help="comma-separated suite names to run")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (smoke test)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    args = ap.parse_args(argv)

    from tests.helpers.tinymodel import write_tiny_gptoss

    suites = SUITES
    if args.only:
        wanted = set(args.only.split(","))
        suites = [s for s in SUITES if s.rsplit(".", 1)[-1] in wanted]
    with tempfile.TemporaryDirectory(prefix="hearth-bench-") as tmp:
        work = Path(tmp)
        os.environ["HEARTH_HOME"] = str(work / "home")
        ctx = Context(
            tiny_model=write_tiny_gptoss(work / "tiny-gpt-oss.gguf"),
            work=work,
            model=args.model,
            quick=args.quick,
        )
        results: list[Result] = []
        failed: list[str] = []
        for name in suites:
            t0 = time.perf_counter()
            print(f"… {name}", file=sys.stderr, flush=True)
            try:
                results.extend(importlib.import_module(name).run(ctx))
            except Exception:
                traceback.print_exc()
                failed.append(name)
            print(f"  {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    print(_table(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "machine": {
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                },
                "failed_suites": failed,
                "results": [r.to_dict() for r in results],
            },
            indent=2,
        )
    )
    args.out.with_suffix(".md").write_text(markdown_table(results))
    print(f"\nwritten to {args.out} (and the table as {args.out.with_suffix('.md').name})")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
