"""The Starlette application: routes, the API key, pages that may not call it, errors.

Safe by default: without ``--cors-origin`` a request that a web page sends (it carries an
``Origin`` header) is refused, so a site open in the user's browser can't use the local model;
when the server listens on loopback the ``Host`` must be a loopback name too (DNS rebinding).
With an API key every ``/v1`` request needs ``Authorization: Bearer KEY``.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from app.engine.backend import Engine
from app.server.chat_api import chat_completions
from app.server.errors import APIError
from app.server.responses_api import ResponseStore, create_response, get_response
from app.server.state import ServerConfig, ServerState

log = logging.getLogger("hearth.server")

_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}


def is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _Guard:
    """API key, browser pages and Host checks, before any route runs."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        error = self._check(scope)
        if error is not None:
            await error.response()(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _check(self, scope: Scope) -> APIError | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        config = self.state.config
        origin = headers.get("origin")
        if origin and origin not in config.cors_origins and "*" not in config.cors_origins:
            return APIError(
                403,
                f"Requests from web pages ({origin}) are refused. To let a page use this server, "
                f"start it with --cors-origin {origin}.",
                code="origin_not_allowed",
            )
        if is_loopback(config.host):
            host = headers.get("host", "")
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if host and not is_loopback(name):
                return APIError(
                    403,
                    f"This server answers on {config.host} only; the Host header says {host!r}.",
                    code="host_not_allowed",
                )
        if config.api_key and str(scope.get("path", "")).startswith("/v1"):
            auth = headers.get("authorization", "")
            scheme, _, token = auth.partition(" ")
            if not auth:
                return APIError(
                    401,
                    "Missing API key: send it as 'Authorization: Bearer KEY' (the key given to "
                    "hearth serve --api-key).",
                    code="invalid_api_key",
                )
            ok = scheme.lower() == "bearer" and hmac.compare_digest(
                token.strip().encode(), config.api_key.encode()
            )
            if not ok:
                return APIError(
                    401,
                    "Incorrect API key provided. Use the key given to hearth serve --api-key.",
                    code="invalid_api_key",
                )
        return None


async def list_models(request: Request) -> Response:
    state: ServerState = request.app.state.hearth
    return JSONResponse({"object": "list", "data": state.model_entries()})


async def get_model(request: Request) -> Response:
    state: ServerState = request.app.state.hearth
    wanted = request.path_params["model"]
    served = state.resolve_model(wanted)
    entry = next(e for e in state.model_entries() if e["id"] == served)
    return JSONResponse(entry)


async def root(request: Request) -> Response:
    state: ServerState = request.app.state.hearth
    info = state.engine.model_info
    return JSONResponse(
        {
            "name": "hearth",
            "version": state.fingerprint,
            "api": "/v1",
            "model": state.model_id(info) if info else None,
        }
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, APIError)
    if exc.status >= 500:
        log.warning("%s %s: %s", request.method, request.url.path, exc.message)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        err = APIError(404, f"Unknown path {request.url.path}: the API is under /v1.")
    elif exc.status_code == 405:
        err = APIError(405, f"{request.method} is not allowed on {request.url.path}.")
    else:
        err = APIError(exc.status_code, str(exc.detail))
    return err.response()


async def _crash(request: Request, exc: Exception) -> Response:
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return APIError(
        500,
        "The server failed on this request; its log has the details. Try again.",
        code="internal_error",
    ).response()


def create_app(engine: Engine, config: ServerConfig) -> tuple[Starlette, ServerState]:
    state = ServerState(engine, config)
    middleware: list[Middleware] = []
    if config.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=config.cors_origins,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=["*"],
            )
        )
    middleware.append(Middleware(_Guard, state=state))
    handlers: dict[Any, Any] = {
        APIError: _api_error,
        HTTPException: _http_error,
        Exception: _crash,
    }
    app = Starlette(
        routes=[
            Route("/", root, methods=["GET"]),
            Route("/v1/models", list_models, methods=["GET"]),
            Route("/v1/models/{model:path}", get_model, methods=["GET"]),
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/responses", create_response, methods=["POST"]),
            Route("/v1/responses/{response_id}", get_response, methods=["GET"]),
        ],
        middleware=middleware,
        exception_handlers=handlers,
    )
    app.state.hearth = state
    app.state.responses = ResponseStore(config.keep_responses)
    return app, state
