"""Downloading model files from the Hugging Face Hub: resumable, verified, pausable.

Why not ``hf_hub_download``: it cannot be paused or cancelled from another thread, its stall
handling is the library-wide timeout, and it installs a file before anyone checks the LFS SHA-256
(it trusts the ETag). So Hearth does the transfer itself, with huggingface_hub's own pieces:

- ``HfApi(endpoint=...).model_info(files_metadata=True)`` gives the commit, each file's size and
  its LFS SHA-256 (or git blob id for small files), and maps 401/403/404 to the library's errors;
- ``hf_hub_url`` builds the ``resolve/<commit>/<file>`` URL (pinned to the commit, so a branch
  moving mid-download cannot mix two versions);
- ``get_session()`` is the library's shared HTTP client (proxies, user agent, offline mode) and
  ``build_hf_headers`` adds the token (``HF_TOKEN`` or ``hf auth login``).

Bytes go to ``blobs/<sha256>.incomplete`` in the standard cache (the very name huggingface_hub uses,
so either tool resumes the other's partial file), with ``Range: bytes=N-`` after any interruption:
dropped connections, 5xx answers and stalls (no byte for ``stall_timeout`` seconds, the HTTP read
timeout) are retried with exponential backoff; a pause closes the connection and keeps the partial
file, also across restarts (a small journal remembers unfinished downloads). The SHA-256 is computed
while the bytes arrive (the partial file is re-hashed once on resume), and only a file whose hash
matches is moved to ``blobs/<sha256>`` and linked from ``snapshots/<commit>/<file>``; a mismatch
deletes it and says so. Nothing the server says is trusted to name a path: file names, hashes and
commit ids are validated, and the server can never make Hearth write more bytes than the Hub's
metadata announced.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import json
import os
import queue
import shutil
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app import paths
from app.fsutil import atomic_write
from app.hub import fmt
from app.hub.hfcache import (
    UnsafeNameError,
    blob_path,
    check_commit,
    check_repo_id,
    contained,
    hf_cache_dir,
    link_snapshot,
    repo_folder,
    safe_relative,
    snapshot_path,
    write_ref,
)

DISK_MARGIN = 64 * 1024 * 1024  # keep a little free space: a full disk breaks everything else too


class DownloadState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    VERIFYING = "verifying"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class DownloadError(Exception):
    """A download problem, worded for the user: what happened and what to do about it.

    ``kind``: offline, not_found, gated, auth, disk, hash, network, unsafe, server.
    """

    def __init__(self, message: str, kind: str = "network") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class DownloadRequest:
    repo_id: str
    files: tuple[str, ...]  # a model split into several GGUF files is downloaded as one
    revision: str = "main"
    dest_dir: str | None = None  # None: the standard Hugging Face cache
    label: str = ""

    @property
    def key(self) -> str:
        return f"{self.repo_id}:{','.join(self.files)}@{self.revision}->{self.dest_dir or ''}"

    @property
    def title(self) -> str:
        return self.label or f"{self.repo_id}:{self.files[0]}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["files"] = list(self.files)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DownloadRequest:
        return cls(
            repo_id=str(d["repo_id"]),
            files=tuple(str(f) for f in d["files"]),
            revision=str(d.get("revision") or "main"),
            dest_dir=d.get("dest_dir"),
            label=str(d.get("label") or ""),
        )


@dataclass
class Progress:
    state: DownloadState
    done: int  # bytes on disk, all files together
    total: int | None
    speed: float  # bytes per second, averaged over the last few seconds
    eta: float | None  # seconds
    current_file: str = ""
    retries: int = 0
    message: str = ""

    @property
    def fraction(self) -> float:
        return (self.done / self.total) if self.total else 0.0

    def describe(self) -> str:
        pct = f"{100 * self.fraction:5.1f} %" if self.total else "     "
        return (
            f"{pct}  {fmt.size(self.done)} of {fmt.size(self.total)}  "
            f"{fmt.speed(self.speed)}  ETA {fmt.duration(self.eta)}"
        )


@dataclass
class _FileSpec:
    filename: str
    size: int
    digest: str  # sha256 (LFS) or git blob sha1
    algo: str  # "sha256" or "git-sha1"
    url: str
    part: Path
    final: Path  # where the verified bytes go (blob, or the file in a user folder)
    pointer: Path | None  # snapshots/<commit>/<file> in the HF cache


class _Stop(Exception):
    """Internal: the user paused or cancelled."""


class _Retry(Exception):
    """Internal: a failure worth another try (5xx, dropped connection, stall)."""


@dataclass
class _Speedometer:
    window: float = 3.0
    samples: deque[tuple[float, int]] = field(default_factory=deque)

    def add(self, t: float, done: int) -> None:
        self.samples.append((t, done))
        while len(self.samples) > 2 and t - self.samples[0][0] > self.window:
            self.samples.popleft()

    def rate(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0


Listener = Callable[["DownloadTask"], None]


class DownloadTask:
    """One download (one model, one or more files). Thread-safe controls: pause, resume, cancel."""

    def __init__(self, manager: DownloadManager, request: DownloadRequest) -> None:
        self.manager = manager
        self.request = request
        self.state = DownloadState.QUEUED
        self.error: DownloadError | None = None
        self.paths: list[Path] = []  # the installed files (first one is what llama.cpp loads)
        self._lock = threading.Lock()
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._cancel = False
        self._finished = threading.Event()
        self._thread: threading.Thread | None = None
        self._response: Any = None
        self._listeners: list[Listener] = []
        self._done = 0
        self._total: int | None = None
        self._speed = _Speedometer()
        self._current = ""
        self._retries = 0
        self._message = ""
        self._last_emit = 0.0

    # -- observing ---------------------------------------------------------------------------
    def add_listener(self, fn: Listener) -> None:
        """Called from the download thread on each state change and ~10 times a second."""
        self._listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(fn)

    def progress(self) -> Progress:
        rate = self._speed.rate()
        eta = None
        if self._total is not None and rate > 0:
            eta = max(0.0, (self._total - self._done) / rate)
        return Progress(
            self.state,
            self._done,
            self._total,
            rate,
            eta,
            self._current,
            self._retries,
            self._message,
        )

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the running attempt ends (done, failed, paused or cancelled)."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    @property
    def active(self) -> bool:
        return self.state in (DownloadState.QUEUED, DownloadState.RUNNING, DownloadState.VERIFYING)

    # -- controls ----------------------------------------------------------------------------
    def start(self) -> DownloadTask:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                if self.active:
                    return self
                # Paused/failed a moment ago: its thread is only returning; let it finish.
                self._thread.join(10)
            self._stop.clear()
            self._cancel = False
            self.error = None
            self.state = DownloadState.QUEUED
            self._thread = threading.Thread(
                target=self._run_guarded, name=f"download {self.request.title}", daemon=True
            )
            self._thread.start()
        return self

    resume = start

    def pause(self) -> None:
        """Stop transferring and keep the partial file; ``resume()`` continues from there."""
        self._stop.set()
        self._abort_connection()

    def cancel(self) -> None:
        """Stop and delete the partial files."""
        self._cancel = True
        self._stop.set()
        self._abort_connection()
        thread = self._thread
        if thread is None or not thread.is_alive():
            self._discard()
            self._set_state(DownloadState.CANCELLED)

    def run(self) -> list[Path]:
        """Download in the calling thread (the CLI). Raises DownloadError; Ctrl+C pauses."""
        self._stop.clear()
        self._cancel = False
        try:
            return self._run()
        except KeyboardInterrupt:
            self._set_state(DownloadState.PAUSED)
            raise

    # -- the work ----------------------------------------------------------------------------
    def _abort_connection(self) -> None:
        # Shutting the socket down wakes the download thread at once, even in the middle of a
        # stall; closing the response alone would wait for the blocked read to time out.
        resp = self._response
        if resp is None:
            return
        with contextlib.suppress(Exception):
            stream = resp.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            resp.close()

    def _set_state(self, state: DownloadState, message: str = "") -> None:
        self.state = state
        self._message = message
        self._notify()
        self._emit(force=True)

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, predicate: Callable[[Progress], bool], timeout: float) -> bool:
        """Block until ``predicate(progress)`` holds (checked on every chunk and state change)."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.progress()), timeout)

    def _emit(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_emit < 0.1:
            return
        self._last_emit = now
        for fn in list(self._listeners):
            with contextlib.suppress(Exception):
                fn(self)

    def _run_guarded(self) -> None:
        with contextlib.suppress(DownloadError, _Stop):
            self._run()

    def _run(self) -> list[Path]:
        mgr = self.manager
        self._set_state(DownloadState.RUNNING, "Looking up the files…")
        try:
            specs = mgr._resolve(self.request, self)
            self._total = sum(s.size for s in specs)
            have = {s.filename: _size_of(s.part) for s in specs}
            for s in specs:
                if s.final.exists() and _size_of(s.final) == s.size:
                    have[s.filename] = s.size
            self._done = sum(have.values())
            mgr._check_disk(specs, have)
            for spec in specs:
                self._current = spec.filename
                self._fetch(spec)
            self.paths = [s.pointer or s.final for s in specs]
        except _Stop:
            if self._cancel:
                self._discard()
                self._set_state(DownloadState.CANCELLED, "Cancelled; the partial file was deleted.")
            else:
                self._set_state(DownloadState.PAUSED, "Paused. Resume continues where it stopped.")
            raise
        except DownloadError as e:
            self.error = e
            self._set_state(DownloadState.FAILED, str(e))
            raise
        self._set_state(DownloadState.DONE, "Installed and verified.")
        mgr._journal_forget(self.request)
        return self.paths

    def _check_stop(self) -> None:
        if self._stop.is_set():
            raise _Stop

    def _fetch(self, spec: _FileSpec) -> None:
        if spec.final.exists() and _size_of(spec.final) == spec.size:
            # Already there (an earlier download, or `hf download`): verify before trusting it.
            if _digest_file(spec.final, spec.algo, spec.size) == spec.digest:
                if spec.pointer is not None:
                    link_snapshot(spec.final, spec.pointer)
                return
            spec.final.unlink()
        spec.part.parent.mkdir(parents=True, exist_ok=True)
        hasher = _Hasher(spec.algo, spec.size)
        try:
            self._fetch_into(spec, hasher)
        finally:
            hasher.close()

    def _fetch_into(self, spec: _FileSpec, hasher: _Hasher) -> None:
        mgr = self.manager
        have = _size_of(spec.part)
        if have > spec.size:
            spec.part.unlink()  # longer than the real file: nothing in it can be trusted
            have = 0
        if have:
            self._message = f"Checking the {fmt.size(have)} already downloaded…"
            self._emit(force=True)
            hasher.update_from_file(spec.part, have, self._check_stop)
        failures = 0
        best = have  # failures only reset on progress past the furthest point reached so far
        while have < spec.size:
            self._check_stop()
            try:
                have = self._transfer(spec, have, hasher)
            except _Retry as e:
                have = _size_of(spec.part)
                if have != hasher.count:  # partial write of the last chunk: re-sync the hash
                    hasher.reset()
                    hasher.update_from_file(spec.part, have, self._check_stop)
                failures = 0 if have > best else failures + 1
                best = max(best, have)
                if failures > mgr.max_retries:
                    raise DownloadError(
                        f"Downloading {spec.filename} keeps failing ({e}). "
                        f"{fmt.size(have)} of {fmt.size(spec.size)} are kept: "
                        "try again later and it resumes from there.",
                        "network",
                    ) from None
                self._retries += 1
                delay = min(mgr.backoff_max, mgr.backoff_base * (2 ** max(0, failures - 1)))
                self._message = f"{e}; retrying in {delay:.0f} s (attempt {self._retries})"
                self._emit(force=True)
                if self._stop.wait(delay):
                    raise _Stop from None
                self._message = ""
        self._set_state(DownloadState.VERIFYING, f"Verifying {spec.filename}…")
        digest = hasher.hexdigest()
        if digest != spec.digest:
            spec.part.unlink(missing_ok=True)
            self._done -= spec.size
            raise DownloadError(
                f"{spec.filename} does not match the Hub's checksum "
                f"({spec.algo} {digest[:12]}… instead of {spec.digest[:12]}…). "
                "The file was deleted and not installed. Try the download again; if it keeps "
                "happening, the server or mirror (HF_ENDPOINT) is sending bad data.",
                "hash",
            )
        spec.final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(spec.part, spec.final)
        if spec.pointer is not None:
            link_snapshot(spec.final, spec.pointer)
        self._set_state(DownloadState.RUNNING)

    def _transfer(self, spec: _FileSpec, have: int, hasher: _Hasher) -> int:
        """One HTTP request from byte ``have``; returns the new size of the partial file."""
        import httpcore2
        import httpx2
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
        from huggingface_hub.utils import hf_raise_for_status

        mgr = self.manager
        headers = mgr._headers()
        headers["Accept-Encoding"] = "identity"
        if have:
            headers["Range"] = f"bytes={have}-"
        timeout = httpx2.Timeout(mgr.stall_timeout, connect=mgr.connect_timeout)
        try:
            with mgr._session().stream(
                "GET", spec.url, headers=headers, timeout=timeout, follow_redirects=True
            ) as r:
                self._response = r
                status = r.status_code
                if status in (408, 429) or status >= 500:
                    raise _Retry(f"the server answered {status}")
                if status == 416 and have:
                    # Range past the end: our partial file is not a prefix of theirs.
                    spec.part.unlink(missing_ok=True)
                    hasher.reset()
                    self._done -= have
                    raise _Retry("the partial file did not match the server's; starting over")
                if status >= 400:
                    r.read()
                    hf_raise_for_status(r)
                mode = "ab"
                if have and status == 200:
                    # The server ignored the Range header: start this file over.
                    self._done -= have
                    have = 0
                    hasher.reset()
                    mode = "wb"
                elif status == 206 and not _range_starts_at(r.headers.get("Content-Range"), have):
                    raise _Retry("the server sent the wrong part of the file")
                with open(spec.part, mode) as f:
                    # Whatever has arrived (no re-chunking): a pause or stall keeps every byte.
                    for chunk in _body(r, spec.size - have, mgr.stall_timeout):
                        if self._stop.is_set():
                            break
                        room = spec.size - have
                        if len(chunk) > room:
                            chunk = chunk[:room]  # never more than the Hub's metadata announced
                        f.write(chunk)
                        hasher.update(chunk)
                        have += len(chunk)
                        self._done += len(chunk)
                        self._speed.add(time.monotonic(), self._done)
                        self._notify()
                        self._emit()
                        if have >= spec.size:
                            break
        except OfflineModeIsEnabled as e:
            raise mgr._offline_error() from e
        except HfHubHTTPError as e:
            raise mgr._explain(e, self.request, spec.filename) from e
        except (httpx2.TimeoutException, httpcore2.TimeoutException) as e:
            if self._stop.is_set():
                raise _Stop from e
            raise _Retry(f"no data for {mgr.stall_timeout:g} s") from e
        except (
            httpx2.TransportError,
            httpx2.StreamError,
            httpcore2.NetworkError,
            httpcore2.ProtocolError,
            OSError,
        ) as e:
            if self._stop.is_set():
                raise _Stop from e
            if isinstance(e, OSError) and not isinstance(e, ConnectionError):
                raise DownloadError(
                    f"Cannot write {spec.part}: {e.strerror or e}. Check the disk and its free "
                    "space, then resume.",
                    "disk",
                ) from e
            raise _Retry(f"connection lost ({type(e).__name__})") from e
        finally:
            self._response = None
        self._check_stop()
        if have < spec.size:
            raise _Retry(f"connection closed after {fmt.size(have)} of {fmt.size(spec.size)}")
        return have

    def _discard(self) -> None:
        try:
            specs = self.manager._local_specs(self.request)
        except (DownloadError, UnsafeNameError):
            specs = []
        for part in specs:
            part.unlink(missing_ok=True)
        self._done = 0
        self.manager._journal_forget(self.request)


class _Hasher:
    """SHA-256 (or git's blob SHA-1) of the bytes as they arrive, computed on a helper thread:
    hashlib releases the GIL on large buffers, so verifying overlaps with receiving and writing
    instead of adding to it. ``count`` is the number of bytes fed so far."""

    BATCH = 1 << 20

    def __init__(self, algo: str, size: int) -> None:
        self.algo = algo
        self.size = size
        self._queue: queue.Queue[list[bytes] | None] = queue.Queue(maxsize=32)
        self._thread: threading.Thread | None = None
        self._pending: list[bytes] = []  # chunks are queued as they are (no copying)
        self._pending_bytes = 0
        self.reset()

    def _new(self) -> Any:
        if self.algo == "sha256":
            return hashlib.sha256()
        h = hashlib.sha1(usedforsecurity=False)  # git's blob id: sha1 of "blob <size>\0" + content
        h.update(f"blob {self.size}\0".encode())
        return h

    def reset(self) -> None:
        self._drain()
        self.count = 0
        self._h = self._new()

    def _work(self) -> None:
        while (blocks := self._queue.get()) is not None:
            for block in blocks:
                self._h.update(block)
            self._queue.task_done()
        self._queue.task_done()

    def _flush(self) -> None:
        if not self._pending:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="hash", daemon=True)
            self._thread.start()
        self._queue.put(self._pending)
        self._pending = []
        self._pending_bytes = 0

    def _drain(self) -> None:
        self._pending = []
        self._pending_bytes = 0
        if self._thread is not None:
            self._queue.join()

    def update(self, data: bytes) -> None:
        self._pending.append(data)
        self._pending_bytes += len(data)
        self.count += len(data)
        if self._pending_bytes >= self.BATCH:
            self._flush()

    def update_from_file(self, path: Path, n: int, check: Callable[[], None]) -> None:
        with open(path, "rb") as f:
            left = n
            while left:
                block = f.read(min(left, 8 << 20))
                if not block:
                    break
                self.update(block)
                left -= len(block)
                check()

    def hexdigest(self) -> str:
        self._flush()
        if self._thread is not None:
            self._queue.join()
        return str(self._h.hexdigest())

    def close(self) -> None:
        """End the helper thread (the hash is abandoned or already read)."""
        self._pending = []
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None


def _digest_file(path: Path, algo: str, size: int) -> str:
    h = _Hasher(algo, size)
    try:
        h.update_from_file(path, size, lambda: None)
        return h.hexdigest()
    finally:
        h.close()


BODY_READ = 1 << 20  # bytes asked of the socket per read on the direct path


def _body(r: Any, room: int, timeout: float) -> Iterator[bytes]:
    """The response body as it arrives, at most ``room`` bytes of it.

    A plain HTTP/1.1 body of known length (what the Hub and its CDN send for a file) is read
    straight from the connection's network stream in reads of up to ``BODY_READ`` bytes. Going
    through h11 and httpcore copies every byte four more times (into h11's receive buffer, two
    slices out of it, ``bytes()`` of the event) in 64 KiB steps of a dozen Python calls each:
    measured over loopback, a third of the client's CPU time for a 256 MB file (hash included).
    The first chunk still comes through httpx, which empties h11's buffer of whatever arrived with
    the headers; after it the bytes left in the body are all still in the socket. Anything else
    (chunked, compressed, HTTP/2, no network stream) goes through ``iter_bytes``.
    """
    headers = r.headers
    stream = r.extensions.get("network_stream")
    try:
        length = int(headers.get("content-length", ""))
    except ValueError:
        length = -1
    direct = (
        stream is not None
        and r.http_version == "HTTP/1.1"
        and length > 0
        and "transfer-encoding" not in headers
        and headers.get("content-encoding", "identity").strip().lower() in ("", "identity")
    )
    if not direct:
        yield from r.iter_bytes()
        return
    raw = r.iter_raw()  # kept referenced: closing this generator closes the response
    left = min(length, room)
    for chunk in raw:
        if chunk:
            left -= len(chunk)
            length -= len(chunk)
            yield chunk
            break
    if length <= 0:
        yield from raw  # all of it came with the headers: let h11 finish the response
        return
    while left > 0:
        chunk = stream.read(min(BODY_READ, left), timeout=timeout)
        if not chunk:
            return  # the server closed the connection early: the caller resumes from here
        left -= len(chunk)
        yield chunk
    del raw


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _range_starts_at(content_range: str | None, start: int) -> bool:
    # "bytes 100-199/200"
    if not content_range:
        return False
    try:
        return int(content_range.split()[1].split("-")[0]) == start
    except (IndexError, ValueError):
        return False


def disk_free(path: Path) -> int:
    """Free bytes on the disk that holds ``path`` (or its nearest existing parent)."""
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return shutil.disk_usage(p).free


class DownloadManager:
    """Creates and tracks downloads. One per app; tests make as many as they like.

    ``endpoint``/``token``: default to HF_ENDPOINT / HF_TOKEN (read now, not at import).
    ``free_space``: how many bytes are free at a path (injectable for tests).
    """

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        token: str | None = None,
        cache_dir: Path | None = None,
        stall_timeout: float = 30.0,
        connect_timeout: float = 15.0,
        max_retries: int = 8,
        backoff_base: float = 1.0,
        backoff_max: float = 30.0,
        free_space: Callable[[Path], int] = disk_free,
        journal: Path | None = None,
    ) -> None:
        self.endpoint = (
            endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
        ).rstrip("/")
        self.token = token or os.environ.get("HF_TOKEN") or None
        self.cache_dir = cache_dir
        self.stall_timeout = stall_timeout
        self.connect_timeout = connect_timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.free_space = free_space
        self.journal_path = journal or (paths.data_dir() / "downloads.json")
        self._tasks: dict[str, DownloadTask] = {}
        self._journal_lock = threading.Lock()

    # -- public ------------------------------------------------------------------------------
    def task(self, request: DownloadRequest) -> DownloadTask:
        """The task for this request (the same object if it already exists)."""
        t = self._tasks.get(request.key)
        if t is None or t.state in (DownloadState.CANCELLED,):
            t = DownloadTask(self, request)
            self._tasks[request.key] = t
        return t

    def start(self, request: DownloadRequest) -> DownloadTask:
        """Start (or resume) a download on a background thread."""
        return self.task(request).start()

    def download(
        self, request: DownloadRequest, on_progress: Callable[[Progress], None] | None = None
    ) -> list[Path]:
        """Download in the calling thread; returns the installed paths."""
        t = self.task(request)
        if on_progress is not None:
            t.add_listener(lambda task: on_progress(task.progress()))
        return t.run()

    def tasks(self) -> list[DownloadTask]:
        return list(self._tasks.values())

    def restore(self) -> list[DownloadTask]:
        """Unfinished downloads from an earlier session, as paused tasks (``resume()`` them)."""
        out = []
        for req in self._journal_read():
            t = self.task(req)
            if t.state == DownloadState.QUEUED:
                t.state = DownloadState.PAUSED
                specs = []
                with contextlib.suppress(DownloadError, UnsafeNameError):
                    specs = self._local_specs(req)
                t._done = sum(_size_of(p) for p in specs)
            out.append(t)
        return out

    def target_root(self, request: DownloadRequest) -> Path:
        if request.dest_dir:
            return Path(request.dest_dir).expanduser()
        return self.cache_dir or hf_cache_dir()

    # -- helpers used by tasks ---------------------------------------------------------------
    def _session(self) -> Any:
        from huggingface_hub.utils import get_session

        return get_session()

    def _headers(self) -> dict[str, str]:
        from huggingface_hub.utils import build_hf_headers

        return dict(build_hf_headers(token=self.token, library_name="hearth"))

    def _offline_error(self) -> DownloadError:
        return DownloadError(
            "Hugging Face is set to offline mode (HF_HUB_OFFLINE=1), so nothing can be "
            "downloaded. Unset HF_HUB_OFFLINE to download, or import a GGUF file you already "
            "have with `hearth models import PATH`.",
            "offline",
        )

    def _explain(self, e: Exception, req: DownloadRequest, filename: str = "") -> DownloadError:
        from huggingface_hub.errors import (
            GatedRepoError,
            HfHubHTTPError,
            RemoteEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        page = f"{self.endpoint}/{req.repo_id}"
        status = getattr(getattr(e, "response", None), "status_code", None)
        if isinstance(e, GatedRepoError) or status == 403:
            return DownloadError(
                f"{req.repo_id} is gated or restricted: open {page}, accept its terms with your "
                "account, then set HF_TOKEN to a token of that account (or run `hf auth login`) "
                "and try again.",
                "gated",
            )
        if status == 401 and not isinstance(e, RepositoryNotFoundError):
            from huggingface_hub import get_token

            if self.token or get_token():
                return DownloadError(
                    f"The Hub refused the access token for {req.repo_id} (401). Create a new "
                    f"token at {self.endpoint}/settings/tokens and set HF_TOKEN to it.",
                    "auth",
                )
            return DownloadError(
                f"{req.repo_id} needs you to be logged in (401). Set HF_TOKEN to an access token "
                f"from {self.endpoint}/settings/tokens (or run `hf auth login`), then try again.",
                "auth",
            )
        if isinstance(e, RepositoryNotFoundError):
            return DownloadError(
                f"Repository {req.repo_id} was not found, or it is private ({status}). Check the "
                "name (OWNER/NAME); for a private repository set HF_TOKEN to a token that can "
                "read it (or run `hf auth login`).",
                "not_found",
            )
        if isinstance(e, RevisionNotFoundError):
            return DownloadError(
                f"{req.repo_id} has no revision '{req.revision}'. Use main or an existing branch, "
                "tag or commit.",
                "not_found",
            )
        if isinstance(e, RemoteEntryNotFoundError) or status == 404:
            return DownloadError(
                f"{req.repo_id} has no file {filename or ', '.join(req.files)} (404). "
                f"See the list of files at {page}/tree/{req.revision}.",
                "not_found",
            )
        if isinstance(e, HfHubHTTPError):
            return DownloadError(
                f"The Hub answered {status} for {req.repo_id}. Try again later.", "server"
            )
        return DownloadError(str(e), "network")

    def _with_retries(self, what: str, fn: Callable[[], Any], task: DownloadTask) -> Any:
        import httpx2
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

        failures = 0
        while True:
            task._check_stop()
            try:
                return fn()
            except OfflineModeIsEnabled as e:
                raise self._offline_error() from e
            except HfHubHTTPError as e:
                status = getattr(e.response, "status_code", None)
                if status is None or not (status >= 500 or status in (408, 429)):
                    raise self._explain(e, task.request) from e
                reason = f"the Hub answered {status}"
            except (httpx2.TransportError, ConnectionError) as e:
                reason = f"cannot reach {self.endpoint} ({type(e).__name__})"
            failures += 1
            if failures > self.max_retries:
                raise DownloadError(
                    f"Could not {what}: {reason}. Check your internet connection (and HF_ENDPOINT "
                    "if you use a mirror), then try again.",
                    "network",
                )
            task._retries += 1
            task._message = f"{reason}; retrying…"
            task._emit(force=True)
            if task._stop.wait(min(self.backoff_max, self.backoff_base * 2 ** (failures - 1))):
                raise _Stop

    def _resolve(self, req: DownloadRequest, task: DownloadTask) -> list[_FileSpec]:
        from huggingface_hub import HfApi, hf_hub_url

        try:
            check_repo_id(req.repo_id)
            rels = [safe_relative(f) for f in req.files]
        except UnsafeNameError as e:
            raise DownloadError(str(e), "unsafe") from e
        api = HfApi(endpoint=self.endpoint, token=self.token, library_name="hearth")
        info = self._with_retries(
            f"look up {req.repo_id}",
            lambda: api.model_info(
                req.repo_id, revision=req.revision, files_metadata=True, timeout=30
            ),
            task,
        )
        try:
            commit = check_commit(info.sha)
        except UnsafeNameError as e:
            raise DownloadError(str(e), "unsafe") from e
        siblings = {s.rfilename: s for s in (info.siblings or [])}
        root = self.target_root(req)
        specs = []
        for name, rel in zip(req.files, rels, strict=True):
            sib = siblings.get(name)
            if sib is None:
                ggufs = sorted(n for n in siblings if n.lower().endswith(".gguf"))
                hint = f" Its GGUF files: {', '.join(ggufs[:8])}." if ggufs else ""
                raise DownloadError(f"{req.repo_id} has no file {name}.{hint}", "not_found")
            if sib.lfs is not None:
                digest, algo, size = str(sib.lfs.sha256), "sha256", int(sib.lfs.size)
            elif sib.blob_id and sib.size is not None:
                digest, algo, size = str(sib.blob_id), "git-sha1", int(sib.size)
            else:
                raise DownloadError(
                    f"The Hub gave no size or checksum for {name}, so Hearth cannot verify it.",
                    "unsafe",
                )
            url = hf_hub_url(req.repo_id, name, revision=commit, endpoint=self.endpoint)
            try:
                if req.dest_dir:
                    root.mkdir(parents=True, exist_ok=True)
                    final = contained(root, rel)
                    part = final.with_name(final.name + ".incomplete")
                    pointer = None
                else:
                    if algo == "sha256":
                        final = blob_path(root, req.repo_id, digest)
                    else:  # small non-LFS file: the blob is named by its git id, as hf does
                        final = repo_folder(root, req.repo_id) / "blobs" / check_commit(digest)
                    part = final.with_name(final.name + ".incomplete")
                    pointer = snapshot_path(root, req.repo_id, commit, name)
            except UnsafeNameError as e:
                raise DownloadError(str(e), "unsafe") from e
            specs.append(_FileSpec(name, size, digest, algo, url, part, final, pointer))
        if not req.dest_dir:
            write_ref(root, req.repo_id, req.revision, commit)
        self._journal_add(req, specs)
        return specs

    def _check_disk(self, specs: list[_FileSpec], have: dict[str, int]) -> None:
        need = sum(s.size - have.get(s.filename, 0) for s in specs)
        if need <= 0:
            return
        where = specs[0].part.parent
        free = self.free_space(where)
        if need + DISK_MARGIN > free:
            raise DownloadError(
                f"Not enough disk space: this download needs {fmt.size(need + DISK_MARGIN)} more "
                f"and {where} has {fmt.size(free)} free. Free some space, or choose another "
                "folder for models.",
                "disk",
            )

    def _local_specs(self, req: DownloadRequest) -> list[Path]:
        """The partial files of a request, from the journal (no network)."""
        for entry in self._journal_entries():
            if entry.get("key") == req.key:
                return [Path(p) for p in entry.get("parts", [])]
        return []

    # -- the journal of unfinished downloads -------------------------------------------------
    def _journal_entries(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self.journal_path.read_text(encoding="utf-8"))
            return [e for e in data.get("downloads", []) if isinstance(e, dict)]
        except (OSError, ValueError, AttributeError):
            return []

    def _journal_write(self, entries: list[dict[str, Any]]) -> None:
        try:
            self.journal_path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.journal_path, json.dumps({"downloads": entries}, indent=1))
        except OSError:
            pass  # the journal is a convenience; the partial files are what matters

    def _journal_read(self) -> list[DownloadRequest]:
        out = []
        for e in self._journal_entries():
            with contextlib.suppress(KeyError, TypeError, ValueError):
                out.append(DownloadRequest.from_dict(e["request"]))
        return out

    def _journal_add(self, req: DownloadRequest, specs: list[_FileSpec]) -> None:
        with self._journal_lock:
            entries = [e for e in self._journal_entries() if e.get("key") != req.key]
            entries.append(
                {
                    "key": req.key,
                    "request": req.to_dict(),
                    "parts": [str(s.part) for s in specs],
                    "total": sum(s.size for s in specs),
                }
            )
            self._journal_write(entries)

    def _journal_forget(self, req: DownloadRequest) -> None:
        with self._journal_lock:
            entries = self._journal_entries()
            kept = [e for e in entries if e.get("key") != req.key]
            if len(kept) != len(entries):
                self._journal_write(kept)
