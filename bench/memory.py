"""Memory: the real GUI process beside its engine, and the engine host against the model's size.

1. ``GUI process RSS``: the desktop app in a process of its own, built as ``hearth gui`` builds it
   (QApplication, MainWindow over a store of 200 chats, the engine host as a child process), with
   the model loaded in its engine host and after streaming a Markdown reply into the window.
   Read from ``/proc/<pid>/status``: VmRSS (resident now) and VmHWM (the peak). Target <= 300 MB
   (the GUI's own process; the engine's memory is the host's, reported apart).
2. ``engine host RSS / model file``: the host's resident memory with the model loaded, against
   the GGUF file's size, and the growth from an empty host (what loading the model costs). On
   a real model (``--model``) this shows how much of the weights are resident (mmap) plus the KV
   cache and compute buffers; on the tiny model the Python interpreter and llama.cpp dominate.

Linux only (``/proc``); elsewhere the suite reports nothing.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.core import Context, Result

BENCH = "memory"
ROOT = Path(__file__).resolve().parent.parent

# The GUI side, in its own process: the window as ``hearth gui`` builds it, then load, one
# streamed reply, and a line on stdout at each point so the parent reads /proc at that moment.
_GUI_SCRIPT = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
model, n_ctx, reply = sys.argv[2], int(sys.argv[3]), sys.argv[4]
from PySide6.QtWidgets import QApplication
from app.engine.options import LoadOptions
from app.ui.prefs import UiPrefs
from app.ui.window import MainWindow

app = QApplication(["hearth"])
win = MainWindow(load_engine=False, prefs=UiPrefs(theme="light"), first_run=False)
win.show()

def say(what, **kw):
    host = win.engine.client.pid if win.engine.client else None
    print(json.dumps({"at": what, "host": host, **kw}), flush=True)

def hook(req):
    req.script = "<|channel|>final<|message|>" + reply + "<|return|>"
    req.sampling.max_tokens = n_ctx // 2

def finished(out):
    say("replied", chars=len(out.content), status=out.status)

def loaded(_info):
    say("loaded")
    win.turns.request_hook = hook
    win.conversations.send("Write a report with code and a table.")
    win.turns.worker.finished.connect(finished)

def failed(kind, message):
    say("failed", error=message)

def command():
    line = sys.stdin.readline()
    if not line.strip():
        app.quit()

from PySide6.QtCore import QSocketNotifier
notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
notifier.activated.connect(command)
win.engine.loaded.connect(loaded)
win.engine.failed.connect(failed)
win.load_model(LoadOptions(model_path=model, n_ctx=n_ctx))
app.aboutToQuit.connect(win.shutdown)
app.exec()
"""


def status_kb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MB."""
    out: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(line.split()[1]) / 1024
    return out


def _settled(pid: int, rounds: int = 3, gap: float = 0.2) -> dict[str, float]:
    """Read after the resident size stops moving (page-ins after a load or a render settle)."""
    last = status_kb(pid)
    for _ in range(rounds):
        time.sleep(gap)
        now = status_kb(pid)
        if abs(now["VmRSS"] - last["VmRSS"]) < 0.5:
            return now
        last = now
    return last


def _readline(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise TimeoutError(f"the GUI did not report within {timeout:.0f} s")
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError("the GUI process ended early")
    return dict(json.loads(line))


def gui_memory(model: Path, n_ctx: int, home: Path, reply: str, timeout: float) -> dict[str, Any]:
    from app.store import Store

    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HEARTH_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    os.environ["HEARTH_HOME"] = str(home)
    from app import paths

    with Store.open(paths.database_path()) as store:
        if not store.list_conversations(limit=1):
            for i in range(200):
                c = store.create_conversation(f"Chat {i}")
                store.add_message(c.id, "user", f"Question {i}?")
                store.add_message(c.id, "assistant", f"Answer **{i}**.\n\n- a\n- b\n")
    proc = subprocess.Popen(
        [sys.executable, "-c", _GUI_SCRIPT, str(ROOT), str(model), str(n_ctx), reply],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        ev = _readline(proc, timeout)
        if ev["at"] != "loaded":
            raise RuntimeError(f"the GUI could not load the model: {ev}")
        host = int(ev["host"])
        after_load = _settled(proc.pid)
        host_loaded = _settled(host)
        ev = _readline(proc, timeout)
        if ev["at"] != "replied" or ev.get("status") != "done":
            raise RuntimeError(f"the reply did not finish: {ev}")
        after_reply = _settled(proc.pid)
        host_after = status_kb(host)
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return {
        "gui_rss_loaded_mb": round(after_load["VmRSS"], 1),
        "gui_rss_after_reply_mb": round(after_reply["VmRSS"], 1),
        "gui_hwm_mb": round(after_reply["VmHWM"], 1),
        "host_rss_loaded_mb": round(host_loaded["VmRSS"], 1),
        "host_hwm_mb": round(host_after["VmHWM"], 1),
        "reply_chars": ev.get("chars", 0),
    }


def empty_host_mb(home: Path) -> float:
    """Resident size of an engine host with no model: the interpreter and llama.cpp alone."""
    from app.engine.client import EngineClient

    client = EngineClient(env={**os.environ, "HEARTH_HOME": str(home)})
    client.start()
    try:
        assert client.pid is not None
        return _settled(client.pid)["VmRSS"]
    finally:
        client.close()


def _reply_text(chars: int) -> str:
    from bench.gui import markdown_tokens

    return "".join(markdown_tokens(chars // 4 + 1))[:chars]


def measure(model: Path, label: str, ctx: Context, n_ctx: int, reply_chars: int) -> list[Result]:
    size_mb = model.stat().st_size / (1 << 20)
    home = ctx.work / f"memory-{label}"
    timeout = 120.0 if label == "tiny" else 1800.0
    g = gui_memory(model, n_ctx, home, _reply_text(reply_chars), timeout)
    empty = empty_host_mb(home)
    growth = g["host_rss_loaded_mb"] - empty
    detail = g | {
        "model_file_mb": round(size_mb, 1),
        "empty_host_mb": round(empty, 1),
        "n_ctx": n_ctx,
    }
    suffix = "" if label == "tiny" else f" ({label})"
    gui_peak = max(g["gui_rss_loaded_mb"], g["gui_rss_after_reply_mb"])
    return [
        Result(
            BENCH,
            f"GUI process RSS, model loaded + reply{suffix}",
            gui_peak,
            "MB",
            "<= 300",
            detail,
        ),
        Result(
            BENCH, f"GUI process peak RSS (VmHWM){suffix}", g["gui_hwm_mb"], "MB", detail=detail
        ),
        Result(
            BENCH,
            f"engine host RSS, model loaded{suffix}",
            g["host_rss_loaded_mb"],
            "MB",
            detail=detail,
        ),
        Result(
            BENCH,
            f"engine host RSS / model file{suffix}",
            g["host_rss_loaded_mb"] / size_mb,
            "x",
            detail=detail,
        ),
        Result(
            BENCH,
            f"engine host growth on load / model file{suffix}",
            growth / size_mb,
            "x",
            detail=detail,
        ),
    ]


def run(ctx: Context) -> list[Result]:
    if not Path("/proc/self/status").exists():
        print("memory: /proc is needed (Linux); skipped", file=sys.stderr)
        return []
    results = measure(ctx.tiny_model, "tiny", ctx, 4096, 1500 if ctx.quick else 3000)
    if ctx.model is not None:
        # A real-size model decodes slowly on a CPU: a shorter reply.
        results += measure(ctx.model, ctx.model.stem, ctx, 8192, 600)
    return results
