"""A testing aid for commands run as processes: scripted replies from a file.

Tests of ``hearth chat`` (and other commands that run turns) cannot reach into the process to
set a request's ``script``; they point ``HEARTH_TEST_SCRIPT_FILE`` at a JSON list of scripts (each
a string of Harmony text with special tokens, or a list of vocabulary tokens) and every request
the process sends takes the next one, in order. Nothing else sets the variable; without it the
hook is None and requests are sampled as usual.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from app.engine.protocol import GenerateRequest

ENV = "HEARTH_TEST_SCRIPT_FILE"


class ScriptQueue:
    def __init__(self, scripts: list[Any]) -> None:
        self._scripts = list(scripts)
        self._lock = threading.Lock()

    def __call__(self, request: GenerateRequest) -> None:
        with self._lock:
            if self._scripts:
                request.script = self._scripts.pop(0)


def hook_from_env() -> ScriptQueue | None:
    path = os.environ.get(ENV)
    if not path:
        return None
    scripts = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(scripts, list):
        raise ValueError(f"{ENV} must name a JSON list of scripts")
    return ScriptQueue(scripts)
