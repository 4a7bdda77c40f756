"""Stop during a long prompt: how long after a cancel the turn ends, against one prefill chunk.

A model with gpt-oss-20b's layer shapes (one layer: width 2880, 64/8 heads, 32 MXFP4 experts;
tests/helpers/tinymodel.py, ~520 MB) in the real engine host, the app's default thread count. A
prompt of ~1,560 tokens is evaluated in four 512-token chunks; the host sends a ``prefill`` event
before each. One chunk's time is the gap between consecutive prefill events of an uncancelled
reply; the cancel is sent the moment the first chunk's event arrives, and the latency runs from
there to the ``done`` event. The engine reads the cancel inside the chunk (llama.cpp's abort
callback, between graph nodes), so the turn ends long before the chunk would have.
Figure: cancel -> done / one chunk. Target <= 0.5.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path
from typing import Any

from bench.core import Context, Result, median, spread

BENCH = "prefill_cancel"
TEXT = "a stone in the river " * 70  # ~1,560 tokens with the byte-level test vocabulary


def _request(text: str) -> Any:
    from app.engine.client import GenerateRequest
    from app.engine.options import SamplingOptions
    from app.harmony import Message

    return GenerateRequest([Message("user", text)], sampling=SamplingOptions(max_tokens=1, seed=1))


def measure(ctx: Context, model: Path, repeats: int) -> dict[str, Any]:
    from app.cpu import generation_threads
    from app.engine.client import EngineClient
    from app.engine.events import DoneEvent, PrefillEvent
    from app.engine.options import LoadOptions

    threads = generation_threads()
    client = EngineClient(env={**os.environ, "HEARTH_HOME": str(ctx.work / "home")})
    client.start()
    chunks: list[float] = []
    latencies: list[float] = []
    try:
        client.load(LoadOptions(model_path=str(model), n_ctx=4096, n_threads=threads))
        list(client.stream(_request("warm up " + TEXT[:200])))
        for i in range(repeats):
            # A different first letter each time: nothing but the system prompt is cached.
            seen: list[float] = []
            for ev in client.stream(_request(f"{i}b" + TEXT)):
                if isinstance(ev, PrefillEvent):
                    seen.append(time.perf_counter())
            chunks += [b - a for a, b in itertools.pairwise(seen)]
            t_cancel = 0.0
            done = None
            for ev in client.stream(_request(f"{i}c" + TEXT)):
                if isinstance(ev, PrefillEvent) and ev.evaluated == 0:
                    t_cancel = time.perf_counter()
                    client.cancel()
                elif isinstance(ev, DoneEvent):
                    done = ev
            latency = time.perf_counter() - t_cancel
            if done is None or done.stats.stop_reason != "cancelled" or not t_cancel:
                raise RuntimeError("the cancel during the prefill did not end the turn")
            latencies.append(latency)
    finally:
        client.close()
    return {"chunks_s": chunks, "latencies_s": latencies, "threads": threads}


def run(ctx: Context) -> list[Result]:
    from tests.helpers.tinymodel import GPTOSS_20B_LAYER, write_tiny_gptoss

    model = write_tiny_gptoss(
        ctx.work / "gpt-oss-20b-layer.gguf",
        n_layer=1,
        dims=GPTOSS_20B_LAYER,
        name="gpt-oss-20b-layer-shaped",
    )
    try:
        m = measure(ctx, model, 1 if ctx.quick else 3)
    finally:
        model.unlink()
    chunk, latency = median(m["chunks_s"]), median(m["latencies_s"])
    ratios = [x / chunk for x in m["latencies_s"]]
    detail = {
        "model": "1 layer of gpt-oss-20b's shapes (tests/helpers/tinymodel.py)",
        "threads": m["threads"],
        "chunk_s": [round(x, 3) for x in m["chunks_s"]],
        "cancel_to_done_s": [round(x, 3) for x in m["latencies_s"]],
    }
    return [
        Result(BENCH, "one 512-token prefill chunk", chunk * 1000, "ms", spread=_ms(m["chunks_s"])),
        Result(
            BENCH,
            "cancel during the prefill -> done",
            latency * 1000,
            "ms",
            spread=_ms(m["latencies_s"]),
        ),
        Result(
            BENCH,
            "cancel -> done / one chunk",
            latency / chunk,
            "",
            "<= 0.5",
            detail,
            spread(ratios),
        ),
    ]


def _ms(xs: list[float]) -> tuple[float, float]:
    lo, hi = spread(xs)
    return lo * 1000, hi * 1000
