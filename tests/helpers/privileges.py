"""Run a child without root's power to ignore file permissions.

Tests run as root in CI containers, where chmod means nothing; dropping every capability
(setpriv) makes the permission bits apply again, as for a normal user."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def unprivileged(cmd: list[str]) -> list[str]:
    """``cmd`` run without root's power to ignore file permissions (unchanged for a normal user;
    the test is skipped as root without setpriv)."""
    if os.geteuid() != 0:
        return cmd
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot be tested")
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all", *cmd]


def run_unprivileged(cmd: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` unprivileged from the repository (its modules importable, Qt offscreen)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        unprivileged(cmd), capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout
    )


def run_python_unprivileged(
    code: str, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` (with ``args`` in sys.argv) in a fresh, unprivileged interpreter."""
    return run_unprivileged([sys.executable, "-c", code, *args], timeout=timeout)
