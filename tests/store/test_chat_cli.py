"""``hearth chat`` saves by default; --continue / --conversation go on with a saved chat."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app.store import Store


def chat(model: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "chat", "--model", str(model), "--max-tokens", "8", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _lines(out: str) -> list[dict]:
    return [json.loads(x) for x in out.splitlines()]


def test_exchanges_are_saved_and_continued_with_their_history(tiny_model):
    first = chat(
        tiny_model, "--jsonl", "--effort", "low", "--system", "Be brief.", "First question"
    )
    assert first.returncode == 0, first.stderr
    printed = "".join(e.get("text", "") for e in _lines(first.stdout) if e["type"] == "content")
    with Store.open() as s:
        (conv,) = s.list_conversations()
        assert conv.title == "First question"
        assert conv.settings["effort"] == "low" and conv.settings["instructions"] == "Be brief."
        path = s.active_path(conv.id)
        assert [m.role for m in path] == ["user", "assistant"]
        assert path[1].status == "done" and path[1].content == printed
        assert path[1].stats["generated_tokens"] > 0 and path[1].model
    second = chat(tiny_model, "--continue", "Second question")
    assert second.returncode == 0, second.stderr
    third = chat(tiny_model, "--conversation", str(conv.id), "Third question")
    assert third.returncode == 0, third.stderr
    with Store.open() as s:
        assert len(s.list_conversations()) == 1
        path = s.active_path(conv.id)
        assert [m.content for m in path if m.role == "user"] == [
            "First question",
            "Second question",
            "Third question",
        ]
        assert s.get_conversation(conv.id).settings["effort"] == "low"  # kept when continuing


def test_no_save_and_errors(tiny_model):
    res = chat(tiny_model, "--no-save", "Not kept")
    assert res.returncode == 0, res.stderr
    with Store.open() as s:
        assert s.list_conversations() == []
    res = chat(tiny_model, "--continue", "x")
    assert res.returncode == 1 and "no saved conversation to continue" in res.stderr
    res = chat(tiny_model, "--conversation", "42", "--jsonl", "x")
    assert res.returncode == 1 and "No conversation with id 42" in res.stderr
    assert _lines(res.stdout)[-1]["type"] == "error"


def test_a_damaged_history_does_not_stop_a_question_and_is_left_alone(tiny_model):
    from app import paths

    db = paths.database_path()
    db.write_bytes(b"garbage" * 100)
    res = chat(tiny_model, "Still answer me")
    assert res.returncode == 0, res.stderr
    assert "will not be saved" in res.stderr and "damaged or not a database" in res.stderr
    assert db.read_bytes() == b"garbage" * 100
    res = chat(tiny_model, "--continue", "x")
    assert res.returncode == 1 and "damaged or not a database" in res.stderr


def test_ctrl_c_cancels_and_keeps_the_partial_reply(tiny_model):
    import signal

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "chat",
            "--model",
            str(tiny_model),
            "--temperature",
            "0",
            "--max-tokens",
            "100000",
            "--jsonl",
            "Talk until I stop you",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    printed = ""
    for line in proc.stdout:
        ev = json.loads(line)
        printed += ev.get("text", "") if ev["type"] == "content" else ""
        if printed:
            proc.send_signal(signal.SIGINT)
            break
    for line in proc.stdout:
        ev = json.loads(line)
        printed += ev.get("text", "") if ev["type"] == "content" else ""
    assert proc.wait(timeout=60) == 130
    assert ev["type"] == "done" and ev["stats"]["stop_reason"] == "cancelled"
    with Store.open() as s:
        reply = s.active_path(s.latest_conversation().id)[-1]
        assert reply.status == "cancelled" and reply.content == printed


def test_a_prompt_that_is_not_utf8_is_refused_before_anything_is_saved(tiny_model, capsys):
    from app.cli import main

    # An invalid UTF-8 byte in argv reaches Python as "\udcff": it can be neither saved nor sent.
    assert main(["chat", "--model", str(tiny_model), "bad \udcff byte"]) == 2
    err = capsys.readouterr().err
    assert "not UTF-8 text (byte 0xff at character 4)" in err
    assert len(err.strip().splitlines()) == 1
    with Store.open() as s:
        assert s.list_conversations() == []  # no empty "New chat" left behind


def test_a_trashed_conversation_is_not_continued_silently(tiny_model, capsys):
    from app.cli import main

    with Store.open() as s:
        cid = s.create_conversation().id
        s.add_message(cid, "user", "kept")
        s.trash(cid)
    assert main(["chat", "--model", str(tiny_model), "--conversation", str(cid), "more"]) == 1
    assert f"hearth history restore {cid}" in capsys.readouterr().err
    with Store.open() as s:
        assert [m.content for m in s.messages(cid)] == ["kept"]  # nothing added to the trash


def test_ctrl_c_while_waiting_for_the_engine_still_ends_with_done_and_is_saved_cancelled(
    tiny_model,
):
    import signal

    # The process mostly waits for the engine's next frame: a Ctrl-C there must not swallow the
    # reply's done event (the --jsonl contract) nor leave it saved as "interrupted".
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", "chat", "--model", str(tiny_model), "--temperature",
             "0", "--max-tokens", "100000", "--threads", "1", "--jsonl", "Talk"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )  # fmt: skip
        assert proc.stdout is not None
        for n, _line in enumerate(proc.stdout):
            if n == 3:
                proc.send_signal(signal.SIGINT)
                break
        rest = [json.loads(line) for line in proc.stdout]
        assert proc.wait(timeout=60) == 130
        assert rest and rest[-1]["type"] == "done"
        assert rest[-1]["stats"]["stop_reason"] == "cancelled"
        with Store.open() as s:
            assert s.active_path(s.latest_conversation().id)[-1].status == "cancelled"
