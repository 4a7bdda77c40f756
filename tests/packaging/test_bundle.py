"""Build the CPU bundle with PyInstaller and run it like a user would (make package-test).

Skipped in `make test`: the build alone takes ~35 s of both cores. `make package-test` sets
HEARTH_PACKAGE_TEST=1. HEARTH_BUNDLE=/path/to/dist/hearth tests an existing bundle instead.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app import __version__

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("HEARTH_PACKAGE_TEST"),
        reason="builds the PyInstaller bundle: run `make package-test`",
    ),
    pytest.mark.timeout(900),
]


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    existing = os.environ.get("HEARTH_BUNDLE")
    if existing:
        return Path(existing)
    pyinstaller = shutil.which("pyinstaller", path=str(Path(sys.executable).parent))
    if not pyinstaller:
        pytest.fail("PyInstaller is not installed in this venv: run `make package-test`.")
    work = tmp_path_factory.mktemp("pyinstaller")
    result = subprocess.run(
        [
            pyinstaller,
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(work / "dist"),
            "--workpath",
            str(work / "build"),
            str(ROOT / "packaging" / "hearth.spec"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return work / "dist" / "hearth"


def run_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update({"HEARTH_HOME": str(home), "HF_HUB_OFFLINE": "1", **extra})
    return env


def test_bundle_layout_is_lean(bundle):
    internal = bundle / "_internal"
    assert (bundle / "hearth").is_file()
    assert (internal / "llama_cpp" / "lib" / "libllama.so").exists()
    assert (internal / "resources" / "icons" / "hearth-256.png").is_file()
    assert (internal / "resources" / "NOTICES.md").is_file()
    licences = internal / "resources" / "licenses" / "python-packages"
    assert {"huggingface_hub", "numpy", "platformdirs"} <= {p.name for p in licences.iterdir()}
    qt = internal / "PySide6"
    names = {p.name for p in qt.rglob("*")}
    assert "libqxcb.so" in names and "libqoffscreen.so" in names
    for unwanted in (
        "libQt6WebEngineCore.so.6",
        "libQt6Quick.so.6",
        "libQt6Qml.so.6",
        "libqpdf.so",
    ):
        assert unwanted not in names
    assert not any(n.startswith(("pytest", "_pytest", "hypothesis", "tkinter")) for n in names)
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file() and not p.is_symlink())
    # 260 MiB before round 2; the python tool (matplotlib, Pillow, IPython, ZeroMQ) adds ~45.
    assert size < 320 * 1024 * 1024, f"bundle grew to {size / 2**20:.0f} MiB"


def test_every_app_module_is_bundled(bundle):
    # The CLI and GUI import their modules by name, so the spec lists the app package with
    # collect_submodules; a package that fails to import at build time would drop out silently.
    from PyInstaller.archive.readers import ZlibArchiveReader

    archives = list((bundle.parent.parent / "build" / "hearth").glob("PYZ-*.pyz"))
    if not archives:
        pytest.skip("no PyInstaller work folder next to this bundle")
    bundled = {name for name in ZlibArchiveReader(str(archives[0])).toc if name.startswith("app")}
    wanted = set()
    for path in (ROOT / "app").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        wanted.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    assert wanted - bundled == set()


def test_version(bundle, tmp_path):
    out = subprocess.run(
        [str(bundle / "hearth"), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env=run_env(tmp_path),
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"hearth {__version__}"


def test_chat_streams_through_the_frozen_engine_host(bundle, tiny_model, tmp_path):
    out = subprocess.run(
        [
            str(bundle / "hearth"),
            "chat",
            "--model",
            str(tiny_model),
            "--jsonl",
            "--max-tokens",
            "24",
            "--seed",
            "1",
            "--no-save",
            "hi",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        env=run_env(tmp_path),
    )
    events = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    assert events, out.stderr
    assert events[-1]["type"] == "done", events[-1]
    assert out.returncode == 0, out.stderr
    stats = events[-1]["stats"]
    assert stats["generated_tokens"] > 0
    assert stats["prompt_tokens"] > 0
    # The reply streamed as several events before "done" (the tiny model babbles).
    assert len(events) >= 2
    assert {e["type"] for e in events[:-1]} <= {"reasoning", "content", "preamble", "tool_call"}


def test_python_tool_kernel_runs_sandboxed_from_the_bundle(bundle, tmp_path):
    # The frozen executable is the kernel too (`hearth python-kernel`), started through the
    # bundled bwrap; ipykernel, IPython and the inline matplotlib backend must all be inside.
    env = run_env(tmp_path)
    listed = subprocess.run(
        [str(bundle / "hearth"), "tools", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert listed.returncode == 0, listed.stderr
    python = json.loads(listed.stdout)["tools"][0]
    assert python["name"] == "python"
    if sys.platform.startswith("linux"):
        assert python["isolation"] == "bwrap" and python["available"], python["status"]
    code = (
        "import os, socket\n"
        "import matplotlib.pyplot as plt\n"
        "plt.plot([0, 1, 2], [2, 0, 1])\n"
        "print(os.getcwd(), 6 * 7)\n"
    )
    out = subprocess.run(
        [str(bundle / "hearth"), "tools", "call", "python", "--json", "-"],
        input=code,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout)
    assert result["status"] == "ok", result
    assert result["text"].startswith("/mnt/data 42\n"), result["text"]  # no warnings
    assert len(result["images"]) == 1
    assert Path(result["images"][0]["path"]).read_bytes()[:4] == b"\x89PNG"


def child_commands(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the direct children of ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                found.append((int(entry.name), command))
        except (OSError, ValueError, IndexError):
            continue
    return found


def wait_until_gone(pid: int, timeout: float) -> bool:
    """Wait until process ``pid`` has exited (gone or a zombie); True if it is still running.

    It is not our child, so there is nothing to wait() on: watch /proc until the deadline, using
    a pidfd when the kernel has one (poll wakes when the process exits).
    """
    try:
        fd = os.pidfd_open(pid)
    except (OSError, AttributeError):
        fd = None
    if fd is not None:
        try:
            ready, _, _ = select.select([fd], [], [], timeout)
            return not ready
        finally:
            os.close(fd)
    stat = Path(f"/proc/{pid}/stat")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                return False
        except OSError:
            return False
        select.select([], [], [], 0.1)
    return True


def test_gui_starts_offscreen_and_stays_up(bundle, tiny_model, tmp_path):
    # With --model the window loads it at once, so the frozen engine host must start too.
    proc = subprocess.Popen(
        [str(bundle / "hearth"), "gui", "--model", str(tiny_model)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=run_env(tmp_path, QT_QPA_PLATFORM="offscreen"),
    )
    try:
        hosts: list[tuple[int, str]] = []
        for _ in range(100):  # up to ~20 s for the engine host to appear
            with pytest.raises(subprocess.TimeoutExpired):
                proc.wait(timeout=0.2)  # the app must not exit meanwhile
            hosts = [(pid, c) for pid, c in child_commands(proc.pid) if "engine-host" in c]
            if hosts:
                break
        assert hosts, "the app did not start its engine host (hearth engine-host)"
        host_pid, host_command = hosts[0]
        assert host_command.split()[0] == str(bundle / "hearth")
        # The app hands its children the user's environment, not the bundle's private Qt and
        # loader paths (a browser opened from a link would load them); the engine host's own
        # bootloader then sets its library path itself.
        host_env = dict(
            item.split("=", 1)
            for item in Path(f"/proc/{host_pid}/environ").read_bytes().decode().split("\0")
            if "=" in item
        )
        assert "QT_PLUGIN_PATH" not in host_env and "QML2_IMPORT_PATH" not in host_env
        assert host_env.get("LD_LIBRARY_PATH", "").startswith(str(bundle / "_internal"))
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=5)  # still running 5 s later: the window is up, nothing crashed
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            pytest.fail(f"the app did not exit within 20 s of SIGTERM:\n{err[-3000:]}")
    # Ended by SIGTERM's default action or a handler that quits: no crash, no abort.
    assert proc.returncode in (0, -signal.SIGTERM), (proc.returncode, err[-3000:])
    assert "Traceback" not in err, err[-3000:]
    assert "Could not load the Qt platform plugin" not in err
    # Its engine host sees the pipe close and exits too: no orphaned llama.cpp process.
    orphan = wait_until_gone(host_pid, timeout=15)
    assert not orphan, f"engine host {host_pid} still running after the app exited"


def test_deb_builds_unpacks_and_its_launcher_runs(bundle, tmp_path):
    out_dir = tmp_path / "out"
    built = subprocess.run(
        ["bash", str(ROOT / "installer" / "linux" / "build-deb.sh")],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "BUNDLE": str(bundle), "OUT": str(out_dir), "DEB_COMPRESSION": "gzip:1"},
    )
    assert built.returncode == 0, built.stderr
    deb = Path(built.stdout.strip().splitlines()[-1])
    assert deb.name == f"hearth_{__version__}_{deb.name.split('_')[-1]}"

    info = subprocess.run(
        ["dpkg-deb", "--field", str(deb), "Package", "Version", "Depends"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Package: hearth" in info and f"Version: {__version__}" in info
    assert "libxcb-cursor0" in info and "libc6 (>= 2." in info

    root = tmp_path / "root"
    subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    launcher = root / "usr" / "bin" / "hearth"
    assert launcher.is_symlink() and not Path(os.readlink(launcher)).is_absolute()
    version = subprocess.run(
        [str(launcher), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env=run_env(tmp_path),
    )
    assert version.stdout.strip() == f"hearth {__version__}", version.stderr
    assert (root / "usr/share/applications/hearth.desktop").is_file()
    for size in (16, 32, 48, 128, 256, 512):
        assert (root / f"usr/share/icons/hicolor/{size}x{size}/apps/hearth.png").is_file()
    assert (root / "usr/share/icons/hicolor/scalable/apps/hearth.svg").is_file()
    assert (root / "usr/share/doc/hearth/copyright").is_file()
    assert (root / "usr/share/metainfo/app.hearth.Hearth.metainfo.xml").is_file()
    validator = shutil.which("desktop-file-validate")
    if validator:
        subprocess.run([validator, str(root / "usr/share/applications/hearth.desktop")], check=True)


def test_tarball_unpacks_and_runs(bundle, tmp_path):
    built = subprocess.run(
        ["bash", str(ROOT / "installer" / "linux" / "make-tarball.sh")],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "BUNDLE": str(bundle), "OUT": str(tmp_path / "out")},
    )
    assert built.returncode == 0, built.stderr
    tarball = Path(built.stdout.strip().splitlines()[-1])
    subprocess.run(["tar", "-xzf", str(tarball), "-C", str(tmp_path)], check=True)
    folder = tmp_path / tarball.name.removesuffix(".tar.gz")
    for name in (
        "hearth",
        "README.txt",
        "install-desktop-entry.sh",
        "hearth.desktop",
        "hearth.png",
    ):
        assert (folder / name).exists(), name
    out = subprocess.run(
        [str(folder / "hearth"), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env=run_env(tmp_path),
    )
    assert out.stdout.strip() == f"hearth {__version__}", out.stderr


def test_frozen_model_manager_downloads_and_detects_hardware(bundle, tiny_model, tmp_path):
    # huggingface_hub, its HTTP stack and certificates, and llama.cpp's device list, all frozen.
    from tests.helpers.fakehub import FakeHub, Fault

    repo, name = "ggml-org/tiny-gpt-oss-GGUF", "tiny-gpt-oss-mxfp4.gguf"
    data = tiny_model.read_bytes()
    hub = FakeHub().start()
    try:
        hub.add_file(repo, name, data)
        hub.faults[name] = Fault(drop_at=len(data) // 2)  # the download must resume
        env = run_env(
            tmp_path,
            HF_ENDPOINT=hub.url,
            HF_HUB_OFFLINE="0",
            HF_HOME=str(tmp_path / "hf"),
            HF_HUB_CACHE=str(tmp_path / "hf" / "hub"),
        )
        env.pop("HF_TOKEN", None)
        hearth = str(bundle / "hearth")
        got = subprocess.run(
            [hearth, "models", "download", f"{repo}:{name}"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert got.returncode == 0, got.stdout + got.stderr
        assert "Installed and verified" in got.stdout
        listed = subprocess.run(
            [hearth, "models", "list", "--json"], capture_output=True, text=True, env=env
        )
        models = json.loads(listed.stdout)
        assert [m["id"] for m in models] == [f"{repo}:{name}"] and models[0]["ok"]
    finally:
        hub.close()
    hardware = subprocess.run(
        [str(bundle / "hearth"), "hardware", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=run_env(tmp_path),
    )
    assert hardware.returncode == 0, hardware.stderr
    found = json.loads(hardware.stdout)
    assert found["ram_total"] > 0 and found["backend"] in ("CPU", "CUDA", "Metal", "Vulkan")
