""" "Answer now" and the reasoning budget, through the real engine host: the engine forces the
Harmony tokens that end the analysis and open the final channel, and the model's next events are
the answer."""

from __future__ import annotations

from app.engine.client import EngineClient, GenerateRequest
from app.engine.events import ContentEvent, DoneEvent, EngineEvent, ReasoningEvent
from app.engine.options import SamplingOptions
from app.harmony import Message, StreamParser

# Thinks for up to 3,000 sampled tokens (specials forbidden), then the script ends: without an
# interruption the reply is all thinking.
LONG_THOUGHT: list[str | int] = ["<|channel|>analysis<|message|>", 3000]


def _request(**kw: object) -> GenerateRequest:
    return GenerateRequest(
        [Message("user", "Think hard.")],
        sampling=SamplingOptions(max_tokens=4000, seed=3),
        script=list(LONG_THOUGHT),
        **kw,  # type: ignore[arg-type]
    )


def _kinds(events: list[EngineEvent]) -> list[str]:
    return [type(e).__name__ for e in events if isinstance(e, ReasoningEvent | ContentEvent)]


def test_answer_now_switches_from_thinking_to_the_answer(engine: EngineClient) -> None:
    events: list[EngineEvent] = []
    sent = False
    for ev in engine.stream(_request()):
        events.append(ev)
        if isinstance(ev, ReasoningEvent) and not sent:
            engine.answer_now()
            sent = True
    kinds = _kinds(events)
    assert kinds[0] == "ReasoningEvent" and "ContentEvent" in kinds
    first = kinds.index("ContentEvent")
    # After the forced switch the model's events are the answer, and only the answer.
    assert set(kinds[first:]) == {"ContentEvent"}
    done = events[-1]
    assert isinstance(done, DoneEvent)
    thought = "".join(e.text for e in events if isinstance(e, ReasoningEvent))
    answer = "".join(e.text for e in events if isinstance(e, ContentEvent))
    assert thought and answer
    # Nothing of the switch itself leaks into either text.
    assert "<|" not in thought and "<|" not in answer


def test_answer_now_while_answering_changes_nothing(engine: EngineClient) -> None:
    script = ["<|channel|>final<|message|>", 400]
    events: list[EngineEvent] = []
    for ev in engine.stream(
        GenerateRequest(
            [Message("user", "Answer.")],
            sampling=SamplingOptions(max_tokens=1000, seed=4),
            script=script,
        )
    ):
        events.append(ev)
        if len(events) == 1:
            engine.answer_now()
    assert set(_kinds(events)) == {"ContentEvent"}
    assert isinstance(events[-1], DoneEvent)


def test_a_reasoning_budget_ends_the_thinking_after_about_that_many_tokens(
    engine: EngineClient,
) -> None:
    events = list(engine.stream(_request(reasoning_budget=60)))
    kinds = _kinds(events)
    assert "ContentEvent" in kinds
    first = kinds.index("ContentEvent")
    assert set(kinds[first:]) == {"ContentEvent"}
    assert isinstance(events[-1], DoneEvent)
    # Unbudgeted, the script thinks for 3,000 tokens (well over 3,000 characters); with a
    # budget of 60 the thinking stopped after about that many (a batch of tokens at most over).
    thought = "".join(e.text for e in events if isinstance(e, ReasoningEvent))
    answer = "".join(e.text for e in events if isinstance(e, ContentEvent))
    assert 0 < len(thought) < 1500 < len(answer)


def test_the_switch_text_for_each_place_in_the_stream() -> None:
    p = StreamParser()
    assert p.switch_to_final() == "<|channel|>final<|message|>"  # nothing written yet
    p.feed("<|channel|>", True)
    p.feed("analysis", False)
    assert p.switch_to_final() == "<|message|><|end|><|start|>assistant<|channel|>final<|message|>"
    p.feed("<|message|>", True)
    p.feed("Let me think", False)
    assert p.in_reasoning
    assert p.switch_to_final() == "<|end|><|start|>assistant<|channel|>final<|message|>"
    p.feed("<|end|>", True)
    assert p.switch_to_final() == "<|start|>assistant<|channel|>final<|message|>"
    for tok, special in (
        ("<|start|>", True),
        ("assistant", False),
        ("<|channel|>", True),
        ("final", False),
        ("<|message|>", True),
        ("The answer", False),
    ):
        p.feed(tok, special)
    assert not p.in_reasoning and p.switch_to_final() == ""
