"""The python tool on the turn path: what a tool call adds to a reply.

1. ``round trip``: a turn whose first segment calls ``python`` with ``print(1)`` and whose
   continuation answers, through the real engine host (the tiny model, scripted replies), the
   real turn path (``app.chat.run_unsaved`` with the chat's Toolbox) and the real sandboxed
   kernel. Measured from the moment the call is parsed (its ``tool_call`` event) to the first
   event of the continuation, minus the code's own run time as the kernel reports it: the cost
   of running a tool at all (consent lookup, sending the code, collecting the output, the result
   message, the continuation's request and prefill). The first turn starts the kernel (reported
   as ``cold``); the median of the warm ones is the figure. Target <= 150 ms.
2. ``prefix reuse``: the tokens the continuation evaluates (its prompt minus the cached prefix)
   against the tokens of what the turn added (the tool result message and the next header),
   counted with the same tokenizer. Equal means nothing before the result was evaluated again.
"""

from __future__ import annotations

import os
import time
from typing import Any

from bench.core import Context, Result, median, spread

BENCH = "tools"
CALL = (
    "<|channel|>analysis<|message|>Run it.<|end|>"
    "<|start|>assistant<|channel|>analysis to=python code<|message|>print(1)<|call|>"
)
ANSWER = "<|channel|>final<|message|>It printed 1.<|return|>"


def _turn(engine: Any, tools: Any) -> dict[str, Any]:
    from app import chat
    from app.engine.events import DoneEvent, EngineEvent, ToolCallEvent, ToolResultEvent
    from app.engine.protocol import GenerateRequest
    from app.harmony import Message

    marks: dict[str, Any] = {"done": []}
    scripts = [CALL, ANSWER]

    def before_send(request: GenerateRequest) -> None:
        request.script = scripts.pop(0)

    def on_event(ev: EngineEvent) -> None:
        now = time.perf_counter()
        if isinstance(ev, ToolCallEvent):
            marks["call"] = now
        elif isinstance(ev, ToolResultEvent):
            marks["result"] = now
            marks["run_s"] = ev.duration_s
            marks["text"] = ev.text
        elif isinstance(ev, DoneEvent):
            marks["done"].append(ev.stats)
        elif "result" in marks and "first" not in marks:
            marks["first"] = now

    request = GenerateRequest([Message("user", "Print 1 with python.")])
    out = chat.run_unsaved(engine, request, on_event=on_event, tools=tools, before_send=before_send)
    if out.status != "done" or "first" not in marks:
        raise RuntimeError(f"the tool turn did not finish: {out.status} {out.error}")
    marks["messages"] = request.messages
    return marks


def run(ctx: Context) -> list[Result]:
    from app import chat, paths
    from app.engine.client import EngineClient
    from app.engine.generator import Generator
    from app.engine.options import LoadOptions
    from app.harmony.render import render_message
    from app.tools.settings import ToolSettings
    from app.tools.toolbox import Toolbox

    os.environ["HEARTH_HOME"] = str(ctx.work / "tools-home")
    settings = ToolSettings()
    settings.python.mode = "auto"
    settings.save()
    box = Toolbox.for_chat(None)
    if box.python is None:
        why = box.problems.get("python", "the python tool is not available here")
        return [Result(BENCH, "tool round trip (skipped)", 0.0, detail={"why": why})]
    tools = chat.TurnTools(box)
    client = EngineClient(log_path=paths.log_dir() / "bench-tools-host.log")
    client.start()
    try:
        client.load(LoadOptions(model_path=str(ctx.tiny_model), n_ctx=4096))
        runs = 4 if ctx.quick else 12
        turns = [_turn(client, tools) for _ in range(runs + 1)]
    finally:
        client.close()
        from app.tools.python.tool import POOL

        POOL.shutdown()
    trips = [(t["first"] - t["call"] - t["run_s"]) * 1000 for t in turns]
    cold, warm = trips[0], trips[1:]
    # Prefix reuse: what the continuation evaluated against what the turn added.
    last = turns[-1]
    prompt2, cached2 = last["done"][1].prompt_tokens, last["done"][1].cached_tokens
    evaluated = prompt2 - cached2
    gen = Generator(LoadOptions(model_path=str(ctx.tiny_model), n_ctx=512, n_threads=1))
    try:
        added = gen.tokenize(
            "<|call|>" + render_message(last["messages"][-1]) + "<|start|>assistant",
            special=True,
        )
    finally:
        gen.close()
    return [
        Result(
            BENCH,
            "tool round trip, warm kernel (call parsed → first token after the result)",
            median(warm),
            "ms",
            "<= 150",
            detail={
                "runs_ms": [round(x, 1) for x in warm],
                "code_run_ms": [round(t["run_s"] * 1000, 1) for t in turns[1:]],
                "what": "excluding the code's own run time as the kernel reports it",
            },
            spread=spread(warm),
        ),
        Result(BENCH, "tool round trip, cold kernel (first call starts it)", cold, "ms"),
        Result(
            BENCH,
            "continuation: tokens evaluated / tokens the turn added",
            evaluated / max(1, len(added)),
            "x",
            detail={"evaluated": evaluated, "added": len(added), "prompt": prompt2},
        ),
    ]
