"""The bytes on the wire: SSE framing as clients that parse it themselves (Codex, editors) see
it, and a long prompt's progress as comments."""

from __future__ import annotations

import http.client
import json

from tests.helpers.serve import ServerProcess, reply


def sse(port: int, path: str, body: dict[str, object]) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", path, json.dumps(body).encode(), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200
        assert resp.getheader("Content-Type", "").startswith("text/event-stream")
        return resp.read().decode()
    finally:
        conn.close()


def test_chat_stream_framing_and_prefill_comments(server: ServerProcess) -> None:
    long_prompt = "Read this carefully. " * 100  # over one 512-token chunk on the tiny model
    text = sse(
        server.port,
        "/v1/chat/completions",
        {
            "model": "tiny-gpt-oss",
            "stream": True,
            "messages": [{"role": "user", "content": long_prompt}],
            "hearth_script": reply("Done."),
        },
    )
    blocks = [b for b in text.split("\n\n") if b]
    assert blocks[-1] == "data: [DONE]"
    assert any(b.startswith(": prefill ") for b in blocks)  # the prompt's progress
    data = [json.loads(b[6:]) for b in blocks if b.startswith("data: {")]
    assert "".join(d["choices"][0]["delta"].get("content") or "" for d in data) == "Done."
    assert all(d["object"] == "chat.completion.chunk" for d in data)


def test_responses_stream_names_its_events(server: ServerProcess) -> None:
    text = sse(
        server.port,
        "/v1/responses",
        {"model": "tiny-gpt-oss", "stream": True, "input": "hi", "hearth_script": reply("Yo.")},
    )
    blocks = [b for b in text.split("\n\n") if b]
    for block in blocks:
        name, data = block.split("\n", 1)
        assert name.startswith("event: ") and data.startswith("data: ")
        payload = json.loads(data[6:])
        assert payload["type"] == name[7:]
    seqs = [json.loads(b.split("\n", 1)[1][6:])["sequence_number"] for b in blocks]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert blocks[-1].startswith("event: response.completed")
