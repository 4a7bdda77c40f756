"""The first code that runs inside the python tool's sandbox, before ipykernel.

Run as ``python -m app.tools.python.launcher`` (or ``hearth python-kernel`` in a frozen bundle)
with the Jupyter connection file and the limits. In order: drop root (the app ran as root: the
kernel runs as nobody, so the process cap applies), forbid new privileges, close every file
descriptor it was not given on purpose (a directory descriptor could lead back outside the
sandbox), set the resource limits, watch the app (a pipe: when the app dies, the kernel and all
it started die), then start ipykernel. Imports nothing from Hearth; standard library only until
ipykernel.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import sys
import threading

PR_SET_NO_NEW_PRIVS = 38


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="hearth python-kernel")
    p.add_argument("connection_file")
    p.add_argument("--watch-fd", type=int, default=-1)
    p.add_argument("--limits", default="{}")
    p.add_argument("--drop-to", default="")  # "UID:GID"
    p.add_argument("--cwd", default="")
    args = p.parse_args(argv)
    limits = json.loads(args.limits)

    if args.drop_to:
        uid, gid = (int(x) for x in args.drop_to.split(":"))
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)  # from root: every capability goes with it
    _no_new_privileges()
    keep = {args.watch_fd} if args.watch_fd >= 0 else set()
    _close_other_fds(keep)
    _apply_limits(limits)
    if args.watch_fd >= 0:
        threading.Thread(target=_watch_parent, args=(args.watch_fd,), daemon=True).start()
    if args.cwd:
        os.chdir(args.cwd)
    if os.environ.get("HEARTH_MPLCONFIGDIR"):
        os.environ["MPLCONFIGDIR"] = os.environ.pop("HEARTH_MPLCONFIGDIR")
    for var in ("HOME", "MPLCONFIGDIR", "IPYTHONDIR", "JUPYTER_RUNTIME_DIR"):
        if os.environ.get(var):
            os.makedirs(os.environ[var], exist_ok=True)

    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    from ipykernel.kernelapp import IPKernelApp

    IPKernelApp.launch_instance(
        argv=[
            "-f",
            args.connection_file,
            "--HistoryManager.enabled=False",  # no history.sqlite anywhere
            "--IPKernelApp.quiet=True",
            "--colors=NoColor",
        ]
    )
    return 0


def _no_new_privileges() -> None:
    """A setuid program (sudo, su) run from the kernel does not gain its owner's rights."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        except OSError:
            pass


def _close_other_fds(keep: set[int]) -> None:
    fd_dir = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
    try:
        fds = [int(n) for n in os.listdir(fd_dir)]
    except OSError:
        fds = list(range(3, 256))
    for fd in fds:
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _apply_limits(limits: dict[str, int]) -> None:
    try:
        import resource
    except ImportError:  # Windows: no rlimits
        return

    def cap(which: int, value: int | None) -> None:
        if not value or value <= 0:
            return
        _soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass

    mb = 1024 * 1024
    if limits.get("memory_mb"):
        cap(resource.RLIMIT_AS, int(limits["memory_mb"]) * mb)
    if limits.get("cpu_s"):
        cap(resource.RLIMIT_CPU, int(limits["cpu_s"]))
    if limits.get("file_size_mb"):
        cap(resource.RLIMIT_FSIZE, int(limits["file_size_mb"]) * mb)
    cap(resource.RLIMIT_CORE, 0) if hasattr(resource, "RLIMIT_CORE") else None
    if limits.get("max_processes") and hasattr(resource, "RLIMIT_NPROC"):
        # Counted per user. In a user namespace of its own (bubblewrap) the kernel's tasks are
        # counted alone; elsewhere the user's other processes count too, so they are added.
        extra = 0 if limits.get("own_user_namespace") else _tasks_of_this_user()
        cap(resource.RLIMIT_NPROC, int(limits["max_processes"]) + extra)


def _tasks_of_this_user() -> int:
    """The user's processes and threads (what RLIMIT_NPROC counts on Linux)."""
    uid = os.getuid()
    if os.path.isdir("/proc/self/task"):
        count = 0
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{name}/task"))
            except OSError:
                continue
        return count
    try:
        import psutil

        return sum(1 for p in psutil.process_iter(["uids"]) if p.info["uids"].real == uid)
    except Exception:
        return 512


def _watch_parent(fd: int) -> None:
    """The app keeps the pipe's other end: end of file means the app is gone (even SIGKILL)."""
    try:
        while os.read(fd, 1):
            pass
    except OSError:
        pass
    try:
        os.killpg(os.getpgrp(), signal.SIGKILL)
    finally:
        os._exit(1)


if __name__ == "__main__":
    sys.exit(main())
