"""One asyncio event loop on a daemon thread, for the MCP SDK (which is async only)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def loop() -> asyncio.AbstractEventLoop:
    """The shared background loop, started on first use."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            new = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(new)
                new.call_soon(ready.set)
                new.run_forever()

            threading.Thread(target=run, name="hearth-mcp-loop", daemon=True).start()
            ready.wait()
            _loop = new
        return _loop


def submit(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    return asyncio.run_coroutine_threadsafe(coro, loop())


def wait(
    future: concurrent.futures.Future[T],
    timeout: float,
    cancel: threading.Event | None = None,
) -> T:
    """The future's result. Raises TimeoutError after ``timeout`` s and InterruptedError when
    ``cancel`` is set (the coroutine is cancelled in both cases), or the coroutine's error."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        try:
            return future.result(timeout=max(0.0, min(0.1, left) if cancel else left))
        except concurrent.futures.TimeoutError:
            if future.done():  # the coroutine's own TimeoutError
                raise
            if cancel is not None and cancel.is_set():
                future.cancel()
                raise InterruptedError from None
            if time.monotonic() >= deadline:
                future.cancel()
                raise TimeoutError from None
