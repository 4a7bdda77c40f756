"""The kernel's life: it dies with the app (even on SIGKILL), and a kernel that dies under
the code is replaced on the next call, the model being told."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.tools.base import ToolCall, ToolContext
from app.tools.python import sandbox
from app.tools.python.tool import KernelPool, PythonTool
from app.tools.settings import PythonSettings
from tests.helpers.tools import REPO, Cli, kernel_processes, make_chat

pytestmark = pytest.mark.skipif(
    not sandbox.probe().available, reason=f"no sandbox here: {sandbox.probe().message}"
)


TRIALS = 3  # of SIGKILL mid-run (the README's Reliability table)


def wait_gone(pid: int, timeout: float) -> bool:
    """True once ``pid`` has exited (pidfd: no polling)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        return bool(ready)
    finally:
        os.close(fd)


def test_a_kernel_that_dies_under_the_code_is_replaced_and_the_model_told(
    tmp_path: Path,
) -> None:
    pool = KernelPool()
    try:
        tool = PythonTool(PythonSettings(mode="auto"), pool)
        ctx = ToolContext(work_dir=tmp_path / "files", output_dir=tmp_path / "out")
        assert tool.run(ToolCall("python", "state = 1"), ctx).status == "ok"
        died = tool.run(ToolCall("python", "import os\nos._exit(3)"), ctx)
        assert died.status == "error"
        assert "The Python kernel stopped while running this code (exit code 3)" in died.text
        after = tool.run(ToolCall("python", "print('fresh')"), ctx)
        assert after.text == (
            "[The Python kernel was restarted (it died during the previous run): variables and "
            "imports from earlier calls are gone.]\nfresh\n"
        )
    finally:
        pool.shutdown()


@pytest.mark.parametrize("trial", range(TRIALS))
def test_sigkill_of_the_app_mid_run_leaves_no_kernel(cli: Cli, trial: int) -> None:
    chat = make_chat(cli.home)
    work = cli.home / "data" / "chats" / str(chat) / "files"
    work.mkdir(parents=True)
    fifo = work / "started"
    os.mkfifo(fifo)
    os.chmod(fifo, 0o666)  # the kernel may run as another user (nobody, when we are root)
    before = set(kernel_processes())
    code = (
        "import subprocess, time\n"
        "subprocess.Popen(['sleep', '600'])\n"
        "open('started', 'w').write('yes')\n"
        "time.sleep(600)\n"
    )
    app = subprocess.Popen(
        [sys.executable, "-m", "app", "tools", "call", "python", "--chat", str(chat), code],
        env=cli.env(),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # The FIFO becomes readable when the code writes to it: the run is under way.
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        exited = os.pidfd_open(app.pid)
        ready, _, _ = select.select([reader, exited], [], [], 120)
        os.close(reader)
        os.close(exited)
        assert ready == [reader], "the code never started"
        kernels = set(kernel_processes()) - before
        assert kernels
        app.send_signal(signal.SIGKILL)
        app.wait(30)
        for entry in kernels:
            pid = int(entry.split(":")[0])
            assert wait_gone(pid, 30), f"orphaned: {entry}"
    finally:
        if app.poll() is None:
            app.kill()
            app.wait(30)
