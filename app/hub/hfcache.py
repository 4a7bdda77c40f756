"""The standard Hugging Face cache layout, so files Hearth downloads are the ones `hf download`,
llama.cpp and other tools reuse, and the other way round. Under the cache folder:

    models--OWNER--NAME/blobs/<sha256>                  the bytes (LFS files: named by sha256)
    models--OWNER--NAME/blobs/<sha256>.incomplete       a partial download (same name hf uses)
    models--OWNER--NAME/snapshots/<commit>/<filename>   relative symlink to the blob
    models--OWNER--NAME/refs/<revision>                 the commit a branch pointed to

The cache folder is resolved at call time (HF_HUB_CACHE, then HF_HOME/hub, then the default), not
from huggingface_hub's import-time constants, so a changed environment is honoured.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path, PurePosixPath

from app.fsutil import atomic_write

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
REPO_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


class UnsafeNameError(ValueError):
    """A name from the user or the server that would escape its folder or is not what it claims."""


def hf_cache_dir() -> Path:
    env = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if env:
        return Path(env).expanduser()
    home = os.environ.get("HF_HOME")
    if home:
        return Path(home).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def check_repo_id(repo_id: str) -> str:
    if not REPO_ID_RE.match(repo_id or "") or ".." in repo_id:
        raise UnsafeNameError(
            f"'{repo_id}' is not a Hugging Face repository name. Use the form OWNER/NAME, "
            "for example ggml-org/gpt-oss-20b-GGUF."
        )
    return repo_id


def safe_relative(filename: str) -> PurePosixPath:
    """A repository file name as a relative path that stays inside whatever folder it is joined to.

    Rejects absolute paths, `..` parts, backslashes (a Windows separator in disguise), NUL bytes
    and empty parts. The server's file list is not trusted more than the user's typing.
    """
    if not filename or "\\" in filename or "\x00" in filename or filename.startswith("/"):
        raise UnsafeNameError(f"Refusing the file name {filename!r}: not a plain relative path.")
    p = PurePosixPath(filename)
    if any(part in ("", ".", "..") for part in p.parts) or ":" in p.parts[0]:
        raise UnsafeNameError(
            f"Refusing the file name {filename!r}: it would be written outside the models folder."
        )
    return p


def contained(root: Path, rel: PurePosixPath) -> Path:
    """root/rel, after checking (with symlinks resolved) that it really is below root."""
    target = root.joinpath(*rel.parts)
    real_root = root.resolve()
    real_parent = target.parent.resolve()
    if real_parent != real_root and real_root not in real_parent.parents:
        raise UnsafeNameError(f"Refusing to write {target}: it is outside {root}.")
    return target


def check_sha256(value: str | None) -> str:
    if not value or not SHA256_RE.match(value):
        raise UnsafeNameError(
            f"The Hub gave no valid SHA-256 for this file ({value!r}), so it cannot be verified. "
            "Hearth only installs files it can verify."
        )
    return value


def check_commit(value: str | None) -> str:
    if not value or not COMMIT_RE.match(value):
        raise UnsafeNameError(f"The Hub gave an invalid commit id ({value!r}).")
    return value


def repo_folder(cache: Path, repo_id: str) -> Path:
    return cache / ("models--" + check_repo_id(repo_id).replace("/", "--"))


def repo_of(path: Path) -> str | None:
    """The repository whose cache folder (``repo_folder``) holds ``path``, or None outside one."""
    folders = [part for part in path.parts if part.startswith("models--")]
    return folders[-1].removeprefix("models--").replace("--", "/", 1) if folders else None


def blob_path(cache: Path, repo_id: str, sha256: str) -> Path:
    return repo_folder(cache, repo_id) / "blobs" / check_sha256(sha256)


def snapshot_path(cache: Path, repo_id: str, commit: str, filename: str) -> Path:
    snap = repo_folder(cache, repo_id) / "snapshots" / check_commit(commit)
    return snap.joinpath(*safe_relative(filename).parts)


def write_ref(cache: Path, repo_id: str, revision: str, commit: str) -> None:
    if revision == commit or not re.match(r"^[A-Za-z0-9._-]+$", revision):
        return
    refs = repo_folder(cache, repo_id) / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    atomic_write(refs / revision, commit)


def link_snapshot(blob: Path, pointer: Path) -> None:
    """Point snapshots/<commit>/<file> at the blob: a relative symlink like huggingface_hub makes,
    or a copy where the file system has no symlinks (Windows without developer mode)."""
    pointer.parent.mkdir(parents=True, exist_ok=True)
    if pointer.is_symlink() or pointer.exists():
        pointer.unlink()
    try:
        os.symlink(os.path.relpath(blob, pointer.parent), pointer)
    except OSError:
        shutil.copy2(blob, pointer)
