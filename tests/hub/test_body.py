"""How the downloader reads a response body: a plain HTTP/1.1 body straight from the connection in
large reads, anything else (chunked) through httpx; the bytes are the same either way."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx2
import pytest

from app.hub.transfer import read_body

BIG = os.urandom(3 << 20) + b"tail"  # several socket reads, not a multiple of anything
SMALL = b"a small file that arrives with the headers"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    ports: ClassVar[set[int]] = set()  # one client port per connection

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        _Handler.ports.add(self.client_address[1])
        data = SMALL if self.path == "/small" else BIG
        self.send_response(200)
        if self.path == "/chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(data), 100_000):
                part = data[i : i + 100_000]
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.ports = set()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.daemon_threads = True
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def _read(client: httpx2.Client, url: str, room: int) -> list[bytes]:
    with client.stream("GET", url, headers={"Accept-Encoding": "identity"}) as r:
        return list(read_body(r, room, timeout=10))


def test_a_plain_body_is_read_whole_in_large_reads(server: str) -> None:
    with httpx2.Client() as client:
        chunks = _read(client, f"{server}/plain", len(BIG))
    assert b"".join(chunks) == BIG
    # httpcore's own path never yields more than 64 KiB at once: larger reads mean the direct one
    assert max(len(c) for c in chunks[1:]) > 64 * 1024


def test_a_chunked_body_goes_through_httpx(server: str) -> None:
    with httpx2.Client() as client:
        chunks = _read(client, f"{server}/chunked", len(BIG))
    assert b"".join(chunks) == BIG


def test_never_reads_past_the_room_left(server: str) -> None:
    room = len(BIG) // 2
    with httpx2.Client() as client:
        chunks = _read(client, f"{server}/plain", room)
    # Only the first chunk (whatever came with the headers) can overshoot; the caller trims it.
    assert sum(len(c) for c in chunks) <= max(room, len(chunks[0]))
    assert b"".join(chunks)[:room] == BIG[:room]


def test_a_body_that_came_with_the_headers_keeps_the_connection(server: str) -> None:
    with httpx2.Client() as client:
        assert b"".join(_read(client, f"{server}/small", len(SMALL))) == SMALL
        assert b"".join(_read(client, f"{server}/small", len(SMALL))) == SMALL
    assert len(_Handler.ports) == 1  # the response ended cleanly: the connection was reused
