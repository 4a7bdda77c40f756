"""Streaming speed and follow-up latency of the engine, on the tiny model, side by side.

1. ``stream_vs_raw``: tokens/s of the full path (engine host process -> pipe -> client ->
   events, as the CLI and GUI see them) against a lean low-level llama.cpp decode+sample loop in
   this process, same model, context, threads and sampler chain (top-k 40, temperature 1, stop
   tokens forbidden so every run is the same length). Runs alternate raw/full; medians are
   compared. Target: the full path keeps >= 0.97 of the raw loop.
2. ``followup_ttft``: time to first token of turn 10 (over 4,000 tokens of history) against turn 1
   with the same new message, through the full path. Prefix reuse makes turn 10 evaluate only the
   new message. Target <= 1.25.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

from bench.core import Context, Result, median, spread
from bench.rawloop import RawLoop

BENCH = "engine_stream"
TOP_K = 40


def _full_run(client: Any, messages: list[Any], n_gen: int) -> tuple[float, Any]:
    from app.engine.client import GenerateRequest
    from app.engine.events import DoneEvent, ErrorEvent
    from app.engine.options import SamplingOptions

    req = GenerateRequest(
        messages,
        sampling=SamplingOptions(max_tokens=n_gen, top_k=TOP_K, seed=1234),
        suppress_stop=True,
    )
    stats = None
    t0 = time.perf_counter()
    for ev in client.stream(req):
        if isinstance(ev, DoneEvent):
            stats = ev.stats
        elif isinstance(ev, ErrorEvent):
            raise RuntimeError(ev.message)
    t_end = time.perf_counter()
    assert stats is not None
    # End to end: request sent -> last event received (the prompt is cached, as in the raw loop).
    return stats.generated_tokens / (t_end - t0), stats


def stream_vs_raw(ctx: Context, model: Path | None = None, label: str = "") -> list[Result]:
    from app.engine.client import EngineClient
    from app.engine.generator import physical_cores
    from app.engine.options import LoadOptions
    from app.harmony import Message, PromptSettings, render_prompt

    model = model or ctx.tiny_model
    n_gen = 500 if ctx.quick else 2000
    runs = 2 if ctx.quick else 7
    if label:  # a real-size model (--model): fewer, shorter runs
        n_gen, runs = (64, 2) if ctx.quick else (256, 3)
    n_ctx = 4096
    threads = physical_cores()
    messages = [Message("user", "Tell me a long story about a lighthouse keeper.")]
    prompt_text = render_prompt(messages, PromptSettings())

    client = EngineClient(env={**os.environ, "HEARTH_HOME": str(ctx.work / "home")})
    client.start()
    raw = RawLoop(model, n_ctx, threads, TOP_K)
    try:
        client.load(LoadOptions(model_path=str(model), n_ctx=n_ctx, n_threads=threads))
        prompt = raw.tokenize(prompt_text)
        raw.run(prompt, n_gen)  # warm-up, both sides
        _full_run(client, messages, n_gen)
        raw_tps, full_tps, host_tps = [], [], []
        for _ in range(runs):
            raw_tps.append(raw.run(prompt, n_gen).total_tps)
            tps, stats = _full_run(client, messages, n_gen)
            full_tps.append(tps)
            host_tps.append(stats.generation_tps)
    finally:
        raw.close()
        client.close()
    r, f = median(raw_tps), median(full_tps)
    # Runs alternate, so each pair saw about the same load on the machine: the median of the
    # pairs' ratios is steadier than the ratio of medians when other work shares the cores.
    ratio = median([b / a for a, b in zip(raw_tps, full_tps, strict=True)])
    detail = {
        "tokens_per_run": n_gen,
        "runs": runs,
        "threads": threads,
        "raw_tps": [round(x, 1) for x in raw_tps],
        "full_tps": [round(x, 1) for x in full_tps],
        "host_reported_tps": [round(x, 1) for x in host_tps],
        "model": model.name,
    }
    sfx = f" ({label})" if label else ""
    return [
        Result(BENCH, f"raw loop tok/s{sfx}", r, "tok/s", detail=detail),
        Result(BENCH, f"full path tok/s{sfx}", f, "tok/s", detail=detail),
        Result(
            BENCH,
            f"full path / raw loop{sfx}",
            ratio,
            "",
            ">= 0.97",
            detail,
            spread([b / a for a, b in zip(raw_tps, full_tps, strict=True)]),
        ),
    ]


def _ttft(client: Any, messages: list[Any], reply: str, settings: Any = None) -> tuple[float, Any]:
    """Seconds to the first text of the reply (a "trimmed" notice is not text), and the stats.
    Raises if the engine had to leave part of the history out: the figure would be meaningless."""
    from app.engine.client import GenerateRequest
    from app.engine.events import DoneEvent, ErrorEvent, TrimmedEvent
    from app.engine.options import SamplingOptions

    script = f"<|channel|>final<|message|>{reply}<|return|>"
    req = GenerateRequest(messages, sampling=SamplingOptions(max_tokens=2048), script=script)
    if settings is not None:
        req.settings = settings
    t0 = time.perf_counter()
    first = None
    stats = None
    for ev in client.stream(req):
        if isinstance(ev, TrimmedEvent):
            raise RuntimeError(f"the history did not fit the context: {ev.message}")
        if first is None:
            first = time.perf_counter() - t0
        if isinstance(ev, DoneEvent):
            stats = ev.stats
        elif isinstance(ev, ErrorEvent):
            raise RuntimeError(ev.message)
    assert first is not None and stats is not None
    return first, stats


def followup_ttft(ctx: Context, model: Path | None = None, label: str = "") -> list[Result]:
    from app.engine.client import EngineClient
    from app.engine.options import LoadOptions
    from app.harmony import Message, PromptSettings

    new_message = "And what happened to the lighthouse after that winter?"
    # Byte-level tiny vocabulary: about one token per character.
    filler = "The keeper wrote in his log about the storm, the ships and the light. "
    user_text = filler * 3
    reply_text = filler * 3
    repeats = 2 if ctx.quick else 5
    if label:
        repeats = 1 if ctx.quick else 3
    model = model or ctx.tiny_model
    client = EngineClient(env={**os.environ, "HEARTH_HOME": str(ctx.work / "home")})
    client.start()
    t1s, t10s, history_tokens, evaluated = [], [], [], []
    host1, host10 = [], []  # the host's own clock: request read -> first token sampled
    try:
        options = LoadOptions(model_path=str(model), n_ctx=16384)
        if label:
            # Another model's vocabulary packs a different number of characters in a token:
            # measure the filler's cost, then size the turns for ~460 tokens each (9 turns: over
            # 4,000 tokens). A real-size model decodes slowly on a CPU, so the bulk goes into the
            # user turns (prefilled in batches) and the scripted replies stay short.
            client.load(options)
            _t, base = _ttft(client, [Message("user", new_message)], "Sure.")
            _t, probe = _ttft(client, [Message("user", new_message + " " + filler * 4)], "Sure.")
            per_filler = max(1.0, (probe.prompt_tokens - base.prompt_tokens) / 4)
            user_text = filler * max(2, math.ceil(400 / per_filler))
            reply_text = filler * max(1, math.ceil(60 / per_filler))
        for _ in range(repeats):
            client.load(options)  # a cold cache for turn 1
            # The first evaluation after a load pays one-time costs (buffer set-up; on a
            # multi-GB model, page-ins of the mapped weights: a second on a 3 GB file) that
            # would flatter the ratio: a warm-up reply first, whose prompt differs from the third
            # token on (another model identity), so turn 1 still evaluates its whole prompt.
            warm = PromptSettings(model_identity="A warm-up.")
            _ttft(client, [Message("user", "Warm up.")], "Ok.", warm)
            t1, s1 = _ttft(client, [Message("user", new_message)], "Sure.")
            t1s.append(t1)
            host1.append(s1.ttft_s)
            history: list[Any] = []
            for i in range(9):
                history.append(Message("user", f"Turn {i}. {user_text}"))
                _t, _s = _ttft(client, history, reply_text)
                history.append(Message("assistant", reply_text, channel="final"))
            history.append(Message("user", new_message))
            t10, s10 = _ttft(client, history, "Sure.")
            t10s.append(t10)
            host10.append(s10.ttft_s)
            history_tokens.append(s10.prompt_tokens)
            evaluated.append(s10.prompt_tokens - s10.cached_tokens)
    finally:
        client.close()
    a, b = median(t1s), median(t10s)
    detail = {
        "turn1_ttft_s": [round(x, 4) for x in t1s],
        "turn10_ttft_s": [round(x, 4) for x in t10s],
        "turn10_prompt_tokens": history_tokens,
        "turn10_evaluated_tokens": evaluated,
        # Not the figure: the first *sampled* token, before the reply's header tokens
        # (<|channel|>final<|message|>, 7 tokens in the tiny byte-level vocabulary, 3 in
        # gpt-oss's) are decoded and the first text can be shown. See bench/README.md.
        "turn1_first_token_host_s": [round(x or 0.0, 4) for x in host1],
        "turn10_first_token_host_s": [round(x or 0.0, 4) for x in host10],
        "model": model.name,
    }
    sfx = f" ({label})" if label else ""
    return [
        Result(
            BENCH,
            f"turn 10 prompt tokens{sfx}",
            float(median(history_tokens)),
            "tok",
            detail=detail,
        ),
        Result(BENCH, f"TTFT turn 10 / turn 1{sfx}", b / a, "", "<= 1.25", detail),
    ]


def run(ctx: Context) -> list[Result]:
    results = stream_vs_raw(ctx) + followup_ttft(ctx)
    if ctx.model is not None:  # the same figures on the model given with --model
        label = ctx.model.stem
        results += stream_vs_raw(ctx, ctx.model, label) + followup_ttft(ctx, ctx.model, label)
    return results
