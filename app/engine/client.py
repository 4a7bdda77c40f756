"""The caller's side of the engine: starts the engine host process and talks to it over pipes.

    client = EngineClient()
    client.start()
    info = client.load(LoadOptions(model_path="gpt-oss-20b-mxfp4.gguf"))
    for event in client.stream(GenerateRequest(messages=[Message("user", "Hi")])):
        ...  # ReasoningEvent, ContentEvent, PreambleEvent, ToolCallEvent, TrimmedEvent,
             # then DoneEvent (stats) or ErrorEvent
    client.close()

``cancel()`` may be called from any thread while another iterates ``stream``; the reply then ends
with a done event whose stop_reason is "cancelled". If the host dies (killed, crashed in
llama.cpp), the stream ends with an ErrorEvent of kind "engine_died" instead of hanging; call
``start()`` and ``load()`` again (or make a new client) to continue.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Generator
from pathlib import Path
from typing import IO, Any

from app.engine.errors import EngineError
from app.engine.events import (
    DoneEvent,
    EngineEvent,
    ErrorEvent,
    GenerationStats,
    ModelInfo,
    event_from_dict,
)
from app.engine.gguf_info import GGUFError, inspect_gguf
from app.engine.options import LoadOptions
from app.engine.protocol import GenerateRequest, encode_frame, read_frame

__all__ = ["EngineClient", "EngineError", "GenerateRequest", "host_command"]

_EOF: dict[str, Any] = {"type": "__eof__"}


def host_command() -> list[str]:
    """How to start the engine host: the bundle's own executable when frozen (PyInstaller),
    otherwise this Python running the host module."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "engine-host"]
    return [sys.executable, "-m", "app.engine.host"]


def _died_message(code: int | None) -> str:
    """What a dead engine host's exit status means, in words (the raw status only as a detail
    for a bug report)."""
    import signal

    if code is not None and code < 0:  # ended by a signal (POSIX)
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if name == "SIGKILL":
            why = (
                "the system stopped it, perhaps because the computer ran out of memory. Reload "
                "the model to continue; a smaller context or model needs less memory"
            )
        elif name in ("SIGSEGV", "SIGBUS", "SIGILL", "SIGABRT", "SIGFPE"):
            why = f"it crashed ({name}). Reload the model to continue"
        else:
            why = f"it was stopped ({name}). Reload the model to continue"
        return f"The engine stopped unexpectedly: {why}."
    detail = "" if code is None else f" (exit status {code})"
    return f"The engine stopped unexpectedly{detail}. Reload the model to continue."


class EngineClient:
    def __init__(
        self,
        *,
        command: list[str] | None = None,
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.command = command
        self.env = env
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._frames: queue.Queue[dict[str, Any]] = queue.Queue()
        # Reentrant: a Ctrl-C handler may cancel while this thread is between a write and its
        # flush (each frame is one unbuffered write, so frames never interleave).
        self._write_lock = threading.RLock()
        self._op_lock = threading.Lock()  # one command/stream at a time
        self._streaming = False
        self._dead = False
        self.model_info: ModelInfo | None = None

    # -- process -------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def is_alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None and not self._dead

    def start(self, timeout: float = 60.0) -> None:
        """Start the host and wait until it is ready. Starting again after the host died (or
        after ``close``) gives a fresh host."""
        if self.is_alive:
            return
        self._reap()
        from app import paths

        log_path = self.log_path or paths.log_dir() / "engine-host.stderr.log"
        stderr: IO[bytes] | int
        try:
            stderr = open(log_path, "ab")  # noqa: SIM115 (handed to the child)
        except OSError:
            stderr = subprocess.DEVNULL
        env = dict(os.environ if self.env is None else self.env)
        root = str(Path(__file__).resolve().parents[2])
        if not getattr(sys, "frozen", False):
            env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        kwargs: dict[str, Any] = {}
        if os.name == "posix":
            # Own session: a Ctrl-C in the terminal reaches the CLI, which cancels politely.
            kwargs["start_new_session"] = True
        else:
            kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        try:
            proc = subprocess.Popen(
                self.command or host_command(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=env,
                bufsize=0,
                **kwargs,
            )
        finally:
            if not isinstance(stderr, int):
                stderr.close()
        self._proc = proc
        self._dead = False
        self._frames = queue.Queue()
        threading.Thread(
            target=self._read_frames, args=(proc, self._frames), name="engine-reader", daemon=True
        ).start()
        frame = self._next_frame(timeout)
        if frame.get("type") != "ready":
            self._kill()
            raise EngineError("engine_died", self._frame_error(frame))

    @staticmethod
    def _read_frames(proc: subprocess.Popen[bytes], frames: queue.Queue[dict[str, Any]]) -> None:
        assert proc.stdout is not None
        try:
            while True:
                frame = read_frame(proc.stdout)
                if frame is None:
                    break
                frames.put(frame)
        except Exception:
            pass
        frames.put(_EOF)

    def _next_frame(self, timeout: float | None = None) -> dict[str, Any]:
        try:
            frame = self._frames.get(timeout=timeout)
        except queue.Empty:
            self._kill()
            return {
                "type": "error",
                "kind": "timeout",
                "message": f"The engine did not answer within {timeout:.0f} s. It was stopped; "
                "try again, or choose a smaller model or context.",
            }
        if frame is _EOF:
            self._dead = True
            self._frames.put(_EOF)  # every later read sees the end too
        return frame

    def _exit_code(self) -> int | None:
        if self._proc is None:
            return None
        try:
            return self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None

    def _frame_error(self, frame: dict[str, Any]) -> str:
        if frame is _EOF:
            return _died_message(self._exit_code())
        return str(frame.get("message") or f"Unexpected answer from the engine: {frame}")

    def _send(self, obj: dict[str, Any]) -> bool:
        return self._send_frame(encode_frame(obj))

    def _send_frame(self, frame: bytes) -> bool:
        proc = self._proc
        if proc is None or proc.stdin is None or self._dead:
            return False
        try:
            with self._write_lock:
                proc.stdin.write(frame)
                proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def _require(self) -> None:
        if not self.is_alive:
            if self._proc is not None:
                raise EngineError("engine_died", _died_message(self._exit_code()))
            raise EngineError("not_started", "The engine is not running. Start it first.")

    # -- commands ------------------------------------------------------------------------------

    def load(self, options: LoadOptions, timeout: float | None = None) -> ModelInfo:
        """Load a model (replacing any loaded one). Raises EngineError naming the problem: a bad
        file is reported from its header before llama.cpp sees it."""
        try:
            inspect_gguf(options.model_path)
        except GGUFError as e:
            raise EngineError(e.kind, e.message) from None
        with self._op_lock:
            self._require()
            self.model_info = None
            if not self._send({"op": "load", "options": options.to_dict()}):
                raise EngineError("engine_died", _died_message(self._exit_code()))
            frame = self._next_frame(timeout)
            if frame.get("type") == "loaded":
                self.model_info = ModelInfo.from_dict(frame.get("info") or {})
                return self.model_info
            if frame is _EOF:
                raise EngineError("engine_died", self._frame_error(frame))
            raise EngineError(str(frame.get("kind") or "load_failed"), self._frame_error(frame))

    def stream(
        self, request: GenerateRequest, *, cancel: threading.Event | None = None
    ) -> Generator[EngineEvent, None, None]:
        """Generate one reply, yielding its events; the last is a DoneEvent or an ErrorEvent.
        Leaving the loop early cancels the reply. ``cancel`` is the turn's stop flag: set before
        the request is sent, the reply ends at once (done, cancelled) and nothing is generated;
        set while it is sent, the reply is cancelled as soon as it is (a Stop pressed in that
        moment is never lost)."""
        with self._op_lock:
            if cancel is not None and cancel.is_set():
                yield DoneEvent(GenerationStats(stop_reason="cancelled"))
                return
            if not self.is_alive:
                code = self._exit_code() if self._proc is not None else None
                kind = "engine_died" if self._proc is not None else "not_started"
                msg = (
                    _died_message(code)
                    if self._proc is not None
                    else "The engine is not running. Start it and load a model."
                )
                yield ErrorEvent(kind, msg)
                return
            try:
                data = encode_frame({"op": "generate", "request": request.to_dict()})
            except UnicodeEncodeError:
                # Unpaired surrogates (e.g. invalid UTF-8 bytes in a command-line argument) can't
                # be sent. Not the engine's fault: it keeps running, and the caller learns why.
                yield ErrorEvent(
                    "bad_request",
                    "The message contains characters that are not valid text (unpaired "
                    "surrogates, e.g. from bytes that are not UTF-8). Remove them and try again.",
                )
                return
            if not self._send_frame(data):
                self._dead = True
                yield ErrorEvent("engine_died", _died_message(self._exit_code()))
                return
            self._streaming = True
            finished = False
            if cancel is not None and cancel.is_set():
                # Stop came between the check above and _streaming: its cancel() sent nothing.
                self._send({"op": "cancel"})
            try:
                while True:
                    frame = self._next_frame()
                    if frame is _EOF:
                        finished = True
                        yield ErrorEvent("engine_died", _died_message(self._exit_code()))
                        return
                    if frame.get("type") in ("ready", "loaded", "unloaded", "bye"):
                        continue
                    try:
                        event = event_from_dict(frame)
                    except (ValueError, TypeError):
                        continue
                    if isinstance(event, DoneEvent | ErrorEvent):
                        finished = True
                        yield event
                        return
                    yield event
            finally:
                self._streaming = False
                if not finished:
                    # The caller stopped early: cancel and drain so the next reply starts clean.
                    self._send({"op": "cancel"})
                    while True:
                        frame = self._next_frame(30.0)
                        if frame is _EOF or frame.get("type") in ("done", "error"):
                            break

    def cancel(self) -> None:
        """Stop the reply being streamed (from any thread); it ends within one token."""
        if self._streaming:
            self._send({"op": "cancel"})

    def answer_now(self) -> None:
        """End the thinking of the reply being streamed and make the model answer (from any
        thread): the engine forces the Harmony tokens that close the analysis and open the
        final channel. Nothing happens once the answer is being written."""
        if self._streaming:
            self._send({"op": "answer_now"})

    def unload(self) -> None:
        """Free the model's memory; the host keeps running."""
        with self._op_lock:
            if not self.is_alive:
                return
            self.model_info = None
            if self._send({"op": "unload"}):
                while True:
                    frame = self._next_frame(60.0)
                    if frame is _EOF or frame.get("type") in ("unloaded", "error"):
                        break

    def close(self, timeout: float = 5.0) -> None:
        """Stop the host (politely, then by force)."""
        proc = self._proc
        if proc is None:
            return
        self.cancel()
        if proc.poll() is None and self._send({"op": "shutdown"}):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=timeout)
        self._kill()
        self._reap()

    def _kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self._dead = True

    def _reap(self) -> None:
        proc = self._proc
        if proc is None:
            return
        for f in (proc.stdin, proc.stdout):
            if f is not None:
                with contextlib.suppress(OSError):
                    f.close()
        self._proc = None
        self.model_info = None

    def __enter__(self) -> EngineClient:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            if self._proc is not None and self._proc.poll() is None:
                self._proc.kill()
