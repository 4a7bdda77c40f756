"""The one interface the turn path drives, whatever produces the reply.

``app.chat`` (the GUI, the CLI, the tool loop and the API server all go through it) streams a
reply from an ``Engine``: the local ``EngineClient`` (llama.cpp in the engine host process) or a
remote OpenAI-compatible server. None of them knows which it drives.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Protocol

from app.engine.events import EngineEvent, ModelInfo
from app.engine.protocol import GenerateRequest


class Engine(Protocol):
    @property
    def model_info(self) -> ModelInfo | None:
        """The loaded model, or None."""
        ...

    def stream(
        self, request: GenerateRequest, *, cancel: threading.Event | None = None
    ) -> Iterator[EngineEvent]:
        """The reply's events; the last is a DoneEvent or an ErrorEvent. A ``cancel`` event set
        before the request goes out ends it at once (done, cancelled) without generating; set
        later, ``cancel()`` must be called too. Closing the iterator early cancels the reply."""
        ...

    def cancel(self) -> None:
        """Stop the reply being streamed (from any thread); it ends with done(cancelled)."""
        ...
