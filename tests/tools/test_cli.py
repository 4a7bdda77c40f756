"""`hearth tools …` as a person runs it (subprocesses, real servers and kernels)."""

from __future__ import annotations

import json
import sys

import pytest

from app.tools.python import sandbox
from tests.helpers.tools import DEMO_SERVER, Cli, make_chat

needs_sandbox = pytest.mark.skipif(
    not sandbox.probe().available, reason=f"no sandbox here: {sandbox.probe().message}"
)


def test_mcp_servers_are_imported_listed_called_and_removed(cli: Cli) -> None:
    config = cli.home.parent / "claude_desktop_config.json"
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "demo": {"command": sys.executable, "args": [str(DEMO_SERVER), "stdio"]},
                    "dead": {"command": sys.executable, "args": [str(DEMO_SERVER), "die"]},
                }
            }
        )
    )
    done = cli.run("tools", "mcp", "import", str(config))
    assert done.returncode == 0 and "Imported 2 MCP servers: demo, dead." in done.stdout

    listed = cli.run("tools", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    tools = {t["name"]: t for t in json.loads(listed.stdout)["tools"]}
    assert tools["python"]["mode"] == "off"
    assert tools["demo"]["available"] and tools["demo"]["mode"] == "ask"
    functions = {f["name"]: f for f in tools["demo"]["functions"]}
    assert functions["demo__add"]["parameters"]["required"] == ["a", "b"]
    assert not tools["dead"]["available"]
    assert "missing API key" in tools["dead"]["status"]

    call = cli.run("tools", "call", "demo__add", '{"a": 20, "b": 22}')
    assert (call.returncode, call.stdout) == (0, "42\n")
    assert call.stderr.startswith("[demo__add · ok · ")
    as_json = cli.run("tools", "call", "functions.demo__echo", "--json", "-", stdin='{"text":"hi"}')
    result = json.loads(as_json.stdout)
    assert as_json.returncode == 0 and (result["status"], result["text"]) == ("ok", "hi")
    assert set(result) >= {"duration_s", "truncated", "files", "images", "error"}

    failed = cli.run("tools", "call", "demo__fail", "{}")
    assert failed.returncode == 0  # the tool ran; it reported an error
    bad_json = cli.run("tools", "call", "demo__add", "{a: 1}")
    assert bad_json.returncode == 2 and "not valid JSON" in bad_json.stderr
    unknown = cli.run("tools", "call", "demo__nope", "{}")
    assert unknown.returncode == 2 and "No function named 'demo__nope'" in unknown.stderr
    assert "functions.demo__add" in unknown.stderr
    down = cli.run("tools", "call", "dead__add", "{}")
    assert down.returncode == 1 and "missing API key" in down.stderr

    assert cli.run("tools", "mcp", "remove", "dead").returncode == 0
    gone = cli.run("tools", "mcp", "remove", "dead")
    assert gone.returncode == 2 and "No MCP server named 'dead'" in gone.stderr


def test_mcp_add_by_command_or_url(cli: Cli) -> None:
    added = cli.run("tools", "mcp", "add", "--env", "K=v", "local", sys.executable, "-u", "x.py")
    assert added.returncode == 0, added.stderr
    dashed = cli.run("tools", "mcp", "add", "dashed", "--", "npx", "-y", "pkg")
    assert dashed.returncode == 0, dashed.stderr
    web = cli.run(
        "tools", "mcp", "add", "--url", "http://127.0.0.1:9/mcp", "--header", "A=b", "web"
    )
    assert web.returncode == 0
    both = cli.run("tools", "mcp", "add", "--url", "http://h", "x", "cmd")
    assert both.returncode == 2 and "not both" in both.stderr
    neither = cli.run("tools", "mcp", "add", "y")
    assert neither.returncode == 2
    saved = json.loads((cli.home / "config" / "tools.json").read_text())["mcpServers"]
    assert saved["local"]["command"] == sys.executable
    assert (saved["local"]["args"], saved["local"]["env"]) == (["-u", "x.py"], {"K": "v"})
    assert (saved["dashed"]["command"], saved["dashed"]["args"]) == ("npx", ["-y", "pkg"])
    assert saved["web"] == {
        "url": "http://127.0.0.1:9/mcp",
        "headers": {"A": "b"},
        "mode": "ask",
        "timeout_s": 60.0,
    }


@needs_sandbox
def test_python_call_prints_what_the_model_reads(cli: Cli) -> None:
    chat = make_chat(cli.home)
    ran = cli.run("tools", "call", "python", "--chat", str(chat), "-", stdin="print(6 * 7)")
    assert (ran.returncode, ran.stdout) == (0, "42\n")
    raised = cli.run("tools", "call", "python", "import nope")
    assert raised.returncode == 0 and "ModuleNotFoundError" in raised.stdout
    missing = cli.run("tools", "call", "python", "--chat", "999", "1")
    assert missing.returncode == 2 and "No conversation with id 999" in missing.stderr


@needs_sandbox
def test_a_kernel_that_cannot_start_exits_1(cli: Cli) -> None:
    cli.settings(memory_mb=16)  # too little for Python itself to start
    done = cli.run("tools", "call", "python", "--json", "print(1)")
    assert done.returncode == 1, done.stdout
    result = json.loads(done.stdout)
    assert result["status"] == "unavailable"
    assert result["text"].startswith("The Python kernel stopped while starting")


def test_python_settings_from_the_command_line(cli: Cli) -> None:
    done = cli.run("tools", "python", "--mode", "auto", "--chat", "3", "--timeout", "30")
    assert done.returncode == 0, done.stderr
    saved = json.loads((cli.home / "config" / "tools.json").read_text())
    assert saved["chats"] == {"3": {"python": "auto"}}
    assert saved["python"]["limits"]["timeout_s"] == 30.0 and saved["python"]["mode"] == "off"
    bad = cli.run("tools", "python", "--memory", "0")
    assert bad.returncode == 2


def test_without_isolation_the_code_runs_as_the_user_in_the_chat_folder(cli: Cli) -> None:
    assert cli.run("tools", "python", "--isolation", "none").returncode == 0
    done = cli.run("tools", "call", "python", "--json", "import os\nprint(os.getcwd())")
    result = json.loads(done.stdout)
    assert done.returncode == 0 and result["status"] == "ok", result
    assert result["text"].strip() == str(cli.home / "data" / "chats" / "scratch" / "files")
