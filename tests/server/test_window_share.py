"""The window's Local server switch: a client and the window share the window's one engine,
taking turns through one queue (real window offscreen, real engine host, real HTTP client)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import openai

from tests.helpers.gui import harmony_reply, load, script_next, wait_reply


def test_window_and_a_client_share_one_engine(
    qtbot, window, tiny_model: Path, monkeypatch, caplog
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="hearth.engine.queue")
    monkeypatch.setenv("HEARTH_SERVER_TEST_SCRIPTS", "1")  # the client's reply is scripted
    load(qtbot, window, tiny_model)
    server = window.server
    server.port = 0  # any free port
    assert server.button.text() == "Local server: off"
    server.button.click()
    qtbot.waitUntil(lambda: server.running, timeout=10_000)
    assert server.url and server.url.startswith("http://127.0.0.1:")
    assert "0 requests" in server.button.text()

    # A client streams a long reply; while it holds the engine, the user sends a message.
    client = openai.OpenAI(base_url=server.url, api_key="x", max_retries=0)
    first_chunk = threading.Event()
    result: dict[str, Any] = {}

    def remote() -> None:
        try:
            answer = "word " * 600
            stream = client.chat.completions.create(
                model="tiny-gpt-oss",
                messages=[{"role": "user", "content": "Write a lot."}],
                stream=True,
                max_tokens=5000,
                extra_body={"hearth_script": harmony_reply(answer)},
            )
            parts = []
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    parts.append(chunk.choices[0].delta.content)
                    first_chunk.set()
            result["text"] = "".join(parts)
            result["expected"] = answer
        except BaseException as e:  # reported below
            result["error"] = e
            first_chunk.set()

    t = threading.Thread(target=remote)
    t.start()
    assert first_chunk.wait(30)
    sent = script_next(window, harmony_reply("Hello from the window."))
    window.composer.set_text("Hi")
    window.composer.submit()
    wait_reply(qtbot, window, timeout=60_000)
    t.join(60)
    assert "error" not in result, result.get("error")
    assert result["text"] == result["expected"]  # the client's reply, whole and alone
    assert len(sent) == 1
    assert window.chat.widgets[-1].data.content == "Hello from the window."
    # Both went through the one queue: the window's request waited for the client's.
    assert window.server.queue.state().served == 2
    assert "waits for the engine: position 1" in caplog.text
    qtbot.waitUntil(lambda: "1 request" in server.button.text(), timeout=5000)

    server.button.click()  # off
    assert not server.running and server.button.text() == "Local server: off"
