"""The engine's one error type, importable without llama.cpp.

The engine host raises it where llama.cpp or a request fails; the client raises it where the host
is gone or refused a command. ``kind`` is for code (``engine_died``, ``context_overflow``,
``bad_request``, ``out_of_memory``, ``load_failed``, ...), ``message`` is a sentence for the user
that names the problem and the way out.
"""

from __future__ import annotations


class EngineError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
