"""Many clients on one engine: each gets its own whole answer, in turn; a client that goes away
stops its reply (while generating or while waiting) and frees the engine for the next."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.helpers.serve import ServerProcess, reply

USER = [{"role": "user", "content": "Who are you?"}]


def test_eight_clients_at_once(server: ServerProcess) -> None:
    results: dict[int, str] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def one(k: int) -> None:
        try:
            client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
            start.wait(30)
            stream = client.chat.completions.create(
                model="tiny-gpt-oss",
                messages=USER,
                stream=True,
                extra_body={"hearth_script": reply(f"I am client {k}, " * 20, analysis=f"c{k}")},
            )
            results[k] = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=one, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert results == {k: f"I am client {k}, " * 20 for k in range(8)}
    # They waited for each other (one generation at a time) and said so in the log.
    assert server.wait_for_log(r"waits for the engine: position [1-7]") is not None


LONG = 20_000  # tokens: many seconds of reply, unless it is stopped


@pytest.fixture(scope="module")
def long_server(
    long_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    proc = ServerProcess(long_model, tmp_path_factory.mktemp("long"), ctx=32768)
    yield proc
    assert proc.close() == 0, proc.log


def _long(client: openai.OpenAI, **kw: Any) -> Any:
    return client.chat.completions.create(
        model="tiny-long",
        messages=USER,
        max_tokens=LONG,
        extra_body={"hearth_script": reply("x" * LONG)},  # one token per character
        **kw,
    )


def test_disconnect_mid_stream_frees_the_engine(long_server: ServerProcess) -> None:
    server = long_server
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    stream = _long(client, stream=True)
    first_id = None
    for n, chunk in enumerate(stream):
        first_id = chunk.id
        if n == 3:
            break
    stream.close()  # the client goes away mid-reply
    # The next request runs (it could not while the first still held the engine), and the log
    # says the first was stopped long before its end.
    r = client.chat.completions.create(
        model="tiny-long", messages=USER, extra_body={"hearth_script": reply("next")}
    )
    assert r.choices[0].message.content == "next"
    line = server.wait_for_log(rf"{first_id} stopped after \d+ generated tokens", 30)
    assert line is not None, server.log
    match = re.search(r"stopped after (\d+)", line)
    assert match is not None and int(match.group(1)) < LONG


def test_disconnect_while_waiting_leaves_the_queue(long_server: ServerProcess) -> None:
    server = long_server
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    holder = _long(client, stream=True)
    next(iter(holder))  # generating now
    impatient = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=1.0)
    try:
        impatient.chat.completions.create(
            model="tiny-long", messages=USER, extra_body={"hearth_script": reply("never")}
        )
        raise AssertionError("the request should have waited behind the long one")
    except openai.APITimeoutError:
        pass  # it gave up while queued
    assert server.wait_for_log(r"left the queue \(cancelled\)", 30) is not None
    holder.close()
    r = client.chat.completions.create(
        model="tiny-long", messages=USER, extra_body={"hearth_script": reply("after")}
    )
    assert r.choices[0].message.content == "after"
