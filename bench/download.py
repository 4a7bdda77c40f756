"""Downloads: Hearth's downloader against plain ``curl`` of the same file from the same local
server, and how much a dropped connection costs.

The fake hub (tests/helpers/fakehub.py) serves a generated file of real bytes on 127.0.0.1. Both
clients fetch it the same way (resolve URL, to disk); Hearth also hashes it (SHA-256) while it
arrives and installs it in the HF cache layout, so the ratio includes the verification cost. Both
write into the same folder. One untimed run of each comes first (imports, the server's first
answers); then the timed runs alternate (who goes first too) and the median of each is compared:
the best of each would favour whichever client varies more (Hearth, whose hash thread competes
with the server for a core), and the median is what a user sees.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.core import Context, Result

REPO = "bench/big-GGUF"
NAME = "big.gguf"
DROP = "dropped.gguf"


def _payload(size: int) -> bytes:
    # Real, incompressible-looking bytes without paying for os.urandom on hundreds of MB:
    # a 1 MiB random block, each copy made distinct by its index.
    block = os.urandom(1 << 20)
    parts = []
    for i in range(size >> 20):
        parts.append(i.to_bytes(8, "little") + block[8:])
    return b"".join(parts)


def _served(url: str) -> dict[str, int]:
    import json

    with urllib.request.urlopen(f"{url}/_stats", timeout=10) as r:
        return dict(json.loads(r.read()))


def run(ctx: Context) -> list[Result]:
    from app.hub.download import DownloadManager, DownloadRequest

    size = (64 if ctx.quick else 256) << 20
    reps = 1 if ctx.quick else 5
    work = ctx.work / "download"
    work.mkdir(parents=True, exist_ok=True)
    src = work / "src.bin"
    data = _payload(size)
    src.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    del data
    # The server runs in a process of its own, as a real one would: sharing this process's GIL
    # would slow Hearth's client (and not curl) for a reason that has nothing to do with it.
    root = Path(__file__).resolve().parent.parent
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.helpers.fakehub",
            REPO,
            f"{NAME}={src}",
            f"{DROP}={src}:{size // 2}",
        ],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    results: list[Result] = []
    try:
        assert server.stdout is not None
        base = server.stdout.readline().strip()
        url = f"{base}/{REPO}/resolve/main/{NAME}"
        # Warm up: the server computes each file's hashes on its first metadata request.
        urllib.request.urlopen(f"{base}/api/models/{REPO}?blobs=true", timeout=120).read()
        curl = shutil.which("curl")
        hearth_s: list[float] = []
        curl_s: list[float] = []

        def hearth_once(i: int, times: list[float]) -> None:
            cache = work / f"cache{i}"
            t0 = time.perf_counter()
            paths = DownloadManager(endpoint=base, cache_dir=cache).download(
                DownloadRequest(REPO, (NAME,))
            )
            times.append(time.perf_counter() - t0)
            assert paths[0].stat().st_size == size
            shutil.rmtree(cache)

        def curl_once(i: int, times: list[float]) -> None:
            if curl:
                out = work / f"curl{i}.bin"
                t0 = time.perf_counter()
                subprocess.run([curl, "-sSfL", "-o", str(out), url], check=True)
                times.append(time.perf_counter() - t0)
                out.unlink()

        hearth_once(-1, [])  # warm-up, untimed
        curl_once(-1, [])
        for i in range(reps):  # alternate who goes first
            if i % 2:
                hearth_once(i, hearth_s)
                curl_once(i, curl_s)
            else:
                curl_once(i, curl_s)
                hearth_once(i, hearth_s)
        mbps = size / statistics.median(hearth_s) / 1e6
        if curl_s:
            curl_mbps = size / statistics.median(curl_s) / 1e6
            detail: dict[str, object] = {
                "hearth_MBps": round(mbps, 1),
                "curl_MBps": round(curl_mbps, 1),
                "hearth_runs_MBps": [round(size / t / 1e6) for t in hearth_s],
                "curl_runs_MBps": [round(size / t / 1e6) for t in curl_s],
                "MB": size >> 20,
            }
            results.append(
                Result(
                    "download",
                    "throughput vs curl (same server, same file)",
                    mbps / curl_mbps,
                    "x",
                    ">= 0.9",
                    detail,
                )
            )
        else:
            results.append(Result("download", "throughput (curl not installed)", mbps, "MB/s"))

        # The connection drops halfway through: how much is fetched twice?
        cache = work / "drop"
        paths = DownloadManager(endpoint=base, cache_dir=cache, backoff_base=0.05).download(
            DownloadRequest(REPO, (DROP,))
        )
        served = _served(base).get(DROP, 0)
        h = hashlib.sha256()
        with open(paths[0], "rb") as f:
            while block := f.read(8 << 20):
                h.update(block)
        results.append(
            Result(
                "download",
                "bytes re-fetched after a dropped connection",
                100.0 * (served - size) / size,
                "%",
                "<= 1",
                {"served": served, "size": size, "hash_ok": h.hexdigest() == digest},
            )
        )
    finally:
        if server.stdin is not None:
            server.stdin.close()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(work, ignore_errors=True)
    return results
