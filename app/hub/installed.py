"""Models on this computer: found in the Hugging Face cache, Hearth's own folder and folders the
user added, plus single files imported in place (never copied). Each is inspected with the engine's
GGUF reader, so a broken or unsupported file is listed with the reason rather than hidden.

The user's folders and imported files are kept in ``config_dir()/models.json``.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import paths
from app.engine.gguf_info import GGUFError, GGUFInfo, inspect_gguf
from app.fsutil import atomic_write
from app.hub import fmt
from app.hub.hardware import Hardware
from app.hub.hfcache import SHA256_RE, hf_cache_dir
from app.hub.journal import DownloadJournal
from app.hub.planner import LoadPlan, plan
from app.hub.shape import SPLIT_RE, ModelShape, ShapeError, read_shape, split_parts

if TYPE_CHECKING:
    from app.hub.catalog import CatalogEntry

SOURCES = ("hf-cache", "hearth", "folder", "imported")


class LibraryError(Exception):
    """A user-facing problem with importing or removing a model. ``entry_id``: the catalog entry
    that would give the user the file they wanted (an incomplete file named like one)."""

    def __init__(self, message: str, entry_id: str | None = None) -> None:
        super().__init__(message)
        self.entry_id = entry_id


@dataclass
class InstalledModel:
    id: str  # "OWNER/NAME:FILE" for the HF cache, else the file's path
    path: Path  # what llama.cpp loads (the first part of a split model)
    source: str  # hf-cache, hearth, folder, imported
    parts: list[Path] = field(default_factory=list)
    size: int = 0
    repo_id: str | None = None
    filename: str = ""  # in its Hub repository when repo_id is known, else the file's name
    sha256: str | None = None  # the Hub's hash of the (first) file, when known to be its bytes
    info: GGUFInfo | None = None
    problem: str | None = None  # why it cannot be used, for the user
    problem_kind: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def title(self) -> str:
        if self.info is not None and self.info.name:
            return self.info.name
        return self.filename or self.path.name

    def shape(self) -> ModelShape:
        return read_shape(self.path)

    def plan(self, hw: Hardware) -> LoadPlan:
        return plan(self.shape(), hw, str(self.path))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "path": str(self.path),
            "source": self.source,
            "parts": [str(p) for p in self.parts],
            "size": self.size,
            "repo_id": self.repo_id,
            "filename": self.filename,
            "sha256": self.sha256,
            "ok": self.ok,
            "problem": self.problem,
            "problem_kind": self.problem_kind,
        }
        if self.info is not None:
            i = self.info
            d["info"] = {
                "name": i.name,
                "architecture": i.architecture,
                "quantization": i.quantization,
                "parameter_count": i.parameter_count,
                "context_length": i.context_length,
                "layer_count": i.layer_count,
                "expert_count": i.expert_count,
            }
        return d


def _is_first_part(name: str) -> bool:
    m = SPLIT_RE.match(name)
    return m is None or int(m.group("i")) == 1


def _inspect(model: InstalledModel) -> InstalledModel:
    missing = [p.name for p in model.parts if not p.exists()]
    if missing:
        model.problem = (
            f"Part of this split model is missing: {', '.join(missing)}. Download it again."
        )
        model.problem_kind = "missing"
        return model
    try:
        model.info = inspect_gguf(model.path)
    except GGUFError as e:
        problem = str(e)
        with contextlib.suppress(OSError):
            blob = model.path.resolve().name
            if blob != model.path.name:  # the HF cache's blob is named by its hash: say the name
                problem = problem.replace(blob, model.path.name)
        model.problem = problem
        model.problem_kind = e.kind
    return model


class ModelLibrary:
    """The installed models. Cheap to create; ``models()`` scans the disk each time."""

    def __init__(
        self,
        config_path: Path | None = None,
        hf_cache: Path | None = None,
        journal: Path | None = None,
    ) -> None:
        self.config_path = config_path or (paths.config_dir() / "models.json")
        self._hf_cache = hf_cache
        # Where downloads into the user's folders are recorded (the download manager's journal).
        self.journal = DownloadJournal(journal or (paths.data_dir() / "downloads.json"))

    @property
    def hf_cache(self) -> Path:
        return self._hf_cache or hf_cache_dir()

    # -- configuration -----------------------------------------------------------------------
    def _config(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self.config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"folders": [], "imported": []}
        if not isinstance(data, dict):
            return {"folders": [], "imported": []}
        return {
            "folders": [str(x) for x in data.get("folders", []) if isinstance(x, str)],
            "imported": [str(x) for x in data.get("imported", []) if isinstance(x, str)],
        }

    def _save(self, cfg: dict[str, list[str]]) -> None:
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.config_path, json.dumps(cfg, indent=1))

    def folders(self) -> list[Path]:
        return [Path(f) for f in self._config()["folders"]]

    def add_folder(self, folder: str | Path) -> Path:
        p = Path(folder).expanduser().resolve()
        if not p.is_dir():
            raise LibraryError(f"{p} is not a folder. Choose a folder that holds .gguf files.")
        cfg = self._config()
        if str(p) not in cfg["folders"]:
            cfg["folders"].append(str(p))
            self._save(cfg)
        return p

    def remove_folder(self, folder: str | Path) -> None:
        p = str(Path(folder).expanduser().resolve())
        cfg = self._config()
        cfg["folders"] = [f for f in cfg["folders"] if f != p]
        self._save(cfg)

    # -- listing -----------------------------------------------------------------------------
    def models(self, inspect: bool = True) -> list[InstalledModel]:
        found: list[InstalledModel] = []
        seen: set[Path] = set()

        def add(m: InstalledModel) -> None:
            key = m.path.resolve() if m.path.exists() else m.path
            if key in seen:
                return
            seen.add(key)
            if m.repo_id is None:
                self._add_origin(m)
            found.append(_inspect(m) if inspect else m)

        for m in self._from_hf_cache():
            add(m)
        for source, root in [("hearth", paths.models_dir())] + [
            ("folder", f) for f in self.folders()
        ]:
            for m in self._from_folder(root, source):
                add(m)
        for f in self._config()["imported"]:
            p = Path(f)
            parts = split_parts(p)
            size = sum(_size(x) for x in parts)
            add(InstalledModel(str(p), p, "imported", parts, size, filename=p.name))
        return found

    def _from_hf_cache(self) -> list[InstalledModel]:
        from huggingface_hub import scan_cache_dir
        from huggingface_hub.errors import CacheNotFound

        cache = self.hf_cache
        if not cache.is_dir():
            return []
        try:
            info = scan_cache_dir(cache)
        except (CacheNotFound, OSError, ValueError):
            return []
        out: list[InstalledModel] = []
        for repo in sorted(info.repos, key=lambda r: r.repo_id):
            if repo.repo_type != "model":
                continue
            newest: dict[str, InstalledModel] = {}
            for rev in sorted(repo.revisions, key=lambda r: r.last_modified):
                for f in rev.files:
                    rel = f.file_path.relative_to(rev.snapshot_path).as_posix()
                    if not rel.lower().endswith(".gguf") or not _is_first_part(f.file_path.name):
                        continue
                    parts = split_parts(f.file_path)
                    blob = f.blob_path.name  # an LFS file's blob is named by its SHA-256
                    newest[rel] = InstalledModel(
                        id=f"{repo.repo_id}:{rel}",
                        path=f.file_path,
                        source="hf-cache",
                        parts=parts,
                        size=sum(_size(p) for p in parts),
                        repo_id=repo.repo_id,
                        filename=rel,
                        sha256=blob if SHA256_RE.match(blob) else None,
                    )
            out.extend(newest[k] for k in sorted(newest))
        return out

    def _add_origin(self, m: InstalledModel) -> None:
        """A file Hearth downloaded into a folder, unchanged since: its repository and hash."""
        with contextlib.suppress(OSError):
            r = self.journal.file_origin(m.path.resolve())
            if r is not None:
                m.repo_id, m.filename = str(r["repo_id"]), str(r["filename"])
                m.sha256 = str(r["sha256"])

    def _from_folder(self, root: Path, source: str) -> list[InstalledModel]:
        if not root.is_dir():
            return []
        out = []
        with contextlib.suppress(OSError):
            for p in sorted(root.rglob("*.gguf")):
                if not p.is_file() or not _is_first_part(p.name):
                    continue
                parts = split_parts(p)
                size = sum(_size(x) for x in parts)
                out.append(InstalledModel(str(p), p, source, parts, size, filename=p.name))
        return out

    def find(self, key: str) -> InstalledModel | None:
        """A model by id, by path, or by a unique file name or name fragment."""
        models = self.models(inspect=False)
        for m in models:
            if key in (m.id, str(m.path)):
                return _inspect(m)
        with contextlib.suppress(OSError):
            p = Path(key).expanduser().resolve()
            for m in models:
                if m.path.resolve() == p:
                    return _inspect(m)
        hits = [m for m in models if key.lower() in m.id.lower()]
        if len(hits) == 1:
            return _inspect(hits[0])
        return None

    # -- changing ----------------------------------------------------------------------------
    def import_file(
        self, path: str | Path, catalog: list[CatalogEntry] | None = None
    ) -> InstalledModel:
        """Use a .gguf where it is (it is not copied). Refuses a file that is not a usable GGUF;
        an incomplete one named like a ``catalog`` file is offered as that entry's download."""
        p = Path(path).expanduser().resolve()
        try:
            info = inspect_gguf(p)
        except GGUFError as e:
            raise _import_problem(p, e, catalog) from e
        try:
            read_shape(p)
        except ShapeError as e:
            raise LibraryError(f"Cannot import {p.name}: {e}") from e
        cfg = self._config()
        if str(p) not in cfg["imported"]:
            cfg["imported"].append(str(p))
            self._save(cfg)
        parts = split_parts(p)
        return InstalledModel(
            str(p), p, "imported", parts, sum(_size(x) for x in parts), filename=p.name, info=info
        )

    def remove(self, model: InstalledModel, delete_file: bool | None = None) -> int:
        """Remove a model; returns the bytes freed.

        Files Hearth downloaded (HF cache, Hearth's folder, added folders) are deleted. An imported
        file is only forgotten unless ``delete_file`` is true: it belongs to the user.
        """
        if delete_file is None:
            delete_file = model.source != "imported"
        if model.source == "imported":
            cfg = self._config()
            cfg["imported"] = [f for f in cfg["imported"] if f != str(model.path)]
            self._save(cfg)
        if not delete_file:
            return 0
        if model.source == "hf-cache":
            return self._remove_from_hf_cache(model)
        freed = 0
        for p in model.parts:
            with contextlib.suppress(FileNotFoundError):
                freed += _size(p)
                p.unlink()
        return freed

    def _remove_from_hf_cache(self, model: InstalledModel) -> int:
        """Delete the file's snapshot links in every revision, and each blob no other link uses."""
        assert model.repo_id is not None
        repo_dir = model.path
        while repo_dir.name != "snapshots" and repo_dir != repo_dir.parent:
            repo_dir = repo_dir.parent
        repo_dir = repo_dir.parent
        snapshots = repo_dir / "snapshots"
        names = {p.relative_to(model.path.parent).as_posix() for p in model.parts}
        rel_dir = model.path.parent.relative_to(_snapshot_of(model.path, snapshots))
        blobs: set[Path] = set()
        for snap in snapshots.iterdir() if snapshots.is_dir() else []:
            for name in names:
                link = snap / rel_dir / name
                if link.is_symlink():
                    blobs.add(link.resolve())
                    link.unlink()
                elif link.exists():
                    blobs.add(link)  # a copy (no symlinks on this file system)
        still_used = set()
        for p in snapshots.rglob("*") if snapshots.is_dir() else []:
            if p.is_symlink():
                still_used.add(p.resolve())
        freed = 0
        for b in blobs:
            if b not in still_used and b.exists():
                freed += _size(b)
                b.unlink()
        _prune_empty(snapshots)
        if snapshots.is_dir() and not any(snapshots.iterdir()):
            import shutil

            shutil.rmtree(repo_dir, ignore_errors=True)
        return freed


def _import_problem(p: Path, e: GGUFError, catalog: list[CatalogEntry] | None) -> LibraryError:
    if e.kind == "truncated":
        from app.hub.catalog import CATALOG, entry_with_file

        entry = entry_with_file(p.name, CATALOG if catalog is None else catalog)
        if entry is not None:
            return LibraryError(
                f"Cannot import {p.name}: the file is incomplete (only {fmt.size(_size(p))} of "
                f"it is there). Find the complete file and import that, or download "
                f"{entry.title} again from Hearth's catalog: it has a file of this name.",
                entry.id,
            )
    return LibraryError(f"Cannot import {p.name}: {e}")


def _snapshot_of(path: Path, snapshots: Path) -> Path:
    p = path
    while p.parent != snapshots and p != p.parent:
        p = p.parent
    return p


def _prune_empty(root: Path) -> None:
    if not root.is_dir():
        return
    for d in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            d.rmdir()


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def describe(m: InstalledModel) -> str:
    if m.problem:
        return f"{m.id}  ({fmt.size(m.size)})  PROBLEM: {m.problem}"
    q = f", {m.info.quantization}" if m.info is not None and m.info.quantization else ""
    return f"{m.id}  ({fmt.size(m.size)}{q})"
