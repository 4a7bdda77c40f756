"""``hearth chat`` and ``hearth inspect`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.engine.events import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[2]


def hearth(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    # One llama.cpp thread: steady when other jobs share the cores (see conftest.py).
    return subprocess.run(
        [sys.executable, "-m", "app", *args, "--threads", "1"],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_chat_jsonl_end_to_end(tiny_model: Path) -> None:
    r = hearth(
        "chat",
        "--model",
        str(tiny_model),
        "--jsonl",
        "--seed",
        "3",
        "--max-tokens",
        "40",
        "--effort",
        "low",
        "--system",
        "Be brief.",
        "Hello there",
    )
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert lines, r.stderr
    assert all(obj["type"] in EVENT_TYPES for obj in lines)
    done = lines[-1]
    assert done["type"] == "done"
    stats = done["stats"]
    for key in (
        "prompt_tokens",
        "cached_tokens",
        "generated_tokens",
        "prefill_tps",
        "generation_tps",
        "ttft_s",
        "context_used",
        "context_size",
        "stop_reason",
    ):
        assert key in stats
    assert 1 <= stats["generated_tokens"] <= 40
    assert stats["context_size"] == 4096  # the tiny model's own maximum is below the 8k default


def test_chat_reads_the_prompt_from_stdin(tiny_model: Path) -> None:
    r = hearth(
        "chat",
        "--model",
        str(tiny_model),
        "--jsonl",
        "--max-tokens",
        "5",
        "-",
        stdin="from stdin\n",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["type"] == "done"


def test_chat_plain_output_goes_to_stdout(tiny_model: Path) -> None:
    r = hearth("chat", "--model", str(tiny_model), "--max-tokens", "20", "--seed", "1", "hi")
    assert r.returncode == 0, r.stderr
    assert "\x1b[" not in r.stdout + r.stderr  # no colours when not a terminal


def run_main(args: list[str]) -> int:
    try:
        return main(args)
    except SystemExit as e:  # argparse's own errors
        return int(e.code or 0)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--temperature", "9"], "--temperature must be between 0 and 5"),
        (["--top-k", "x"], "'x' is not a whole number"),
        (["--max-tokens", "0"], "--max-tokens must be at least 1"),
        (["--top-p", "0"], "--top-p must be above 0"),
        (["--ctx", "12"], "--ctx must be at least 256"),
    ],
)
def test_chat_bad_numbers(
    tiny_model: Path, capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    assert run_main(["chat", "--model", str(tiny_model), *args, "hi"]) == 2
    err = capsys.readouterr().err
    assert words in err
    assert len(err.strip().splitlines()) == 1


def test_chat_bad_model_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "model.gguf"
    p.write_bytes(b"<!DOCTYPE html>")
    assert main(["chat", "--model", str(p), "--jsonl", "hi"]) == 1
    out, err = capsys.readouterr()
    assert err.strip().count("\n") == 0 and "not a GGUF" in err
    assert json.loads(out)["type"] == "error" and json.loads(out)["kind"] == "not_gguf"


def test_chat_missing_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "--model", str(tmp_path / "none.gguf"), "hi"]) == 1
    assert "No such file" in capsys.readouterr().err


def test_chat_empty_prompt(tiny_model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "--model", str(tiny_model), "  "]) == 2
    assert "the prompt is empty" in capsys.readouterr().err


def test_inspect_prints_the_facts(tiny_model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(tiny_model)]) == 0
    out = capsys.readouterr().out
    for words in ("gpt-oss", "Layers", "4 (2 used per token)", "Complete        yes", "4,096"):
        assert words in out


def test_inspect_json(tiny_model: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(tiny_model), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["architecture"] == "gpt-oss" and len(d["layers"]) == 2
    assert d["kv_bytes_per_token"] > 0 and d["expert_bytes"] > 0


def test_inspect_a_truncated_file(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "half.gguf"
    p.write_bytes(tiny_model.read_bytes()[:150_000])
    assert main(["inspect", str(p), "--json"]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["error"]["kind"] == "truncated"
    assert err.startswith("hearth inspect: File is truncated: 150.0 KB of")


def test_engine_host_is_hidden_from_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "chat" in out and "inspect" in out and "engine-host" not in out


def test_ctrl_c_stops_the_reply_and_keeps_it(tiny_model: Path, tmp_path: Path) -> None:
    """The first Ctrl-C (a real SIGINT to this process) stops the turn politely: the engine ends
    the reply with done(cancelled), which still reaches the printer, and the text is kept."""
    import os
    import signal

    from app import chat
    from app.cli.interrupt import ctrl_c_stops
    from app.engine.events import ContentEvent, DoneEvent, EngineEvent, ReasoningEvent
    from app.engine.options import LoadOptions, SamplingOptions
    from app.engine.protocol import GenerateRequest
    from app.harmony import Message
    from tests.helpers.engine import start_client

    client = start_client(tmp_path / "home")
    try:
        client.load(LoadOptions(n_threads=1, model_path=str(tiny_model), n_ctx=4096))
        seen: list[EngineEvent] = []

        def on_event(ev: EngineEvent) -> None:
            seen.append(ev)
            if len(seen) == 2:
                os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C

        control = chat.TurnControl()
        request = GenerateRequest(
            messages=[Message("user", "go")],
            sampling=SamplingOptions(max_tokens=100_000, seed=11),
            suppress_stop=True,  # runs until stopped
        )
        with ctrl_c_stops(control) as ctrl_c:
            outcome = chat.stream_reply(client, request, control=control, on_event=on_event)
        assert ctrl_c.pressed and control.stopped
        assert isinstance(seen[-1], DoneEvent) and seen[-1].stats.stop_reason == "cancelled"
        assert outcome.status == "cancelled"
        shown = "".join(e.text for e in seen if isinstance(e, ContentEvent | ReasoningEvent))
        assert shown and outcome.content + outcome.reasoning == shown
        # Ctrl-C is the terminal's again afterwards.
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        client.close()


def test_stop_before_the_request_is_sent_generates_nothing(
    tiny_model: Path, tmp_path: Path
) -> None:
    """Stop pressed between creating a turn and sending it (it was lost before: the client's
    cancel only acted while a stream ran)."""
    from app import chat
    from app.engine.events import DoneEvent
    from app.engine.options import LoadOptions, SamplingOptions
    from app.engine.protocol import GenerateRequest
    from app.harmony import Message
    from tests.helpers.engine import start_client

    client = start_client(tmp_path / "home")
    try:
        client.load(LoadOptions(n_threads=1, model_path=str(tiny_model), n_ctx=4096))
        control = chat.TurnControl()
        control.stop()
        request = GenerateRequest(
            messages=[Message("user", "go")],
            sampling=SamplingOptions(max_tokens=100_000),
            suppress_stop=True,
        )
        events = list(client.stream(request, cancel=control.stop_event))
        assert len(events) == 1 and isinstance(events[0], DoneEvent)
        assert events[0].stats.stop_reason == "cancelled"
        assert events[0].stats.generated_tokens == 0
        # The engine is untouched and answers the next request normally.
        outcome = chat.stream_reply(
            client, GenerateRequest([Message("user", "hi")], sampling=SamplingOptions(max_tokens=3))
        )
        assert outcome.status == "done" and outcome.stats is not None
        assert outcome.stats.generated_tokens >= 1
    finally:
        client.close()
