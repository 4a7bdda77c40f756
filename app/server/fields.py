"""Reading a request body field by field: the right type, in range, or a 400 that names the field.

Clients send many fields Hearth has no use for (``user``, ``metadata``, ``store``...): unknown
fields are ignored, as most OpenAI-compatible servers do; a known field of the wrong type is an
error, because silently ignoring ``"max_tokens": "100"`` would surprise whoever sent it.
"""

from __future__ import annotations

import json
import math
from typing import Any

from app.server.errors import APIError, bad_request


def parse_body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise bad_request("The request body is empty: send a JSON object.")
    try:
        body = json.loads(raw)
    except UnicodeDecodeError:
        raise bad_request("The request body is not UTF-8 text.") from None
    except json.JSONDecodeError as e:
        raise bad_request(
            f"The request body is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})."
        ) from None
    except RecursionError:
        raise bad_request("The request body is nested too deeply.") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def wrong_type(param: str, want: str, value: Any) -> APIError:
    return bad_request(
        f"Invalid type for '{param}': expected {want}, but got {_kind(value)}.",
        param=param,
        code="invalid_type",
    )


def get_str(
    body: dict[str, Any], key: str, *, required: bool = False, param: str | None = None
) -> str | None:
    name = param or key
    value = body.get(key)
    if value is None:
        if required:
            raise bad_request(f"Missing required parameter: '{name}'.", name, "missing_required")
        return None
    if not isinstance(value, str):
        raise wrong_type(name, "a string", value)
    return value


def get_bool(body: dict[str, Any], key: str, default: bool = False) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise wrong_type(key, "a boolean", value)
    return value


def get_number(
    body: dict[str, Any],
    key: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    integer: bool = False,
    param: str | None = None,
) -> float | int | None:
    name = param or key
    value = body.get(key)
    if value is None:
        return None
    want = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise wrong_type(name, want, value)
    if not math.isfinite(value):
        raise bad_request(f"Invalid value for '{name}': it must be finite.", name)
    if integer:
        if not float(value).is_integer():
            raise wrong_type(name, want, value)
        value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        if lo is not None and hi is not None:
            rng = f"between {lo:g} and {hi:g}"
        elif lo is not None:
            rng = f"at least {lo:g}"
        else:
            rng = f"at most {hi:g}"
        raise bad_request(
            f"Invalid value for '{name}': {value} is out of range; it must be {rng}.",
            name,
            "invalid_value",
        )
    return value


def get_list(body: dict[str, Any], key: str, *, param: str | None = None) -> list[Any] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise wrong_type(param or key, "an array", value)
    return value


def get_dict(body: dict[str, Any], key: str, *, param: str | None = None) -> dict[str, Any] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise wrong_type(param or key, "an object", value)
    return value


def text_of(content: Any, param: str, kinds: tuple[str, ...] = ("text",)) -> str:
    """A message's content as text: a string, or an array of text parts (joined by newlines).
    Images, audio and files are refused: gpt-oss reads text only."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise wrong_type(param, "a string or an array of content parts", content)
    parts: list[str] = []
    for i, part in enumerate(content):
        where = f"{param}[{i}]"
        if isinstance(part, str):
            parts.append(part)
            continue
        if not isinstance(part, dict):
            raise wrong_type(where, "an object", part)
        kind = part.get("type")
        if kind in kinds:
            text = part.get("text")
            if not isinstance(text, str):
                raise wrong_type(f"{where}.text", "a string", text)
            parts.append(text)
        elif kind in ("image_url", "input_image", "input_audio", "input_file", "file", "image"):
            raise bad_request(
                f"'{where}' is {kind}, but gpt-oss reads text only. Send the content as text.",
                where,
                "unsupported_content",
            )
        elif kind == "refusal":
            refusal = part.get("refusal")
            parts.append(refusal if isinstance(refusal, str) else "")
        else:
            raise bad_request(
                f"Invalid content part type {kind!r} in '{where}': expected one of "
                + ", ".join(repr(k) for k in kinds)
                + ".",
                where,
                "invalid_value",
            )
    return "\n".join(parts)
