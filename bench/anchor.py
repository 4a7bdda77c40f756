"""llama.cpp's own speed as the anchor: Hearth against ``llama-bench`` on a gpt-oss-20b-shaped
model, same machine, same threads, same run.

``make bench-anchor`` (bench/anchor.sh) builds ``llama-bench`` from the llama.cpp sources that the
pinned llama-cpp-python vendors and writes the 2-layer 20b-shaped model (both under the
git-ignored bench/.anchor/). ``llama-bench`` runs against the venv's own libllama and libggml
(``LD_LIBRARY_PATH``): both sides run the very same compiled kernels, so the ratios measure what
Hearth adds around them.

Each round runs, in alternating order: ``llama-bench -p 512 -n 128 -r 1`` (pp512: one 512-token
batch from an empty cache; tg128: 128 single-token decodes, no sampling), and through Hearth's
engine host and client a 512-token prompt evaluated from a cold cache (its ``prefill_tps``) and a
128-token reply (its ``generation_tps``: top-k 40, temperature 1, seeded, stop tokens forbidden),
and the lean raw loop's 128 tokens with the same sampler (bench/rawloop.py: what sampling costs on
its own). Figures: the median of the rounds' ratios, with their spread. Target >= 0.95 each.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.core import Context, Result, median, spread

BENCH = "anchor"
ROOT = Path(__file__).resolve().parent.parent
ANCHOR = ROOT / "bench" / ".anchor"
SHAPED = ANCHOR / "gpt-oss-20b-shaped-2l.gguf"
N_PROMPT, N_GEN, TOP_K = 512, 128, 40


def llama_version() -> str:
    import importlib.metadata

    return importlib.metadata.version("llama-cpp-python")


def llama_bench_path() -> Path | None:
    env = os.environ.get("LLAMA_BENCH")
    if env:
        return Path(env)
    exe = ANCHOR / f"build-{llama_version()}" / "bin" / "llama-bench"
    return exe if exe.is_file() else None


def venv_lib_dir() -> Path:
    import llama_cpp

    return Path(llama_cpp.__file__).parent / "lib"


def _bench_env() -> dict[str, str]:
    lib = str(venv_lib_dir())
    old = os.environ.get("LD_LIBRARY_PATH")
    return {**os.environ, "LD_LIBRARY_PATH": f"{lib}:{old}" if old else lib}


def libllama_used(exe: Path) -> str:
    """Which libllama the dynamic loader gives llama-bench (the venv's, by LD_LIBRARY_PATH)."""
    try:
        out = subprocess.run(
            ["ldd", str(exe)], env=_bench_env(), capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        return ""
    return next(
        (ln.split("=>")[1].split("(")[0].strip() for ln in out.splitlines() if "libllama.so" in ln),
        "",
    )


def llama_bench(exe: Path, model: Path, threads: int) -> dict[str, float]:
    cmd = [str(exe), "-m", str(model), "-t", str(threads), "-fa", "1", "-p", str(N_PROMPT)]
    cmd += ["-n", str(N_GEN), "-r", "1", "-o", "json"]
    r = subprocess.run(cmd, env=_bench_env(), capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise RuntimeError(f"llama-bench failed: {r.stderr[-1500:]}")
    rows = json.loads(r.stdout)
    pp = next(x for x in rows if int(x["n_prompt"]) > 0 and int(x["n_gen"]) == 0)
    tg = next(x for x in rows if int(x["n_gen"]) > 0 and int(x["n_prompt"]) == 0)
    return {"pp": float(pp["avg_ts"]), "tg": float(tg["avg_ts"])}


class _Hearth:
    """Hearth's engine host through its client, as the app and the CLI use it."""

    def __init__(self, ctx: Context, model: Path, threads: int) -> None:
        from app.engine.client import EngineClient
        from app.engine.options import LoadOptions

        self.client = EngineClient(env={**os.environ, "HEARTH_HOME": str(ctx.work / "home")})
        self.client.start()
        self.client.load(LoadOptions(model_path=str(model), n_ctx=4096, n_threads=threads))
        self.round = 0
        self.filler = 0
        self.fit_prompt()

    def _stream(self, req: Any) -> Any:
        from app.engine.events import DoneEvent, ErrorEvent

        stats = None
        for ev in self.client.stream(req):
            if isinstance(ev, DoneEvent):
                stats = ev.stats
            elif isinstance(ev, ErrorEvent):
                raise RuntimeError(ev.message)
        assert stats is not None
        return stats

    def _prompt_request(self) -> Any:
        """A prompt whose first line differs every time (so the cache keeps only its first
        tokens) and whose length is sized to evaluate N_PROMPT tokens."""
        from app.engine.client import GenerateRequest
        from app.engine.options import SamplingOptions
        from app.harmony import Message, PromptSettings

        self.round += 1
        settings = PromptSettings(model_identity=f"Run {self.round}. You are a model.")
        text = "Summarise this: " + "x" * self.filler
        return GenerateRequest(
            [Message("user", text)], settings, SamplingOptions(max_tokens=1, seed=1)
        )

    def fit_prompt(self) -> None:
        """Size the filler so a cold prompt evaluates N_PROMPT tokens (the 20b-shaped vocabulary
        has one token per 'x'; a real one may merge some, hence the second pass)."""
        for _ in range(3):
            s = self._stream(self._prompt_request())
            evaluated = s.prompt_tokens - s.cached_tokens
            if evaluated == N_PROMPT:
                return
            self.filler = max(0, self.filler + N_PROMPT - evaluated)

    def prompt_tps(self) -> tuple[float, int]:
        s = self._stream(self._prompt_request())
        return s.prefill_tps, s.prompt_tokens - s.cached_tokens

    def generation_tps(self) -> float:
        from app.engine.client import GenerateRequest
        from app.engine.options import SamplingOptions
        from app.harmony import Message

        req = GenerateRequest(
            [Message("user", "Tell me a story.")],
            sampling=SamplingOptions(max_tokens=N_GEN, top_k=TOP_K, seed=1234),
            suppress_stop=True,
        )
        return float(self._stream(req).generation_tps)

    def close(self) -> None:
        self.client.close()


def anchor(ctx: Context, model: Path, exe: Path, threads: int) -> list[Result]:
    from bench.rawloop import RawLoop

    rounds = 1 if ctx.quick else 5
    hearth = _Hearth(ctx, model, threads)
    raw = RawLoop(model, 4096, threads, TOP_K)
    story = raw.tokenize("<|start|>user<|message|>Tell me a story.<|end|><|start|>assistant")
    # llama-bench's tg work from Python: the same token decoded N_GEN times, nothing sampled.
    decode_only = raw.tokenize("x") * N_GEN
    rows: list[dict[str, float]] = []
    try:
        hearth.prompt_tps()  # warm-up (llama-bench warms up on its own)
        hearth.generation_tps()
        raw.run(story, N_GEN)
        for i in range(rounds):
            row: dict[str, float] = {}
            for side in ("ours", "theirs") if i % 2 else ("theirs", "ours"):
                if side == "ours":
                    row["hearth_pp"], row["evaluated"] = hearth.prompt_tps()
                    row["hearth_tg"] = hearth.generation_tps()
                    row["raw_tg"] = raw.run(story, N_GEN).gen_tps
                    row["raw_decode_only_tg"] = raw.run_plan(story, decode_only).gen_tps
                else:
                    lb = llama_bench(exe, model, threads)
                    row["llama_bench_pp"], row["llama_bench_tg"] = lb["pp"], lb["tg"]
            rows.append(row)
    finally:
        raw.close()
        hearth.close()

    def ratios(a: str, b: str) -> list[float]:
        return [r[a] / r[b] for r in rows]

    pp, tg, raw_tg = (
        ratios("hearth_pp", "llama_bench_pp"),
        ratios("hearth_tg", "llama_bench_tg"),
        ratios("raw_tg", "llama_bench_tg"),
    )
    decode_only_ratio = ratios("raw_decode_only_tg", "llama_bench_tg")
    detail = {
        "model": model.name,
        "threads": threads,
        "rounds": [{k: round(v, 2) for k, v in r.items()} for r in rows],
        "llama_bench": str(exe),
        "libllama": libllama_used(exe),
        "llama_cpp_python": llama_version(),
    }
    sfx = f" ({model.stem}, {threads} threads)"

    def speed(name: str, key: str) -> Result:
        """One side's tokens per second over the rounds."""
        values = [r[key] for r in rows]
        return Result(BENCH, name + sfx, median(values), "tok/s", spread=spread(values))

    return [
        speed(f"llama-bench pp{N_PROMPT} tok/s", "llama_bench_pp"),
        speed("Hearth prompt tok/s", "hearth_pp"),
        Result(
            BENCH,
            f"Hearth prompt / llama-bench pp{N_PROMPT}",
            median(pp),
            "",
            ">= 0.95",
            detail,
            spread(pp),
        ),
        speed(f"llama-bench tg{N_GEN} tok/s", "llama_bench_tg"),
        speed("Hearth generation tok/s", "hearth_tg"),
        Result(
            BENCH,
            f"Hearth generation / llama-bench tg{N_GEN}",
            median(tg),
            "",
            ">= 0.95",
            detail,
            spread(tg),
        ),
        Result(
            BENCH,
            f"raw loop, decode only (no sampling) / llama-bench tg{N_GEN}",
            median(decode_only_ratio),
            "",
            "",
            {},
            spread(decode_only_ratio),
        ),
        Result(
            BENCH,
            f"raw loop (sampling, no Hearth) / llama-bench tg{N_GEN}",
            median(raw_tg),
            "",
            "",
            {},
            spread(raw_tg),
        ),
    ]


def run(ctx: Context) -> list[Result]:
    from app.cpu import generation_threads

    model = ctx.model or (SHAPED if SHAPED.is_file() else None)
    exe = llama_bench_path()
    if model is None or exe is None:
        print(
            "  anchor: skipped (run `make bench-anchor` to build llama-bench and write the "
            "20b-shaped model)",
            flush=True,
        )
        return []
    t0 = time.perf_counter()
    results = anchor(ctx, model, exe, generation_threads())
    print(f"  anchor: {time.perf_counter() - t0:.0f} s", flush=True)
    return results
