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
import subprocess
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
    "bench.app_path",
    "bench.engine_stream",
    "bench.server",
    "bench.remote",
    "bench.tools",
    "bench.anchor",
    "bench.prefill_cancel",
    "bench.kvstate",
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
        value = f"{r.value:.3g} {r.unit}".strip()
        if r.spread is not None:
            value += f" ({r.spread[0]:.3g}-{r.spread[1]:.3g})"
        rows.append((r.bench, r.name, value, r.target, ok))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def markdown_table(results: list[Result]) -> str:
    """The same table for the READMEs (bench/results/latest.md; ``python -m bench publish``
    puts it in README.md and bench/README.md). A median over runs shows its runs' range."""
    lines = ["| suite | figure | value (runs' range) | target | ok |", "|---|---|---:|---|---|"]
    for r in results:
        ok = "" if r.ok is None else ("yes" if r.ok else "**no**")
        target = r.target.replace(">=", "≥").replace("<=", "≤")
        value = f"{_fmt(r.value)} {r.unit}".strip()
        if r.spread is not None:
            value += f" ({_fmt(r.spread[0])}–{_fmt(r.spread[1])})"
        lines.append(f"| {r.bench} | {r.name} | {value} | {target} | {ok} |")
    return "\n".join(lines) + "\n"


def _git(*args: str) -> str:
    try:
        out = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return ""
    return out.stdout.strip()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _load() -> list[float]:
    """The load average (1, 5, 15 min): how busy the machine was around the run."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def _memory_gb() -> float:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            return round(int(f.readline().split()[1]) / 1024**2, 1)
    except (OSError, ValueError, IndexError):
        return 0.0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["gpu"]:  # `python -m bench gpu --model PATH`: see bench/gpu.py
        from bench import gpu

        return gpu.main(argv[1:])
    if argv[:1] == ["publish"]:  # `make bench-publish`: see bench/publish.py
        from bench import publish

        return publish.main(argv[1:])
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
        suite_runs: list[dict[str, object]] = []
        started = time.time()
        for name in suites:
            t0 = time.perf_counter()
            load_before = _load()
            print(f"… {name}", file=sys.stderr, flush=True)
            try:
                results.extend(importlib.import_module(name).run(ctx))
            except Exception:
                traceback.print_exc()
                failed.append(name)
            took = time.perf_counter() - t0
            suite_runs.append(
                {"suite": name, "seconds": round(took, 1), "load": [load_before, _load()]}
            )
            print(f"  {name}: {took:.1f} s", file=sys.stderr, flush=True)
    print(_table(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    from app.cpu import cpu_cores, generation_threads

    # Names only: porcelain's status columns start with a space that _git's strip() would eat.
    dirty = _git("diff", "HEAD", "--name-only").splitlines()
    args.out.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
                "seconds": round(time.time() - started, 1),
                "command": "python -m bench " + " ".join(argv),
                "commit": _git("rev-parse", "HEAD"),
                # Files changed against that commit when the run ended (empty: a clean tree).
                "uncommitted": dirty,
                "machine": {
                    "platform": platform.platform(),
                    "python": platform.python_version(),
                    "cpus": os.cpu_count(),
                    "cpu": _cpu_model(),
                    "cores": list(cpu_cores()),
                    "engine_threads": generation_threads(),
                    "memory_gb": _memory_gb(),
                },
                "model": str(args.model) if args.model else None,
                "suites": suite_runs,
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
