"""Moving one file's bytes: resumable, hashed while they arrive, verified before install.

Bytes go to ``<final>.incomplete`` (in the HF cache ``blobs/<sha256>.incomplete``, the very name
huggingface_hub uses, so either tool resumes the other's partial file), with
``Range: bytes=N-`` after any interruption: dropped connections, 5xx answers and stalls (no byte
for ``stall_timeout`` seconds, the HTTP read timeout) are retried through the one backoff loop; a
pause closes the connection and keeps the partial file. The SHA-256 (or git blob SHA-1) is
computed while the bytes arrive (the partial file is re-hashed once on resume), and only a file
whose hash matches is moved to its final name; a mismatch deletes it and says so. The server can
never make Hearth write more bytes than the Hub's metadata announced.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.hub import fmt
from app.hub.backoff import Backoff, Retry, Stop
from app.hub.hfcache import link_snapshot
from app.hub.hubapi import DownloadError, HubClient
from app.hub.progress import DownloadState, Meter


@dataclass
class FileSpec:
    repo_id: str
    revision: str
    filename: str
    size: int
    digest: str  # sha256 (LFS) or git blob sha1
    algo: str  # "sha256" or "git-sha1"
    url: str
    part: Path
    final: Path  # where the verified bytes go (blob, or the file in a user folder)
    pointer: Path | None  # snapshots/<commit>/<file> in the HF cache

    @property
    def installed(self) -> Path:
        """What the user's tools open: the snapshot link in the HF cache, else the file."""
        return self.pointer or self.final


@dataclass(frozen=True)
class Timeouts:
    stall: float = 30.0  # seconds without a byte before the connection is given up
    connect: float = 15.0


class Control:
    """The user's pause and cancel as the transfer sees them: a stop flag, and the open
    connection, which a stop shuts down so that even a read in the middle of a stall wakes."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self._response: Any = None

    def check(self) -> None:
        if self.stop.is_set():
            raise Stop

    def sleep(self, seconds: float) -> bool:
        """Wait; True when the user stopped meanwhile."""
        return self.stop.wait(seconds)

    def attach(self, response: Any) -> None:
        self._response = response

    def detach(self) -> None:
        self._response = None

    def abort(self) -> None:
        self.stop.set()
        resp = self._response
        if resp is None:
            return
        # Closing the response alone would wait for the blocked read to time out.
        with contextlib.suppress(Exception):
            stream = resp.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            resp.close()


class FileTransfer:
    """Fetches one file into place, reporting to ``meter``; ``control`` can stop it any time."""

    def __init__(
        self,
        spec: FileSpec,
        *,
        client: HubClient,
        meter: Meter,
        control: Control,
        timeouts: Timeouts,
        backoff: Backoff,
        wait: Callable[[Retry, float], bool],
    ) -> None:
        self.spec = spec
        self.client = client
        self.meter = meter
        self.control = control
        self.timeouts = timeouts
        self.backoff = backoff
        self.wait = wait  # between two tries: shows the delay, True if the user stopped

    def run(self) -> None:
        spec = self.spec
        if spec.final.exists() and size_of(spec.final) == spec.size:
            # Already there (an earlier download, or `hf download`): verify before trusting it.
            if digest_file(spec.final, spec.algo, spec.size) == spec.digest:
                if spec.pointer is not None:
                    link_snapshot(spec.final, spec.pointer)
                return
            spec.final.unlink()
        spec.part.parent.mkdir(parents=True, exist_ok=True)
        if size_of(spec.part) > spec.size:
            spec.part.unlink()  # longer than the real file: nothing in it can be trusted
        hasher = Hasher(spec.algo, spec.size)
        try:
            self.backoff.run(
                lambda: self._attempt(hasher),
                wait=self.wait,
                give_up=self._give_up,
                reached=lambda: size_of(spec.part),
            )
            self._install(hasher)
        finally:
            hasher.close()

    def _give_up(self, e: Retry) -> DownloadError:
        spec = self.spec
        return DownloadError(
            f"Downloading {spec.filename} keeps failing ({e}). "
            f"{fmt.size(size_of(spec.part))} of {fmt.size(spec.size)} are kept: "
            "try again later and it resumes from there.",
            "network",
        )

    def _attempt(self, hasher: Hasher) -> None:
        """One try: bring the hash level with the partial file, then one request for the rest."""
        self.control.check()
        spec = self.spec
        have = size_of(spec.part)
        if have != hasher.count:  # a resume, or a partial write of the last chunk
            hasher.reset()
            if have:
                self.meter.note(f"Checking the {fmt.size(have)} already downloaded…")
                hasher.update_from_file(spec.part, have, self.control.check)
        self._request(have, hasher)

    def _install(self, hasher: Hasher) -> None:
        spec = self.spec
        self.meter.set_state(DownloadState.VERIFYING, f"Verifying {spec.filename}…")
        digest = hasher.hexdigest()
        if digest != spec.digest:
            spec.part.unlink(missing_ok=True)
            self.meter.received(-spec.size)
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
        self.meter.set_state(DownloadState.RUNNING)

    def _request(self, have: int, hasher: Hasher) -> None:
        """One HTTP request from byte ``have`` to the end; ``Retry`` if it ends short."""
        import httpcore2
        import httpx2
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
        from huggingface_hub.utils import hf_raise_for_status

        spec, meter, stop = self.spec, self.meter, self.control.stop
        headers = self.client.headers()
        headers["Accept-Encoding"] = "identity"
        if have:
            headers["Range"] = f"bytes={have}-"
        timeout = httpx2.Timeout(self.timeouts.stall, connect=self.timeouts.connect)
        meter.connected()
        try:
            with self.client.session().stream(
                "GET", spec.url, headers=headers, timeout=timeout, follow_redirects=True
            ) as r:
                self.control.attach(r)
                status = r.status_code
                if status in (408, 429) or status >= 500:
                    raise Retry(f"the server answered {status}")
                if status == 416 and have:
                    # Range past the end: our partial file is not a prefix of theirs.
                    spec.part.unlink(missing_ok=True)
                    hasher.reset()
                    meter.received(-have)
                    raise Retry("the partial file did not match the server's; starting over")
                if status >= 400:
                    r.read()
                    hf_raise_for_status(r)
                mode = "ab"
                if have and status == 200:
                    # The server ignored the Range header: start this file over.
                    meter.received(-have)
                    have = 0
                    hasher.reset()
                    mode = "wb"
                elif status == 206 and not _range_starts_at(r.headers.get("Content-Range"), have):
                    raise Retry("the server sent the wrong part of the file")
                with open(spec.part, mode) as f:
                    # Whatever has arrived (no re-chunking): a pause or stall keeps every byte.
                    for chunk in read_body(r, spec.size - have, self.timeouts.stall):
                        if stop.is_set():
                            break
                        room = spec.size - have
                        if len(chunk) > room:
                            chunk = chunk[:room]  # never more than the Hub's metadata announced
                        f.write(chunk)
                        hasher.update(chunk)
                        have += len(chunk)
                        meter.received(len(chunk))
                        if have >= spec.size:
                            break
        except OfflineModeIsEnabled as e:
            raise self.client.offline_error() from e
        except HfHubHTTPError as e:
            raise self.client.explain(
                e, spec.repo_id, revision=spec.revision, files=(spec.filename,)
            ) from e
        except (httpx2.TimeoutException, httpcore2.TimeoutException) as e:
            if stop.is_set():
                raise Stop from e
            raise Retry(f"no data for {self.timeouts.stall:g} s", stalled=True) from e
        except (
            httpx2.TransportError,
            httpx2.StreamError,
            httpcore2.NetworkError,
            httpcore2.ProtocolError,
            OSError,
        ) as e:
            if stop.is_set():
                raise Stop from e
            if isinstance(e, OSError) and not isinstance(e, ConnectionError):
                raise DownloadError(
                    f"Cannot write {spec.part}: {e.strerror or e}. Check the disk and its free "
                    "space, then resume.",
                    "disk",
                ) from e
            raise Retry(f"connection lost ({type(e).__name__})") from e
        finally:
            self.control.detach()
            meter.disconnected()
        self.control.check()
        if have < spec.size:
            raise Retry(f"connection closed after {fmt.size(have)} of {fmt.size(spec.size)}")


class Hasher:
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


def digest_file(path: Path, algo: str, size: int) -> str:
    h = Hasher(algo, size)
    try:
        h.update_from_file(path, size, lambda: None)
        return h.hexdigest()
    finally:
        h.close()


BODY_READ = 1 << 20  # bytes asked of the socket per read on the direct path


def read_body(r: Any, room: int, timeout: float) -> Iterator[bytes]:
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


def size_of(path: Path) -> int:
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
