"""Bad input gets OpenAI's error JSON with the right status, never a 500 or a stack trace; the
server's safety defaults (API key, web pages, other addresses)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.helpers.serve import ROOT, ServerProcess, reply

KEY = "s3cret-key"
PAGE = "http://localhost:3000"


def raw(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    text = data.decode()
    assert "Traceback" not in text
    return resp.status, json.loads(text)


def post(port: int, body: Any, **headers: str) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json", **headers}
    return raw(port, "POST", "/v1/chat/completions", data, hdrs)


def error_of(status: int, body: dict[str, Any], expected: int) -> dict[str, Any]:
    assert status == expected, body
    err = body["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["message"]
    return dict(err)


GOOD: dict[str, Any] = {"model": "tiny-gpt-oss", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b'{"model": "tiny-gpt-oss", "messages": [', None),
        (b"", None),
        (b"[1, 2]", None),
        ({**GOOD, "max_tokens": "100"}, "max_tokens"),
        ({**GOOD, "temperature": 9}, "temperature"),
        ({**GOOD, "messages": "hi"}, "messages"),
        ({**GOOD, "messages": []}, "messages"),
        ({**GOOD, "messages": [{"role": "wizard", "content": "x"}]}, "messages[0].role"),
        ({**GOOD, "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"messages": GOOD["messages"]}, "model"),
        ({**GOOD, "n": 2}, "n"),
        ({**GOOD, "stream": "yes"}, "stream"),
        ({**GOOD, "stop": [1]}, "stop"),
        ({**GOOD, "tools": [{"type": "function", "function": {"name": "bad name!"}}]}, None),
        ({**GOOD, "tool_choice": {"type": "function", "function": {"name": "nope"}}}, None),
        (
            {
                **GOOD,
                "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}],
            },
            "messages[0].content[0]",
        ),
        ({**GOOD, "response_format": {"type": "json_schema", "json_schema": {"schema": 3}}}, None),
    ],
)
def test_bad_requests_are_400(server: ServerProcess, body: Any, param: str | None) -> None:
    err = error_of(*post(server.port, body), 400)
    assert err["type"] == "invalid_request_error"
    if param is not None:
        assert err["param"] == param


def test_unknown_model_is_404(server: ServerProcess) -> None:
    for name in ("gpt-4o", "tiny", "tiny-gpt-oss-120b"):
        err = error_of(*post(server.port, {**GOOD, "model": name}), 404)
        assert err["code"] == "model_not_found" and "tiny-gpt-oss" in err["message"]
    # Other spellings of the loaded model are accepted.
    for name in ("tiny-gpt-oss.gguf", "TINY-GPT-OSS", "tiny-gpt"):
        status, _ = post(server.port, {**GOOD, "model": name, "hearth_script": reply("ok")})
        assert status == 200, name


def test_prompt_too_long_is_400_with_the_numbers(server: ServerProcess) -> None:
    long = {**GOOD, "messages": [{"role": "user", "content": "word " * 1000}]}
    for stream in (False, True):  # a stream that fails at once is an HTTP error too
        err = error_of(*post(server.port, {**long, "stream": stream}), 400)
        assert err["code"] == "context_length_exceeded"
        assert "4,096" in err["message"] and "tokens" in err["message"]


def test_paths_and_methods(server: ServerProcess) -> None:
    error_of(*raw(server.port, "GET", "/v1/nothing"), 404)
    error_of(*raw(server.port, "GET", "/v1/chat/completions"), 405)


def test_web_pages_are_refused(server: ServerProcess) -> None:
    err = error_of(*post(server.port, GOOD, Origin="https://evil.example"), 403)
    assert "--cors-origin" in err["message"]
    err = error_of(*post(server.port, GOOD, Host="evil.example:80"), 403)


@pytest.fixture(scope="module")
def keyed(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("keyed")
    # A second gpt-oss model installed (in Hearth's own folder) but not loaded.
    (home / "data" / "models").mkdir(parents=True)
    shutil.copy(tiny_model, home / "data" / "models" / "other-gpt-oss.gguf")
    proc = ServerProcess(
        tiny_model,
        home,
        "--max-body-mb",
        "1",
        "--cors-origin",
        PAGE,
        env={"HEARTH_API_KEY": KEY},
    )
    yield proc
    assert proc.close() == 0, proc.log


def test_api_key(keyed: ServerProcess) -> None:
    err = error_of(*post(keyed.port, GOOD), 401)
    assert err["code"] == "invalid_api_key"
    error_of(*post(keyed.port, GOOD, Authorization="Bearer wrong"), 401)
    ok = openai.OpenAI(base_url=keyed.base_url, api_key=KEY, max_retries=0)
    r = ok.chat.completions.create(
        model="tiny-gpt-oss", messages=GOOD["messages"], extra_body={"hearth_script": reply("in")}
    )
    assert r.choices[0].message.content == "in"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=keyed.base_url, api_key="nope", max_retries=0).models.list()


def test_installed_models_are_listed_and_named(keyed: ServerProcess) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    status, body = raw(keyed.port, "GET", "/v1/models", headers=auth)
    assert status == 200
    assert [(m["id"], m["loaded"]) for m in body["data"]] == [
        ("tiny-gpt-oss", True),
        ("other-gpt-oss", False),
    ]
    err = error_of(*post(keyed.port, {**GOOD, "model": "other-gpt-oss"}, **auth), 400)
    assert err["code"] == "model_not_loaded" and "hearth serve --model" in err["message"]


def test_body_over_the_limit_is_413(keyed: ServerProcess) -> None:
    big = {**GOOD, "messages": [{"role": "user", "content": "x" * (2 * 1024 * 1024)}]}
    err = error_of(*post(keyed.port, big, Authorization=f"Bearer {KEY}"), 413)
    assert "1 MB" in err["message"]


def test_allowed_page_gets_cors(keyed: ServerProcess) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", keyed.port, timeout=60)
    conn.request(
        "OPTIONS",
        "/v1/chat/completions",
        headers={
            "Origin": PAGE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    resp = conn.getresponse()
    resp.read()
    conn.close()
    assert resp.status == 200
    assert resp.getheader("Access-Control-Allow-Origin") == PAGE
    status, body = post(
        keyed.port,
        {**GOOD, "hearth_script": reply("from a page")},
        Origin=PAGE,
        Authorization=f"Bearer {KEY}",
    )
    assert status == 200 and body["choices"][0]["message"]["content"] == "from a page"
    error_of(*post(keyed.port, GOOD, Origin="http://localhost:4000"), 403)


def test_other_addresses_need_a_key(tiny_model: Path, tmp_path: Path) -> None:
    env = {**os.environ, "HEARTH_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    env.pop("HEARTH_API_KEY", None)
    cmd = [sys.executable, "-m", "app", "serve", "--host", "0.0.0.0", "--model", str(tiny_model)]
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--api-key" in done.stderr and "Traceback" not in done.stderr
