"""``hearth inspect PATH [--json]``: what a GGUF file is, read from its header, without loading it.

Prints the architecture, size, parameter count, quantization, context length, layers and experts,
the KV cache cost per token, and whether the file is complete. A bad file gets a one-line reason
("File is truncated: 5.0 MB of 12.1 GB. The file is incomplete. ...") and exit status 1.
``--json`` prints every fact (per-layer tensor bytes included) as one JSON object, or
``{"error": {"kind": ..., "message": ...}}``.
"""

from __future__ import annotations

import argparse
import json
import sys

from app.engine.gguf_info import GGUFError, GGUFInfo, human_bytes, inspect_gguf


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("inspect", help="show what a GGUF model file is (without loading it)")
    p.add_argument("path", metavar="PATH", help="a .gguf file")
    p.add_argument("--json", action="store_true", help="print the facts as JSON")
    p.set_defaults(func=run)


def _count(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def format_info(info: GGUFInfo) -> str:
    complete = "yes" if info.file_size >= info.expected_size else "NO"
    extra = info.file_size - info.expected_size
    rows = [
        ("File", info.path),
        ("Name", info.name),
        ("Architecture", info.architecture + ("" if info.is_chat_model else " (not gpt-oss)")),
        ("GGUF version", str(info.version)),
        ("Size", f"{human_bytes(info.file_size)} ({info.file_size:,} bytes)"),
        (
            "Complete",
            f"{complete}: header declares {info.expected_size:,} bytes"
            + (f" (+{extra:,} trailing)" if extra > 0 else ""),
        ),
        ("Parameters", _count(info.parameter_count)),
        ("Quantization", f"{info.quantization} (file type {info.file_type})"),
        (
            "Tensor types",
            ", ".join(f"{t} {human_bytes(b)}" for t, b in info.tensor_types.items()),
        ),
        ("Context length", f"{info.context_length:,} tokens"),
        ("Layers", str(info.layer_count)),
        (
            "Experts",
            f"{info.expert_count} ({info.expert_used_count} used per token), "
            f"{human_bytes(info.expert_bytes)} in expert weights"
            if info.expert_count
            else "none (dense)",
        ),
        ("Attention", f"{info.head_count} heads, {info.head_count_kv} KV heads"),
        ("Sliding window", str(info.sliding_window) if info.sliding_window else "none"),
        ("KV cache", f"{human_bytes(info.kv_bytes_per_token)} per token (f16)"),
        ("Chat template", "yes" if info.has_chat_template else "no"),
        ("Vocabulary", f"{info.vocab_size:,} tokens"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def run(args: argparse.Namespace) -> int:
    try:
        info = inspect_gguf(args.path)
    except GGUFError as e:
        if args.json:
            print(json.dumps({"error": {"kind": e.kind, "message": e.message}}))
        print(f"hearth inspect: {e.message}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
    else:
        print(format_info(info))
    return 0
