"""The remote backend against Hearth's own server (``hearth serve``, a real process with the
tiny model): each side tests the other. Replies are scripted through the server's test aid
(``hearth_script`` in the request body, sent as an extra request field of the connection): the
engine forces the tokens, everything else (server, SSE, client, turn path, store) is real.

Also: a chat that goes from the local engine to a remote server and back keeps one history.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import chat
from app.engine.client import EngineClient
from app.engine.events import ToolCallEvent
from app.engine.options import LoadOptions
from app.engine.protocol import GenerateRequest
from app.harmony import PromptSettings, Tool
from app.remote.connections import Connection, Remotes
from app.remote.engine import RemoteEngine
from app.store import Store
from app.tools.base import ToolCall, ToolResult

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("app.server") is None,
        reason="Hearth's own server (app/server, issue 12) is not in this tree",
    ),
]

WEATHER = Tool(
    "get_weather",
    "Current weather in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


@pytest.fixture(scope="module")
def hearth(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from tests.helpers.serve import ServerProcess

    proc = ServerProcess(tiny_model, tmp_path_factory.mktemp("serve-home"))
    yield proc
    proc.close()


def remote(url: str) -> tuple[RemoteEngine, Remotes]:
    remotes = Remotes()
    remotes.save(Connection("hearth", url))
    engine = RemoteEngine.open("hearth", remotes)
    engine.connect()
    return engine, remotes


def scripted(engine: RemoteEngine, harmony: str) -> None:
    engine.connection.extra_body = {"hearth_script": harmony}


def test_thinking_answer_usage_and_the_learned_format(hearth, store: Store) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers.serve import reply

    engine, remotes = remote(hearth.base_url)
    assert engine.connection.model == "tiny-gpt-oss"  # the server's model, picked and saved
    assert remotes.get("hearth").model == "tiny-gpt-oss"
    assert engine.model_info is not None
    cid = store.create_conversation(settings={"model": "tiny-gpt-oss", "remote": "hearth"}).id
    scripted(engine, reply("Paris.", analysis="Capital of France."))
    outcome = chat.run_turn(store, engine, cid, "Capital of France?")
    assert outcome.status == "done", outcome.error
    assert (outcome.reasoning, outcome.content) == ("Capital of France.", "Paris.")
    assert remotes.get("hearth").reasoning_format == "reasoning_content"
    stats = outcome.stats
    assert stats is not None and stats.prompt_tokens > 0 and stats.generated_tokens > 0
    assert stats.context_used == stats.prompt_tokens + stats.generated_tokens
    # The next turn: the history goes back and the server reuses its cached prefix.
    scripted(engine, reply("Rome.", analysis="Italy now."))
    second = chat.run_turn(store, engine, cid, "And of Italy?")
    assert second.status == "done" and second.content == "Rome."
    assert second.stats is not None and second.stats.cached_tokens > 0
    engine.close()


class WeatherTools:
    """A real tool host with one function tool (app.chat.tools.ToolHost)."""

    def __init__(self) -> None:
        self.calls: list[ToolCall] = []

    def apply(self, prompt: PromptSettings) -> PromptSettings:
        prompt.tools = [*prompt.tools, WEATHER]
        return prompt

    def run(self, call: ToolCall, ask=None, cancel=None) -> ToolResult:  # type: ignore[no-untyped-def]
        self.calls.append(call)
        city = json.loads(call.arguments)["city"]
        return ToolResult(text=json.dumps({"city": city, "sky": "clear", "temp_c": 21}))


def test_a_tool_call_round_trip_through_the_turn_path(hearth, store: Store) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers.serve import call, reply

    engine, _ = remote(hearth.base_url)
    tools = WeatherTools()
    scripts = iter(
        [
            call("get_weather", '{"city":"Paris"}', analysis="Need the weather."),
            reply("Clear and 21 °C in Paris.", analysis="Got it."),
        ]
    )
    sent: list[GenerateRequest] = []

    def before_send(request: GenerateRequest) -> None:
        sent.append(request)
        scripted(engine, next(scripts))

    cid = store.create_conversation(settings={"model": "tiny-gpt-oss", "remote": "hearth"}).id
    seen: list[object] = []
    outcome = chat.run_turn(
        store,
        engine,
        cid,
        "Weather in Paris?",
        on_event=seen.append,
        tools=chat.TurnTools(tools),
        before_send=before_send,
    )
    assert outcome.status == "done", outcome.error
    assert [(c.recipient, c.arguments) for c in tools.calls] == [
        ("functions.get_weather", '{"city":"Paris"}')
    ]
    assert any(isinstance(e, ToolCallEvent) for e in seen)
    assert outcome.content.endswith("Clear and 21 °C in Paris.")
    # The continuation carried the call, its result and (mid-turn) the reasoning back; the
    # server's own parser accepted them (it answered) and the tool was declared to it.
    assert len(sent) == 2 and sent[1].settings.tools == [WEATHER]
    roles = [m.role for m in sent[1].messages]
    assert roles[-1] == "tool"
    rows = store.active_path(cid)
    assert [r.role for r in rows] == ["user", "assistant", "tool", "assistant"]
    assert rows[1].tool_calls and rows[1].tool_calls[0]["name"] == "functions.get_weather"
    engine.close()


class PythonTools:
    """A tool host with gpt-oss's built-in python (declared in the system prompt locally; a
    server gets it as a function). Runs nothing: the conversion is what is tested here."""

    def __init__(self) -> None:
        self.calls: list[ToolCall] = []

    def apply(self, prompt: PromptSettings) -> PromptSettings:
        from app.harmony import python_namespace

        prompt.builtin_tools = [python_namespace()]
        return prompt

    def run(self, call: ToolCall, ask=None, cancel=None) -> ToolResult:  # type: ignore[no-untyped-def]
        self.calls.append(call)
        return ToolResult(text="4")


def test_the_python_tool_works_through_a_server(hearth, store: Store) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers.serve import call, reply

    engine, _ = remote(hearth.base_url)
    tools = PythonTools()
    scripts = iter([call("python", '{"code": "print(2+2)"}'), reply("It is 4.")])
    cid = store.create_conversation(settings={"model": "tiny-gpt-oss", "remote": "hearth"}).id
    outcome = chat.run_turn(
        store,
        engine,
        cid,
        "2+2?",
        tools=chat.TurnTools(tools),
        before_send=lambda request: scripted(engine, next(scripts)),
    )
    assert outcome.status == "done", outcome.error
    # The server saw a function; the turn's tools got python's own call: the bare code.
    assert [(c.recipient, c.arguments, c.constrain) for c in tools.calls] == [
        ("python", "print(2+2)", "code")
    ]
    assert outcome.content.endswith("It is 4.")
    rows = store.active_path(cid)
    assert rows[1].tool_calls and rows[1].tool_calls[0]["name"] == "python"
    assert rows[2].role == "tool" and rows[2].content == "4"
    engine.close()


def test_stop_mid_reply_against_hearth_serve(hearth) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers.serve import reply

    engine, _ = remote(hearth.base_url)
    scripted(engine, reply("word " * 400))
    control = chat.TurnControl()
    texts: list[str] = []
    after: list[object] = []

    def on_event(ev: object) -> None:
        if control.stopped:
            after.append(ev)
        elif getattr(ev, "type", "") == "content":
            texts.append(ev.text)  # type: ignore[attr-defined]
            if len(texts) == 5:
                control.stop()

    request = GenerateRequest([chat_message("Talk.")])
    outcome = chat.stream_reply(engine, request, control=control, on_event=on_event)
    assert outcome.status == "cancelled" and outcome.content == "".join(texts)
    assert [getattr(e, "type", "") for e in after] == ["done"]
    # The server notices the client went away and takes the next request.
    scripted(engine, reply("Next."))
    again = chat.stream_reply(engine, GenerateRequest([chat_message("Hi")]))
    assert again.status == "done" and again.content == "Next."
    engine.close()


def chat_message(text: str):  # type: ignore[no-untyped-def]
    from app.harmony import Message

    return Message("user", text)


def test_a_chat_goes_local_remote_local_with_one_history(
    hearth,  # type: ignore[no-untyped-def]
    store: Store,
    tiny_model: Path,
) -> None:
    """Turn 1 on the local engine, turn 2 through the server, turn 3 local again: each turn
    sees the whole conversation, whoever wrote each reply."""
    from tests.helpers.serve import reply

    local = EngineClient()
    local.start()
    local.load(LoadOptions(model_path=str(tiny_model), n_ctx=4096, n_threads=1))
    engine, _ = remote(hearth.base_url)
    seen: list[list[str]] = []
    lock = threading.Lock()

    def local_script(text: str):  # type: ignore[no-untyped-def]
        def hook(request: GenerateRequest) -> None:
            with lock:
                seen.append([m.content for m in request.messages])
            request.script = reply(text)

        return hook

    def remote_script(request: GenerateRequest) -> None:
        with lock:
            seen.append([m.content for m in request.messages])
        scripted(engine, reply("Remote says two."))

    cid = store.create_conversation(settings={"model": "tiny-gpt-oss"}).id
    try:
        one = chat.run_turn(store, local, cid, "One?", before_send=local_script("Local one."))
        store.update_settings(cid, {"remote": "hearth"})
        two = chat.run_turn(store, engine, cid, "Two?", before_send=remote_script)
        store.update_settings(cid, {"remote": None})
        three = chat.run_turn(store, local, cid, "Three?", before_send=local_script("Local 3."))
    finally:
        local.close()
        engine.close()
    assert [o.status for o in (one, two, three)] == ["done", "done", "done"]
    assert seen[1] == ["One?", "Local one.", "Two?"]
    assert seen[2] == ["One?", "Local one.", "Two?", "Remote says two.", "Three?"]
    path = store.active_path(cid)
    assert [m.content for m in path] == [
        "One?",
        "Local one.",
        "Two?",
        "Remote says two.",
        "Three?",
        "Local 3.",
    ]
    assert "remote" not in store.get_conversation(cid).settings
