"""Tool settings (config/tools.json), mcpServers import, and consent through the Toolbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.harmony import PromptSettings, render_prompt
from app.tools import workspace
from app.tools.base import ToolCall, ToolResult, result_message
from app.tools.python import sandbox
from app.tools.settings import McpServerConfig, ToolSettings, parse_mcp_servers, settings_file
from app.tools.toolbox import Toolbox

CLAUDE_DESKTOP = """{
  "mcpServers": {
    "filesystem": {
      "command": "npx",
      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"],
      "env": {"DEBUG": "1"}
    },
    "remote": {"url": "https://example.com/mcp", "headers": {"Authorization": "Bearer t"}},
    "windsurf-style": {"serverUrl": "http://127.0.0.1:9000/mcp"},
    "off": {"command": "uvx", "args": ["thing"], "disabled": true}
  }
}"""


def test_mcp_servers_json_from_other_apps_is_understood() -> None:
    servers = parse_mcp_servers(CLAUDE_DESKTOP)
    fs = servers["filesystem"]
    assert (fs.transport, fs.command, fs.args[0], fs.env) == ("stdio", "npx", "-y", {"DEBUG": "1"})
    assert servers["remote"].transport == "http"
    assert servers["remote"].headers == {"Authorization": "Bearer t"}
    assert servers["windsurf-style"].url == "http://127.0.0.1:9000/mcp"
    assert servers["off"].disabled
    vscode = parse_mcp_servers('{"servers": {"x": {"type": "http", "url": "http://h/mcp"}}}')
    assert vscode["x"].url == "http://h/mcp"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{nope", "Not JSON"),
        ("[]", "Expected a JSON object"),
        ('{"other": {}}', "No 'mcpServers' object"),
        ('{"mcpServers": {"a": {"args": []}}}', "has neither a 'command' nor a 'url'"),
    ],
)
def test_bad_mcp_json_is_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_mcp_servers(text)


def test_settings_round_trip_and_junk_keeps_defaults(hearth_home: Path) -> None:
    settings = ToolSettings()
    settings.python.limits.timeout_s = 30
    settings.servers["w"] = McpServerConfig(name="w", url="http://127.0.0.1:1/mcp", mode="auto")
    settings.set_mode("python", "ask", conversation_id=7)
    settings.save()
    assert settings_file().parent == hearth_home / "config"
    back = ToolSettings.load()
    assert back.to_dict() == settings.to_dict()
    settings_file().write_text(
        json.dumps(
            {
                "python": {"mode": "sometimes", "limits": {"timeout_s": "long", "memory_mb": -5}},
                "mcpServers": {"bad": 3, "ok": {"command": "x"}},
                "chats": {"1": {"python": "maybe"}, "2": "no"},
                "max_calls_per_turn": True,
            }
        )
    )
    junk = ToolSettings.load()
    assert junk.python.mode == "off" and junk.python.limits.timeout_s == 120
    assert junk.python.limits.memory_mb == 2048
    assert list(junk.servers) == ["ok"] and junk.chats == {} and junk.max_calls_per_turn == 20
    settings_file().write_text("not json at all")
    assert ToolSettings.load().to_dict() == ToolSettings().to_dict()


def test_python_is_off_until_turned_on_for_a_chat_or_all() -> None:
    settings = ToolSettings()
    assert settings.mode_for("python", 1) == "off"
    settings.set_mode("python", "auto", conversation_id=1)
    assert settings.mode_for("python", 1) == "auto"
    assert settings.mode_for("python", 2) == "off"
    settings.set_mode("python", "ask")
    assert settings.mode_for("python", 2) == "ask"
    settings.set_mode("python", "off", conversation_id=3)
    assert settings.mode_for("python", 3) == "off"
    with pytest.raises(ValueError, match="Unknown mode"):
        settings.set_mode("python", "always")  # type: ignore[arg-type]


needs_sandbox = pytest.mark.skipif(
    not sandbox.probe().available, reason=f"no sandbox here: {sandbox.probe().message}"
)


def test_a_chat_without_tools_offers_none() -> None:
    box = Toolbox.for_chat(5, ToolSettings())
    assert box.empty and box.builtin_namespaces == [] and box.functions == []
    result = box.run(ToolCall("python", "print(1)", channel="analysis"))
    assert result.status == "unavailable"
    assert "There is no tool named 'python' in this chat (available: none)" in result.text


@needs_sandbox
def test_ask_mode_runs_only_with_consent_and_the_prompt_declares_python() -> None:
    settings = ToolSettings()
    settings.set_mode("python", "ask", conversation_id=9)
    box = Toolbox.for_chat(9, settings)
    assert box.work_dir == workspace.work_dir(9)
    prompt = render_prompt([], box.apply(PromptSettings()))
    assert "# Tools\n\n## python\n\nUse this tool to execute Python code" in prompt
    assert "Internet access for this session is disabled." in prompt
    asked: list[tuple[str, str]] = []

    def no(call: ToolCall, key: str) -> bool:
        asked.append((call.arguments, key))
        return False

    call = ToolCall("python", "print('ran')", channel="analysis")
    refused = box.run(call, ask=no)
    assert asked == [("print('ran')", "python")]
    assert (refused.status, refused.text) == ("refused", "The user declined to run this call.")
    assert box.run(call, ask=None).status == "refused"  # nobody to ask: nothing runs

    def broken(call: ToolCall, key: str) -> bool:
        raise RuntimeError("dialog crashed")

    assert box.run(call, ask=broken).status == "refused"
    ran = box.run(call, ask=lambda c, k: True)
    assert (ran.status, ran.text) == ("ok", "ran\n")
    message = result_message(call, ran)
    assert (message.name, message.channel, message.recipient) == ("python", "analysis", "assistant")
    settings.set_mode("python", "auto", conversation_id=9)
    auto = Toolbox.for_chat(9, settings).run(call, ask=no)
    assert auto.status == "ok" and len(asked) == 1  # not asked again


def test_result_round_trips_for_the_store() -> None:
    result = ToolResult(status="timeout", text="t", output="o", duration_s=1.5, truncated=True)
    assert ToolResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
