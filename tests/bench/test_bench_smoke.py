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
