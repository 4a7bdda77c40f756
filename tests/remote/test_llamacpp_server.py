"""The remote backend against a real OpenAI-compatible server nobody here wrote:
llama-cpp-python's own (``python -m llama_cpp.server``) with the tiny gpt-oss model.

That server has no reasoning parser: gpt-oss's raw Harmony text (control tokens included) comes
in ``content``, and Hearth's own parser must separate thinking from the answer. A GBNF grammar
(the server's ``grammar`` field, sent through the connection's extra request fields) makes the
tiny model write a known reply; free-running replies check Stop and the length limit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app import chat
from app.engine.events import ContentEvent, DoneEvent, EngineEvent, ReasoningEvent
from app.engine.options import SamplingOptions
from app.engine.protocol import GenerateRequest
from app.harmony import Message
from app.remote.connections import Connection, Remotes
from app.remote.engine import RemoteEngine
from app.store import Store
from tests.helpers.llamacpp_server import MODEL_ALIAS, LlamaCppServer, harmony_grammar

pytestmark = pytest.mark.slow

THOUGHT = "The user greets me; answer kindly."
ANSWER = "Hello! How can I help?"
RAW = (
    f"<|channel|>analysis<|message|>{THOUGHT}<|end|>"
    f"<|start|>assistant<|channel|>final<|message|>{ANSWER}"
)
# Plain text that (in practice) never ends: the reply runs to its length limit.
ENDLESS = 'root ::= [a-z ]* "zzzzzzzzzzzz"'


def saved_engine(server: LlamaCppServer, **extra: object) -> tuple[RemoteEngine, Remotes]:
    remotes = Remotes()
    remotes.save(Connection("llama", server.url, extra_body=dict(extra)))
    return RemoteEngine.open("llama", remotes), remotes


def test_thinking_and_answer_come_apart_from_raw_harmony(
    llama_server: LlamaCppServer, store: Store
) -> None:
    engine, remotes = saved_engine(llama_server, grammar=harmony_grammar(RAW))
    info = engine.connect()
    assert info.name == MODEL_ALIAS  # no model named: the server's own is picked and saved
    assert remotes.get("llama").model == MODEL_ALIAS
    cid = store.create_conversation(settings={"model": MODEL_ALIAS, "remote": "llama"}).id
    seen: list[EngineEvent] = []
    outcome = chat.run_turn(store, engine, cid, "Hi!", on_event=seen.append)
    assert outcome.status == "done", outcome.error
    assert (outcome.reasoning, outcome.content) == (THOUGHT, ANSWER)
    kinds = [type(e) for e in seen]
    assert kinds.index(ContentEvent) > kinds.index(ReasoningEvent)  # thinking streamed first
    row = store.get_message(outcome.assistant_message_id or 0)
    assert (row.reasoning, row.content, row.status) == (THOUGHT, ANSWER, "done")
    assert row.model == MODEL_ALIAS
    stats = outcome.stats
    assert stats is not None and stats.stop_reason == "return"
    assert stats.ttft_s > 0 and stats.generation_tps > 0 and stats.generated_tokens > 10
    assert remotes.get("llama").reasoning_format == "harmony"  # learned and remembered
    # The next turn sends the history back; the server takes it (its own schema checks it).
    outcome = chat.run_turn(store, engine, cid, "And again?")
    assert outcome.status == "done" and outcome.content == ANSWER
    engine.close()


def test_stop_closes_a_long_reply_at_once(llama_server: LlamaCppServer) -> None:
    engine, _ = saved_engine(llama_server, grammar=ENDLESS)
    engine.connect()
    control = chat.TurnControl()
    texts: list[str] = []
    after_stop: list[EngineEvent] = []

    def on_event(ev: EngineEvent) -> None:
        if control.stopped:
            after_stop.append(ev)
        elif isinstance(ev, ContentEvent):
            texts.append(ev.text)
            if len(texts) == 10:
                control.stop()  # as the window's Stop does, from the thread showing the reply

    request = GenerateRequest(
        [Message("user", "Talk.")], sampling=SamplingOptions(max_tokens=300, seed=1)
    )
    outcome = chat.stream_reply(engine, request, control=control, on_event=on_event)
    assert outcome.status == "cancelled"
    assert outcome.stats is not None and outcome.stats.stop_reason == "cancelled"
    # The stream ended at the Stop: nothing more was read from the server (the ~290 tokens it
    # would still have sent), only the final "cancelled".
    assert [type(e) for e in after_stop] == [DoneEvent]
    assert outcome.content == "".join(texts)
    engine.close()


def test_the_length_limit_is_the_servers_and_reported(llama_server: LlamaCppServer) -> None:
    engine, _ = saved_engine(llama_server, grammar=ENDLESS)
    engine.connect()
    request = GenerateRequest([Message("user", "Talk.")], sampling=SamplingOptions(max_tokens=12))
    events = list(engine.stream(request))
    done = events[-1]
    assert isinstance(done, DoneEvent) and done.stats.stop_reason == "max_tokens"
    engine.close()


def test_api_key_and_tls_against_the_real_server(tiny_model: Path, tmp_path: Path) -> None:
    pytest.importorskip("cryptography")
    from tests.helpers.certs import make_certs

    ca, cert, key = make_certs(tmp_path)
    with LlamaCppServer(
        tiny_model, "--api_key", "right-key", certfile=str(cert), keyfile=str(key)
    ) as server:
        assert server.url.startswith("https://")
        conn = Connection("llama", server.url, model=MODEL_ALIAS, ca_bundle=str(ca))
        request = GenerateRequest([Message("user", "Hi")], sampling=SamplingOptions(max_tokens=4))
        wrong = list(RemoteEngine(conn, api_key="wrong-key").stream(request))[-1]
        assert wrong.type == "error" and wrong.kind == "auth"  # type: ignore[attr-defined]
        assert "wrong-key" not in wrong.message  # type: ignore[attr-defined]
        right = list(RemoteEngine(conn, api_key="right-key").stream(request))[-1]
        assert isinstance(right, DoneEvent)
        untrusted = Connection("llama", server.url, model=MODEL_ALIAS)
        tls = list(RemoteEngine(untrusted, api_key="right-key").stream(request))[-1]
        assert tls.type == "error" and tls.kind == "tls"  # type: ignore[attr-defined]
