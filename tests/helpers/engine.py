"""Engine hosts for tests: a client started under its own HEARTH_HOME, a reply collected."""

from __future__ import annotations

import os
from pathlib import Path

from app.engine.client import EngineClient, GenerateRequest
from app.engine.events import EngineEvent


def start_client(home: Path) -> EngineClient:
    # Module-scoped clients start before the per-test HEARTH_HOME exists: give them their own.
    client = EngineClient(env={**os.environ, "HEARTH_HOME": str(home)})
    client.start()
    return client


def collect(client: EngineClient, request: GenerateRequest) -> list[EngineEvent]:
    return list(client.stream(request))
