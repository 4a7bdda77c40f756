"""app.chat: one turn through the real engine (tiny model) into the real store."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.chat import harmony_history, prepare_turn, run_turn, stream_turn
from app.engine.client import EngineClient
from app.engine.events import ContentEvent, EngineEvent, ReasoningEvent
from app.engine.options import LoadOptions, SamplingOptions
from app.harmony import Message
from app.store import DiskFullError, InvalidRequestError, Store
from app.store import Message as StoredMessage
from tests.helpers.engine import start_client

REPLY = (
    "<|channel|>analysis<|message|>Think.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>{}<|return|>"
)
GREEDY_LONG = SamplingOptions(temperature=0.0, max_tokens=3000)  # the tiny model never stops


@pytest.fixture(scope="module")
def engine(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineClient]:
    home = tmp_path_factory.mktemp("chat-engine-home")
    client = start_client(home)
    client.load(LoadOptions(model_path=str(tiny_model), n_ctx=4096))
    yield client
    client.close()


def scripted(store, engine, cid, text=None, reply="Hi there.", **kw):
    turn = prepare_turn(store, cid, text, model="tiny", **kw)
    turn.request.script = REPLY.format(reply)
    return turn, stream_turn(store, engine, turn)


def test_a_turn_is_stored_with_reasoning_stats_and_history(store, engine):
    c = store.create_conversation(settings={"effort": "high", "instructions": "Be kind."})
    seen: list[EngineEvent] = []
    turn = prepare_turn(store, c.id, "Hello?", model="tiny")
    assert store.get_message(turn.assistant_message.id).status == "streaming"
    assert turn.request.settings.effort == "high"
    assert turn.request.settings.instructions == "Be kind."
    assert turn.request.messages == [Message("user", "Hello?")]
    turn.request.script = REPLY.format("The answer is 42.")
    out = stream_turn(store, engine, turn, on_event=seen.append)
    assert out.status == "done" and out.ok
    m = store.get_message(out.assistant_message_id)
    assert (m.content, m.reasoning, m.status, m.model) == (
        "The answer is 42.",
        "Think.",
        "done",
        "tiny",
    )
    assert m.stats["stop_reason"] == "return" and m.stats["generated_tokens"] > 0
    assert "".join(e.text for e in seen if isinstance(e, ContentEvent)) == m.content
    assert store.get_conversation(c.id).title == "Hello?"
    # The next turn sends the history: user, the reply (its analysis too), the new message.
    turn2 = prepare_turn(store, c.id, "And then?")
    assert turn2.request.messages == [
        Message("user", "Hello?"),
        Message("assistant", "Think.", channel="analysis"),
        Message("assistant", "The answer is 42.", channel="final"),
        Message("user", "And then?"),
    ]
    turn2.request.script = REPLY.format("Done.")
    stream_turn(store, engine, turn2)
    assert [x.content for x in store.active_path(c.id)] == [
        "Hello?",
        "The answer is 42.",
        "And then?",
        "Done.",
    ]


def test_regenerate_and_edit_make_siblings_and_use_their_branch(store, engine):
    c = store.create_conversation()
    _, first = scripted(store, engine, c.id, "Question one", reply="A1")
    turn, second = scripted(store, engine, c.id, regenerate=first.assistant_message_id, reply="A2")
    assert turn.user_message is None
    assert store.siblings(second.assistant_message_id).ids == (
        first.assistant_message_id,
        second.assistant_message_id,
    )
    assert turn.request.messages == [Message("user", "Question one")]
    turn, edited = scripted(
        store, engine, c.id, "Question two", edit=first.user_message_id, reply="B"
    )
    assert store.siblings(edited.user_message_id).count == 2
    assert turn.request.messages == [Message("user", "Question two")]
    assert [m.content for m in store.active_path(c.id)] == ["Question two", "B"]
    assert len(store.messages(c.id)) == 5  # nothing deleted
    with pytest.raises(InvalidRequestError):
        prepare_turn(store, c.id, "x", edit=edited.assistant_message_id)
    with pytest.raises(InvalidRequestError):
        prepare_turn(store, c.id, "   ")


def test_cancel_from_another_thread_keeps_the_partial_reply(store, engine):
    c = store.create_conversation()
    turn = prepare_turn(store, c.id, "Go on forever", sampling=GREEDY_LONG)
    seen: list[str] = []
    enough = threading.Event()

    def on_event(ev: EngineEvent) -> None:
        if isinstance(ev, ContentEvent | ReasoningEvent):
            seen.append(ev.text)
            if len(seen) >= 3:
                enough.set()

    canceller = threading.Thread(target=lambda: enough.wait(60) and engine.cancel())
    canceller.start()
    out = stream_turn(store, engine, turn, on_event=on_event)
    canceller.join()
    assert out.status == "cancelled" and out.stats.stop_reason == "cancelled"
    m = store.get_message(out.assistant_message_id)
    assert m.status == "cancelled"
    assert m.content + m.reasoning and m.content == out.content and m.reasoning == out.reasoning
    assert 0 < out.stats.generated_tokens < 3000


def test_engine_error_is_stored_with_its_message(store, engine, tiny_model):
    c = store.create_conversation()
    engine.unload()
    try:
        out = run_turn(store, engine, c.id, "Anyone there?")
    finally:
        engine.load(LoadOptions(model_path=str(tiny_model), n_ctx=4096))
    assert out.status == "error" and out.error is not None
    m = store.get_message(out.assistant_message_id)
    assert m.status == "error" and m.error == out.error.message and m.error
    # A later turn skips the empty failed reply in the history.
    turn = prepare_turn(store, c.id, "Again?")
    assert turn.request.messages == [Message("user", "Anyone there?"), Message("user", "Again?")]


def test_a_failing_callback_still_closes_the_reply_and_the_engine_goes_on(store, engine):
    c = store.create_conversation()
    turn = prepare_turn(store, c.id, "Hi", sampling=GREEDY_LONG)

    def boom(ev: EngineEvent) -> None:
        if isinstance(ev, ContentEvent | ReasoningEvent):
            raise RuntimeError("view crashed")

    with pytest.raises(RuntimeError):
        stream_turn(store, engine, turn, on_event=boom)
    assert store.get_message(turn.assistant_message.id).status == "interrupted"
    _, out = scripted(store, engine, c.id, "Still there?", reply="Yes.")
    assert out.status == "done" and out.content == "Yes."


def test_disk_full_during_a_reply_is_reported_and_the_text_is_returned(store, engine):
    c = store.create_conversation()
    turn = prepare_turn(
        store,
        c.id,
        "Long answer please",
        sampling=SamplingOptions(temperature=0.0, max_tokens=2000),
    )
    pages = store.execute_raw("PRAGMA page_count")[0][0]
    store.execute_raw(f"PRAGMA max_page_count = {pages}")
    out = stream_turn(store, engine, turn, save_interval=0.0)
    assert isinstance(out.save_error, DiskFullError)
    assert out.status == "done" and len(out.content + out.reasoning) > 0
    store.execute_raw("PRAGMA max_page_count = 1073741823")
    assert store.execute_raw("PRAGMA integrity_check")[0][0] == "ok"
    # What was saved before the disk filled is intact and a prefix of the reply.
    m = store.get_message(out.assistant_message_id)
    assert out.content.startswith(m.content) and out.reasoning.startswith(m.reasoning)


def test_history_of_tool_calls_and_results():
    def msg(i, role, content="", **kw) -> StoredMessage:
        return StoredMessage(
            id=i, conversation_id=1, parent_id=i - 1 or None, role=role, content=content, **kw
        )

    path = [
        msg(1, "system", "sys"),
        msg(2, "user", "weather?"),
        msg(
            3,
            "assistant",
            "",
            reasoning="need tool",
            tool_calls=[
                {
                    "name": "functions.get_weather",
                    "arguments": '{"city":"Paris"}',
                    "constrain": "json",
                }
            ],
        ),
        msg(4, "tool", '{"sky":"blue"}', name="functions.get_weather"),
        msg(5, "assistant", "Blue sky.", status="cancelled"),
        msg(6, "assistant", "", status="error", error="boom"),
    ]
    assert harmony_history(path) == [
        Message("system", "sys"),
        Message("user", "weather?"),
        Message("assistant", "need tool", channel="analysis"),
        Message(
            "assistant",
            '{"city":"Paris"}',
            channel="commentary",
            recipient="functions.get_weather",
            content_type="json",
        ),
        Message(
            "tool",
            '{"sky":"blue"}',
            channel="commentary",
            recipient="assistant",
            name="functions.get_weather",
        ),
        Message("assistant", "Blue sky.", channel="final"),
    ]


def test_store_reopened_sees_finished_turns(engine, db_path):
    with Store.open(db_path) as s:
        c = s.create_conversation()
        scripted(s, engine, c.id, "persist me", reply="Persisted.")
    with Store.open(db_path) as s:
        assert [m.status for m in s.active_path(c.id)] == ["done", "done"]


def test_history_leaves_out_stored_tool_calls_that_are_not_objects() -> None:
    # What an import before validation let in: a turn in that chat must not crash.
    reply = StoredMessage(
        id=2, conversation_id=1, parent_id=1, role="assistant", content="ok",
        tool_calls=["junk", {"name": "functions.f", "arguments": "{}"}],
    )  # fmt: skip
    user = StoredMessage(id=1, conversation_id=1, parent_id=None, role="user", content="q")
    # The row ended in a call, so its text is the preamble the model wrote before the call
    # (commentary, in that order), not a final answer after it.
    assert harmony_history([user, reply]) == [
        Message("user", "q"),
        Message("assistant", "ok", channel="commentary"),
        Message("assistant", "{}", channel="commentary", recipient="functions.f"),
    ]
