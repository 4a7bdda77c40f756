"""Engine hosts for tests: a client started under its own HEARTH_HOME, a reply collected, scripted
replies for a turn's requests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from app.engine.client import EngineClient, GenerateRequest
from app.engine.events import EngineEvent


def start_client(home: Path) -> EngineClient:
    # Module-scoped clients start before the per-test HEARTH_HOME exists: give them their own.
    client = EngineClient(env={**os.environ, "HEARTH_HOME": str(home)})
    client.start()
    return client


def collect(client: EngineClient, request: GenerateRequest) -> list[EngineEvent]:
    return list(client.stream(request))


def script_hook(*replies: str) -> Any:
    """A ``before_send`` hook that gives each request of a turn the next scripted reply; the
    requests as sent are in its ``sent`` list."""
    queue = list(replies)
    sent: list[GenerateRequest] = []

    def hook(request: GenerateRequest) -> None:
        request.script = queue.pop(0)
        sent.append(request)

    hook.sent = sent  # type: ignore[attr-defined]
    return hook
