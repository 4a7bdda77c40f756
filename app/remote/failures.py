"""What went wrong with a remote server, as an ``ErrorEvent`` kind and a sentence for the user.

Kinds (for code; the window and ``hearth chat --jsonl`` show the message):
``unreachable`` (no connection), ``tls`` (certificate or handshake), ``auth`` (401/403),
``unknown_model``, ``not_found`` (wrong URL), ``busy`` (429/503 after honouring Retry-After),
``bad_request`` / ``context_overflow`` (400/422), ``server_error`` (5xx), ``connection_lost``
(cut mid-reply), ``stalled`` (no bytes for N s), ``bad_response`` (not an OpenAI stream).

Every message goes through ``redact`` so an API key a server echoes back never reaches the
window, a log or a saved chat.
"""

from __future__ import annotations

import email.utils
import json
import ssl
import time
from typing import Any

from app.engine.events import ErrorEvent

MAX_SERVER_TEXT = 300  # characters of a server's own error message quoted to the user


def redact(text: str, secret: str | None) -> str:
    if secret and len(secret) >= 4:
        text = text.replace(secret, "***")
    return text


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); None if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def server_message(body: bytes) -> str:
    """The server's own explanation from an error body (OpenAI's ``{"error": {"message"}}``,
    FastAPI's ``{"detail"}``, Ollama's ``{"error": "..."}``), shortened; "" when none."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data: Any = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data.get("message")))
        if isinstance(err, dict):
            err = err.get("message") or err.get("msg") or err.get("type")
        if isinstance(err, list) and err and isinstance(err[0], dict):
            err = err[0].get("msg")
        if err:
            text = str(err)
    elif data is not None:
        text = str(data)
    if text.lstrip().startswith("<"):  # an HTML error page from a proxy: no use to the user
        return ""
    # llama-cpp-python's server appends a traceback to the message: keep the first paragraph.
    text = text.split("\n\n", 1)[0].strip()
    if len(text) > MAX_SERVER_TEXT:
        text = text[: MAX_SERVER_TEXT - 1].rstrip() + "…"
    return text


class Explain:
    """Messages for one connection (its name and address appear in each)."""

    def __init__(self, name: str, base_url: str, model: str, secret: str | None = None) -> None:
        self.name, self.base_url, self.model, self.secret = name, base_url, model, secret

    def event(self, kind: str, message: str) -> ErrorEvent:
        return ErrorEvent(kind, redact(message, self.secret))

    @property
    def where(self) -> str:
        return f"'{self.name}' ({self.base_url})"

    # -- before the reply --------------------------------------------------------------------

    def connect_failed(self, exc: BaseException) -> ErrorEvent:
        cert = _find(exc, ssl.SSLCertVerificationError)
        if cert is not None:
            reason = getattr(cert, "verify_message", "") or str(cert)
            return self.event(
                "tls",
                f"The certificate of {self.where} could not be verified ({reason}). Hearth always "
                "checks it. If the server uses a certificate from your own CA, set that CA's "
                f"file: `hearth remotes add {self.name} URL --ca-bundle CA.pem`.",
            )
        tls = _find(exc, ssl.SSLError)
        if tls is not None:
            return self.event(
                "tls",
                f"The secure connection to {self.where} failed ({tls.reason or tls}). Check that "
                "the address starts with https:// only if the server speaks TLS on that port.",
            )
        if _is_timeout(exc):
            return self.event(
                "unreachable",
                f"{self.where} did not answer in time. Check that the server is running and "
                "reachable from here (for an SSH tunnel: that it is open).",
            )
        return self.event(
            "unreachable",
            f"Cannot reach {self.where}: {_reason(exc)}. Check that the server is running and "
            "the address is right (for an SSH tunnel: that it is open).",
        )

    def status(
        self, code: int, body: bytes, models: list[str] | None = None, waited: float = 0.0
    ) -> ErrorEvent:
        said = server_message(body)
        quoted = f" The server said: “{said.rstrip('.')}”." if said else ""
        if code in (401, 403):
            return self.event(
                "auth",
                f"{self.where} refused the API key ({code}).{quoted} Set the right key: "
                f"`hearth remotes add {self.name} URL --api-key-stdin`, or Connect to a server… "
                "in the models dialog.",
            )
        if code == 404 and (models is not None or "model" in said.lower()):
            known = f" It has: {', '.join(models)}." if models else ""
            return self.event(
                "unknown_model",
                f"{self.where} has no model '{self.model}'.{known} Pick one of its models "
                f"(`hearth remotes add {self.name} URL --model NAME`).",
            )
        if code in (404, 405):
            return self.event(
                "not_found",
                f"{self.base_url}/chat/completions does not exist ({code}). Is this an "
                "OpenAI-compatible server? The address usually ends in /v1.",
            )
        if code in (429, 503):
            after = f" after waiting {waited:.0f} s" if waited >= 1 else ""
            return self.event(
                "busy",
                f"{self.where} is busy ({code}){after}.{quoted} Try again in a moment.",
            )
        if code in (400, 413, 422):
            low = said.lower()
            if "context" in low and ("length" in low or "token" in low):
                return self.event(
                    "context_overflow",
                    f"The chat is too long for the model on {self.where}.{quoted} Start a new "
                    "chat, or delete or shorten earlier messages.",
                )
            return self.event(
                "bad_request",
                f"{self.where} refused the request ({code}).{quoted}",
            )
        return self.event(
            "server_error",
            f"{self.where} failed ({code}).{quoted} Try again; if it keeps failing, check the "
            "server's log.",
        )

    def retry_too_long(self, code: int, seconds: float) -> ErrorEvent:
        return self.event(
            "busy",
            f"{self.where} is busy ({code}) and asks to wait {seconds:.0f} s. Try again later.",
        )

    # -- during the reply --------------------------------------------------------------------

    def stalled(self, seconds: float, started: bool) -> ErrorEvent:
        return self.event(
            "stalled",
            f"{self.where} sent nothing for {seconds:g} s; Hearth stopped waiting."
            f"{_kept(started)} Try again; a busy server or a very long chat may need a longer wait "
            f"(`hearth remotes add {self.name} URL --stall-timeout SECONDS`).",
        )

    def lost(self, exc: BaseException | None, started: bool) -> ErrorEvent:
        why = f" ({_reason(exc)})" if exc is not None else ""
        return self.event(
            "connection_lost",
            f"The connection to {self.where} was lost mid-reply{why}.{_kept(started)} Check the "
            "network and send again (or Regenerate).",
        )

    def malformed(self, what: str, started: bool) -> ErrorEvent:
        return self.event(
            "bad_response",
            f"{self.where} sent something that is not an OpenAI chat stream ({what})."
            f"{_kept(started)} Is the address that of an OpenAI-compatible /v1 API?",
        )

    def server_said(self, text: str, started: bool) -> ErrorEvent:
        return self.event(
            "server_error",
            f"{self.where} stopped the reply with an error: “{server_message(text.encode())}”."
            f"{_kept(started)} Try again; if it keeps failing, check the server's log.",
        )


def _kept(started: bool) -> str:
    return " What arrived is kept." if started else ""


def _find(exc: BaseException | None, kind: type[BaseException]) -> Any:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, kind):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def _is_timeout(exc: BaseException) -> bool:
    return _find(exc, TimeoutError) is not None or "Timeout" in type(exc).__name__


def _reason(exc: BaseException) -> str:
    if "peer closed connection" in str(exc):  # h11's words for a body cut short
        return "the server closed the connection"
    os_error = _find(exc, OSError)
    if isinstance(os_error, OSError) and os_error.strerror:
        return os_error.strerror.lower()
    text = str(exc).strip()
    return text[:200] if text else type(exc).__name__
