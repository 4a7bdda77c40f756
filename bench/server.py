"""The local API server against the engine client itself, same model, same run.

1. ``stream_tps``: tokens per second a client sees streaming a reply through ``hearth serve``
   with the real ``openai`` client (engine host -> server -> HTTP/SSE -> client) against the
   engine client reading the same engine directly (engine host -> pipe -> client). Same model,
   threads and sampler (top-k 40, stop tokens forbidden so every reply has the same length),
   prompts cached. Runs come in pairs, one each way, the order swapped from pair to pair; the
   figure is the median of the pairs' ratios (the machine's load drifts between pairs more than
   within one; the ratio of the two medians is in the detail too). Target >= 0.97.
2. ``ttft_added``: time to the first token of a short reply through the server minus directly
   (median of alternating runs; the prompt is cached on both). Target <= 10 ms.
3. ``eight_clients``: eight clients stream at once (300 tokens each): the total tokens per second
   and the 95th percentile of each request's wait for its first token (the queue serves one
   reply at a time, so the last waits for the seven before it), reported.

Both engines load the tiny model (a few MB); the server runs as its own process, started as
``hearth serve`` starts (tests/helpers/serve.py).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from bench.core import Context, Result, median, spread

BENCH = "server"
TOP_K = 40
MESSAGES = [{"role": "user", "content": "Tell me a long story about a lighthouse keeper."}]


def _direct_stream(client: Any, n_gen: int) -> tuple[float, int]:
    """(tokens/s end to end, tokens) of one reply read from the engine client."""
    from app.engine.events import DoneEvent, ErrorEvent
    from app.engine.options import SamplingOptions
    from app.engine.protocol import GenerateRequest
    from app.harmony import Message

    req = GenerateRequest(
        [Message("user", MESSAGES[0]["content"])],
        sampling=SamplingOptions(max_tokens=n_gen, top_k=TOP_K, seed=1234),
        suppress_stop=True,
    )
    _settings_like_server(req)
    n = 0
    t0 = time.perf_counter()
    for ev in client.stream(req):
        if isinstance(ev, DoneEvent):
            n = ev.stats.generated_tokens
        elif isinstance(ev, ErrorEvent):
            raise RuntimeError(ev.message)
    return n / (time.perf_counter() - t0), n


def _settings_like_server(req: Any) -> None:
    """The prompt the server builds for the same messages (with today's date), so both sides
    evaluate the same tokens."""
    from app.server.openai_in import prompt_settings

    req.settings = prompt_settings("medium", [])


def _server_stream(api: Any, n_gen: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    stream = api.chat.completions.create(
        model="tiny-gpt-oss",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        max_tokens=n_gen,
        top_p=1.0,
        seed=1234,
        extra_body={"hearth_suppress_stop": True, "top_k": TOP_K},
    )
    n = 0
    for chunk in stream:
        if chunk.usage is not None:
            n = chunk.usage.completion_tokens
    return n / (time.perf_counter() - t0), n


def _direct_ttft(client: Any) -> float:
    from app.engine.events import ContentEvent, ReasoningEvent
    from app.engine.protocol import GenerateRequest
    from app.harmony import Message

    req = GenerateRequest(
        [Message("user", MESSAGES[0]["content"])],
        script="<|channel|>final<|message|>Hello there.<|return|>",
    )
    _settings_like_server(req)
    t0 = time.perf_counter()
    first = None
    for ev in client.stream(req):
        if first is None and isinstance(ev, ContentEvent | ReasoningEvent):
            first = time.perf_counter() - t0
    assert first is not None
    return first


def _server_ttft(api: Any) -> float:
    t0 = time.perf_counter()
    stream = api.chat.completions.create(
        model="tiny-gpt-oss",
        messages=MESSAGES,
        stream=True,
        extra_body={"hearth_script": "<|channel|>final<|message|>Hello there.<|return|>"},
    )
    first = None
    for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - t0
    assert first is not None
    return first


def _eight(base_url: str, n_gen: int) -> tuple[float, list[float], float]:
    import openai

    waits: list[float] = []
    tokens: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def one() -> None:
        api = openai.OpenAI(base_url=base_url, api_key="x", max_retries=0)
        barrier.wait(60)
        t0 = time.perf_counter()
        first = None
        n = 0
        stream = api.chat.completions.create(
            model="tiny-gpt-oss",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=n_gen,
            extra_body={"hearth_suppress_stop": True},
        )
        for chunk in stream:
            if first is None and chunk.choices:
                delta = chunk.choices[0].delta
                extra = delta.model_extra or {}
                if delta.content or extra.get("reasoning_content"):
                    first = time.perf_counter() - t0
            if chunk.usage is not None:
                n = chunk.usage.completion_tokens
        with lock:
            waits.append(first if first is not None else time.perf_counter() - t0)
            tokens.append(n)

    threads = [threading.Thread(target=one) for _ in range(8)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    wall = time.perf_counter() - t0
    return sum(tokens) / wall, waits, wall


def _p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


def run(ctx: Context) -> list[Result]:
    import openai

    from app.engine.client import EngineClient
    from app.engine.options import LoadOptions
    from tests.helpers.serve import ServerProcess

    model: Path = ctx.tiny_model
    n_gen = 500 if ctx.quick else 2000
    runs = 2 if ctx.quick else 7
    ttft_runs = 5 if ctx.quick else 25
    # One engine thread on both sides: llama.cpp's threads spin while they wait for each other,
    # and on a shared 2-core machine a run with two collapses whenever anything else runs; the
    # figure is the server's cost, measured against the same engine either way.
    threads = 1
    home = ctx.work / "home"
    client = EngineClient(env={**os.environ, "HEARTH_HOME": str(home)})
    client.start()
    server = ServerProcess(
        model, ctx.work / "serve-home", "--threads", str(threads), ctx=4096, timeout=120
    )
    try:
        client.load(LoadOptions(model_path=str(model), n_ctx=4096, n_threads=threads))
        api = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
        _direct_stream(client, n_gen)  # warm-up both (and cache the prompt)
        _server_stream(api, n_gen)
        direct, served = [], []
        for i in range(runs):
            if i % 2:
                served.append(_server_stream(api, n_gen)[0])
                direct.append(_direct_stream(client, n_gen)[0])
            else:
                direct.append(_direct_stream(client, n_gen)[0])
                served.append(_server_stream(api, n_gen)[0])
        ratios = [s / d for s, d in zip(served, direct, strict=True)]
        d_ttft, s_ttft = [], []
        for _ in range(ttft_runs):
            d_ttft.append(_direct_ttft(client))
            s_ttft.append(_server_ttft(api))
        total_tps, waits, wall = _eight(server.base_url, 150 if ctx.quick else 300)
    finally:
        client.close()
        server.close()
    added_ms = (median(s_ttft) - median(d_ttft)) * 1000
    return [
        Result(
            BENCH,
            "stream_tps: through the server / engine client",
            median(ratios),
            target=">= 0.97",
            spread=spread(ratios),
            detail={
                "ratio_of_medians": round(median(served) / median(direct), 3),
                "server_tps": [round(x, 1) for x in served],
                "direct_tps": [round(x, 1) for x in direct],
                "tokens": n_gen,
                "threads": threads,
            },
        ),
        Result(
            BENCH,
            "ttft_added: first token through the server minus directly",
            added_ms,
            unit="ms",
            target="<= 10",
            detail={
                "server_ms": round(median(s_ttft) * 1000, 2),
                "direct_ms": round(median(d_ttft) * 1000, 2),
                "server_spread_ms": [round(x * 1000, 2) for x in spread(s_ttft)],
                "direct_spread_ms": [round(x * 1000, 2) for x in spread(d_ttft)],
                "runs": ttft_runs,
            },
        ),
        Result(
            BENCH,
            "eight_clients: total tokens/s",
            total_tps,
            unit="tok/s",
            detail={
                "single_client_tps": round(median(served), 1),
                "wall_s": round(wall, 2),
            },
        ),
        Result(
            BENCH,
            "eight_clients: p95 wait for the first token",
            _p95(waits) * 1000,
            unit="ms",
            detail={
                "median_wait_ms": round(statistics.median(waits) * 1000, 1),
                "waits_ms": sorted(round(w * 1000, 1) for w in waits),
            },
        ),
    ]
