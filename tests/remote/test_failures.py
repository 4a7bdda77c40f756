"""Failures a user meets with a remote server, through the turn path and the real store: each
ends in a clear message, the partial reply is kept and marked, and the chat goes on.

The server is ``ScriptedServer`` (Starlette on uvicorn, real HTTP on 127.0.0.1) told to
misbehave: drop the connection, stall, send malformed SSE, answer 503/429 with Retry-After,
refuse the key or the model.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from app import chat
from app.engine.events import ContentEvent, DoneEvent, EngineEvent, ErrorEvent
from app.remote.connections import Connection, Remotes
from app.remote.engine import RemoteEngine
from app.store import Store, export_to_file
from tests.helpers.scripted_openai import (
    MODEL,
    Reply,
    ScriptedServer,
    chunks_fields,
    sse,
)

KEY = "sk-remote-test-key-42"
ANSWER = "The sky is blue because air scatters blue light more than red."


def engine_for(server: ScriptedServer, **kw: object) -> RemoteEngine:
    conn = Connection("box", server.url, model=MODEL, stall_timeout=1.0)
    for k, v in kw.items():
        setattr(conn, k, v)
    return RemoteEngine(conn, api_key=KEY if server.api_key else None)


def turn(store: Store, engine: RemoteEngine, cid: int, text: str) -> chat.TurnOutcome:
    return chat.run_turn(store, engine, cid, text)


def reply_row(store: Store, outcome: chat.TurnOutcome):  # type: ignore[no-untyped-def]
    assert outcome.assistant_message_id is not None
    return store.get_message(outcome.assistant_message_id)


def check_goes_on(
    store: Store, engine: RemoteEngine, server: ScriptedServer, cid: int, *, kept: bool = True
) -> None:
    """After the failure the same chat answers again, and the kept partial reply (``kept``) is
    part of the history the server gets."""
    server.script(Reply(chunks=chunks_fields("", "Still here.", usage=(30, 3))))
    outcome = turn(store, engine, cid, "Are you there?")
    assert outcome.status == "done" and outcome.content == "Still here."
    sent = server.requests[-1]["body"]["messages"]
    assert sent[-1] == {"role": "user", "content": "Are you there?"}
    assert any(m["role"] == "assistant" and m["content"] for m in sent[:-1]) == kept


@pytest.fixture
def chat_id(store: Store) -> int:
    return store.create_conversation(settings={"model": MODEL, "remote": "box"}).id


def test_a_stream_cut_mid_reply_keeps_what_arrived(
    store: Store, scripted: ScriptedServer, chat_id: int
) -> None:
    engine = engine_for(scripted)
    scripted.script(Reply(chunks=chunks_fields("Thinking it over.", ANSWER), drop_at=14))
    outcome = turn(store, engine, chat_id, "Why is the sky blue?")
    assert outcome.status == "error" and outcome.error is not None
    assert outcome.error.kind == "connection_lost"
    assert (
        "lost mid-reply" in outcome.error.message
        and "What arrived is kept" in outcome.error.message
    )
    row = reply_row(store, outcome)
    assert row.status == "error" and row.error == outcome.error.message
    assert row.reasoning == "Thinking it over."
    assert row.content and ANSWER.startswith(row.content) and row.content != ANSWER
    check_goes_on(store, engine, scripted, chat_id)


def test_a_stream_that_ends_without_finishing_is_a_cut_too(
    store: Store, scripted: ScriptedServer, chat_id: int
) -> None:
    chunks = chunks_fields("", ANSWER, done=False)[:-1]  # no finish_reason, no [DONE]: EOF
    scripted.script(Reply(chunks=chunks))
    outcome = turn(store, engine_for(scripted), chat_id, "Why?")
    assert outcome.error is not None and outcome.error.kind == "connection_lost"
    assert reply_row(store, outcome).content == ANSWER


def test_a_server_that_stalls_is_given_up_on_after_the_stall_timeout(
    store: Store, scripted: ScriptedServer, chat_id: int
) -> None:
    engine = engine_for(scripted, stall_timeout=0.5)
    scripted.script(Reply(chunks=chunks_fields("", ANSWER), stall_at=6))
    outcome = turn(store, engine, chat_id, "Why?")
    assert outcome.error is not None and outcome.error.kind == "stalled"
    assert "sent nothing for 0.5 s" in outcome.error.message  # the setting, not a guess
    assert "--stall-timeout" in outcome.error.message
    row = reply_row(store, outcome)
    assert row.status == "error" and ANSWER.startswith(row.content) and row.content
    check_goes_on(store, engine, scripted, chat_id)


def test_malformed_sse_is_named_and_the_text_before_it_kept(
    store: Store, scripted: ScriptedServer, chat_id: int
) -> None:
    engine = engine_for(scripted)
    chunks = chunks_fields("", ANSWER)
    scripted.script(Reply(chunks=[*chunks[:5], "data: {'not': json}\n\n", *chunks[5:]]))
    outcome = turn(store, engine, chat_id, "Why?")
    assert outcome.error is not None and outcome.error.kind == "bad_response"
    assert "not an OpenAI chat stream" in outcome.error.message
    assert reply_row(store, outcome).content == ANSWER[:12]  # 4 pieces of 3 characters
    # A chunk that is JSON but not a chunk at all, and an HTML page where SSE was expected.
    scripted.script(Reply(chunks=[sse({"choices": "nope"})]))
    assert turn(store, engine, chat_id, "Why?").error.kind == "bad_response"  # type: ignore[union-attr]
    scripted.script(Reply(chunks=["<html>proxy</html>"], content_type="text/html"))
    out = turn(store, engine, chat_id, "Why?")
    assert out.error is not None and "content type text/html" in out.error.message
    check_goes_on(store, engine, scripted, chat_id)


def test_an_error_object_in_the_stream_is_shown(
    store: Store, scripted: ScriptedServer, chat_id: int
) -> None:
    chunks = chunks_fields("", ANSWER)
    oom = sse({"error": {"message": "CUDA out of memory", "type": "InternalServerError"}})
    scripted.script(Reply(chunks=[*chunks[:4], oom]))
    outcome = turn(store, engine_for(scripted), chat_id, "Why?")
    assert outcome.error is not None and outcome.error.kind == "server_error"
    assert "CUDA out of memory" in outcome.error.message


def test_503_with_retry_after_is_retried_before_the_first_byte(
    store: Store, scripted: ScriptedServer, chat_id: int
) -> None:
    scripted.script(
        Reply(status=503, headers={"Retry-After": "1"}, body={"error": {"message": "loading"}}),
        Reply(chunks=chunks_fields("", "Ready now.", usage=(10, 3))),
    )
    t0 = time.monotonic()
    outcome = turn(store, engine_for(scripted), chat_id, "Hello?")
    assert outcome.status == "done" and outcome.content == "Ready now."
    assert time.monotonic() - t0 >= 1.0  # the server's Retry-After was honoured
    assert len(scripted.requests) == 2


def test_a_server_that_stays_busy_or_asks_for_too_long_is_reported(
    store: Store, scripted: ScriptedServer, chat_id: int
) -> None:
    engine = engine_for(scripted)
    scripted.script(Reply(status=429, headers={"Retry-After": "600"}))
    outcome = turn(store, engine, chat_id, "Hello?")
    assert outcome.error is not None and outcome.error.kind == "busy"
    assert "asks to wait 600 s" in outcome.error.message
    assert len(scripted.requests) == 1  # not waited for
    busy = Reply(status=503, headers={"Retry-After": "0"}, body={"error": {"message": "full"}})
    scripted.script(busy, busy, busy, busy)
    outcome = turn(store, engine, chat_id, "Hello?")
    assert outcome.error is not None and outcome.error.kind == "busy"
    assert "“full”" in outcome.error.message
    assert len(scripted.requests) == 5  # the first try and three retries
    check_goes_on(store, engine, scripted, chat_id, kept=False)


def test_a_wrong_key_is_refused_without_the_key_ever_shown_or_saved(
    store: Store, chat_id: int, tmp_path: Path
) -> None:
    with ScriptedServer(api_key="the-right-key") as server:
        engine = engine_for(server)  # sends KEY, which is wrong
        outcome = turn(store, engine, chat_id, "Hello?")
        assert outcome.error is not None and outcome.error.kind == "auth"
        assert "refused the API key (401)" in outcome.error.message
        assert "--api-key-stdin" in outcome.error.message
        # The server echoed the key it got; the message must not carry it.
        assert "Incorrect API key provided" in outcome.error.message
        assert KEY not in outcome.error.message
        assert server.requests[0]["headers"]["authorization"] == f"Bearer {KEY}"
    dump = json.dumps([m.to_dict() for m in store.active_path(chat_id)])
    assert KEY not in dump
    for fmt in ("json", "md"):
        out = export_to_file(store, chat_id, tmp_path / f"chat.{fmt}", fmt)
        assert KEY not in Path(out).read_text()


def test_an_unknown_model_names_the_models_the_server_has(
    store: Store, scripted: ScriptedServer, chat_id: int
) -> None:
    outcome = turn(store, engine_for(scripted, model="gpt-oss-200b"), chat_id, "Hello?")
    assert outcome.error is not None and outcome.error.kind == "unknown_model"
    assert "has no model 'gpt-oss-200b'. It has: gpt-oss-120b." in outcome.error.message
    assert reply_row(store, outcome).status == "error"


def test_an_unreachable_server_is_named_with_the_way_out(store: Store, chat_id: int) -> None:
    with ScriptedServer() as server:
        url = server.url
    engine = RemoteEngine(Connection("box", url, model=MODEL))
    outcome = turn(store, engine, chat_id, "Hello?")
    assert outcome.error is not None and outcome.error.kind == "unreachable"
    assert "Cannot reach 'box'" in outcome.error.message and "running" in outcome.error.message


def test_tls_is_always_verified_and_a_ca_bundle_makes_a_private_server_trusted(
    store: Store, chat_id: int, tmp_path: Path
) -> None:
    pytest.importorskip("cryptography")
    from tests.helpers.certs import make_certs

    ca, cert, key = make_certs(tmp_path)
    with ScriptedServer(ssl_certfile=str(cert), ssl_keyfile=str(key)) as server:
        assert server.url.startswith("https://")
        outcome = turn(store, engine_for(server), chat_id, "Hello?")
        assert outcome.error is not None and outcome.error.kind == "tls"
        assert "could not be verified" in outcome.error.message
        assert "--ca-bundle" in outcome.error.message
        assert server.requests == []  # nothing was sent over the unverified connection
        trusted = engine_for(server, ca_bundle=str(ca))
        outcome = turn(store, trusted, chat_id, "Hello?")
        assert outcome.status == "done" and outcome.content == "Hi"
    missing = engine_for(server, ca_bundle=str(tmp_path / "nope.pem"))
    outcome = turn(store, missing, chat_id, "Hello?")
    assert outcome.error is not None and "Cannot use the CA bundle" in outcome.error.message


def test_stop_closes_the_stream_at_once_and_keeps_the_text(
    store: Store, scripted: ScriptedServer, chat_id: int
) -> None:
    long = "word " * 2000
    scripted.script(Reply(chunks=chunks_fields("", long), rate=200))
    engine = engine_for(scripted, stall_timeout=30.0)
    control = chat.TurnControl()
    shown: list[EngineEvent] = []
    stopped_at: list[float] = []

    def on_event(ev: EngineEvent) -> None:
        shown.append(ev)
        if isinstance(ev, ContentEvent) and len(shown) == 20:
            stopped_at.append(time.monotonic())
            threading.Thread(target=control.stop).start()

    outcome = chat.run_turn(store, engine, chat_id, "Talk.", control=control, on_event=on_event)
    ended = time.monotonic()
    assert outcome.status == "cancelled"
    assert isinstance(shown[-1], DoneEvent) and shown[-1].stats.stop_reason == "cancelled"
    row = reply_row(store, outcome)
    assert row.status == "cancelled" and row.content and long.startswith(row.content)
    assert len(row.content) < len(long)
    # "At once": far sooner than the ~40 s the rest of the reply would have taken.
    assert ended - stopped_at[0] < 10.0
    check_goes_on(store, engine, scripted, chat_id)


def test_stop_while_waiting_to_retry_ends_the_turn(
    store: Store, scripted: ScriptedServer, chat_id: int
) -> None:
    scripted.script(Reply(status=503, headers={"Retry-After": "25"}))
    engine = engine_for(scripted)
    control = chat.TurnControl()
    done = threading.Event()
    result: list[chat.TurnOutcome] = []

    def run() -> None:
        result.append(chat.run_turn(store, engine, chat_id, "Hello?", control=control))
        done.set()

    threading.Thread(target=run).start()
    assert scripted.wait_requests(1)
    control.stop()
    assert done.wait(10)  # not the 25 s the server asked for
    assert result[0].status == "cancelled"


def test_learned_reasoning_format_is_remembered_on_the_connection(
    scripted: ScriptedServer,
) -> None:
    remotes = Remotes()
    remotes.save(Connection("box", scripted.url, model=MODEL))
    engine = RemoteEngine.open("box", remotes)
    scripted.script(Reply(chunks=chunks_fields("Hmm.", "Hi", field_name="reasoning")))
    events = list(engine.stream(_request("Hi")))
    assert isinstance(events[-1], DoneEvent)
    assert remotes.get("box").reasoning_format == "reasoning"
    assert not any(isinstance(e, ErrorEvent) for e in events)


def _request(text: str):  # type: ignore[no-untyped-def]
    from app.engine.protocol import GenerateRequest
    from app.harmony import Message

    return GenerateRequest(messages=[Message("user", text)])
