"""MCP function tools against real servers: the SDK's MCPServer over stdio, and over
streamable HTTP on 127.0.0.1 (tests/tools/servers/demo_mcp.py), plus servers that die, hang,
crash mid-call or speak junk. Every failure is a status sentence, never an exception."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.harmony import PromptSettings, render_prompt
from app.tools.base import ToolCall, ToolContext
from app.tools.mcp.connection import McpConnection, RemoteTool
from app.tools.mcp.tool import McpHub, assign_names, function_name
from app.tools.settings import McpServerConfig, ToolSettings
from app.tools.toolbox import Toolbox
from tests.helpers.tools import DEMO_SERVER


def stdio(name: str, mode: str = "stdio", **kw: object) -> McpServerConfig:
    return McpServerConfig(
        name=name, command=sys.executable, args=[str(DEMO_SERVER), mode], mode="auto", **kw
    )  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def hub() -> Iterator[McpHub]:
    h = McpHub()
    yield h
    h.close()


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, str(DEMO_SERVER), "http"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    port = proc.stdout.readline().strip()  # the server prints its port once it listens
    assert port.isdigit(), port
    yield f"http://127.0.0.1:{port}/mcp"
    proc.kill()
    proc.wait(10)


def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(work_dir=tmp_path / "files", output_dir=tmp_path / "out")


def box_for(hub: McpHub, tmp_path: Path, *configs: McpServerConfig) -> Toolbox:
    settings = ToolSettings(servers={c.name: c for c in configs})
    return Toolbox.for_chat(
        None, settings, work_dir=tmp_path / "files", output_dir=tmp_path / "out", hub=hub
    )


def test_names_are_valid_identifiers_unique_and_lead_back() -> None:
    assert function_name("my server", "get-weather") == "my_server__get_weather"
    assert function_name("2fast", "x") == "_2fast__x"
    tools = {
        "a": [RemoteTool("do it", "", None), RemoteTool("do_it", "", None)],
        "b": [RemoteTool("x" * 100, "", None)],
    }
    names = assign_names(tools)
    assert list(names) == ["a__do_it", "a__do_it_2", "b__" + "x" * 61]
    assert names["a__do_it_2"] == ("a", tools["a"][1])
    assert all(len(n) <= 64 and n.isidentifier() for n in names)


def test_stdio_server_tools_become_functions_and_calls_run(hub: McpHub, tmp_path: Path) -> None:
    box = box_for(hub, tmp_path, stdio("demo"))
    assert box.problems == {}
    names = [f.name for f in box.functions]
    assert "demo__add" in names and "demo__get_weather" in names
    add = next(f for f in box.functions if f.name == "demo__add")
    assert add.description == "Adds two integers."
    assert add.parameters and add.parameters["required"] == ["a", "b"]
    # The developer message declares them in the `functions` namespace.
    prompt = render_prompt([], box.apply(PromptSettings()))
    assert "namespace functions {" in prompt and "type demo__add = (_: {" in prompt
    assert "Calls to these tools must go to the commentary channel: 'functions'." in prompt

    result = box.run(ToolCall("functions.demo__add", '{"a": 2, "b": 40}'))
    assert (result.status, result.text) == ("ok", "42")
    weather = box.run(ToolCall("functions.demo__get_weather", '{"city": "Lyon"}'))
    assert weather.text == "Sunny in Lyon"


def test_tool_errors_bad_arguments_and_images(hub: McpHub, tmp_path: Path) -> None:
    box = box_for(hub, tmp_path, stdio("demo"))
    failed = box.run(ToolCall("functions.demo__fail", "{}"))
    assert failed.status == "error" and "fail" in failed.text
    bad = box.run(ToolCall("functions.demo__add", "a=1"))
    assert bad.status == "error" and "not valid JSON" in bad.text
    listy = box.run(ToolCall("functions.demo__add", "[1, 2]"))
    assert listy.status == "error" and "JSON object" in listy.text
    image = box.run(ToolCall("functions.demo__pixel", "{}"))
    assert image.status == "ok" and len(image.images) == 1
    png = Path(image.images[0].path)
    assert png.parent == tmp_path / "out" and png.read_bytes()[:4] == b"\x89PNG"
    assert f"[image shown to the user: {png.name}]" == image.text


def test_streamable_http_server_on_loopback(http_server: str, tmp_path: Path) -> None:
    hub = McpHub()
    try:
        config = McpServerConfig(name="web", url=http_server, mode="auto")
        box = box_for(hub, tmp_path, config)
        assert box.problems == {}
        result = box.run(ToolCall("functions.web__echo", '{"text": "over HTTP"}'))
        assert (result.status, result.text) == ("ok", "over HTTP")
    finally:
        hub.close()


def test_a_server_that_crashes_mid_call_restarts_on_the_next(tmp_path: Path) -> None:
    hub = McpHub()
    try:
        box = box_for(hub, tmp_path, stdio("fragile"))
        crashed = box.run(ToolCall("functions.fragile__crash", "{}"))
        assert crashed.status == "unavailable"
        assert "stopped during a call" in crashed.text and "restarts" in crashed.text
        again = box.run(ToolCall("functions.fragile__add", '{"a": 1, "b": 1}'))
        assert (again.status, again.text) == ("ok", "2")
    finally:
        hub.close()


def test_a_call_that_hangs_times_out_and_stop_interrupts(tmp_path: Path) -> None:
    hub = McpHub()
    try:
        box = box_for(hub, tmp_path, stdio("sleepy", timeout_s=2))
        late = box.run(ToolCall("functions.sleepy__slow", '{"seconds": 30}'))
        assert late.status == "timeout" and "did not answer within 2 s" in late.text
        cancel = threading.Event()
        cancel.set()
        stopped = box.run(ToolCall("functions.sleepy__slow", '{"seconds": 30}'), cancel=cancel)
        assert stopped.status == "interrupted"
        assert box.run(ToolCall("functions.sleepy__add", '{"a": 1, "b": 2}')).text == "3"
    finally:
        hub.close()


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("die", "Its last words: demo server: missing API key, giving up"),
        ("junk", "wrote something that is not MCP (JSON-RPC) on its output: 'this is not"),
        ("hang", "did not answer within 3 s of starting"),
    ],
)
def test_servers_that_fail_to_start_are_statuses(mode: str, expected: str, tmp_path: Path) -> None:
    hub = McpHub()
    try:
        config = stdio("bad", mode, timeout_s=3)
        connection = hub.connection(config)
        connection.start_timeout_s = 3
        box = box_for(hub, tmp_path, config)
        assert box.functions == []
        assert expected in box.problems["bad"], box.problems
        result = box.run(ToolCall("functions.bad__add", "{}"))
        assert result.status == "unavailable" and "no tool named" in result.text
    finally:
        hub.close()


def test_a_missing_command_says_so(tmp_path: Path) -> None:
    connection = McpConnection(McpServerConfig(name="gone", command="no-such-mcp-server-xyz"))
    assert connection.start() is False
    assert "the command 'no-such-mcp-server-xyz' was not found" in connection.status
    connection.close()


def test_an_unreachable_url_says_so(tmp_path: Path) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    connection = McpConnection(McpServerConfig(name="nowhere", url=f"http://127.0.0.1:{port}/mcp"))
    assert connection.start() is False
    assert connection.status.startswith("MCP server 'nowhere' could not start")
    assert f"127.0.0.1:{port}" in connection.status
    connection.close()
