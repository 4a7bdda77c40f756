"""The ``python`` tool: gpt-oss's built-in stateful Jupyter, one kernel per chat folder.

A kernel starts on a chat's first call and keeps its state across calls and turns while the
app runs. A timeout, a Stop or a crash kills it (with everything it started); the next call
starts a fresh one and its result begins by telling the model its earlier state is gone.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.harmony.builtin import python_description
from app.harmony.model import ToolNamespace
from app.tools.base import ToolCall, ToolContext, ToolFile, ToolResult, failure
from app.tools.python import sandbox
from app.tools.python.kernel import Execution, Kernel, KernelStartError
from app.tools.python.output import OutputCollector
from app.tools.settings import PythonSettings

MAX_LISTED_FILES = 2000  # a folder scan per call stays cheap


@dataclass
class _Slot:
    kernel: Kernel | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    lost: str = ""  # why the previous kernel's state is gone, told once to the model
    key: tuple[object, ...] = ()


class KernelPool:
    """The live kernels, one per chat folder, for this process."""

    def __init__(self) -> None:
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.Lock()

    def slot(self, work_dir: Path) -> _Slot:
        with self._lock:
            key = str(work_dir.resolve())
            if key not in self._slots:
                self._slots[key] = _Slot()
            return self._slots[key]

    def shutdown(self, work_dir: Path | None = None) -> None:
        """Stop one chat's kernel (or all): e.g. when a chat is deleted or the app quits."""
        with self._lock:
            keys = list(self._slots) if work_dir is None else [str(work_dir.resolve())]
            slots = [self._slots.pop(k) for k in keys if k in self._slots]
        for slot in slots:
            if slot.kernel is not None:
                slot.kernel.shutdown()

    def live_count(self) -> int:
        with self._lock:
            return sum(1 for s in self._slots.values() if s.kernel and s.kernel.alive)


POOL = KernelPool()
atexit.register(POOL.shutdown)


class PythonTool:
    """gpt-oss's ``python`` tool (Harmony's ``## python`` system namespace)."""

    name = "python"

    def __init__(self, settings: PythonSettings | None = None, pool: KernelPool = POOL) -> None:
        self.settings = settings or PythonSettings()
        self.pool = pool

    def handles(self, recipient: str) -> bool:
        return recipient == "python" or recipient.startswith("python.")

    def status(self) -> sandbox.SandboxStatus:
        """What isolation a call gets, or why it cannot run (for settings and the CLI)."""
        probed = sandbox.probe()
        if self.settings.isolation == "none":
            return sandbox.SandboxStatus(
                "none",
                True,
                "Runs WITHOUT isolation (your choice): the code has your rights, files and "
                "network; only the time, memory and process limits apply.",
            )
        return probed

    def namespace(self, work_dir: Path | None = None) -> ToolNamespace:
        """The ``## python`` text, true for this machine: the timeout, the folder, the network."""
        isolated = self.settings.isolation == "sandbox" and sandbox.probe().kind == "bwrap"
        if isolated:
            drive: str | None = sandbox.SANDBOX_DRIVE
        else:
            drive = str(work_dir) if work_dir is not None else None
        blocked = self.settings.isolation == "sandbox" and not sandbox.probe().network
        internet = "disabled." if blocked else "enabled."
        timeout = self.settings.limits.timeout_s
        return ToolNamespace("python", python_description(timeout, drive, internet))

    def run(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        code = call.arguments
        if not code.strip():
            return failure("error", "No code was sent: send the Python code as the message.")
        status = self.status()
        if not status.available:
            return failure("unavailable", f"The python tool cannot run here: {status.message}")
        slot = self.pool.slot(ctx.work_dir)
        if not slot.lock.acquire(timeout=self.settings.limits.timeout_s):
            return failure("unavailable", "Another run in this chat's Python kernel is busy.")
        try:
            return self._run_locked(slot, code, ctx)
        finally:
            slot.lock.release()

    def _run_locked(self, slot: _Slot, code: str, ctx: ToolContext) -> ToolResult:
        started = time.monotonic()
        limits = self.settings.limits
        key = (self.settings.isolation, *vars(limits).values())
        if slot.kernel is not None and (not slot.kernel.alive or slot.key != key):
            if slot.kernel.alive:
                slot.lost = slot.lost or "its settings changed"
            elif not slot.lost:
                slot.lost = "it had stopped"
            slot.kernel.shutdown()
            slot.kernel = None
        if slot.kernel is None:
            kernel = Kernel(ctx.work_dir, limits, self.settings.isolation)
            try:
                kernel.start(ctx.cancel)
            except KernelStartError as exc:
                return failure("unavailable", str(exc), time.monotonic() - started)
            slot.kernel, slot.key = kernel, key
        kernel = slot.kernel
        before = _listing(ctx.work_dir)
        collector = OutputCollector(
            ctx.outputs,
            drive=kernel.drive,
            user_chars=self.settings.user_output_chars,
            model_chars=self.settings.model_output_chars,
            on_output=ctx.on_output,
        )
        run = kernel.execute(code, collector, limits.timeout_s, ctx.cancel)
        note = ""
        if slot.lost:
            note = (
                f"[The Python kernel was restarted ({slot.lost}): variables and imports from "
                "earlier calls are gone.]\n"
            )
            slot.lost = ""
        if run.outcome in ("timeout", "interrupted", "died"):
            slot.kernel = None
            slot.lost = {
                "timeout": "the previous run timed out",
                "interrupted": "the user stopped the previous run",
                "died": "it died during the previous run",
            }[run.outcome]
        files = _changed_files(ctx.work_dir, before)
        return _result(run, note, files, limits.timeout_s)


def _result(run: Execution, note: str, files: list[ToolFile], timeout_s: float) -> ToolResult:
    collector = run.collector
    text, truncated = collector.for_model()
    if run.outcome == "ok":
        status, error = "ok", ""
    elif run.outcome == "raised":
        status, error = "error", f"The code raised {collector.error_name}."
    elif run.outcome == "timeout":
        status = "timeout"
        error = (
            f"Execution timed out after {timeout_s:g} s; the kernel was stopped (the next call "
            "starts a fresh one: variables and imports from earlier calls are gone)."
        )
    elif run.outcome == "interrupted":
        status = "interrupted"
        error = "Stopped by the user; the kernel was stopped (its state is gone)."
    else:
        status = "error"
        error = (
            f"{run.exit_detail} It restarts on the next call: variables and imports from "
            "earlier calls are gone."
        )
    output = collector.full
    if run.outcome in ("timeout", "interrupted", "died"):
        if not collector.seen:
            text = ""
        text = (text.rstrip("\n") + "\n" if text else "") + f"[{error}]"
        output = (output.rstrip("\n") + "\n" if output else "") + f"[{error}]"
    return ToolResult(
        status=status,  # type: ignore[arg-type]
        text=note + text,
        output=output,
        duration_s=run.duration_s,
        truncated=truncated,
        error=error,
        images=list(collector.images),
        files=files,
    )


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    try:
        for root, dirs, names in os.walk(folder):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in names:
                path = os.path.join(root, name)
                try:
                    st = os.stat(path, follow_symlinks=False)
                except OSError:
                    continue
                out[path] = (st.st_size, st.st_mtime_ns)
                if len(out) >= MAX_LISTED_FILES:
                    return out
    except OSError:
        pass
    return out


def _changed_files(folder: Path, before: dict[str, tuple[int, int]]) -> list[ToolFile]:
    after = _listing(folder)
    changed = [p for p, sig in after.items() if before.get(p) != sig]
    files = []
    for path in sorted(changed):
        size = after[path][0]
        files.append(ToolFile(path, os.path.relpath(path, folder), _mime(path), size))
    return files


def _mime(path: str) -> str:
    import mimetypes

    return mimetypes.guess_type(path)[0] or "application/octet-stream"
