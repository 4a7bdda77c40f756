"""Downloading model files from the Hugging Face Hub: resumable, verified, pausable.

Why not ``hf_hub_download``: it cannot be paused or cancelled from another thread, its stall
handling is the library-wide timeout, and it installs a file before anyone checks the LFS SHA-256
(it trusts the ETag). So Hearth does the transfer itself, with huggingface_hub's own pieces:

- ``hubapi.HubClient``: the Hub's API (model info with each file's size and hash, resolve URLs
  pinned to a commit, auth, errors worded for the user), shared with the catalog and the search;
- ``transfer.FileTransfer``: one file's bytes (resume by range, hash while they arrive, verify,
  install); ``backoff.Backoff``: the one retry loop, for lookups and transfers alike;
- ``task.DownloadTask``: one download and its controls; ``progress.Meter``: what it shows;
- ``journal.DownloadJournal``: unfinished downloads, so they come back (paused) after a restart.

This module holds what ties them together: the request and the manager, which turns a request
into the files to fetch (in the standard Hugging Face cache, or a folder of the user's). Nothing
the server says is trusted to name a path: file names, hashes and commit ids are validated, and
the server can never make Hearth write more bytes than the Hub's metadata announced.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app import paths
from app.hub import fmt
from app.hub.backoff import Backoff, Retry
from app.hub.hfcache import (
    UnsafeNameError,
    blob_path,
    check_commit,
    check_repo_id,
    contained,
    hf_cache_dir,
    repo_folder,
    safe_relative,
    snapshot_path,
    write_ref,
)
from app.hub.hubapi import DownloadError, HubClient
from app.hub.journal import DownloadJournal
from app.hub.progress import DownloadState, Progress
from app.hub.task import DownloadTask
from app.hub.transfer import FileSpec, Timeouts, size_of

__all__ = [
    "DownloadError",
    "DownloadManager",
    "DownloadRequest",
    "DownloadState",
    "DownloadTask",
    "Progress",
    "disk_free",
]

DISK_MARGIN = 64 * 1024 * 1024  # keep a little free space: a full disk breaks everything else too


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
        self.client = HubClient(endpoint, token)
        self.cache_dir = cache_dir
        self.timeouts = Timeouts(stall=stall_timeout, connect=connect_timeout)
        self.backoff = Backoff(max_retries, backoff_base, backoff_max)
        self.free_space = free_space
        self.journal = DownloadJournal(journal or (paths.data_dir() / "downloads.json"))
        self._tasks: dict[str, DownloadTask] = {}

    # -- downloads ---------------------------------------------------------------------------
    def task(self, request: DownloadRequest) -> DownloadTask:
        """The task for this request (the same object if it already exists)."""
        t = self._tasks.get(request.key)
        if t is None or t.state == DownloadState.CANCELLED:
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
        for d in self.journal.requests():
            try:
                req = DownloadRequest.from_dict(d)
            except (KeyError, TypeError, ValueError):
                continue
            t = self.task(req)
            t.restored(sum(size_of(p) for p in self.journal.parts(req.key)))
            out.append(t)
        return out

    # -- what a task asks of the manager ---------------------------------------------------------
    def target_root(self, request: DownloadRequest) -> Path:
        if request.dest_dir:
            return Path(request.dest_dir).expanduser()
        return self.cache_dir or hf_cache_dir()

    def resolve(self, req: DownloadRequest, wait: Callable[[Retry, float], bool]) -> list[FileSpec]:
        """The files of a request, with their sizes, hashes, URLs and places on disk, from the
        Hub's metadata (lookups retried; ``wait`` shows and sleeps each delay). Journaled."""
        try:
            check_repo_id(req.repo_id)
            rels = [safe_relative(f) for f in req.files]
        except UnsafeNameError as e:
            raise DownloadError(str(e), "unsafe") from e
        info = self.client.model_info(req.repo_id, req.revision, backoff=self.backoff, wait=wait)
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
            url = self.client.file_url(req.repo_id, name, commit)
            try:
                if req.dest_dir:
                    root.mkdir(parents=True, exist_ok=True)
                    final = contained(root, rel)
                    pointer = None
                else:
                    if algo == "sha256":
                        final = blob_path(root, req.repo_id, digest)
                    else:  # small non-LFS file: the blob is named by its git id, as hf does
                        final = repo_folder(root, req.repo_id) / "blobs" / check_commit(digest)
                    pointer = snapshot_path(root, req.repo_id, commit, name)
            except UnsafeNameError as e:
                raise DownloadError(str(e), "unsafe") from e
            part = final.with_name(final.name + ".incomplete")
            specs.append(
                FileSpec(
                    req.repo_id, req.revision, name, size, digest, algo, url, part, final, pointer
                )
            )
        if not req.dest_dir:
            write_ref(root, req.repo_id, req.revision, commit)
        self.journal.add(
            req.key, req.to_dict(), [s.part for s in specs], sum(s.size for s in specs)
        )
        return specs

    def installed(self, req: DownloadRequest, specs: list[FileSpec]) -> None:
        """A request is done: no longer unfinished; files in a folder of the user's are
        recorded with their origin (in the HF cache the layout says it)."""
        self.journal.forget(req.key)
        if req.dest_dir:
            for s in specs:
                if s.algo == "sha256":
                    self.journal.remember_file(s.final, s.repo_id, s.filename, s.digest)

    def check_disk(self, specs: list[FileSpec], have: dict[str, int]) -> None:
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
