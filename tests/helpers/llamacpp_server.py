"""llama-cpp-python's own OpenAI-compatible server (``python -m llama_cpp.server``, its
``[server]`` extra) on 127.0.0.1 with a GGUF, for the remote backend's tests and bench.

Nobody here wrote it: it is the independent server the remote backend must work with. It has
no reasoning parser, so gpt-oss's raw Harmony text (control tokens included) arrives in
``content``. Its ``grammar`` request field (GBNF, with ``<|token|>`` for control tokens) makes the
tiny model write a known reply: ``harmony_grammar`` builds one.

    with LlamaCppServer(model) as server:
        server.url  # http://127.0.0.1:PORT/v1
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

_READY = re.compile(r"Uvicorn running on (https?)://[^:]+:(\d+)")
MODEL_ALIAS = "tiny-gpt-oss"


def require_server_extra() -> None:
    """Skip (naming what to install) where llama-cpp-python's [server] extra is missing."""
    for mod in ("fastapi", "sse_starlette", "starlette_context", "pydantic_settings"):
        pytest.importorskip(mod, reason="llama-cpp-python[server] is not installed")


def harmony_grammar(raw: str) -> str:
    """A GBNF grammar that makes the model write exactly ``raw`` (Harmony text): control tokens
    as tokens, everything else as literal text."""
    from app.harmony import split_special

    parts = [part if special else json.dumps(part) for part, special in split_special(raw)]
    return "root ::= " + " ".join(parts)


class LlamaCppServer:
    def __init__(
        self,
        model: Path,
        *args: str,
        certfile: str | None = None,
        keyfile: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        require_server_extra()
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model)]
        cmd += ["--host", "127.0.0.1", "--port", "0", "--model_alias", MODEL_ALIAS]
        cmd += ["--n_ctx", "4096", "--n_threads", "1", "--n_threads_batch", "1", *args]
        if certfile and keyfile:
            cmd += ["--ssl_certfile", certfile, "--ssl_keyfile", keyfile]
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._ended = False
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            text=True,
            errors="replace",
        )
        threading.Thread(target=self._read, name="llamacpp-stderr", daemon=True).start()
        match: list[re.Match[str]] = []

        def ready() -> bool:
            match[:] = [m for m in map(_READY.search, self.lines) if m][:1]
            return bool(match) or self._ended

        with self._cond:
            self._cond.wait_for(ready, timeout)
        if not match:
            self.close()
            raise RuntimeError("llama_cpp.server did not start:\n" + self.log)
        scheme, port = match[0].group(1), int(match[0].group(2))
        self.port = port
        self.url = f"{scheme}://127.0.0.1:{port}/v1"

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    @property
    def log(self) -> str:
        with self._cond:
            return "\n".join(self.lines[-80:])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self) -> LlamaCppServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
