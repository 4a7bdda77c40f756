"""One Jupyter kernel process (ipykernel) in its sandbox, and running code in it.

The app starts the launcher (``app.tools.python.launcher``) through the sandbox command of
``sandbox.build_launch``, talks to it with ``jupyter_client`` over Unix sockets (Jupyter's
``ipc`` transport; the sandbox has no network, not even loopback), and kills it whole: under
bubblewrap the sandbox's PID namespace goes (its first process is killed, the kernel takes every
process it started with it), elsewhere the process group and every descendant still found.
A pipe the kernel watches makes it die with the app even after SIGKILL.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.connect import write_connection_file

from app.tools.python import sandbox
from app.tools.python.output import OutputCollector

START_TIMEOUT_S = 60.0  # a cold start on a busy two-core machine: seconds, not a minute
Outcome = Literal["ok", "raised", "timeout", "interrupted", "died"]


class KernelStartError(Exception):
    """The kernel could not start; the message is a sentence for the user."""


@dataclass
class Execution:
    outcome: Outcome
    collector: OutputCollector
    duration_s: float
    exit_detail: str = ""  # how the kernel died, when it did
    images: list[Path] = field(default_factory=list)


class Kernel:
    """A kernel for one chat folder. Not thread-safe by itself: ``KernelPool`` serialises."""

    def __init__(
        self,
        work_dir: Path,
        limits: sandbox.Limits,
        isolation: sandbox.Isolation = "sandbox",
    ) -> None:
        self.work_dir = work_dir
        self.limits = limits
        self.isolation = isolation
        self.drive = str(work_dir)
        self.network_blocked = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._client: BlockingKernelClient | None = None
        self._runtime: Path | None = None
        self._watch_w: int | None = None
        self._sandbox_pid: int | None = None
        self._log: Any = None

    # -- life ------------------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, cancel: threading.Event | None = None) -> None:
        """Start the kernel and wait until it answers. Raises KernelStartError."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        runtime = sandbox.new_runtime_dir()
        self._runtime = runtime
        conn = runtime / "connection.json"
        transport = "tcp" if sys.platform == "win32" else "ipc"
        ip = "127.0.0.1" if transport == "tcp" else str(runtime / "k")
        write_connection_file(str(conn), ip=ip, transport=transport)
        sandbox.prepare_for_kernel_user(runtime, conn, self.work_dir)
        # The kernel watches this pipe and dies when the app's end closes (Windows passes no
        # descriptors to children: there the kernel outlives an app that is killed).
        watch_r, watch_w = os.pipe() if sys.platform != "win32" else (-1, None)
        self._watch_w = watch_w
        try:
            spec = sandbox.build_launch(
                self.work_dir, runtime, conn, self.limits, self.isolation, watch_r
            )
        except RuntimeError as exc:
            if watch_r >= 0:
                os.close(watch_r)
            self.shutdown()
            raise KernelStartError(str(exc)) from None
        self.drive = spec.drive
        self.network_blocked = spec.network_blocked
        info_r = info_w = -1
        argv = spec.argv
        if spec.bwrap:
            info_r, info_w = os.pipe()
            argv = [argv[0], "--info-fd", str(info_w), *argv[1:]]
        self._log = open(runtime / "kernel.log", "w+b")  # noqa: SIM115 (closed in shutdown)
        try:
            self._proc = subprocess.Popen(
                argv,
                env=spec.env or None,
                cwd=spec.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._log,
                pass_fds=[fd for fd in (*spec.pass_fds, info_w) if fd >= 0],
                start_new_session=sys.platform != "win32",
            )
        except OSError as exc:
            self.shutdown()
            raise KernelStartError(f"The Python kernel could not start: {exc}.") from None
        finally:
            if watch_r >= 0:
                os.close(watch_r)
            if info_w >= 0:
                os.close(info_w)
        if info_r >= 0:
            self._sandbox_pid = _read_child_pid(info_r, START_TIMEOUT_S)
            os.close(info_r)
        client = BlockingKernelClient()
        client.load_connection_file(str(conn))
        client.start_channels(hb=False)
        self._client = client
        try:
            self._wait_ready(START_TIMEOUT_S, cancel)
        except KernelStartError:
            self.shutdown()
            raise

    def _wait_ready(self, timeout: float, cancel: threading.Event | None) -> None:
        assert self._client is not None
        deadline = time.monotonic() + timeout
        client = self._client
        msg_id = client.kernel_info()
        while True:
            if cancel is not None and cancel.is_set():
                raise KernelStartError("Stopped while the Python kernel was starting.")
            if not self.alive:
                raise KernelStartError(self._death_sentence("while starting"))
            if time.monotonic() > deadline:
                raise KernelStartError(
                    f"The Python kernel did not answer within {timeout:.0f} s of starting."
                    + self._log_tail()
                )
            try:
                reply = client.get_shell_msg(timeout=0.25)
            except queue.Empty:
                continue
            if reply.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            # IOPub is a broadcast: messages sent before our subscription reached the kernel
            # are lost. Ask again until a status message for our own request comes through.
            if self._iopub_reached(msg_id):
                return
            msg_id = client.kernel_info()

    def _iopub_reached(self, msg_id: str) -> bool:
        assert self._client is not None
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            try:
                msg = self._client.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return True
        return False

    def shutdown(self) -> None:
        """Kill the kernel and everything it started; forget its sockets. Idempotent."""
        if self._watch_w is not None:
            with contextlib.suppress(OSError):
                os.close(self._watch_w)  # the launcher's watchdog kills its whole group
            self._watch_w = None
        if self._sandbox_pid is not None:
            # The sandbox's first process: when it dies the kernel takes its PID namespace,
            # and every process in it, along.
            with contextlib.suppress(OSError):
                os.kill(self._sandbox_pid, signal.SIGKILL)
            self._sandbox_pid = None
        proc = self._proc
        if proc is not None:
            _kill_tree(proc)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.stop_channels()
            self._client = None
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None
        if self._runtime is not None:
            shutil.rmtree(self._runtime, ignore_errors=True)
            self._runtime = None

    # -- running code ------------------------------------------------------------------------

    def execute(
        self,
        code: str,
        collector: OutputCollector,
        timeout_s: float,
        cancel: threading.Event,
    ) -> Execution:
        assert self._client is not None and self._proc is not None
        client = self._client
        started = time.monotonic()
        deadline = started + timeout_s
        msg_id = client.execute(code, store_history=True, allow_stdin=False, stop_on_error=True)
        outcome: Outcome = "ok"
        detail = ""
        while True:
            if cancel.is_set():
                outcome = "interrupted"
                break
            now = time.monotonic()
            if now >= deadline:
                outcome = "timeout"
                break
            if self._proc.poll() is not None:
                outcome = "died"
                detail = self._death_sentence("while running this code")
                break
            try:
                msg = client.get_iopub_msg(timeout=min(0.1, deadline - now))
            except queue.Empty:
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg.get("msg_type")
            content = msg.get("content", {})
            if kind == "status" and content.get("execution_state") == "idle":
                break
            if kind == "stream":
                collector.text(str(content.get("text", "")))
            elif kind in ("execute_result", "display_data"):
                _display(collector, content.get("data", {}))
            elif kind == "error":
                outcome = "raised"
                collector.error(content.get("traceback") or [], content)
        if outcome in ("timeout", "interrupted", "died"):
            self.shutdown()
        return Execution(outcome, collector, time.monotonic() - started, detail)

    # -- diagnostics ---------------------------------------------------------------------------

    def _death_sentence(self, when: str) -> str:
        code = self._proc.poll() if self._proc is not None else None
        how = ""
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                how = f" (killed by {signal.Signals(-code).name})"
        elif code is not None:
            how = f" (exit code {code})"
        return f"The Python kernel stopped {when}{how}." + self._log_tail()

    def _log_tail(self) -> str:
        if self._log is None:
            return ""
        try:
            self._log.flush()
            self._log.seek(0)
            lines = self._log.read().decode("utf-8", "replace").strip().splitlines()
        except (OSError, ValueError):
            return ""
        lines = [ln for ln in lines if ln.strip()]
        return f" Its last words: {lines[-1][:300]}" if lines else ""


def _display(collector: OutputCollector, data: dict[str, Any]) -> None:
    for mime, suffix in (("image/png", ".png"), ("image/jpeg", ".jpg")):
        if mime in data:
            try:
                raw = base64.b64decode(data[mime])
            except (ValueError, TypeError):
                continue
            collector.image(raw, suffix, str(data.get("text/plain", "")))
            return
    text = data.get("text/plain")
    if text:
        collector.result(str(text))


def _read_child_pid(fd: int, timeout: float) -> int | None:
    """bwrap's --info-fd: {"child-pid": N} once the sandbox is set up."""
    buf = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
        try:
            return int(json.loads(buf.decode())["child-pid"])
        except (ValueError, KeyError):
            continue
    return None


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process, its group and any descendant still attached to it."""
    try:
        import psutil

        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(proc.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    child.kill()
    except ImportError:
        pass
    if sys.platform != "win32":
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        proc.kill()
