"""The remote backend: what a chat through a server keeps of that server's speed.

1. ``stream_tps``: a reply streamed from a loopback OpenAI-compatible server (``hearth serve``
   with the tiny model, stop tokens forbidden so every reply has the same length) through the
   remote backend into the turn path (``RemoteEngine`` -> ``app.chat.run_turn`` with its SQLite
   writer, a fresh chat each run) against the same server read by a bare SSE client (httpx, one
   ``json.loads`` per event, nothing else). Both send the same request body, so the server
   evaluates the same (cached) prompt. Tokens per second = the server's ``usage`` count over the
   wall time of the request; runs in back-to-back pairs (which goes first alternates), the
   median of the pairs' ratios. Target >= 0.97.
2. ``firehose``: the ceiling of the client side. A scripted server sends a 4,000-chunk reply as
   fast as it can (no model, in a process of its own); chunks per second through the remote
   backend and the turn path against the bare client, the median of the pairs' ratios.
   Informational: hearth serve sends ~70 events a second (1,500 tokens in ~108 events),
   llama-server one per token; no server streams one reply this fast, so this is what the
   client could keep up with, not what a user sees.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.core import Context, Result, median, spread

BENCH = "remote"
PROMPT = "Tell me a long story about a lighthouse keeper."


def _request(n_gen: int) -> Any:
    from app.engine.options import SamplingOptions
    from app.engine.protocol import GenerateRequest
    from app.harmony import Message

    return GenerateRequest(
        [Message("user", PROMPT)], sampling=SamplingOptions(max_tokens=n_gen, seed=1234)
    )


def _bare(http: Any, url: str, body: dict[str, Any]) -> tuple[float, int]:
    """(tokens/s, tokens) of one reply read by the leanest client: httpx and json.loads."""
    n = chunks = 0
    t0 = time.perf_counter()
    with http.stream("POST", f"{url}/chat/completions", json=body) as r:
        for line in r.iter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            obj = json.loads(data)
            chunks += 1
            usage = obj.get("usage")
            if usage:
                n = usage["completion_tokens"]
    elapsed = time.perf_counter() - t0
    return (n or chunks) / elapsed, n or chunks


def _through_turn(store: Any, engine: Any, n_gen: int) -> tuple[float, int]:
    """(tokens/s, tokens) of one reply through RemoteEngine and app.chat into the store."""
    from app import chat

    conn = engine.connection
    cid = store.create_conversation(settings={"model": conn.model, "remote": conn.name}).id
    request = _request(n_gen)
    t0 = time.perf_counter()
    turn = chat.prepare_turn(store, cid, PROMPT, sampling=request.sampling)
    outcome = chat.stream_turn(store, engine, turn)
    elapsed = time.perf_counter() - t0
    if outcome.error is not None:
        raise RuntimeError(outcome.error.message)
    assert outcome.stats is not None
    return outcome.stats.generated_tokens / elapsed, outcome.stats.generated_tokens


def _body(conn: Any, n_gen: int) -> dict[str, Any]:
    from app.remote.wire import chat_body

    return chat_body(_request(n_gen), conn.model, extra=conn.extra_body)


def _compare(
    store: Any, conn: Any, n_gen: int, runs: int
) -> tuple[list[float], list[float], list[int]]:
    import httpx2

    from app.remote.engine import RemoteEngine

    body = _body(conn, n_gen)
    # Each side keeps its connection across runs, as a chat's engine does across turns.
    http = httpx2.Client(timeout=120)
    engine = RemoteEngine(conn)
    try:
        _bare(http, conn.base_url, body)  # warm-up (and the server caches the prompt)
        _through_turn(store, engine, n_gen)
        bare, turn, tokens = [], [], []
        for i in range(runs):
            # Alternate which goes first: a machine that gets busier or quieter during the run
            # weighs on both sides alike.
            for side in ("bare", "turn") if i % 2 == 0 else ("turn", "bare"):
                if side == "bare":
                    tps, n = _bare(http, conn.base_url, body)
                    bare.append(tps)
                else:
                    tps, n = _through_turn(store, engine, n_gen)
                    turn.append(tps)
                tokens.append(n)
    finally:
        http.close()
        engine.close()
    return bare, turn, tokens


def run(ctx: Context) -> list[Result]:
    from app.remote.connections import Connection
    from app.store import Store
    from tests.helpers.serve import ServerProcess

    model: Path = ctx.tiny_model
    n_gen = 500 if ctx.quick else 1500
    runs = 2 if ctx.quick else 9
    server = ServerProcess(model, ctx.work / "serve-remote-home", "--threads", "1", timeout=120)
    store = Store.open()
    try:
        conn = Connection(
            "bench",
            server.base_url,
            model="tiny-gpt-oss",
            extra_body={"hearth_suppress_stop": True, "top_k": 40},
        )
        bare, turn, tokens = _compare(store, conn, n_gen, runs)
    finally:
        server.close()
    ratios = [t / b for t, b in zip(turn, bare, strict=True)]
    results = [
        Result(
            BENCH,
            "stream_tps: remote backend into the turn path / bare SSE client",
            # The median of each pair's ratio (the two runs of a pair are back to back): on a
            # shared machine whose speed drifts from one pair to the next, the ratio of the two
            # medians compares runs made at different speeds.
            median(ratios),
            target=">= 0.97",
            spread=spread(ratios),
            detail={
                "server": "hearth serve, tiny model, 1 thread",
                "turn_tps": [round(x, 1) for x in turn],
                "bare_tps": [round(x, 1) for x in bare],
                "ratio_of_medians": round(median(turn) / median(bare), 3),
                "tokens": sorted(set(tokens)),
            },
        )
    ]
    chunks = 1000 if ctx.quick else 4000
    # The scripted server runs in a process of its own: in this one it would take the GIL
    # from the client it is measured against.
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.scripted_openai", str(chunks)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert fake.stdout is not None
        fire = Connection("fire", fake.stdout.readline().strip(), model="gpt-oss-120b")
        bare_f, turn_f, _ = _compare(store, fire, chunks, runs)
    finally:
        store.close()
        if fake.stdin is not None:
            fake.stdin.close()
        fake.wait(30)
    results.append(
        Result(
            BENCH,
            "firehose: chunks/s the backend and turn path keep up with / bare",
            median([t / b for t, b in zip(turn_f, bare_f, strict=True)]),
            detail={
                "turn_chunks_per_s": round(median(turn_f)),
                "bare_chunks_per_s": round(median(bare_f)),
                "spread": [
                    round(x, 3)
                    for x in spread([t / b for t, b in zip(turn_f, bare_f, strict=True)])
                ],
                "chunks": chunks,
            },
        )
    )
    return results
