"""OpenAI's error shape: ``{"error": {"message", "type", "param", "code"}}`` with the right status.

Every failure a client can cause is an ``APIError`` raised where it is found and turned into that
JSON by the app's handler; anything else is logged and answered with a 500 in the same shape,
never with a stack trace.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "invalid_request_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    503: "server_error",
}


class APIError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type or _TYPES.get(status, "invalid_request_error")

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def bad_request(message: str, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(400, message, param=param, code=code)


# Engine error kinds (app.engine.events.ErrorEvent) -> HTTP status and OpenAI code.
_ENGINE_KINDS: dict[str, tuple[int, str]] = {
    "context_overflow": (400, "context_length_exceeded"),
    "bad_request": (400, "invalid_request"),
    "not_loaded": (503, "model_not_loaded"),
    "not_started": (503, "model_not_loaded"),
    "engine_died": (503, "engine_stopped"),
    "timeout": (503, "engine_timeout"),
}


def from_engine(kind: str, message: str) -> APIError:
    """An engine's error event as the error a client gets."""
    status, code = _ENGINE_KINDS.get(kind, (500, kind or "engine_error"))
    return APIError(status, message, code=code)
