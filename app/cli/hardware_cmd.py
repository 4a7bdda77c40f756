"""``hearth hardware``: what this computer offers llama.cpp (memory, cores, GPUs)."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hardware", help="memory, CPU cores and GPUs that llama.cpp can use")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.hub import hardware
    from app.hub.catalog import recommend

    hw = hardware.detect()
    if args.json:
        json.dump(hw.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(hw.describe())
    entry, p = recommend(hw)
    print(f"\nRecommended: {entry.title} — {p.summary}")
    return 0
