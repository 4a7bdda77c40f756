"""`hearth models …` and `hearth hardware` end to end (in process, against the fake hub)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.cli import main
from tests.helpers.fakehub import FakeHub, Fault, HubFile
from tests.helpers.hub import FILE, REPO


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_hardware(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "hardware", "--json")
    d = json.loads(out)
    assert code == 0 and d["ram_total"] > 0 and d["cpu_physical"] >= 1
    assert d["backend"] in ("CPU", "CUDA", "Metal", "Vulkan")
    code, out, _ = run(capsys, "hardware")
    assert "Memory:" in out and "Recommended: gpt-oss" in out


def test_catalog_and_plan(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "models", "catalog", "--json")
    entries = json.loads(out)
    assert entries[0]["id"] == "gpt-oss-20b" and entries[0]["fit"]["label"]
    code, out, _ = run(capsys, "models", "plan", "gpt-oss-20b", "--vram-gb", "8", "--json")
    d = json.loads(out)
    assert code == 0 and d["plan"]["verdict"] == "partial" and d["load_options"]["n_cpu_moe"] > 0
    code, out, _ = run(capsys, "models", "plan", "gpt-oss-20b", "--vram-gb", "8", "--ncmoe", "0")
    assert code == 2 and "Won't fit" in out


def test_download_list_plan_remove(
    capsys: pytest.CaptureFixture[str], fake_hub: FakeHub, served: HubFile
) -> None:
    fake_hub.faults[FILE] = Fault(drop_at=len(served.data) // 2)
    code, out, err = run(capsys, "models", "download", f"{REPO}:{FILE}")
    assert code == 0, err
    assert "Installed and verified" in out
    code, out, _ = run(capsys, "models", "list", "--json")
    models = json.loads(out)
    assert [m["id"] for m in models] == [f"{REPO}:{FILE}"] and models[0]["ok"]
    code, out, _ = run(capsys, "models", "plan", FILE, "--json")
    assert code == 0 and json.loads(out)["load_options"]["model_path"] == models[0]["path"]
    code, _, err = run(capsys, "models", "remove", FILE)  # no terminal, no --yes: refuses
    assert code == 1 and "--yes" in err
    code, out, _ = run(capsys, "models", "remove", FILE, "--yes")
    assert code == 0 and "freed" in out
    assert json.loads(run(capsys, "models", "list", "--json")[1]) == []


def test_download_to_a_folder_is_listed(
    capsys: pytest.CaptureFixture[str], fake_hub: FakeHub, served: HubFile, tmp_path: Path
) -> None:
    dest = tmp_path / "my models"
    code, _out, err = run(capsys, "models", "download", f"{REPO}:{FILE}", "--to", str(dest))
    assert code == 0, err
    assert (dest / FILE).read_bytes() == served.data
    models = json.loads(run(capsys, "models", "list", "--json")[1])
    assert [(m["source"], m["path"]) for m in models] == [("folder", str(dest.resolve() / FILE))]


def test_download_errors_are_sentences(
    capsys: pytest.CaptureFixture[str], fake_hub: FakeHub, served: HubFile
) -> None:
    code, _, err = run(capsys, "models", "download", "nobody/nothing:x.gguf")
    assert code == 1 and "was not found, or it is private" in err
    code, _, err = run(capsys, "models", "download", "no-such-id")
    assert code == 1 and "hearth models catalog" in err
    code, out, _ = run(capsys, "models", "search", "tiny", "--json")
    assert [h["repo_id"] for h in json.loads(out)] == [REPO]
    code, out, _ = run(capsys, "models", "files", REPO)
    assert FILE in out


def test_import_and_bad_import(
    capsys: pytest.CaptureFixture[str], tiny_model: Path, tmp_path: Path
) -> None:
    p = tmp_path / "here.gguf"
    shutil.copy(tiny_model, p)
    code, out, _ = run(capsys, "models", "import", str(p))
    assert code == 0 and "stays where it is" in out
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 10)
    code, _, err = run(capsys, "models", "import", str(bad))
    assert code == 1 and "Cannot import bad.gguf" in err
    code, out, _ = run(capsys, "models", "list")
    assert str(p) in out and "imported" in out


def test_ctrl_c_pauses_and_the_same_command_resumes(
    fake_hub: FakeHub, served: HubFile, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from app.hub.hfcache import hf_cache_dir, repo_folder

    size = len(served.data)
    fake_hub.faults[FILE] = Fault(stall_at=size // 2)
    blob = repo_folder(hf_cache_dir(), REPO) / "blobs" / f"{served.sha256}.incomplete"

    def next_partial(n: int) -> Path | None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # polls a file another process writes
            if blob.exists() and blob.stat().st_size >= n:
                return blob
            time.sleep(0.01)
        return None

    cmd = [sys.executable, "-m", "app", "models", "download", f"{REPO}:{FILE}"]
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert fake_hub.stalled.wait(30)
        # Interrupt once the first half is on disk (the child writes it as it arrives).
        partial = next_partial(size // 2)
        assert partial is not None
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Paused at" in err and "run the same command again to resume" in err.lower()
    assert "Traceback" not in err
    fake_hub.release.set()
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=60, env=os.environ)
    assert done.returncode == 0, done.stderr
    assert "Installed and verified" in done.stdout
    assert fake_hub.bytes_served(FILE) == size  # resumed from the partial file, not restarted
