"""A local stand-in for the Hugging Face Hub, with faults on demand.

A real ``ThreadingHTTPServer`` on 127.0.0.1 answers what huggingface_hub asks for:

- ``GET /api/models/OWNER/NAME[/revision/REV]`` (model info; with ``blobs=true`` each sibling has
  its size and LFS sha256), ``GET /api/models?search=…&filter=gguf`` (search);
- ``HEAD`` and ranged ``GET`` on ``/OWNER/NAME/resolve/REV/FILE`` with ETag, X-Repo-Commit,
  X-Linked-Etag, X-Linked-Size, Content-Length, Accept-Ranges and Content-Range headers; with
  ``redirect=True`` the resolve URL answers 302 to a ``/cdn/`` URL, as the real Hub does.

Faults (see ``Fault``): drop the connection after N bytes, answer with statuses (503…) first,
stall after N bytes, send wrong bytes, send more bytes than announced, announce a wrong size; repos
can be private (401 without the token) or gated (403). Every byte served is counted per file, so
tests can check how much a resume re-fetched.

Usage (pytest): the ``fake_hub`` fixture starts one, points HF_ENDPOINT at it and turns offline mode
off for the test.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest


@dataclass
class Fault:
    statuses: list[int] = field(default_factory=list)  # answered (and consumed) before any data
    drop_at: int | None = None  # close the connection after this many bytes of the body
    drops: int = 1  # how many requests get dropped
    stall_at: int | None = None  # stop sending after this many bytes, until released
    stalls: int = 1
    wrong_bytes: bool = False  # flip a byte in the middle of the file
    extra_bytes: int = 0  # send this many junk bytes past the end (Content-Length includes them)
    ignore_range: bool = False  # answer 200 with the whole file even when asked for a range
    hard: bool = True  # drop with a TCP reset (in-flight bytes lost) rather than a clean close


@dataclass
class HubFile:
    name: str
    data: bytes
    lfs: bool = True
    announced_size: int | None = None  # a lie in the model info, if set
    announced_sha256: str | None = None  # likewise for the LFS hash

    # Computed once: hashing a big benchmark file on every request would make the server slow.
    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @cached_property
    def git_oid(self) -> str:
        h = hashlib.sha1(b"blob %d\0" % len(self.data), usedforsecurity=False)
        h.update(self.data)
        return h.hexdigest()


@dataclass
class HubRepo:
    repo_id: str
    files: dict[str, HubFile] = field(default_factory=dict)
    commit: str = "0123456789abcdef0123456789abcdef01234567"
    private_token: str | None = None  # private: 401 unless "Authorization: Bearer <token>"
    gated: bool = False  # 403 on downloads, like a gated repo whose terms were not accepted
    login_token: str | None = None  # public metadata, but downloads answer a bare 401 without it
    tags: list[str] = field(default_factory=lambda: ["gguf", "gpt-oss"])
    downloads: int = 1000


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up mid-transfer is what several tests are about


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[str, HubRepo] = {}
        self.faults: dict[str, Fault] = {}  # by file name
        self.served: dict[str, int] = {}  # body bytes sent per file name
        self.requests: list[tuple[str, str, str | None]] = []  # (method, path, Range)
        self.redirect = False
        self.release = threading.Event()  # set to end every stall (teardown sets it too)
        self.stalled = threading.Event()  # set when a stall begins
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()  # open client connections (keep-alive included)
        self._server = _Server(("127.0.0.1", 0), _make_handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        self._thread.start()
        return self

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        # Pooled keep-alive connections would keep their handler threads waiting for a next
        # request that never comes: end them.
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)

    def add_file(
        self, repo_id: str, name: str, data: bytes, *, lfs: bool = True, **repo_kw: object
    ) -> HubFile:
        repo = self.repos.get(repo_id)
        if repo is None:
            repo = self.repos[repo_id] = HubRepo(repo_id, **repo_kw)  # type: ignore[arg-type]
        f = repo.files[name] = HubFile(name, data, lfs)
        return f

    def bytes_served(self, name: str) -> int:
        with self._lock:
            return self.served.get(name, 0)

    def _count(self, name: str, n: int) -> None:
        with self._lock:
            self.served[name] = self.served.get(name, 0) + n


def _make_handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def setup(self) -> None:
            super().setup()
            with hub._lock:
                hub._conns.add(self.connection)

        def finish(self) -> None:
            with hub._lock:
                hub._conns.discard(self.connection)
            try:
                super().finish()
            except OSError:
                pass

        # -- plumbing ------------------------------------------------------------------------
        def _json(self, status: int, obj: object, headers: dict[str, str] | None = None) -> None:
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _error(self, status: int, code: str | None = None, message: str = "") -> None:
            headers = {}
            if code:
                headers["X-Error-Code"] = code
            if message:
                headers["X-Error-Message"] = message
            self._json(status, {"error": message or code or str(status)}, headers)

        def _authorized(self, repo: HubRepo) -> bool:
            if repo.private_token is None:
                return True
            return self.headers.get("Authorization") == f"Bearer {repo.private_token}"

        def do_HEAD(self) -> None:
            self._route()

        def do_GET(self) -> None:
            self._route()

        def _route(self) -> None:
            u = urlparse(self.path)
            path = unquote(u.path)
            hub.requests.append((self.command, path, self.headers.get("Range")))
            m = re.match(r"^/api/models/([^/]+/[^/]+?)(?:/revision/([^/]+))?$", path)
            if m:
                return self._model_info(m.group(1), parse_qs(u.query))
            if path == "/api/models":
                return self._search(parse_qs(u.query))
            if path == "/_stats":  # for a hub running in another process (the benchmark)
                with hub._lock:
                    return self._json(200, dict(hub.served))
            m = re.match(r"^/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", path)
            if m:
                return self._resolve(m.group(1), m.group(2), m.group(3), cdn=False)
            m = re.match(r"^/cdn/([^/]+/[^/]+)/([^/]+)/(.+)$", path)
            if m:
                return self._resolve(m.group(1), m.group(2), m.group(3), cdn=True)
            self._error(404, "EntryNotFound", "no such endpoint")

        # -- API -----------------------------------------------------------------------------
        def _model_info(self, repo_id: str, query: dict[str, list[str]]) -> None:
            repo = hub.repos.get(repo_id)
            if repo is None or not self._authorized(repo):
                return self._error(401, "RepoNotFound", "Repository not found")
            siblings = []
            for f in repo.files.values():
                s: dict[str, object] = {"rfilename": f.name}
                if query.get("blobs") == ["true"] or query.get("blobs") == ["True"]:
                    size = f.announced_size if f.announced_size is not None else len(f.data)
                    s["size"] = size
                    s["blobId"] = f.git_oid
                    if f.lfs:
                        sha = f.announced_sha256 or f.sha256
                        s["lfs"] = {"size": size, "sha256": sha, "pointerSize": 134}
                siblings.append(s)
            self._json(
                200,
                {
                    "_id": "x",
                    "id": repo.repo_id,
                    "modelId": repo.repo_id,
                    "sha": repo.commit,
                    "private": repo.private_token is not None,
                    "gated": "manual" if repo.gated else False,
                    "tags": repo.tags,
                    "downloads": repo.downloads,
                    "likes": 1,
                    "siblings": siblings,
                },
            )

        def _search(self, query: dict[str, list[str]]) -> None:
            words = (query.get("search") or [""])[0].lower()
            filters = query.get("filter") or []
            out = []
            for repo in hub.repos.values():
                if words and words not in repo.repo_id.lower():
                    continue
                if any(f not in repo.tags for f in filters):
                    continue
                out.append(
                    {
                        "id": repo.repo_id,
                        "modelId": repo.repo_id,
                        "tags": repo.tags,
                        "downloads": repo.downloads,
                        "likes": 1,
                        "private": False,
                    }
                )
            out.sort(key=lambda r: -int(r["downloads"]))  # type: ignore[call-overload]
            limit = int((query.get("limit") or ["1000"])[0])
            self._json(200, out[:limit])

        # -- files ---------------------------------------------------------------------------
        def _resolve(self, repo_id: str, rev: str, name: str, cdn: bool) -> None:
            repo = hub.repos.get(repo_id)
            if repo is None or not self._authorized(repo):
                return self._error(401, "RepoNotFound", "Repository not found")
            if repo.gated and not cdn:
                return self._error(403, "GatedRepo", "Access to this repo is restricted")
            auth = self.headers.get("Authorization")
            if repo.login_token is not None and auth != f"Bearer {repo.login_token}" and not cdn:
                return self._error(401, None, "Unauthorized")
            if rev not in ("main", repo.commit):
                return self._error(404, "RevisionNotFound", "Invalid rev id")
            f = repo.files.get(name)
            if f is None:
                return self._error(404, "EntryNotFound", "Entry not found")
            fault = hub.faults.get(name, Fault())
            if fault.statuses and self.command == "GET":
                status = fault.statuses.pop(0)
                return self._error(status, None, "temporarily unavailable")
            etag = f.sha256 if f.lfs else f.git_oid
            common = {
                "ETag": f'"{etag}"',
                "X-Repo-Commit": repo.commit,
                "Accept-Ranges": "bytes",
            }
            if hub.redirect and not cdn:
                self.send_response(302)
                self.send_header("Location", f"/cdn/{repo_id}/{repo.commit}/{name}")
                for k, v in common.items():
                    self.send_header(k, v)
                self.send_header("X-Linked-Etag", f'"{etag}"')
                self.send_header("X-Linked-Size", str(len(f.data)))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = f.data
            if fault.wrong_bytes:
                mid = len(data) // 2
                data = data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1 :]
            data = data + b"\0" * fault.extra_bytes
            start = 0
            rng = self.headers.get("Range")
            m = re.match(r"bytes=(\d+)-$", rng or "")
            if m and not fault.ignore_range:
                start = int(m.group(1))
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            for k, v in common.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data) - start))
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            if self.command == "HEAD":
                return
            self._send_body(name, data, start, fault)

        def _send_body(self, name: str, data: bytes, start: int, fault: Fault) -> None:
            stop = len(data)
            drop = stall = False
            if fault.drop_at is not None and fault.drops > 0 and start < fault.drop_at:
                fault.drops -= 1
                stop, drop = fault.drop_at, True
            elif fault.stall_at is not None and fault.stalls > 0 and start < fault.stall_at:
                fault.stalls -= 1
                stop, stall = fault.stall_at, True
            pos = start
            try:
                while pos < stop:
                    n = min(64 * 1024, stop - pos)
                    self.wfile.write(data[pos : pos + n])
                    hub._count(name, n)
                    pos += n
                self.wfile.flush()
                if stall:
                    hub.stalled.set()
                    hub.release.wait(30)
                if (drop or stall) and fault.hard:
                    # Abrupt end: RST instead of a clean close, like a dropped connection.
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                if drop or stall:
                    self.close_connection = True
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A running fake hub; HF_ENDPOINT points at it and offline mode is off for this test."""
    import huggingface_hub.constants as hf_constants

    hub = FakeHub().start()
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    # huggingface_hub read HF_HUB_OFFLINE when it was imported (the test session sets it to 1).
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    try:
        yield hub
    finally:
        hub.close()


def tiny_gguf_bytes(tmp: Path) -> bytes:
    from tests.helpers.tinymodel import write_tiny_gptoss

    return write_tiny_gptoss(tmp / "tiny.gguf").read_bytes()


def serve_main(argv: list[str] | None = None) -> None:
    """Serve files from disk in a process of its own (so the benchmark's client does not share a
    GIL with the server): ``python -m tests.helpers.fakehub REPO NAME=PATH[:drop_at] ...``.
    Prints the URL on the first line, then serves until stdin closes."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    hub = FakeHub()
    repo = args[0]
    for spec in args[1:]:
        name, _, rest = spec.partition("=")
        path, _, drop = rest.partition(":")
        hub.add_file(repo, name, Path(path).read_bytes())
        if drop:
            hub.faults[name] = Fault(drop_at=int(drop), hard=False)
    hub.start()
    print(hub.url, flush=True)
    sys.stdin.read()
    hub.close()


if __name__ == "__main__":
    serve_main()
