"""The python tool in-process, with real sandboxed kernels (bubblewrap on this machine).

One kernel is shared by the tests of this module where they allow it (a kernel starts in 1-2 s);
the tests that kill their kernel (timeout, Stop) get their own chat folder.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.tools.base import ToolCall, ToolContext, ToolResult
from app.tools.python import sandbox
from app.tools.python.tool import KernelPool, PythonTool
from app.tools.settings import PythonSettings
from tests.helpers.tools import command_lines, kernel_processes

pytestmark = pytest.mark.skipif(
    not sandbox.probe().available, reason=f"no sandbox here: {sandbox.probe().message}"
)


@pytest.fixture(scope="module")
def pool() -> Iterator[KernelPool]:
    p = KernelPool()
    yield p
    p.shutdown()


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("chat")
    (root / "files").mkdir()
    return root / "files", root / "outputs"


def run(
    tool: PythonTool,
    code: str,
    folders: tuple[Path, Path],
    cancel: threading.Event | None = None,
    on_output: Callable[[str], None] | None = None,
) -> ToolResult:
    ctx = ToolContext(work_dir=folders[0], output_dir=folders[1], on_output=on_output)
    if cancel is not None:
        ctx.cancel = cancel
    return tool.run(ToolCall("python", code, channel="analysis"), ctx)


@pytest.fixture(scope="module")
def tool(pool: KernelPool) -> PythonTool:
    return PythonTool(PythonSettings(mode="auto"), pool)


def test_state_is_kept_across_calls(tool: PythonTool, chat: tuple[Path, Path]) -> None:
    first = run(tool, "import math\nradius = 2\nprint('set')", chat)
    assert first.status == "ok" and first.text == "set\n"
    second = run(tool, "round(math.pi * radius**2, 3)", chat)
    assert second.status == "ok"
    assert second.text == "12.566\n"  # an expression's value, as Jupyter shows it


def test_code_runs_in_the_chat_folder_mounted_as_mnt_data(
    tool: PythonTool, chat: tuple[Path, Path]
) -> None:
    result = run(
        tool,
        "import os\nopen('notes.txt', 'w').write('hello')\nprint(os.getcwd())",
        chat,
    )
    assert result.text == "/mnt/data\n"
    assert (chat[0] / "notes.txt").read_text() == "hello"
    assert [f.name for f in result.files] == ["notes.txt"]
    assert result.files[0].size == 5


def test_a_raised_exception_is_a_result_with_its_traceback(
    tool: PythonTool, chat: tuple[Path, Path]
) -> None:
    result = run(tool, "def f():\n    return 1 / 0\nf()", chat)
    assert result.status == "error"
    assert result.error == "The code raised ZeroDivisionError."
    assert "ZeroDivisionError: division by zero" in result.text
    assert "\x1b[" not in result.text  # no terminal colours for the model
    assert run(tool, "radius", chat).text == "2\n"  # same kernel, state intact


def test_no_output_says_so_like_the_reference_tool(
    tool: PythonTool, chat: tuple[Path, Path]
) -> None:
    result = run(tool, "y = 1", chat)
    assert result.status == "ok"
    assert result.text.startswith("[WARN] No output available. Use print()")


def test_a_matplotlib_figure_comes_back_as_a_png(tool: PythonTool, chat: tuple[Path, Path]) -> None:
    code = "import matplotlib.pyplot as plt\nplt.plot([0, 1, 2], [0, 1, 4])\nplt.title('squares')\n"
    result = run(tool, code, chat)
    assert result.status == "ok", result.text
    assert len(result.images) == 1
    image = Path(result.images[0].path)
    assert image.parent == chat[1]  # outside the code's reach
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.images[0].mime == "image/png"
    assert "Figure size" in result.text and image.name in result.text


def test_long_output_is_cut_for_the_model_and_kept_for_the_user(
    pool: KernelPool, chat: tuple[Path, Path]
) -> None:
    settings = PythonSettings(mode="auto", model_output_chars=1000, user_output_chars=50_000)
    tool = PythonTool(settings, pool)
    result = run(tool, "for i in range(20000): print(i)\nraise ValueError('at the end')", chat)
    assert result.status == "error" and result.truncated
    assert len(result.text) < 1200
    assert result.text.startswith("0\n1\n2\n")
    assert "ValueError: at the end" in result.text  # the tail survives the cut
    assert "characters of output cut here" in result.text
    assert result.output.startswith("0\n1\n2\n") and len(result.output) > 50_000
    assert "ValueError: at the end" in result.output


def test_timeout_kills_the_kernel_and_the_next_call_is_told(
    pool: KernelPool, tmp_path: Path
) -> None:
    settings = PythonSettings(mode="auto")
    settings.limits.timeout_s = 3
    tool = PythonTool(settings, pool)
    folders = (tmp_path / "files", tmp_path / "out")
    others = set(kernel_processes())
    assert run(tool, "x = 5", folders).status == "ok"
    mine = set(kernel_processes()) - others  # bwrap, the sandbox's init, the kernel
    assert mine
    result = run(tool, "print('spinning', flush=True)\nwhile True: pass", folders)
    assert result.status == "timeout"
    assert result.text.startswith("spinning\n")
    assert "timed out after 3 s" in result.text
    assert not mine & set(kernel_processes())  # that chat's kernel is gone, whole
    after = run(tool, "print(x)", folders)
    assert after.text.startswith("[The Python kernel was restarted (the previous run timed out)")
    assert "NameError" in after.text  # a fresh kernel: x is gone, as the model was told


def test_stop_kills_the_run_and_its_children(pool: KernelPool, tmp_path: Path) -> None:
    tool = PythonTool(PythonSettings(mode="auto"), pool)
    folders = (tmp_path / "files", tmp_path / "out")
    cancel = threading.Event()
    sleeping = threading.Event()
    seen: list[str] = []

    def on_output(text: str) -> None:  # live output: the run says when its child sleeps
        seen.append(text)
        if "child sleeps" in "".join(seen):
            sleeping.set()

    code = (
        "import subprocess, time\n"
        "child = subprocess.Popen(['sleep', '300'])\n"
        "print('child sleeps', flush=True)\n"
        "time.sleep(300)\n"
    )
    result_box: list[ToolResult] = []
    others = set(kernel_processes())
    runner = threading.Thread(
        target=lambda: result_box.append(run(tool, code, folders, cancel, on_output))
    )
    runner.start()
    assert sleeping.wait(60), seen
    assert _sleepers(), "the child should be running now"
    cancel.set()
    runner.join(30)
    assert result_box and result_box[0].status == "interrupted"
    assert result_box[0].text.startswith("child sleeps\n")
    assert "Stopped by the user" in result_box[0].text
    assert set(kernel_processes()) <= others
    # The whole sandbox went, the child with it: the kernel ends a PID namespace's processes
    # once its first one is killed, a moment after (a deadline, not a timing figure).
    deadline = time.monotonic() + 10
    while _sleepers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _sleepers()


def _sleepers() -> list[int]:
    return [pid for pid, cmd in command_lines().items() if cmd.startswith("sleep 300 ")]


def test_the_description_tells_the_model_what_is_true(tool: PythonTool) -> None:
    text = tool.namespace().description
    assert "stateful Jupyter notebook environment" in text
    assert "time out after 120.0 seconds" in text
    assert "The drive at '/mnt/data' can be used to save and persist user files." in text
    assert text.endswith("Internet access for this session is disabled.")


def test_without_isolation_the_description_names_the_real_folder(tmp_path: Path) -> None:
    tool = PythonTool(PythonSettings(mode="auto", isolation="none"))
    text = tool.namespace(tmp_path).description
    assert f"The drive at '{tmp_path}'" in text and text.endswith("is enabled.")
    assert "WITHOUT isolation" in tool.status().message


def test_empty_code_is_an_error_the_model_can_fix(tool: PythonTool, tmp_path: Path) -> None:
    result = tool.run(ToolCall("python", "  \n"), ToolContext(work_dir=tmp_path))
    assert result.status == "error" and "No code was sent" in result.text


def test_hitting_the_memory_cap_leaves_the_kernel_and_its_state(
    pool: KernelPool, tmp_path: Path
) -> None:
    settings = PythonSettings(mode="auto")
    settings.limits.memory_mb = 768
    tool = PythonTool(settings, pool)
    folders = (tmp_path / "files", tmp_path / "out")
    assert run(tool, "kept = 'still here'", folders).status == "ok"
    result = run(tool, "block = bytearray(2 * 1024**3)", folders)
    assert result.status == "error" and "MemoryError" in result.text
    assert run(tool, "print(kept)", folders).text == "still here\n"  # same kernel
