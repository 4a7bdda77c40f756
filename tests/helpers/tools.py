"""For the tools' tests: the real `hearth` command run as a person would (``Cli``, and the
``cli``/``visible_dir`` fixtures, registered for every test by tests/conftest.py), a chat to run
calls in, the kernels alive on the machine, the demo MCP server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO_SERVER = REPO / "tests" / "tools" / "servers" / "demo_mcp.py"


@dataclass
class Cli:
    """`hearth` run as a person would, with its own HEARTH_HOME and HOME."""

    home: Path  # HEARTH_HOME
    user_home: Path  # HOME
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        env.update(HEARTH_HOME=str(self.home), HOME=str(self.user_home), **self.extra_env)
        return env

    def run(
        self, *args: str, stdin: str | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env(),
            cwd=REPO,
            timeout=timeout,
        )

    def call_python(
        self, code: str, chat: int | None = None, timeout: float = 300
    ) -> tuple[int, dict]:
        args = ["tools", "call", "python", "--json", "-"]
        if chat is not None:
            args += ["--chat", str(chat)]
        done = self.run(*args, stdin=code, timeout=timeout)
        assert done.stdout, done.stderr
        result = json.loads(done.stdout)
        # What the model would read (shown with pytest -rP: the report quotes it).
        print(f"exit {done.returncode}, {result['status']}, {result['duration_s']:.2f} s:")
        print(result["text"][:2000])
        return done.returncode, result

    def settings(self, **python: object) -> None:
        """Write the python tool's settings (limits etc.) to this home's tools.json."""
        path = self.home / "config" / "tools.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.loads(path.read_text()) if path.exists() else {}
        section = data.setdefault("python", {})
        limits = section.setdefault("limits", {})
        for key, value in python.items():
            (limits if key in ("timeout_s", "memory_mb", "max_processes", "cpu_s") else section)[
                key
            ] = value
        path.write_text(json.dumps(data))


@pytest.fixture
def visible_dir() -> Iterator[Path]:
    """A folder *outside* /tmp (the sandbox hides /tmp wholesale, which would make a test of
    "your home and Hearth's data are hidden" pass for the wrong reason): under the repo's
    .pytest_cache (ignored by git), removed afterwards."""
    base = REPO / ".pytest_cache"
    base.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="tools-", dir=base))
    folder.chmod(0o755)  # readable like a home folder is: only the sandbox may hide it
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def cli(visible_dir: Path) -> Cli:
    home = visible_dir / "hearth"
    user_home = visible_dir / "home"
    home.mkdir(mode=0o755)
    user_home.mkdir(mode=0o755)
    return Cli(home, user_home)


def make_chat(home: Path) -> int:
    """A real conversation in this HEARTH_HOME's store (``--chat`` checks that it exists)."""
    old = os.environ.get("HEARTH_HOME")
    os.environ["HEARTH_HOME"] = str(home)
    try:
        from app.store import Store

        with Store.open() as store:
            return store.create_conversation("tools test").id
    finally:
        if old is None:
            del os.environ["HEARTH_HOME"]
        else:
            os.environ["HEARTH_HOME"] = old


def command_lines() -> dict[int, str]:
    """Every process on this machine: its pid and command line (arguments joined by spaces)."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = (Path("/proc") / pid / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        out[int(pid)] = cmd
    return out


def kernel_processes() -> list[str]:
    """Command lines of python-tool kernels alive on this machine (launcher or bwrap)."""
    return [
        f"{pid}: {cmd[:100]}"
        for pid, cmd in command_lines().items()
        if "app.tools.python.launcher" in cmd or "python-kernel" in cmd
    ]
