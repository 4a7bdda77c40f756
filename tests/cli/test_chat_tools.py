"""``hearth chat`` with the python tool: the model's call runs in the real sandboxed kernel, the
result goes back to the model and the answer comes in the same turn; saved as rows of the chat."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.store import Store

CALL = (
    "<|channel|>analysis<|message|>Let me compute.<|end|>"
    "<|start|>assistant<|channel|>analysis to=python code<|message|>print(6 * 7)<|call|>"
)
ANSWER = (
    "<|channel|>analysis<|message|>It printed 42.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>Six times seven is 42.<|return|>"
)


def hearth(*args: str, scripts: list[str] | None = None, tmp: Path | None = None, stdin=None):  # type: ignore[no-untyped-def]
    env = dict(os.environ)
    if scripts is not None and tmp is not None:
        env["HEARTH_TEST_SCRIPT_FILE"] = str(_scripts(tmp, scripts))
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        stdin=stdin if stdin is not None else subprocess.DEVNULL,
    )


def test_python_runs_in_the_turn_and_the_answer_follows(tiny_model: Path, tmp_path: Path) -> None:
    on = hearth("tools", "python", "--mode", "auto")
    assert on.returncode == 0, on.stderr
    res = hearth(
        "chat", "--model", str(tiny_model), "--threads", "1", "--jsonl", "What is 6 * 7?",
        scripts=[CALL, ANSWER], tmp=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    events = [json.loads(line) for line in res.stdout.splitlines()]
    kinds = [e["type"] for e in events if e["type"] not in ("reasoning", "content")]
    assert kinds == ["tool_call", "done", "tool_result", "done"]
    call = next(e for e in events if e["type"] == "tool_call")
    assert call["recipient"] == "python" and call["arguments"] == "print(6 * 7)"
    result = next(e for e in events if e["type"] == "tool_result")
    assert result["status"] == "ok" and result["text"].strip() == "42"
    answer = "".join(e["text"] for e in events if e["type"] == "content")
    assert answer == "Six times seven is 42."
    with Store.open() as s:
        (conv,) = s.list_conversations()
        path = s.active_path(conv.id)
        assert [m.role for m in path] == ["user", "assistant", "tool", "assistant"]
        assert path[2].name == "python" and path[2].content.strip() == "42"
        assert path[3].content == "Six times seven is 42."


def test_ask_mode_without_a_terminal_refuses_and_says_so(tiny_model: Path, tmp_path: Path) -> None:
    assert hearth("tools", "python", "--mode", "ask").returncode == 0
    res = subprocess.run(  # no controlling terminal: the question cannot be asked
        [
            sys.executable,
            "-m",
            "app",
            "chat",
            "--model",
            str(tiny_model),
            "--threads",
            "1",
            "--no-save",
            "6*7?",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env={
            **os.environ,
            "HEARTH_TEST_SCRIPT_FILE": str(_scripts(tmp_path, [CALL, ANSWER])),
        },
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert res.returncode == 0, res.stderr
    assert "there is no terminal to ask: not run" in res.stderr
    assert "[python · refused" in res.stderr
    assert "Six times seven is 42." in res.stdout


def _scripts(tmp: Path, scripts: list[str]) -> Path:
    path = tmp / "scripts.json"
    path.write_text(json.dumps(scripts), encoding="utf-8")
    return path
