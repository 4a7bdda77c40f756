"""The headline figure: the whole app against llama.cpp's raw loop, on the path a user runs.

The real ``MainWindow`` (offscreen) loads the model into its real engine host, and each run sends
a message through it: engine host -> pipe -> client -> ``app.chat`` with its SQLite writer -> the
GUI's GenerationWorker -> the chat view rendering Markdown. The reply thinks first, then answers:
the request's ``script`` (set through the window's ``request_hook``) forces Harmony's structure
(``<|channel|>analysis<|message|>`` ... ``<|end|><|start|>assistant<|channel|>final<|message|>``
... ``<|return|>``) and *samples* the text in between, with the special tokens forbidden. The
reasoning streams into the Thinking section, then the answer into the message. The reply's stats
(tokens, generation tok/s, time to first token) are read back from the store.

The reference is the lean raw loop (bench/rawloop.py) in this process: the same model, threads,
sampler chain and plan of forced and sampled tokens, its prompt cached like the engine's. Runs
alternate raw / app; the figure is the median of the pairs' ratios, with their spread. Both sides
time generation the same way: (tokens - 1) / (first token sampled -> last token sampled).

This is done for 1, cores - 1 and all cores; the headline ratio is at the app's default count
(``app.cpu.generation_threads``), and the fastest count for the whole app is reported beside it.
The GUI stall figures on the real path (beside the scripted producer's in bench/gui.py) come from
runs of their own at the default count, after the timed ones, with a 1 ms QTimer probe on the
GUI thread: the probe costs the GUI process ~6 % of a core, which the timed runs must not pay
(when llama.cpp's threads use every core, any other work delays them all).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from bench.core import Context, Result, median, percentile, spread
from bench.rawloop import SAMPLED, RawLoop

BENCH = "app"
TOP_K = 40
MESSAGE = "Think it over, then write me a long answer about lighthouses."
THINK = "<|channel|>analysis<|message|>"
ANSWER = "<|end|><|start|>assistant<|channel|>final<|message|>"
END = "<|return|>"


def thread_counts() -> list[int]:
    from app.cpu import cpu_cores

    cores = cpu_cores()[0]
    return sorted({1, max(1, cores - 1), cores})


class _App:
    """The real window, driven through its public surface."""

    def __init__(self, home: Path) -> None:
        from PySide6.QtCore import QElapsedTimer, Qt, QTimer, qInstallMessageHandler
        from PySide6.QtWidgets import QApplication

        from app.store import Store
        from app.ui.prefs import UiPrefs
        from app.ui.window import MainWindow

        home.mkdir(parents=True, exist_ok=True)
        os.environ["HEARTH_HOME"] = str(home)
        self.qapp = QApplication.instance() or QApplication(["hearth-bench"])
        # Sampled gibberish is full of U+FFFD and stray scripts: Qt's font fallback says so once
        # per font. Counted for the detail instead of flooding the terminal.
        self.qt_messages: dict[str, int] = {}
        self._old_handler = qInstallMessageHandler(self._qt_message)
        self.store = Store.open(home / "bench.db")
        self.win = MainWindow(
            self.store, load_engine=False, prefs=UiPrefs(theme="light"), first_run=False
        )
        self.win.resize(1200, 800)
        self.win.show()
        self.qapp.processEvents()
        self.hook: Any = None
        self.win.request_hook = lambda req: self.hook(req) if self.hook else None
        # The probe: a 1 ms timer on the GUI thread; how late each tick comes is a stall.
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(1)
        self.timer.timeout.connect(self._tick)
        self.gaps: list[float] = []
        self._last = 0
        self._loop: Any = None

    def _qt_message(self, _kind: Any, _context: Any, text: str) -> None:
        key = text.split(" for ")[0][:80]
        self.qt_messages[key] = self.qt_messages.get(key, 0) + 1

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed()
        self.gaps.append((now - self._last) / 1e6 - 1.0)
        self._last = now
        if not self.win.busy and self._loop is not None:
            self._loop.quit()

    def load(self, options: Any, timeout_s: float = 600) -> None:
        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        failed: list[str] = []
        engine = self.win.engine

        def on_failed(_kind: str, message: str) -> None:
            failed.append(message)
            loop.quit()

        engine.loaded.connect(loop.quit)
        engine.failed.connect(on_failed)
        QTimer.singleShot(int(timeout_s * 1000), loop.quit)
        self.win.load_model(options)
        loop.exec()
        engine.loaded.disconnect(loop.quit)
        engine.failed.disconnect(on_failed)
        if failed or not engine.ready:
            raise RuntimeError(f"the window could not load the model: {failed}")

    def send(self, text: str, probe: bool = False) -> tuple[dict[str, Any], float, list[float]]:
        """One turn in a new chat: (the reply's stored stats, seconds from send to the window
        being idle again, the probe's stalls during it). Without ``probe`` the timer only looks
        for the end every 20 ms: a 1 ms timer costs the GUI process ~6 % of a core, taken from
        llama.cpp's threads when they use every core, and a user's window has no such timer."""
        from PySide6.QtCore import QEventLoop

        win = self.win
        new_chat = getattr(win, "new_chat", None) or win.conversations.new_chat
        send = getattr(win, "send", None) or win.conversations.send
        new_chat()
        self.qapp.processEvents()
        self.gaps = []
        self._loop = QEventLoop()
        self.clock.start()
        self._last = self.clock.nsecsElapsed()
        t0 = time.perf_counter()
        send(text)
        if not win.busy:
            raise RuntimeError("the window did not start a reply")
        self.timer.setInterval(1 if probe else 20)
        self.timer.start()
        self._loop.exec()
        wall = time.perf_counter() - t0
        self.timer.stop()
        self._loop = None
        conv = self.store.latest_conversation()
        reply = self.store.active_path(conv.id)[-1] if conv else None
        if reply is None or reply.role != "assistant" or reply.status != "done":
            status = reply.status if reply else "missing"
            raise RuntimeError(f"the reply did not finish ({status}): {reply and reply.error}")
        if not reply.reasoning or not reply.content:
            raise RuntimeError("the reply did not think first and then answer")
        gaps = [max(0.0, g) for g in self.gaps[2:]] if probe else []
        return dict(reply.stats or {}), wall, gaps

    def close(self) -> None:
        self.win.close()
        self.win.deleteLater()
        self.qapp.processEvents()
        self.store.close()
        from PySide6.QtCore import qInstallMessageHandler

        qInstallMessageHandler(self._old_handler)


def _cpu_s(pid: int | None = None) -> float:
    """User + system CPU seconds of this process (or ``pid``), all its threads."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _plan(raw: RawLoop, think: int, answer: int) -> tuple[list[str | int], list[int]]:
    """The request's script and the same plan as token ids for the raw loop."""
    script: list[str | int] = [THINK, think, ANSWER, answer, END]
    ids: list[int] = []
    for part in script:
        ids += [SAMPLED] * part if isinstance(part, int) else raw.tokenize(part)
    return script, ids


def app_vs_raw(
    ctx: Context, model: Path, label: str = "", sizes: tuple[int, int, int] | None = None
) -> list[Result]:
    """``sizes``: (reasoning tokens, answer tokens, runs per thread count) instead of the
    suite's own."""
    from app.cpu import generation_threads
    from app.engine.options import LoadOptions, SamplingOptions
    from app.harmony import Message, PromptSettings, render_prompt

    shaped = bool(label)
    if shaped:  # a real-size model: ~30 tok/s on 2 cores
        think, answer, runs = (16, 32, 1) if ctx.quick else (48, 96, 3)
    else:
        think, answer, runs = (200, 400, 2) if ctx.quick else (600, 1400, 5)
    if sizes is not None:
        think, answer, runs = sizes
    default = generation_threads()
    counts = [default] if ctx.quick else thread_counts()  # quick: a smoke run
    n_ctx = 4096
    raw = RawLoop(model, n_ctx, counts[-1], TOP_K)
    app = _App(ctx.work / f"app-home-{model.stem}")
    prompt = raw.tokenize(render_prompt([Message("user", MESSAGE)], PromptSettings()))
    script, plan = _plan(raw, think, answer)
    seed = [0]

    def hook(req: Any) -> None:
        req.script = list(script)
        req.sampling = SamplingOptions(max_tokens=len(plan) + 8, top_k=TOP_K, seed=seed[0])

    app.hook = hook
    per_threads: dict[int, dict[str, Any]] = {}
    try:
        for n in counts:
            app.load(LoadOptions(model_path=str(model), n_ctx=n_ctx, n_threads=n))
            raw.set_threads(n)
            raw.run_plan(prompt, plan, seed=0)  # warm-up, both sides
            app.send(MESSAGE)
            raw_tps, app_tps, ratios, walls, ttfts, stalls, tokens = [], [], [], [], [], [], []
            cpu = {"raw": 0.0, "host": 0.0, "gui": 0.0}  # CPU seconds, all threads
            host_pid = getattr(app.win.engine.client, "pid", None)
            for i in range(runs):
                seed[0] = 1000 + i
                c0 = _cpu_s()
                r = raw.run_plan(prompt, plan, seed=seed[0])
                c1, h1 = _cpu_s(), _cpu_s(host_pid)
                stats, wall, _ = app.send(MESSAGE)
                cpu["raw"] += c1 - c0
                cpu["gui"] += _cpu_s() - c1  # (the 20 ms end check costs nothing to speak of)
                cpu["host"] += _cpu_s(host_pid) - h1 if host_pid else 0.0
                a = float(stats.get("generation_tps") or 0.0)
                raw_tps.append(r.gen_tps)
                app_tps.append(a)
                ratios.append(a / r.gen_tps)
                walls.append(wall)
                ttfts.append(float(stats.get("ttft_s") or 0.0))
                tokens.append(int(stats.get("generated_tokens") or 0))
            # The GUI's stalls in runs of their own (the probe would slow the timed ones).
            for i in range(max(1, runs // 2) if n == default and not shaped else 0):
                seed[0] = 2000 + i
                stalls += app.send(MESSAGE, probe=True)[2]
            per_threads[n] = {
                "raw_tps": [round(x, 1) for x in raw_tps],
                "app_tps": [round(x, 1) for x in app_tps],
                "ratios": [round(x, 3) for x in ratios],
                "ratio": median(ratios),
                "app_median_tps": median(app_tps),
                "raw_median_tps": median(raw_tps),
                "ttft_s": [round(x, 4) for x in ttfts],
                "send_to_idle_s": [round(x, 3) for x in walls],
                "generated_tokens": tokens,
                "max_stall_ms": max(stalls) if stalls else 0.0,
                "p99_stall_ms": percentile(stalls, 99),
                "stalls_over_16ms": sum(1 for g in stalls if g > 16),
                # CPU time per generated token (all threads of the process): what each side
                # costs whatever the machine's load (spinning worker threads included).
                "cpu_us_per_token": {
                    k: round(v / max(1, sum(tokens)) * 1e6, 1) for k, v in cpu.items()
                },
            }
    finally:
        app.close()
        raw.close()

    sfx = f" ({label})" if label else ""
    base = {
        "qt_messages": app.qt_messages,
        "model": model.name,
        "plan": f"{think} sampled reasoning + {answer} sampled answer tokens, forced Harmony "
        f"headers ({len(plan)} tokens)",
        "runs_per_thread_count": runs,
        "default_threads": default,
    }
    chosen = per_threads.get(default) or per_threads[counts[-1]]
    best = max(per_threads, key=lambda n: per_threads[n]["app_median_tps"])
    results = [
        Result(
            BENCH,
            f"whole app / raw loop, {default} threads{sfx}",
            chosen["ratio"],
            "",
            ">= 0.97",
            {**base, **chosen},
            spread(chosen["ratios"]),
        ),
        Result(
            BENCH,
            f"whole app tok/s, {default} threads{sfx}",
            chosen["app_median_tps"],
            "tok/s",
            detail={"raw_median_tps": chosen["raw_median_tps"]},
            spread=spread(chosen["app_tps"]),
        ),
    ]
    for n in counts:
        if n == default:
            continue
        d = per_threads[n]
        results.append(
            Result(
                BENCH,
                f"whole app tok/s, {n} thread{'s' if n > 1 else ''}{sfx}",
                d["app_median_tps"],
                "tok/s",
                detail=d,
                spread=spread(d["app_tps"]),
            )
        )
    if len(counts) > 1:
        results.append(
            Result(
                BENCH,
                f"fastest thread count for the whole app{sfx}",
                float(best),
                "threads",
                detail={str(n): round(per_threads[n]["app_median_tps"], 1) for n in counts},
            )
        )
    if not shaped:  # the fastest stream is the hardest on the GUI
        results += [
            Result(
                BENCH,
                "max GUI stall, real engine at full speed",
                chosen["max_stall_ms"],
                "ms",
                "<= 50",
                {"stalls_over_16ms": chosen["stalls_over_16ms"], "threads": default},
            ),
            Result(
                BENCH,
                "p99 GUI stall, real engine at full speed",
                chosen["p99_stall_ms"],
                "ms",
                "<= 16",
            ),
        ]
    return results


def run(ctx: Context) -> list[Result]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    results = app_vs_raw(ctx, ctx.tiny_model)
    if ctx.model is not None:
        results += app_vs_raw(ctx, ctx.model, ctx.model.stem)
    return results
