"""CPU cores, for the engine's thread count and the hardware report (one answer for both)."""

from __future__ import annotations

import os
import subprocess
import sys


def _sysctl_int(name: str) -> int:
    try:
        out = subprocess.run(
            ["sysctl", "-n", name], capture_output=True, text=True, timeout=5, check=False
        ).stdout.strip()
    except OSError:
        return 0
    return int(out) if out.isdigit() else 0


def _linux_physical() -> int:
    cores: set[tuple[str, str]] = set()
    phys = core = ""
    with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
        for line in f:
            if line.startswith("physical id"):
                phys = line.split(":")[1].strip()
            elif line.startswith("core id"):
                core = line.split(":")[1].strip()
            elif not line.strip():
                if core:
                    cores.add((phys, core))
                phys = core = ""
    if core:
        cores.add((phys, core))
    return len(cores)


def cpu_cores() -> tuple[int, int]:
    """(physical, logical) cores this process may use. llama.cpp generates fastest with one
    thread per physical core; hyper-threads only contend."""
    logical = os.cpu_count() or 1
    physical = 0
    try:
        if sys.platform.startswith("linux"):
            physical = _linux_physical()
        elif sys.platform == "darwin":
            physical = _sysctl_int("hw.physicalcpu")
    except (OSError, ValueError, IndexError):
        physical = 0
    # Containers often list every host core in cpuinfo but allow fewer: never exceed usable ones.
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else logical
    physical = min(physical or logical, usable)
    return max(1, physical), max(1, min(logical, usable))


def generation_threads() -> int:
    """Threads for llama.cpp: the physical cores, or on Apple Silicon its performance cores
    (efficiency cores slow every step down to their pace)."""
    if sys.platform == "darwin":
        perf = _sysctl_int("hw.perflevel0.physicalcpu")
        if perf:
            return perf
    return cpu_cores()[0]
