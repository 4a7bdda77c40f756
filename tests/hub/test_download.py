"""Downloads with huggingface_hub's real client against the local fake hub, faults included."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from app.hub.download import (
    DownloadError,
    DownloadManager,
    DownloadRequest,
    DownloadState,
    DownloadTask,
)
from app.hub.hfcache import hf_cache_dir, repo_folder
from tests.helpers.fakehub import FakeHub, Fault, HubFile
from tests.helpers.hub import FILE, REPO


def manager(**kw: object) -> DownloadManager:
    opts: dict[str, object] = {
        "stall_timeout": 1.0,
        "connect_timeout": 2.0,
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "max_retries": 3,
    }
    opts.update(kw)
    return DownloadManager(**opts)  # type: ignore[arg-type]


def request(files: tuple[str, ...] = (FILE,), repo: str = REPO, **kw: object) -> DownloadRequest:
    return DownloadRequest(repo, files, **kw)  # type: ignore[arg-type]


def no_partials(root: Path) -> bool:
    return not [p for p in root.rglob("*.incomplete")]


def test_happy_path_installs_into_the_hf_cache_layout(fake_hub: FakeHub, served: HubFile) -> None:
    from app.hub.shape import read_shape

    fake_hub.redirect = True  # like the real Hub: resolve/ answers 302 to a CDN URL
    paths = manager().download(request())
    cache = hf_cache_dir()
    folder = repo_folder(cache, REPO)
    blob = folder / "blobs" / served.sha256
    pointer = folder / "snapshots" / "0123456789abcdef0123456789abcdef01234567" / FILE
    assert paths == [pointer]
    assert pointer.is_symlink() and pointer.resolve() == blob.resolve()
    assert hashlib.sha256(blob.read_bytes()).hexdigest() == served.sha256
    assert (folder / "refs" / "main").read_text() == "0123456789abcdef0123456789abcdef01234567"
    assert no_partials(cache)
    assert read_shape(pointer).n_layer == 2  # a real, loadable GGUF

    # huggingface_hub itself sees the file as cached (so `hf download` and others reuse it).
    from huggingface_hub import try_to_load_from_cache

    assert try_to_load_from_cache(REPO, FILE, cache_dir=cache) == str(pointer)


def test_a_dropped_connection_resumes_by_range(fake_hub: FakeHub, served: HubFile) -> None:
    size = len(served.data)
    fake_hub.faults[FILE] = Fault(drop_at=size // 2, drops=2)
    progress = []
    paths = manager().download(request(), on_progress=progress.append)
    assert hashlib.sha256(paths[0].read_bytes()).hexdigest() == served.sha256
    ranges = [r for (_m, p, r) in fake_hub.requests if p.endswith(FILE)]
    assert ranges[0] is None and all(r and r.startswith("bytes=") for r in ranges[1:])
    # Only what was lost in flight is fetched twice (at most a chunk or two per drop).
    assert fake_hub.bytes_served(FILE) - size <= 2 * (64 * 1024)
    assert progress[-1].state == DownloadState.DONE and progress[-1].done == size


def test_503_then_success(fake_hub: FakeHub, served: HubFile) -> None:
    fake_hub.faults[FILE] = Fault(statuses=[503, 502])
    t = manager().task(request())
    t.run()
    assert t.state == DownloadState.DONE and t.progress().retries == 2


def test_a_stall_is_detected_and_retried(fake_hub: FakeHub, served: HubFile) -> None:
    fake_hub.faults[FILE] = Fault(stall_at=len(served.data) // 3)
    t = manager(stall_timeout=0.3).task(request())
    paths = t.run()
    assert fake_hub.stalled.is_set()
    assert t.progress().retries >= 1
    assert hashlib.sha256(paths[0].read_bytes()).hexdigest() == served.sha256


def test_wrong_bytes_are_rejected_deleted_and_not_installed(
    fake_hub: FakeHub, served: HubFile
) -> None:
    fake_hub.faults[FILE] = Fault(wrong_bytes=True)
    t = manager().task(request())
    with pytest.raises(DownloadError, match="does not match the Hub's checksum") as e:
        t.run()
    assert e.value.kind == "hash" and "deleted" in str(e.value)
    folder = repo_folder(hf_cache_dir(), REPO)
    assert not list(folder.rglob(FILE)) and not (folder / "blobs" / served.sha256).exists()
    assert no_partials(folder)


def test_server_sending_more_than_announced_cannot_grow_the_file(
    fake_hub: FakeHub, served: HubFile
) -> None:
    fake_hub.faults[FILE] = Fault(extra_bytes=100_000)
    paths = manager().download(request())
    assert paths[0].stat().st_size == len(served.data)


def test_a_lying_size_in_the_metadata_never_installs_a_file(
    fake_hub: FakeHub, served: HubFile
) -> None:
    served.announced_size = len(served.data) // 2  # the Hub claims half: truncated bytes
    with pytest.raises(DownloadError) as e:
        manager().download(request())
    assert e.value.kind == "hash"
    served.announced_size = len(served.data) + 1000  # claims more: the server can never finish
    with pytest.raises(DownloadError) as e:
        manager().download(request())
    assert e.value.kind in ("network", "hash")
    folder = repo_folder(hf_cache_dir(), REPO)
    assert not list((folder / "snapshots").rglob("*.gguf"))


def test_missing_repo_and_file_say_what_to_do(fake_hub: FakeHub, served: HubFile) -> None:
    with pytest.raises(DownloadError, match="was not found, or it is private") as e:
        manager().download(request(repo="nobody/nothing-GGUF"))
    assert e.value.kind == "not_found"
    with pytest.raises(DownloadError, match=rf"has no file nope.gguf. Its GGUF files: {FILE}"):
        manager().download(request(files=("nope.gguf",)))


def test_private_repo_needs_a_token(fake_hub: FakeHub, tiny_bytes: bytes) -> None:
    fake_hub.add_file("me/private-GGUF", "m.gguf", tiny_bytes, private_token="hf_secret")
    req = DownloadRequest("me/private-GGUF", ("m.gguf",))
    with pytest.raises(DownloadError, match="HF_TOKEN"):
        manager().download(req)
    assert manager(token="hf_secret").download(req)[0].exists()


def test_login_required_and_a_rejected_token(fake_hub: FakeHub, tiny_bytes: bytes) -> None:
    fake_hub.add_file("org/login-GGUF", "m.gguf", tiny_bytes, login_token="hf_good")
    req = DownloadRequest("org/login-GGUF", ("m.gguf",))
    with pytest.raises(DownloadError, match="needs you to be logged in") as e:
        manager().download(req)
    assert e.value.kind == "auth"
    with pytest.raises(DownloadError, match="refused the access token"):
        manager(token="hf_wrong").download(req)
    assert manager(token="hf_good").download(req)[0].exists()


def test_gated_repo_explains_accepting_the_terms(fake_hub: FakeHub, tiny_bytes: bytes) -> None:
    fake_hub.add_file("org/gated-GGUF", "m.gguf", tiny_bytes, gated=True)
    with pytest.raises(DownloadError, match="accept its terms") as e:
        manager().download(DownloadRequest("org/gated-GGUF", ("m.gguf",)))
    assert e.value.kind == "gated"


def test_not_enough_disk_is_refused_before_starting(fake_hub: FakeHub, served: HubFile) -> None:
    t = manager(free_space=lambda _p: 10_000_000).task(request())
    with pytest.raises(DownloadError, match="Not enough disk space") as e:
        t.run()
    assert e.value.kind == "disk"
    assert fake_hub.bytes_served(FILE) == 0
    assert not [r for r in fake_hub.requests if "/resolve/" in r[1]]


def test_unsafe_names_never_escape_the_folder(
    fake_hub: FakeHub, tiny_bytes: bytes, tmp_path: Path
) -> None:
    evil = "../../evil.gguf"
    fake_hub.add_file(REPO, evil, tiny_bytes)
    dest = tmp_path / "models"
    for kw in ({}, {"dest_dir": str(dest)}):
        with pytest.raises(DownloadError, match="Refusing the file name") as e:
            manager().download(request(files=(evil,), **kw))
        assert e.value.kind == "unsafe"
    assert not list(tmp_path.rglob("evil.gguf"))
    assert not list(hf_cache_dir().parent.rglob("evil.gguf"))
    for bad in ("/etc/passwd", "a\\..\\b.gguf", "C:/x.gguf"):
        with pytest.raises(DownloadError):
            manager().download(request(files=(bad,)))


def test_hashes_and_commits_from_the_server_never_name_paths(
    fake_hub: FakeHub, served: HubFile
) -> None:
    served.announced_sha256 = "../../../escaped"
    with pytest.raises(DownloadError, match="no valid SHA-256") as e:
        manager().download(request())
    assert e.value.kind == "unsafe"
    served.announced_sha256 = None
    fake_hub.repos[REPO].commit = "../../snapshots-elsewhere"
    with pytest.raises(DownloadError, match="invalid commit") as e:
        manager().download(request())
    assert e.value.kind == "unsafe"
    assert not list(hf_cache_dir().parent.rglob("escaped*"))
    assert not list(hf_cache_dir().parent.rglob("snapshots-elsewhere"))
    assert fake_hub.bytes_served(FILE) == 0


def test_download_to_a_chosen_folder(fake_hub: FakeHub, served: HubFile, tmp_path: Path) -> None:
    paths = manager().download(request(dest_dir=str(tmp_path / "mine")))
    assert paths == [tmp_path / "mine" / FILE]
    assert paths[0].read_bytes() == served.data and no_partials(tmp_path)


def test_offline_mode_is_honoured(
    fake_hub: FakeHub, served: HubFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    with pytest.raises(DownloadError, match="offline mode") as e:
        manager().download(request())
    assert e.value.kind == "offline"


def _wait_until_stalled(hub: FakeHub, task: DownloadTask, at: int) -> None:
    assert hub.stalled.wait(10)
    assert task.wait_for(lambda p: p.done >= at, 10)


def test_pause_quit_resume(fake_hub: FakeHub, served: HubFile) -> None:
    size = len(served.data)
    fake_hub.faults[FILE] = Fault(stall_at=size // 2)
    first = manager(stall_timeout=30)
    task = first.start(request())
    _wait_until_stalled(fake_hub, task, size // 2)
    task.pause()  # closes the connection at once, even mid-stall
    assert task.wait(10) and task.state == DownloadState.PAUSED
    partial = repo_folder(hf_cache_dir(), REPO) / "blobs" / f"{served.sha256}.incomplete"
    assert partial.stat().st_size == size // 2
    del first, task  # "quit"

    second = manager()
    restored = second.restore()
    assert [t.request for t in restored] == [request()]
    t = restored[0]
    assert t.state == DownloadState.PAUSED and t.progress().done == size // 2
    done = threading.Event()
    t.add_listener(lambda tk: tk.state == DownloadState.DONE and done.set())
    t.resume()
    assert done.wait(20) and t.wait(5)
    assert hashlib.sha256(t.paths[0].read_bytes()).hexdigest() == served.sha256
    ranges = [r for (_m, p, r) in fake_hub.requests if p.endswith(FILE)]
    assert ranges[-1] == f"bytes={size // 2}-"
    assert fake_hub.bytes_served(FILE) == size  # nothing fetched twice
    assert second.restore() == []  # finished downloads leave the journal


def test_cancel_deletes_the_partial(fake_hub: FakeHub, served: HubFile) -> None:
    fake_hub.faults[FILE] = Fault(stall_at=len(served.data) // 2)
    task = manager(stall_timeout=30).start(request())
    assert fake_hub.stalled.wait(10)
    task.cancel()
    assert task.wait(10) and task.state == DownloadState.CANCELLED
    assert no_partials(hf_cache_dir())
    assert manager().restore() == []


def test_existing_file_is_verified_and_reused(fake_hub: FakeHub, served: HubFile) -> None:
    manager().download(request())
    before = fake_hub.bytes_served(FILE)
    paths = manager().download(request())
    assert fake_hub.bytes_served(FILE) == before  # nothing downloaded again
    assert paths[0].exists()
    os.chmod(paths[0].resolve(), 0o644)


class _Clock:
    """A clock the test moves: 'nothing arrived for 10 s' without waiting 10 s."""

    def __init__(self) -> None:
        import time

        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


def test_a_stall_says_stalled_with_the_retry_countdown_and_no_time_estimate(
    fake_hub: FakeHub, served: HubFile
) -> None:
    size = len(served.data)
    fake_hub.faults[FILE] = Fault(stall_at=size // 2)
    t = manager(stall_timeout=30.0).task(request())
    clock = _Clock()
    t.meter.clock = clock
    t.start()
    try:
        assert fake_hub.stalled.wait(10)
        assert t.wait_for(lambda p: p.done >= size // 2, 10)
        clock.now += 10  # ten seconds without a byte
        p = t.progress()
        assert p.state == DownloadState.RUNNING and p.stalled
        assert p.message == "Stalled — retrying in 20 s"
        assert p.eta is None and p.speed == 0
        assert "ETA –" in p.describe()
    finally:
        t.pause()
        t.wait(10)
