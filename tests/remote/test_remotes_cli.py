"""``hearth remotes`` and ``hearth chat --remote`` as a user runs them (real processes, a real
server on 127.0.0.1). The API key goes in on stdin and never comes out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.store import Store
from tests.helpers.scripted_openai import MODEL, Reply, ScriptedServer, chunks_fields

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-cli-secret-7f3a9c"


def hearth(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        # Never the keyring of whoever runs the tests: none, so the 0600 file is used.
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def no_key(*results: subprocess.CompletedProcess[str]) -> None:
    for r in results:
        assert KEY not in r.stdout and KEY not in r.stderr


def test_add_list_test_chat_remove(hearth_home: Path) -> None:
    with ScriptedServer(api_key=KEY) as server:
        add = hearth("remotes", "add", "box", server.url, "--api-key-stdin", stdin=KEY + "\n")
        assert add.returncode == 0, add.stderr
        assert f"Saved 'box': {server.url}" in add.stderr
        assert "No system keyring is available here" in add.stderr
        assert f"box: 1 model: {MODEL}" in add.stdout
        assert f"Using {MODEL} (the server's first model)." in add.stdout

        listed = hearth("remotes", "list")
        assert listed.stdout.startswith(f"box\t{server.url}\t{MODEL}\tkey in file")
        as_json = json.loads(hearth("remotes", "list", "--json").stdout)
        assert as_json["has_key"] is True and as_json["model"] == MODEL
        assert KEY not in json.dumps(as_json)

        server.script(Reply(chunks=chunks_fields("Quick check.", "ready", usage=(20, 4))))
        test = hearth("remotes", "test", "box")
        assert test.returncode == 0, test.stderr
        assert "Chat: ok (4 tokens" in test.stdout
        assert "reasoning: reasoning_content" in test.stdout
        assert server.requests[-1]["body"]["reasoning_effort"] == "low"

        server.script(Reply(chunks=chunks_fields("Let me think.", "Blue light scatters more.")))
        said = hearth("chat", "--remote", "box", "Why is the sky blue?")
        assert said.returncode == 0, said.stderr
        assert said.stdout.strip() == "Blue light scatters more."
        assert "Let me think." in said.stderr  # the reasoning goes to stderr, as with a local model
        assert server.requests[-1]["headers"]["authorization"] == f"Bearer {KEY}"

        store = Store.open()
        try:
            (conv,) = store.list_conversations()
            assert conv.settings["remote"] == "box" and conv.settings["model"] == MODEL
            path = store.active_path(conv.id)
            assert [m.content for m in path] == [
                "Why is the sky blue?",
                "Blue light scatters more.",
            ]
            assert path[1].model == MODEL
        finally:
            store.close()

        removed = hearth("remotes", "remove", "box")
        assert removed.stdout.strip() == "Removed 'box' and its API key."
        key_file = hearth_home / "config" / "remote-keys.json"
        assert KEY not in key_file.read_text()
    no_key(add, listed, test, said, removed)


def test_failures_are_one_clear_line_and_a_jsonl_error(hearth_home: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    with ScriptedServer(api_key="another-key") as server:
        add = hearth(
            "remotes", "add", "box", server.url, "--model", MODEL, "--api-key-stdin",
            stdin=KEY,
        )  # fmt: skip
        # The server refuses the key: said at once, the connection is saved anyway.
        assert add.returncode == 1
        assert "refused the API key (401)" in add.stderr
        out = hearth("chat", "--remote", "box", "--jsonl", "Hi")
        assert out.returncode == 1
        last = json.loads(out.stdout.strip().splitlines()[-1])
        assert last["type"] == "error" and last["kind"] == "auth"
        no_key(add, out)
    # The quick refusals, in this process (the same code the command runs).
    code, err = in_process(capsys, "chat", "--remote", "box", "Hi")  # the server is gone
    assert code == 1 and "Cannot reach 'box'" in err
    code, err = in_process(capsys, "chat", "--remote", "nope", "Hi")
    assert code == 1 and "no server connection named 'nope'" in err
    code, err = in_process(capsys, "chat", "Hi")
    assert code == 2 and "give --model PATH or --remote NAME" in err  # (no model installed)
    code, err = in_process(capsys, "remotes", "add", "box", "ftp://nowhere")
    assert code == 2 and "is not a server address" in err


def in_process(capsys, *args: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    from app.cli import main

    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().err
