"""Fault-injection helpers: a way to run code without root's power. (The real window fixture,
``window``, is in tests/conftest.py.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def unprivileged(cmd: list[str]) -> list[str]:
    """``cmd`` run without root's power to ignore file permissions.

    Tests run as root in CI containers, where chmod means nothing; dropping every capability
    (setpriv) makes the permission bits apply again, as for a normal user."""
    if os.geteuid() != 0:
        return cmd
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot be tested")
    return [setpriv, "--bounding-set=-all", "--inh-caps=-all", *cmd]


def run_python(code: str, *args: str, unprivileged_: bool = True, timeout: float = 120) -> str:
    """Run ``code`` in a fresh Python (without root's file powers); returns its stdout."""
    cmd = [sys.executable, "-c", code, *args]
    if unprivileged_:
        cmd = unprivileged(cmd)
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout
