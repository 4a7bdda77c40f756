"""SIGKILL of the app while the model's python call runs (10 trials, `hearth chat` with the
real engine host, the real sandboxed kernel and the real store): no kernel survives, and the
chat reopens with the call marked interrupted, everything before it kept."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.store import Store
from app.tools.python import sandbox
from tests.helpers.crash import wait_gone
from tests.helpers.tools import command_lines

pytestmark = pytest.mark.skipif(
    not sandbox.probe().available, reason=f"no sandbox here: {sandbox.probe().message}"
)

CODE = "open('started', 'w').write('yes')\nimport time\ntime.sleep(600)"
CALL = (
    "<|channel|>analysis<|message|>Run it.<|end|>"
    f"<|start|>assistant<|channel|>analysis to=python code<|message|>{CODE}<|call|>"
)
TRIALS = 10


def sandboxes_of(home: Path) -> list[int]:
    """The sandboxes (bwrap, the kernel's PID namespace) running for this HEARTH_HOME's chats:
    other tests on the machine may have kernels of their own."""
    return [
        pid
        for pid, cmd in command_lines().items()
        if "bwrap" in cmd.split(" ", 1)[0] and str(home) in cmd
    ]


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(TRIALS))
def test_sigkill_mid_tool_run_leaves_no_kernel_and_marks_the_call_interrupted(
    tiny_model: Path, tmp_path: Path, hearth_home: Path, trial: int
) -> None:
    env = {**os.environ, "HEARTH_HOME": str(hearth_home)}
    subprocess.run(
        [sys.executable, "-m", "app", "tools", "python", "--mode", "auto"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    with Store.open() as store:
        cid = store.create_conversation("kill trial").id
    work = hearth_home / "data" / "chats" / str(cid) / "files"
    work.mkdir(parents=True)
    fifo = work / "started"
    os.mkfifo(fifo)
    os.chmod(fifo, 0o666)  # the kernel may run as another user (nobody, when we are root)
    os.chmod(work, 0o777)
    scripts = tmp_path / "scripts.json"
    scripts.write_text(json.dumps([CALL]), encoding="utf-8")
    app = subprocess.Popen(
        [sys.executable, "-m", "app", "chat", "--model", str(tiny_model), "--threads", "1",
         "--conversation", str(cid), "Run the code."],
        env={**env, "HEARTH_TEST_SCRIPT_FILE": str(scripts)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        # Blocks until the code opens the fifo: the kill lands while the tool runs.
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            ready, _, _ = select.select([fd], [], [], 120)
            assert ready, "the code never started"
        finally:
            os.close(fd)
        started = sandboxes_of(hearth_home)
        assert started, "no sandboxed kernel while the code ran"
        app.send_signal(signal.SIGKILL)
        app.wait(30)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait(30)
    # The kernel notices the app is gone and ends, and its sandbox (the PID namespace: the
    # code's own children too) with it.
    assert all(wait_gone(pid, 30) for pid in started), sandboxes_of(hearth_home)
    # Reopened, the chat has the user message, the reply up to the call, and the call
    # marked interrupted; nothing is left 'streaming'.
    with Store.open() as store:
        path = store.active_path(cid)
    assert [m.role for m in path] == ["user", "assistant", "tool"]
    assert path[1].reasoning == "Run it." and path[1].tool_calls
    assert path[1].tool_calls[0]["arguments"] == CODE
    assert path[2].status == "interrupted" and path[2].name == "python"
    from app.ui.conversations import view_messages

    reply = view_messages(path, {})[1]
    assert reply.status == "interrupted" and reply.steps[0].status == "interrupted"
