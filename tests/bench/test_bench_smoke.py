"""``make bench`` still runs: the cheap suites in quick mode, and the shape of latest.json.

Timings are never asserted here (a shared CI machine decides those); only that the command runs,
every suite asked for reports its figures, and the file others read has its documented fields.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHEAP = ("store", "memory")


def test_quick_bench_writes_latest_json(tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    res = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", ",".join(CHEAP), "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    data = json.loads(out.read_text())
    assert set(data) >= {"when", "machine", "failed_suites", "results"}
    assert data["failed_suites"] == []
    assert set(data["machine"]) >= {"platform", "python", "cpus"}
    results = data["results"]
    assert {r["bench"] for r in results} == set(CHEAP)
    for r in results:
        assert set(r) >= {"bench", "name", "value", "unit", "target", "detail", "ok"}
        assert isinstance(r["value"], (int, float)) and r["name"]
        # A figure with a target is judged; one without is informational.
        assert (r["ok"] is None) == (r["target"] == ""), r
        if r["target"]:
            op, bound = r["target"].split()
            assert op in (">=", "<=", ">", "<") and float(bound) > 0
    names = {r["name"] for r in results}
    assert "GUI process RSS, model loaded + reply" in names
    assert "engine host RSS / model file" in names
    # The table is printed too, one row per figure.
    for r in results:
        assert r["name"] in res.stdout


def test_publish_rewrites_the_tables_from_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The READMEs' figures come from a run's JSON, between markers, with where they came from."""
    from bench import publish

    run = {
        "when": "2026-11-30T07:00:00+0000",
        "seconds": 600.0,
        "command": "python -m bench --model shaped.gguf",
        "commit": "0123456789abcdef",
        "uncommitted": [],
        "machine": {"cpu": "Test CPU", "cores": [2, 2], "memory_gb": 23.0, "platform": "Linux"},
        "suites": [{"suite": "bench.app_path", "seconds": 60.0, "load": [[0.5, 0.4, 0.3], [1.2]]}],
        "failed_suites": [],
        "results": [
            {
                "bench": "app",
                "name": "whole app / raw loop, 2 threads",
                "value": 0.981,
                "unit": "",
                "target": ">= 0.97",
                "spread": [0.95, 1.01],
            },
            {"bench": "store", "name": "start-up", "value": 17.0, "unit": "ms", "target": ""},
        ],
    }
    src = tmp_path / "run.json"
    src.write_text(json.dumps(run))
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Intro\n\n<!-- bench:begin old -->\n| stale | table |\n<!-- bench:end -->\n\nAfter.\n"
    )
    monkeypatch.setattr(publish, "READMES", (readme,))
    monkeypatch.setattr(publish, "PUBLISHED", tmp_path / "published.json")
    assert publish.main(["--from", str(src)]) == 0
    text = readme.read_text()
    assert "stale" not in text and text.startswith("# Intro\n\n") and text.endswith("After.\n")
    assert "| app | whole app / raw loop, 2 threads | 0.981 (0.95–1.01) | ≥ 0.97 | yes |" in text
    assert "| store | start-up | 17 ms |  |  |" in text
    assert "commit 0123456789" in text and "Test CPU (2 cores" in text
    assert json.loads((tmp_path / "published.json").read_text()) == run
    # Published again from the same file: the same text (nothing accumulates).
    publish.main(["--from", str(src)])
    assert readme.read_text() == text
