"""Code that tries to get out of the python tool's sandbox, each through `hearth tools call
python` (a real subprocess, the real sandbox, the real limits). Each must end with a clear
result, exit 0 (the tool ran), leave no kernel process and no runtime folder behind, and write
nothing outside the chat's folder.

HEARTH_HOME and HOME are folders outside /tmp (see ``visible_dir``): the sandbox hides /tmp
wholesale, so planting secrets there would prove nothing about hiding the home folder and
Hearth's own data.
"""

from __future__ import annotations

import glob
import re
import socket
import threading
from pathlib import Path

import pytest

from app.tools.python import sandbox
from tests.helpers.tools import REPO, Cli, kernel_processes, make_chat

pytestmark = pytest.mark.skipif(
    not sandbox.probe().available, reason=f"no sandbox here: {sandbox.probe().message}"
)


def snapshot(folder: Path) -> set[str]:
    """The files (not folders: the app makes its own) under ``folder``."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir()}


class Contained:
    """Checks, around one CLI call, that nothing leaked: files, processes, runtime folders."""

    def __init__(self, cli: Cli, chat: int) -> None:
        self.cli = cli
        self.root = cli.home.parent
        # The chat's folder, and what the store itself writes next to its database.
        self.allowed = (f"hearth/data/chats/{chat}/", "hearth/data/hearth.sqlite3-")

    def __enter__(self) -> Contained:
        self.files = snapshot(self.root)
        self.kernels = set(kernel_processes())
        self.runtimes = set(glob.glob("/tmp/hearth-py-*"))
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            return
        new = snapshot(self.root) - self.files
        leaked = [p for p in new if not any(p.startswith(a) for a in self.allowed)]
        assert not leaked, f"written outside the chat folder: {leaked}"
        assert set(kernel_processes()) <= self.kernels, "a kernel outlived the command"
        assert set(glob.glob("/tmp/hearth-py-*")) <= self.runtimes, "runtime folder left"


def test_no_network_not_even_to_the_hosts_loopback(cli: Cli) -> None:
    chat = make_chat(cli.home)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(30)
    port = server.getsockname()[1]
    accepted: list[object] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept())
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    code = f"""
import socket
for host, port in (("127.0.0.1", {port}), ("1.1.1.1", 53), ("::1", {port})):
    try:
        socket.create_connection((host, port), timeout=5)
        print("CONNECTED", host)
    except OSError as e:
        print("blocked", host, type(e).__name__, e.errno)
"""
    with Contained(cli, chat):
        status, result = cli.call_python(code, chat)
    stop.set()
    server.close()
    assert status == 0 and result["status"] == "ok", result
    assert "CONNECTED" not in result["text"]
    assert result["text"].count("blocked") == 3, result["text"]
    assert not accepted


def test_writes_outside_the_chat_folder_do_not_reach_the_disk(cli: Cli) -> None:
    chat = make_chat(cli.home)
    # Writable by anyone, so that only the sandbox can stop the writes (the kernel runs as
    # nobody when the tests run as root; as the user itself otherwise).
    for folder in (cli.home.parent, cli.home, cli.home / "data", cli.user_home):
        folder.chmod(0o777)
    targets = {
        "next to the chat data": cli.home.parent / "escape.txt",
        "Hearth's data": cli.home / "data" / "escape.txt",
        "the home folder": cli.user_home / "escape.txt",
        "the source tree": REPO / "escape-from-sandbox.txt",
        "above /mnt/data": Path("/mnt/data/../escape.txt"),
        "/tmp": Path("/tmp/escape-from-sandbox.txt"),
        "/etc": Path("/etc/escape-from-sandbox.txt"),
    }
    code = "import os\n"
    for label, path in targets.items():
        code += (
            f"try:\n    open({str(path)!r}, 'w').write('x')\n    print('wrote', {label!r})\n"
            f"except OSError as e:\n    print('refused', {label!r}, e.strerror)\n"
        )
    # A symlink planted in the chat folder still resolves inside the sandbox's view.
    outside = REPO / "escape-by-symlink.txt"
    code += (
        f"os.symlink({str(outside)!r}, 'link.txt')\n"
        "try:\n    open('link.txt', 'w').write('x')\n    print('wrote through link')\n"
        "except OSError as e:\n    print('refused link', e.strerror)\n"
        "_ = open('inside.txt', 'w').write('fine')\n"
    )
    with Contained(cli, chat):
        status, result = cli.call_python(code, chat)
    assert status == 0 and result["status"] == "ok", result
    for path in [*targets.values(), outside, Path("/tmp/escape-from-sandbox.txt")]:
        assert not path.resolve().exists(), f"{path} was written on the real disk"
    text = result["text"]
    assert "refused link" in text
    # Writes into the sandbox's own in-memory folders may succeed; they vanish with it.
    # The source tree is read-only where it is visible; where it sits in a hidden folder such as
    # /tmp only Hearth's package comes back, in folders the sandbox's user cannot write to.
    refusals = "Read-only file system|Permission denied|No such file or directory"
    assert re.search(rf"refused the source tree ({refusals})", text)
    assert "refused /etc Read-only file system" in text
    files = {f["name"] for f in result["files"]}
    assert files == {"inside.txt", "link.txt"}
    work = cli.home / "data" / "chats" / str(chat) / "files"
    assert (work / "inside.txt").read_text() == "fine"


def test_secrets_in_the_home_folder_and_hearths_data_are_unreadable(cli: Cli) -> None:
    chat = make_chat(cli.home)
    ssh = cli.user_home / ".ssh"
    ssh.mkdir()
    (ssh / "id_ed25519").write_text("SECRET-SSH-KEY")
    other = cli.home / "data" / "chats" / "999" / "files"
    other.mkdir(parents=True)
    (other / "diary.txt").write_text("OTHER-CHAT-SECRET")
    config = cli.home / "config"
    config.mkdir(exist_ok=True)
    (config / "tools.json").write_text(
        '{"mcpServers": {"x": {"url": "http://x", "headers": {"Authorization": "TOKEN-SECRET"}}}}'
    )
    paths = [
        ssh / "id_ed25519",
        other / "diary.txt",
        config / "tools.json",
        cli.home / "data" / "hearth.sqlite3",
    ]
    code = "import os\n"
    for p in paths:
        code += (
            f"try:\n    print(open({str(p)!r}).read())\n"
            f"except OSError as e:\n    print('unreadable', {p.name!r}, type(e).__name__)\n"
        )
    code += f"print('listing', os.listdir({str(cli.user_home)!r}) if os.path.exists("
    code += f"{str(cli.user_home)!r}) else 'absent')\n"
    code += "print('env', sorted(os.environ))\n"
    cli.extra_env["OPENAI_API_KEY"] = "ENV-SECRET"  # the app's environment stays out too
    with Contained(cli, chat):
        status, result = cli.call_python(code, chat)
    assert status == 0 and result["status"] == "ok", result
    text = result["text"]
    for secret in ("SECRET-SSH-KEY", "OTHER-CHAT-SECRET", "TOKEN-SECRET", "ENV-SECRET"):
        assert secret not in text, text
    # Not there at all (hidden by the sandbox), rather than refused by file permissions.
    assert text.count("FileNotFoundError") == 4, text
    assert "listing [] " in text or "listing absent" in text or "listing []\n" in text


def test_memory_past_the_cap_is_refused_and_the_kernel_goes_on(cli: Cli) -> None:
    chat = make_chat(cli.home)
    cli.settings(memory_mb=768)
    code = (
        "try:\n    block = bytearray(2 * 1024**3)\n    print('allocated 2 GiB')\n"
        "except MemoryError:\n    print('MemoryError: capped')\n"
        "print('still alive')\n"
    )
    with Contained(cli, chat):
        status, result = cli.call_python(code, chat)
    assert status == 0 and result["status"] == "ok", result
    assert result["text"] == "MemoryError: capped\nstill alive\n"


def test_forking_past_the_process_cap_is_refused(cli: Cli) -> None:
    chat = make_chat(cli.home)
    cli.settings(max_processes=32)
    code = """
import os, signal, time
kids = []
try:
    for _ in range(300):
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        kids.append(pid)
    print("forked all", len(kids))
except OSError as e:
    print("fork refused after", len(kids), "children:", e.strerror)
for k in kids:
    os.kill(k, signal.SIGKILL)
for k in kids:
    os.waitpid(k, 0)
print("still alive")
"""
    with Contained(cli, chat):
        status, result = cli.call_python(code, chat)
    assert status == 0 and result["status"] == "ok", result
    text = result["text"]
    assert "fork refused after" in text and "still alive" in text, text
    forked = int(text.split("fork refused after ")[1].split()[0])
    assert forked < 32


def test_an_endless_loop_times_out_and_everything_is_killed(cli: Cli) -> None:
    chat = make_chat(cli.home)
    cli.settings(timeout_s=3)
    code = "import subprocess\nsubprocess.Popen(['sleep', '600'])\nwhile True: pass\n"
    with Contained(cli, chat):
        status, result = cli.call_python(code, chat)
    assert status == 0 and result["status"] == "timeout", result
    assert "timed out after 3 s" in result["text"]
    assert "variables and imports from earlier calls are gone" in result["text"]
    assert 3 <= result["duration_s"] < 60


def test_a_hundred_megabytes_of_output_are_cut(cli: Cli) -> None:
    chat = make_chat(cli.home)
    code = "import sys\nsys.stdout.write('x' * 100_000_000)\nprint()\nprint('the end')\n"
    with Contained(cli, chat):
        status, result = cli.call_python(code, chat)
    assert status == 0 and result["status"] == "ok", result
    assert result["truncated"] is True
    assert len(result["text"]) < 17_000
    assert result["text"].rstrip().endswith("the end")
    assert "characters of output cut here" in result["text"]
    assert 1_000_000 <= len(result["output"]) < 1_100_000  # the user's copy is capped too
    assert result["output"].rstrip().endswith("the end")
