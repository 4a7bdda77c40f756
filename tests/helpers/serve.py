"""A real ``hearth serve`` process on 127.0.0.1 for tests and benchmarks.

It loads the given GGUF in its own engine host, listens on a free port (``--port 0``) and says
where on stderr; ``ServerProcess`` waits for that line (no sleeps), keeps every stderr line for
the test to read (``wait_for_log``), and stops the server with SIGINT (then SIGKILL).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_READY = re.compile(r"Serving \S+ at (http://\S+/v1)")


class ServerProcess:
    def __init__(
        self,
        model: Path,
        home: Path,
        *args: str,
        env: dict[str, str] | None = None,
        ctx: int = 4096,
        scripts: bool = True,
        timeout: float = 60.0,
    ) -> None:
        cmd = [sys.executable, "-m", "app", "serve", "--model", str(model), "--port", "0"]
        cmd += ["--ctx", str(ctx), "--threads", "1", "--ngl", "0", *args]
        full_env = {**os.environ, "HEARTH_HOME": str(home), "PYTHONPATH": str(ROOT), **(env or {})}
        if scripts:
            full_env["HEARTH_SERVER_TEST_SCRIPTS"] = "1"
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._ended = False
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=ROOT,
            text=True,
        )
        threading.Thread(target=self._read, name="serve-stderr", daemon=True).start()
        line = self.wait_for_log(_READY, timeout)
        if line is None:
            self.close()
            raise RuntimeError("hearth serve did not start:\n" + self.log)
        match = _READY.search(line)
        assert match is not None
        self.base_url = match.group(1)
        self.port = int(self.base_url.rsplit(":", 1)[1].split("/")[0])

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    @property
    def log(self) -> str:
        with self._cond:
            return "\n".join(self.lines)

    def wait_for_log(self, pattern: str | re.Pattern[str], timeout: float = 30.0) -> str | None:
        """The first stderr line matching ``pattern`` (waiting up to ``timeout``), or None."""
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        found: list[str] = []

        def seen() -> bool:
            found[:] = [ln for ln in self.lines if rx.search(ln)][:1]
            return bool(found) or self._ended

        with self._cond:
            self._cond.wait_for(seen, timeout)
        return found[0] if found else None

    def close(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


def spell(text: str) -> list[str]:
    """A script with exactly one token per element for the tiny model: Harmony's control tokens
    as they are, everything else one character at a time (its vocabulary has every byte)."""
    from app.harmony import split_special

    out: list[str] = []
    for part, special in split_special(text):
        out.extend([part] if special else list(part))
    return out


def reply(final: str, analysis: str = "") -> str:
    """A scripted reply (Harmony text): optional reasoning, then the final answer."""
    head = f"<|channel|>analysis<|message|>{analysis}<|end|><|start|>assistant" if analysis else ""
    return f"{head}<|channel|>final<|message|>{final}<|return|>"


def call(name: str, arguments: str, analysis: str = "") -> str:
    """A scripted reply that calls function ``name`` (Harmony text, as the renderer writes it)."""
    head = f"<|channel|>analysis<|message|>{analysis}<|end|><|start|>assistant" if analysis else ""
    return (
        f"{head} to=functions.{name}<|channel|>commentary <|constrain|>json<|message|>"
        f"{arguments}<|call|>"
    )
