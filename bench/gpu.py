"""``python -m bench gpu --model PATH [--ngl N] [--ncmoe N | --budget-gb G]``: Hearth's engine
against llama.cpp's own ``llama-bench`` on a GPU machine, side by side in one run.

For one load plan (layers on the GPU, experts of the first N layers kept on the CPU):

- ``llama-bench`` (``$LLAMA_BENCH``) tg128 with the same ``-ngl``/``-ncmoe`` and ``-fa 1``;
- Hearth's full path (engine host process -> client -> events), 128+ generated tokens, once with
  host sampling and once with backend sampling (the sampler chain inside the compute graph);
- the VRAM the engine really used: ggml's device memory (free) sampled before the host starts and
  while it loads and generates; peak used = free before - lowest free seen.

Reports tokens/s, the ratio to llama-bench (target >= 0.95) and the VRAM peak. ``--budget-gb``
picks the smallest ``--ncmoe`` whose estimate (from the GGUF's own tensor sizes) fits that much
VRAM, as the model planner does for an 8 or 12 GB card. Prints a table and one JSON object per
plan (and writes them under ``$OUT`` when set). Without ``$LLAMA_BENCH`` only Hearth's side runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
GIB = 1024**3
# What a load needs on the GPU besides weights and KV cache (compute buffers, CUDA context).
GPU_OVERHEAD = int(1.0 * GIB)


def estimate_gpu_bytes(info: Any, n_cpu_moe: int, n_ctx: int) -> int:
    """VRAM for all layers on the GPU with the experts of the first ``n_cpu_moe`` layers on the
    CPU: every tensor but those experts, the KV cache, and a fixed overhead."""
    on_cpu = sum(layer.expert_bytes for layer in info.layers if layer.index < n_cpu_moe)
    weights = info.tensor_bytes - on_cpu
    return weights + info.kv_bytes_per_token * n_ctx + GPU_OVERHEAD


def ncmoe_for_budget(info: Any, budget_bytes: int, n_ctx: int) -> int:
    for n in range(info.layer_count + 1):
        if estimate_gpu_bytes(info, n, n_ctx) <= budget_bytes:
            return n
    return info.layer_count


def llama_bench(model: Path, ngl: int, ncmoe: int, n_gen: int, reps: int) -> dict[str, Any]:
    exe = os.environ.get("LLAMA_BENCH") or shutil.which("llama-bench")
    if not exe:
        return {"skipped": "LLAMA_BENCH not set"}
    cmd = [exe, "-m", str(model), "-ngl", str(ngl), "-fa", "1", "-p", "0", "-n", str(n_gen)]
    cmd += ["-r", str(reps), "-o", "json"]
    if ncmoe:
        cmd += ["-ncmoe", str(ncmoe)]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=400, check=False)
    if r.returncode != 0:
        return {"error": r.stderr[-2000:], "cmd": " ".join(cmd)}
    rows = json.loads(r.stdout)
    row = next(x for x in rows if int(x.get("n_gen", 0)) > 0)
    return {
        "tok_s": float(row["avg_ts"]),
        "stddev": float(row.get("stddev_ts", 0.0)),
        "cmd": " ".join(cmd),
        "wall_s": round(time.perf_counter() - t0, 1),
    }


class VramWatch:
    """Samples the GPUs' free memory (ggml backend devices) on a thread."""

    def __init__(self) -> None:
        from app.engine import native

        native.init(None)
        self.native = native
        self.base = self._free()
        self.low = dict(self.base)
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _free(self) -> dict[str, int]:
        return {d.name: d.free_bytes for d in self.native.gpu_devices()}

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            for name, free in self._free().items():
                self.low[name] = min(self.low.get(name, free), free)

    def __enter__(self) -> VramWatch:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()

    @property
    def peak_used(self) -> int:
        return sum(self.base[n] - self.low.get(n, self.base[n]) for n in self.base)


def hearth_run(
    model: Path, ngl: int, ncmoe: int, n_gen: int, reps: int, backend: str, n_ctx: int
) -> dict[str, Any]:
    from app.engine.client import EngineClient, GenerateRequest
    from app.engine.events import DoneEvent, ErrorEvent
    from app.engine.options import LoadOptions, SamplingOptions
    from app.harmony import Message

    home = os.environ.get("HEARTH_HOME") or tempfile.mkdtemp(prefix="hearth-gpu-")
    watch = VramWatch()
    with watch:
        client = EngineClient(env={**os.environ, "HEARTH_HOME": home})
        client.start()
        try:
            t0 = time.perf_counter()
            info = client.load(
                LoadOptions(
                    model_path=str(model),
                    n_ctx=n_ctx,
                    n_gpu_layers=ngl,
                    n_cpu_moe=ncmoe,
                    backend_sampling=backend,  # type: ignore[arg-type]
                )
            )
            load_s = time.perf_counter() - t0
            msgs = [Message("user", "hello world " * 40)]
            client_tps, host_tps = [], []
            effective_backend = info.backend_sampling
            for i in range(reps + 1):
                req = GenerateRequest(
                    msgs,
                    sampling=SamplingOptions(max_tokens=n_gen, top_k=40, seed=1 + i),
                    suppress_stop=True,
                )
                stats = None
                t0 = time.perf_counter()
                for ev in client.stream(req):
                    if isinstance(ev, DoneEvent):
                        stats = ev.stats
                    elif isinstance(ev, ErrorEvent):
                        return {"error": ev.message}
                t_end = time.perf_counter()
                if i == 0 or stats is None:
                    continue  # warm-up
                # End to end, as a caller sees it: request sent -> last token's event received
                # (the prompt is cached after the warm-up, like llama-bench's tg).
                client_tps.append(stats.generated_tokens / (t_end - t0))
                effective_backend = stats.backend_sampling
                host_tps.append(stats.generation_tps)
        finally:
            client.close()
    return {
        "backend_sampling": effective_backend,
        "tok_s": statistics.median(client_tps),
        "host_tok_s": statistics.median(host_tps),
        "runs": [round(x, 1) for x in client_tps],
        "load_s": round(load_s, 1),
        "vram_peak_bytes": watch.peak_used,
        "vram_peak_gib": round(watch.peak_used / GIB, 2),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench gpu", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, required=True, help="GGUF (e.g. $SHAPED_MODEL)")
    ap.add_argument("--ngl", type=int, default=99, help="layers on the GPU (default: all)")
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--ncmoe", type=int, default=0, help="experts of the first N layers on CPU")
    group.add_argument("--budget-gb", type=float, help="pick --ncmoe to fit this much VRAM")
    ap.add_argument("--n-gen", type=int, default=128, help="tokens per run (llama-bench: tg)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--ctx", type=int, default=4096, help="context of Hearth's load")
    ap.add_argument("--label", default="", help="name of this plan in the report")
    ap.add_argument(
        "--sampling", default="off,on", help="which of host (off) / backend (on) sampling to run"
    )
    args = ap.parse_args(argv)

    from app.engine.gguf_info import inspect_gguf

    info = inspect_gguf(args.model)
    ncmoe = args.ncmoe
    if args.budget_gb is not None:
        ncmoe = ncmoe_for_budget(info, int(args.budget_gb * GIB), args.ctx)
    label = args.label or (f"{args.budget_gb:g} GB plan" if args.budget_gb else "as given")
    estimate = estimate_gpu_bytes(info, ncmoe, args.ctx)
    report: dict[str, Any] = {
        "plan": label,
        "model": args.model.name,
        "ngl": args.ngl,
        "ncmoe": ncmoe,
        "budget_gb": args.budget_gb,
        "estimate_gib": round(estimate / GIB, 2),
        "n_gen": args.n_gen,
    }
    print(f"… {label}: -ngl {args.ngl} -ncmoe {ncmoe}", file=sys.stderr, flush=True)
    ref = llama_bench(args.model, args.ngl, ncmoe, args.n_gen, args.reps)
    report["llama_bench"] = ref
    for mode in args.sampling.split(","):
        name = {"off": "host_sampling", "on": "backend_sampling"}.get(mode, mode)
        res = hearth_run(args.model, args.ngl, ncmoe, args.n_gen, args.reps, mode, args.ctx)
        if "tok_s" in ref and "tok_s" in res:
            res["ratio"] = round(res["tok_s"] / ref["tok_s"], 3)
            res["ok"] = res["ratio"] >= 0.95
        report[name] = res
    print(json.dumps(report))
    rows = [("plan", "sampling", "tok/s", "llama-bench", "ratio (>= 0.95)", "VRAM peak")]
    for key in ("host_sampling", "backend_sampling"):
        r = report.get(key)
        if not r:
            continue
        rows.append(
            (
                label,
                key.split("_")[0],
                f"{r.get('tok_s', 0):.1f}",
                f"{ref.get('tok_s', 0):.1f}" if "tok_s" in ref else "-",
                str(r.get("ratio", "-")),
                f"{r.get('vram_peak_gib', 0)} GiB (est. {report['estimate_gib']})",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)), file=sys.stderr)
    out = os.environ.get("OUT")
    if out:
        path = Path(out) / "gpu-results.jsonl"
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
