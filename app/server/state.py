"""What every endpoint shares: the configuration, the queued engine, the model's names, counters.

Model names: the loaded model is served under its file name without ``.gguf`` (``GET /v1/models``
lists it first). A request may name it by that id, the file name, its path, the name inside the
GGUF or the library's id, case-insensitively, with ``:`` for ``-`` (Ollama's ``gpt-oss:20b``) and
any shorter prefix that ends at a dash (``gpt-oss-20b`` for ``gpt-oss-20b-mxfp4``). Installed
models that are not loaded are listed too; asking for one says how to load it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import __version__
from app.engine.backend import Engine
from app.engine.events import ModelInfo
from app.engine.protocol import GenerateRequest
from app.server.errors import APIError

log = logging.getLogger("hearth.server")

MB = 1024 * 1024
# A testing aid: set to 1 (the server's tests do; nothing else should), a request body's
# "hearth_script" forces the engine's tokens.
TEST_SCRIPTS_ENV = "HEARTH_SERVER_TEST_SCRIPTS"


def scripts_allowed() -> bool:
    return os.environ.get(TEST_SCRIPTS_ENV) == "1"


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8321
    api_key: str | None = None
    cors_origins: list[str] = field(default_factory=list)
    max_body_bytes: int = 32 * MB
    verbose: bool = False  # log request and reply text
    keep_responses: int = 200  # /v1/responses kept for previous_response_id (oldest dropped)
    # Testing aids, off in production: ``"hearth_script"`` and ``"hearth_suppress_stop"`` in a
    # request body are passed to the engine (forced tokens; a reply that runs to max_tokens);
    # ``before_send`` sees each request (app.chat.testaid).
    allow_scripts: bool = False
    before_send: Callable[[GenerateRequest], None] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"


def _norm(name: str) -> str:
    return name.strip().lower().replace(":", "-").removesuffix(".gguf")


class ServerState:
    def __init__(self, engine: Engine, config: ServerConfig) -> None:
        self.engine = engine
        self.config = config
        self.started = int(time.time())
        self.fingerprint = f"hearth-{__version__}"
        self._lock = threading.Lock()
        self.requests = 0  # API requests answered or under way since the start
        self._listeners: list[Callable[[int], None]] = []

    # -- counting (the app's status line) ------------------------------------------------------

    def count_request(self) -> None:
        with self._lock:
            self.requests += 1
            n = self.requests
        for fn in list(self._listeners):
            try:
                fn(n)
            except Exception:
                log.exception("request listener failed")

    def add_listener(self, fn: Callable[[int], None]) -> None:
        self._listeners.append(fn)

    # -- models --------------------------------------------------------------------------------

    def info(self) -> ModelInfo:
        info = self.engine.model_info
        if info is None:
            raise APIError(
                503,
                "No model is loaded. Load a model in Hearth (or start `hearth serve --model "
                "NAME`) and try again.",
                code="model_not_loaded",
            )
        return info

    @staticmethod
    def model_id(info: ModelInfo) -> str:
        return Path(info.path).name.removesuffix(".gguf")

    def aliases(self, info: ModelInfo) -> set[str]:
        p = Path(info.path)
        names = {self.model_id(info), p.name, str(p), info.name}
        return {_norm(n) for n in names if n}

    def resolve_model(self, name: str) -> str:
        """The served id for ``name``; 404 when Hearth has no such model."""
        info = self.info()
        served = self.model_id(info)
        wanted = _norm(name)
        # A shorter name that ends at a dash ("gpt-oss-20b" for "gpt-oss-20b-mxfp4"), but not a
        # single word ("gpt"), which would match far too much.
        prefix = "-" in wanted and _norm(served).startswith(wanted + "-")
        if wanted in self.aliases(info) or prefix:
            return served
        installed = [m for m in self.installed() if wanted in m["aliases"]]
        if installed:
            raise APIError(
                400,
                f"The model '{name}' is installed but not loaded: Hearth serves one model at a "
                f"time, and '{served}' is loaded. Load '{name}' in Hearth (or restart "
                f"`hearth serve --model {name}`), or ask for '{served}'.",
                param="model",
                code="model_not_loaded",
            )
        raise APIError(
            404,
            f"The model '{name}' does not exist here. This server serves '{served}' "
            "(GET /v1/models lists it).",
            param="model",
            code="model_not_found",
        )

    def installed(self) -> list[dict[str, Any]]:
        """Installed gpt-oss models (their ids and names)."""
        from app.hub.installed import ModelLibrary

        out = []
        try:
            models = ModelLibrary().models()
        except Exception:  # a broken library folder must not break /v1/models
            log.exception("listing installed models failed")
            return []
        for m in models:
            if not m.ok or m.info is None or m.info.architecture != "gpt-oss":
                continue
            mid = m.path.name.removesuffix(".gguf")
            aliases = {_norm(x) for x in (mid, m.id, m.path.name, str(m.path), m.info.name) if x}
            out.append({"id": mid, "path": str(m.path), "aliases": aliases})
        return out

    def model_entries(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        info = self.engine.model_info
        loaded_path = None
        if info is not None:
            loaded_path = str(Path(info.path).resolve())
            entries.append(self._entry(self.model_id(info), True, info.n_ctx))
        for m in self.installed():
            if str(Path(m["path"]).resolve()) != loaded_path:
                entries.append(self._entry(m["id"], False, None))
        return entries

    def _entry(self, mid: str, loaded: bool, n_ctx: int | None) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "id": mid,
            "object": "model",
            "created": self.started,
            "owned_by": "hearth",
            "loaded": loaded,
        }
        if n_ctx:
            entry["context_length"] = n_ctx
        return entry

    # -- requests ------------------------------------------------------------------------------

    def prepare(self, request: GenerateRequest, body: dict[str, Any]) -> None:
        """The limits no client set, and the testing aids when enabled."""
        info = self.info()
        if request.sampling.max_tokens <= 0:
            request.sampling.max_tokens = max(1, info.n_ctx)  # until the context is full
        if self.config.before_send is not None:
            self.config.before_send(request)
        if self.config.allow_scripts:
            if "hearth_script" in body:
                request.script = body["hearth_script"]
            request.suppress_stop = body.get("hearth_suppress_stop") is True  # a benchmark aid
