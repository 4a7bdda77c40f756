"""A chat through a server, tried as a user would, with screenshots: ``hearth serve`` runs in a
process of its own (the "GPU box"); in the window, Connect to a server… is filled in from the
keyboard, Test lists the server's models, Use this server switches the window to it, a question
is asked and answered with its thinking; then the server is stopped mid-reply and started again,
and the chat goes on.

    .venv/bin/python tools/shot_remote.py   # writes docs/remote-*.png

The real window, store and remote backend against the real ``hearth serve`` (the tiny test
model; its replies scripted with HEARTH_TEST_SCRIPT_FILE, so they read as answers). Waiting with
sleep is fine here: this shows a person's view of the app; it is not a test. Needs what
tools/screenshots.py needs.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.shotlib import capture, keys, on_virtual_screen, open_window, type_text, wait  # noqa: E402

W, H = 1280, 860
THINK = (
    "The user asks why the sky is blue. Rayleigh scattering: scattering goes as 1/wavelength^4, "
    "so blue light scatters about five times more than red. Mention sunsets too."
)
ANSWER = (
    "Sunlight is a mix of every colour. On its way through the air it meets molecules much "
    "smaller than its wavelength, and these scatter short wavelengths far more than long ones "
    "(**Rayleigh scattering**, about 1/λ⁴): blue light is scattered roughly five times as much as "
    "red, all over the sky, so the sky looks blue from every direction.\n\n"
    "At sunset the light crosses much more air before it reaches you; most of the blue has been "
    "scattered away by then, and what is left is orange and red."
)
LONG = "Here is a longer explanation, sentence by sentence. " + "The light scatters. " * 400


def main() -> int:
    return on_virtual_screen("hearth-remoteshot-", W, H, _shoot)


def _capture(app: Any, out: Path) -> None:
    capture(app, out, W, H)


def _server(model: Path, home: Path, scripts: list[Any], port: int = 0) -> Any:
    from tests.helpers.serve import ServerProcess

    script_file = home.parent / f"scripts-{time.monotonic_ns()}.json"
    script_file.write_text(json.dumps(scripts), encoding="utf-8")
    args = ("--port", str(port)) if port else ()  # (the later --port wins over ServerProcess's 0)
    server = ServerProcess(model, home, *args, env={"HEARTH_TEST_SCRIPT_FILE": str(script_file)})
    if port and server.port != port:
        raise RuntimeError(f"the restarted server is on {server.port}, not {port}")
    return server


def _shoot(work: Path) -> int:

    from app.ui.remote_dialog import RemoteDialog
    from tests.helpers.tinymodel import write_tiny_gptoss

    docs = ROOT / "docs"
    model = write_tiny_gptoss(work / "gpt-oss-tiny.gguf")
    reply = (
        f"<|channel|>analysis<|message|>{THINK}<|end|>"
        f"<|start|>assistant<|channel|>final<|message|>{ANSWER}<|return|>"
    )
    long_reply = f"<|channel|>final<|message|>{LONG}<|return|>"
    again = "<|channel|>final<|message|>Back again: the chat is all here.<|return|>"
    server = _server(model, work / "serve-home", [reply, long_reply])
    app, win = open_window(W, H)
    wait(app, lambda: win.isVisible(), 5)

    # Connect to a server…, filled in from the keyboard; Test lists the server's models.
    dialog = RemoteDialog(win)
    dialog.move(120, 90)
    dialog.show()
    dialog.activateWindow()
    results: list[tuple[bool, str]] = []
    dialog.tested.connect(lambda ok, text: results.append((ok, text)))
    wait(app, lambda: dialog.isVisible(), 5)
    dialog.name.setFocus()
    type_text(app, "desktop")
    dialog.url.setFocus()
    type_text(app, server.base_url)
    dialog.test_button.setFocus()
    keys(app, "space")
    if not wait(app, lambda: bool(results), 30):
        raise RuntimeError("Test never answered")
    print("Test said:", results[-1])
    _capture(app, docs / "remote-connect.png")
    dialog.use_button.setFocus()
    keys(app, "space")
    wait(app, lambda: not dialog.isVisible(), 10)
    if dialog.chosen is None:
        raise RuntimeError("Use this server did not choose: " + dialog.status.text())
    win.models.use_remote(dialog.chosen)
    wait(app, lambda: win.engine.ready and not win.engine.busy, 30)

    # A question, answered through the server, its thinking opened.
    win.composer.focus()
    type_text(app, "Why is the sky blue?")
    keys(app, "Return")
    wait(app, lambda: not win.busy and len(win.chat.widgets) == 2, 60)
    answer = win.chat.widgets[-1]
    if answer.thinking is not None:
        answer.thinking.set_expanded(True)
    _capture(app, docs / "remote-chat.png")

    # The server goes away mid-reply: what arrived stays, marked, with Try again.
    win.composer.focus()
    type_text(app, "Tell me more, at length.")
    keys(app, "Return")
    wait(app, lambda: bool(win.turns.streaming and win.turns.streaming.data.content), 30)
    wait(app, lambda: False, 0.5)
    server.proc.send_signal(signal.SIGKILL)
    wait(app, lambda: not win.busy, 60)
    _capture(app, docs / "remote-lost.png")
    port = server.port
    server.close()

    # It comes back (same address): Try again, and the chat goes on.
    server = _server(model, work / "serve-home", [again], port=port)
    win.composer.focus()
    type_text(app, "Are you back?")
    keys(app, "Return")
    wait(app, lambda: not win.busy and win.chat.widgets[-1].data.content != "", 60)
    print("after the restart:", win.chat.widgets[-1].data.content[:60])
    win.shutdown()
    server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
