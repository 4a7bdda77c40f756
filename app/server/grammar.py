"""``response_format`` and a forced ``tool_choice`` as llama.cpp grammars (GBNF).

- JSON output (``json_object``, ``json_schema``): a grammar for the JSON text, which the engine
  applies from the final channel's ``<|message|>`` on (``grammar_mode="final"``): the model still
  thinks freely first, and only its answer is held to the schema.
- A forced call (``tool_choice`` "required" or a named function): a grammar for the whole reply
  (``grammar_mode="call"``): an optional analysis message, then a call header naming one of the
  allowed functions, then arguments that match that function's parameters. Harmony's control
  tokens are written as token references (``<|channel|>``), so they can only be matched by the
  real control token, never by text that spells it.

JSON Schema is converted by llama-cpp-python's own converter (``llama_cpp/llama_grammar.py``,
pure Python). It is loaded from its file without importing the ``llama_cpp`` package, whose
``__init__`` loads llama.cpp itself: the server process never needs the native library (the engine
host owns it).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
from functools import cache
from types import ModuleType
from typing import Any

from app.server.errors import bad_request

log = logging.getLogger("hearth.server")

ANY_OBJECT: dict[str, Any] = {"type": "object"}
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@cache
def _converter() -> ModuleType:
    spec = importlib.util.find_spec("llama_cpp")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = f"{folder}/llama_grammar.py"
        file_spec = importlib.util.spec_from_file_location("hearth_llama_grammar", path)
        if file_spec is None or file_spec.loader is None:
            continue
        module = importlib.util.module_from_spec(file_spec)
        try:
            file_spec.loader.exec_module(module)
        except OSError:  # no source file (a frozen bundle): import it the ordinary way
            continue
        return module
    import llama_cpp.llama_grammar as module  # loads llama.cpp too, but works everywhere

    return module


def _new_converter() -> Any:
    mod = _converter()
    return mod.SchemaConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)


# This converter lets a string hold raw control characters (a newline, a tab), which JSON
# forbids: a reply under it could fail to parse. llama.cpp's own converter excludes them.
_LOOSE_CHAR = r'char ::= [^"\\] |'
_JSON_CHAR = r'char ::= [^"\\\x7F\x00-\x1F] |'


def _rules(conv: Any) -> str:
    return str(conv.format_grammar()).replace(_LOOSE_CHAR, _JSON_CHAR)


def json_grammar(schema: dict[str, Any] | None, *, param: str) -> str:
    """A grammar for one JSON value matching ``schema`` (None: any JSON object)."""
    conv = _new_converter()
    try:
        resolved = conv.resolve_refs(schema if schema is not None else ANY_OBJECT, "input")
        conv.visit(resolved, "")
        return _rules(conv)
    except Exception as e:  # the converter raises bare Exceptions / KeyErrors on what it can't do
        raise bad_request(
            f"The JSON schema in '{param}' can't be enforced: {e or type(e).__name__}. "
            "Simplify the schema (local $refs, types, enums, properties, items, "
            "required and additionalProperties are supported).",
            param,
            "invalid_json_schema",
        ) from None


def _literal(text: str) -> str:
    return json.dumps(text)  # GBNF string literals use JSON's escapes


def call_grammar(functions: list[tuple[str, dict[str, Any] | None]]) -> str:
    """A whole reply that ends in a call to one of ``functions`` ((name, parameters schema)):
    an optional analysis message first, then ``to=functions.NAME``, then arguments matching its
    schema (a schema the converter can't handle falls back to any JSON object)."""
    conv = _new_converter()
    alternatives = []
    for i, (name, schema) in enumerate(functions):
        if not _NAME_RE.match(name):
            raise bad_request(f"Invalid function name {name!r}.", "tools", "invalid_value")
        rule = f"args-{i}"
        try:
            resolved = conv.resolve_refs(schema or ANY_OBJECT, f"tool-{i}")
            conv.visit(resolved, rule)
        except Exception as e:
            log.info("tool %s: parameters can't be enforced (%s); any JSON object", name, e)
            conv.visit(ANY_OBJECT, rule)
        alternatives.append(f"{_literal(name)} call-header {rule}")
    rules = [
        'root ::= analysis? " to=functions." call',
        'analysis ::= <|channel|> "analysis" <|message|> (!<|end|>)* <|end|> <|start|> "assistant"',
        'call-header ::= <|channel|> "commentary" " " <|constrain|> "json" <|message|>',
        "call ::= " + " | ".join(alternatives),
    ]
    return "\n".join(rules) + "\n" + _rules(conv)
