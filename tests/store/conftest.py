"""Store fixtures: a real SQLite file in the test's own HEARTH_HOME."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import paths
from app.store import Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db_path(hearth_home: Path) -> Path:
    return paths.database_path()


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    s = Store.open(db_path)
    yield s
    s.close()


def run_unprivileged(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` in a child without root's power to ignore file permissions.

    Tests run as root in CI containers, where chmod means nothing; dropping every capability
    (setpriv) makes the permission bits apply again, as for a normal user."""
    cmd = [sys.executable, "-c", code, *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: file permissions cannot be tested")
        cmd = [setpriv, "--bounding-set=-all", "--inh-caps=-all", *cmd]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
