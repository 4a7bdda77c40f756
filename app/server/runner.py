"""Running the server: uvicorn in the foreground (``hearth serve``) or on a thread (the app).

``check_bind`` is the safety rule: loopback is always allowed; any other address only with an
API key. ``ServerThread`` starts uvicorn on its own thread with its own event loop and stops it
cleanly (replies under way are cancelled, the port is released) when the switch is turned off.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

import uvicorn

from app.engine.backend import Engine
from app.server.app import create_app, is_loopback
from app.server.state import ServerConfig

log = logging.getLogger("hearth.server")


class BindError(Exception):
    """The server can't listen as asked (the message says why and what to do)."""


def check_bind(config: ServerConfig) -> None:
    if not is_loopback(config.host) and not config.api_key:
        raise BindError(
            f"Listening on {config.host} makes the model reachable from other computers: "
            "give an API key (--api-key KEY, or HEARTH_API_KEY) so only you can use it."
        )


def _uvicorn_config(app: object, config: ServerConfig) -> uvicorn.Config:
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=config.host,
        port=config.port,
        log_level="info" if config.verbose else "warning",
        access_log=config.verbose,
        timeout_graceful_shutdown=2,
        lifespan="off",
    )


def _bound_port(server: uvicorn.Server) -> int | None:
    for listener in getattr(server, "servers", []):
        for sock in listener.sockets:
            return int(sock.getsockname()[1])
    return None


async def _serve(server: uvicorn.Server, config: ServerConfig, ready: threading.Event) -> None:
    """Run ``server``; once it listens, put the port it got in ``config`` and set ``ready``."""
    task = asyncio.ensure_future(server.serve())
    try:
        while not server.started and not task.done():
            await asyncio.sleep(0.01)  # uvicorn has no "listening" callback
        if server.started:
            config.port = _bound_port(server) or config.port
    finally:
        ready.set()
    await task


def _bind_failed(config: ServerConfig, detail: str = "") -> BindError:
    return BindError(
        f"Could not listen on {config.host}:{config.port}"
        + (f" ({detail})" if detail else "")
        + ": the port is in use or the address is not this computer's. Choose another with "
        "--port (0 picks a free one)."
    )


def serve_forever(
    engine: Engine, config: ServerConfig, on_ready: Callable[[ServerConfig], None] | None = None
) -> None:
    """Serve until Ctrl-C (uvicorn handles the signals); ``on_ready`` once it listens."""
    check_bind(config)
    app, _state = create_app(engine, config)
    server = uvicorn.Server(_uvicorn_config(app, config))
    ready = threading.Event()

    async def main() -> None:
        waiter = asyncio.ensure_future(_serve(server, config, ready))
        while not ready.is_set() and not waiter.done():
            await asyncio.sleep(0.01)
        if server.started and on_ready is not None:
            on_ready(config)
        await waiter

    try:
        asyncio.run(main())
    except SystemExit:  # uvicorn exits when it can't bind
        pass
    if not server.started:
        raise _bind_failed(config)


class ServerThread:
    """The server on a background thread: ``start()`` waits until it listens (or failed)."""

    def __init__(self, engine: Engine, config: ServerConfig) -> None:
        check_bind(config)
        self.config = config
        app, self.state = create_app(engine, config)
        # uvicorn installs no signal handlers off the main thread: the app keeps its own.
        self._server = uvicorn.Server(_uvicorn_config(app, config))
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.error: str | None = None

    def start(self, timeout: float = 10.0) -> None:
        self._thread = threading.Thread(target=self._run, name="hearth-server", daemon=True)
        self._thread.start()
        self._ready.wait(timeout)
        if not self._server.started:
            self.stop()
            raise _bind_failed(self.config, self.error or "")

    def _run(self) -> None:
        try:
            asyncio.run(_serve(self._server, self.config, self._ready))
        except SystemExit:  # uvicorn exits when it can't bind
            self.error = "the address is taken"
        except Exception as e:
            log.exception("the server stopped")
            self.error = str(e)
        finally:
            self._ready.set()

    @property
    def url(self) -> str:
        return self.config.url

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._server.started

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving: open streams are cut (their replies stop), the port is released."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
