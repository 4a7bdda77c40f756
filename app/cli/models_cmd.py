"""``hearth models``: the catalog, Hub search, downloads, installed models and load plans."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from app.hub import fmt


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="download, list, import, remove and plan models")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")
    p.set_defaults(func=lambda a: _help(p))

    q = msub.add_parser("list", help="installed models (HF cache, Hearth's folder, your folders)")
    q.add_argument("--json", action="store_true", help="machine-readable output")
    q.set_defaults(func=cmd_list)

    q = msub.add_parser("catalog", help="recommended models and whether they fit this computer")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_catalog)

    q = msub.add_parser("search", help="search the Hugging Face Hub for GGUF models")
    q.add_argument("query")
    q.add_argument("--limit", type=int, default=20)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_search)

    q = msub.add_parser("files", help="the GGUF files of a Hub repository")
    q.add_argument("repo", help="OWNER/NAME")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_files)

    q = msub.add_parser(
        "download", help="download a catalog model (ID) or REPO:FILE; run again to resume"
    )
    q.add_argument("model", help="a catalog ID (see `hearth models catalog`) or OWNER/NAME:FILE")
    q.add_argument("--to", metavar="DIR", help="a folder instead of the Hugging Face cache")
    q.add_argument("--revision", default="main", help="branch, tag or commit (default: main)")
    q.set_defaults(func=cmd_download)

    q = msub.add_parser("import", help="use a .gguf file where it is (it is not copied)")
    q.add_argument("path")
    q.set_defaults(func=cmd_import)

    q = msub.add_parser("add-folder", help="also look for models in this folder")
    q.add_argument("path")
    q.set_defaults(func=cmd_add_folder)

    q = msub.add_parser("remove", help="delete an installed model (asks first)")
    q.add_argument("model", help="ID, path or unique part of the name (see `hearth models list`)")
    q.add_argument("--yes", "-y", action="store_true", help="do not ask")
    q.add_argument(
        "--delete-file", action="store_true", help="also delete an imported file from disk"
    )
    q.set_defaults(func=cmd_remove)

    q = msub.add_parser("plan", help="how a model would load on this computer, with estimates")
    q.add_argument("model", help="installed model (ID/path) or catalog ID")
    q.add_argument("--ctx", type=int, help="context size in tokens")
    q.add_argument("--ngl", type=int, help="layers on the GPU (-1: all)")
    q.add_argument("--ncmoe", type=int, help="keep the experts of the first N layers on the CPU")
    q.add_argument("--no-flash-attn", action="store_true")
    q.add_argument("--vram-gb", type=float, help="plan for a GPU with this much memory")
    q.add_argument("--ram-gb", type=float, help="plan for this much RAM")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_plan)


def _help(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return 0


def _err(msg: str) -> int:
    print(f"hearth: {msg}", file=sys.stderr)
    return 1


def _dump(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def cmd_list(args: argparse.Namespace) -> int:
    from app.hub.installed import ModelLibrary

    models = ModelLibrary().models()
    if args.json:
        _dump([m.to_dict() for m in models])
        return 0
    if not models:
        print("No models installed. See `hearth models catalog`, then `hearth models download ID`.")
        return 0
    rows = [("ID", "SIZE", "SOURCE", "STATUS")]
    for m in models:
        status = "ok" if m.ok else f"unusable: {m.problem}"
        if m.ok and m.info is not None and m.info.quantization:
            status = f"ok, {m.info.architecture} {m.info.quantization}"
        rows.append((m.id, fmt.size(m.size), m.source, status))
    print(_table(rows))
    return 0


def cmd_catalog(args: argparse.Namespace) -> int:
    from app.hub import hardware
    from app.hub.catalog import CATALOG

    hw = hardware.detect()
    if args.json:
        _dump([e.to_dict(hw) for e in CATALOG])
        return 0
    rows = [("ID", "DOWNLOAD", "MEMORY (8K CONTEXT)", "ON THIS COMPUTER")]
    for e in CATALOG:
        star = " *" if e.recommended else ""
        rows.append((e.id + star, fmt.size(e.size), fmt.size(e.memory_needed), e.fit(hw).label))
    print(_table(rows))
    print("\n* recommended. Download with `hearth models download ID`.")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from app.hub.catalog import search_hub
    from app.hub.download import DownloadError

    try:
        hits = search_hub(args.query, limit=args.limit)
    except DownloadError as e:
        return _err(str(e))
    if args.json:
        _dump([h.__dict__ for h in hits])
        return 0
    if not hits:
        print(f"No GGUF repositories match '{args.query}'.")
        return 0
    rows = [("REPOSITORY", "DOWNLOADS", "LIKES")]
    rows += [(h.repo_id, f"{h.downloads:,}", str(h.likes)) for h in hits]
    print(_table(rows))
    print("\nSee a repository's files with `hearth models files OWNER/NAME`.")
    return 0


def cmd_files(args: argparse.Namespace) -> int:
    from app.hub.catalog import repo_ggufs
    from app.hub.download import DownloadError

    try:
        files = repo_ggufs(args.repo)
    except DownloadError as e:
        return _err(str(e))
    if args.json:
        _dump([{**f.__dict__, "quantization": f.quantization} for f in files])
        return 0
    if not files:
        print(f"{args.repo} has no GGUF files.")
        return 0
    rows = [("FILE", "SIZE", "PARTS")]
    rows += [(f.filename, fmt.size(f.size), str(len(f.files))) for f in files]
    print(_table(rows))
    print(f"\nDownload with `hearth models download {args.repo}:FILE`.")
    return 0


def _parse_request(spec: str, dest: str | None, revision: str) -> Any:
    from app.hub.catalog import by_id, repo_ggufs
    from app.hub.download import DownloadError, DownloadRequest

    entry = by_id(spec)
    if entry is not None:
        return DownloadRequest(entry.repo_id, entry.files, revision, dest, entry.title)
    repo, _, filename = spec.partition(":")
    if "/" not in repo:
        raise DownloadError(
            f"'{spec}' is neither a catalog ID nor OWNER/NAME:FILE. See `hearth models catalog`.",
            "not_found",
        )
    if not filename:
        files = repo_ggufs(repo)
        if len(files) != 1:
            names = ", ".join(f.filename for f in files[:10]) or "none"
            raise DownloadError(
                f"{repo} has {len(files)} GGUF files ({names}). Pick one: "
                f"`hearth models download {repo}:FILE`.",
                "not_found",
            )
        return files[0].request(dest)
    from app.hub.shape import SPLIT_RE

    m = SPLIT_RE.match(filename.rsplit("/", 1)[-1])
    if m and int(m.group("i")) == 1:  # the first part of a split model: fetch every part
        n = int(m.group("n"))
        prefix = filename[: len(filename) - len(m.group(0))] + m.group("stem")
        parts = tuple(f"{prefix}-{i:05d}-of-{n:05d}.gguf" for i in range(1, n + 1))
        return DownloadRequest(repo, parts, revision, dest)
    return DownloadRequest(repo, (filename,), revision, dest)


def cmd_download(args: argparse.Namespace) -> int:
    from app.hub.download import DownloadError, DownloadManager, Progress

    tty = sys.stderr.isatty()
    last = [0.0]

    def show(p: Progress) -> None:
        import time

        now = time.monotonic()
        line = p.describe() + (f"  {p.message}" if p.message else "")
        if tty:
            sys.stderr.write("\r\x1b[K" + line[:150])
            sys.stderr.flush()
        elif now - last[0] > 5 or p.state.value in ("done", "failed", "verifying"):
            last[0] = now
            print(line, file=sys.stderr)

    mgr = DownloadManager()
    try:
        req = _parse_request(args.model, args.to, args.revision)
        print(f"Downloading {req.title} …", file=sys.stderr)
        task = mgr.task(req)
        task.add_listener(lambda t: show(t.progress()))
        paths = task.run()
    except DownloadError as e:
        if tty:
            sys.stderr.write("\n")
        return _err(str(e))
    except KeyboardInterrupt:
        p = task.progress()
        print(
            f"\nPaused at {fmt.size(p.done)} of {fmt.size(p.total)}. Run the same command "
            "again to resume.",
            file=sys.stderr,
        )
        return 130
    if tty:
        sys.stderr.write("\n")
    if req.dest_dir:  # so `hearth models list` and the app find it there
        from app.hub.installed import ModelLibrary

        ModelLibrary().add_folder(req.dest_dir)
    print(f"Installed and verified: {paths[0]}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from app.hub.installed import LibraryError, ModelLibrary

    try:
        m = ModelLibrary().import_file(args.path)
    except LibraryError as e:
        return _err(str(e))
    print(f"Imported {m.path} ({fmt.size(m.size)}); it stays where it is.")
    return 0


def cmd_add_folder(args: argparse.Namespace) -> int:
    from app.hub.installed import LibraryError, ModelLibrary

    try:
        p = ModelLibrary().add_folder(args.path)
    except LibraryError as e:
        return _err(str(e))
    print(f"Hearth now also looks for models in {p}.")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from app.hub.installed import ModelLibrary

    lib = ModelLibrary()
    m = lib.find(args.model)
    if m is None:
        return _err(f"No installed model matches '{args.model}'. See `hearth models list`.")
    deleting = m.source != "imported" or args.delete_file
    what = (
        f"Delete {m.id} ({fmt.size(m.size)}) from disk?"
        if deleting
        else f"Forget the imported file {m.path}? (The file itself stays.)"
    )
    if not args.yes:
        if not sys.stdin.isatty():
            return _err(f"{what} Add --yes to confirm without a terminal.")
        answer = input(f"{what} [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("Nothing removed.")
            return 1
    freed = lib.remove(m, delete_file=deleting)
    print(f"Removed {m.id}" + (f"; {fmt.size(freed)} freed." if freed else "."))
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from app.hub import hardware
    from app.hub.catalog import by_id
    from app.hub.hardware import GpuDevice
    from app.hub.installed import ModelLibrary
    from app.hub.planner import plan_with_overrides
    from app.hub.shape import ShapeError

    hw = hardware.detect()
    if args.ram_gb:
        hw.ram_total = hw.ram_available = int(args.ram_gb * fmt.GiB)
    if args.vram_gb is not None:
        vram = int(args.vram_gb * fmt.GiB)
        hw.gpus = [GpuDevice("GPU0", f"hypothetical {args.vram_gb:g} GB GPU", vram, vram)]
        hw.gpu_offload = vram > 0
        hw.backend = "CUDA" if vram else "CPU"
    entry = by_id(args.model)
    path = ""
    if entry is not None:
        shape = entry.shape
        title = entry.title
    else:
        m = ModelLibrary().find(args.model)
        if m is None:
            return _err(
                f"No installed or catalog model matches '{args.model}'. See `hearth models list`."
            )
        if not m.ok:
            return _err(f"{m.id} cannot be loaded: {m.problem}")
        try:
            shape = m.shape()
        except ShapeError as e:
            return _err(str(e))
        title, path = m.id, str(m.path)
    p = plan_with_overrides(
        shape,
        hw,
        path,
        n_ctx=args.ctx,
        n_gpu_layers=args.ngl,
        n_cpu_moe=args.ncmoe,
        flash_attn=False if args.no_flash_attn else None,
    )
    if args.json:
        _dump({"model": title, "plan": p.to_dict(), "load_options": p.to_load_options().to_dict()})
        return 0 if p.verdict != "none" else 2
    print(f"{title}\n{p.summary}")
    ngl = "all" if p.n_gpu_layers < 0 else str(p.n_gpu_layers)
    print(
        f"  context {p.n_ctx:,} tokens · GPU layers {ngl} · experts on CPU for "
        f"{p.n_cpu_moe} layers · flash attention {'on' if p.flash_attn else 'off'}"
    )
    for w in p.warnings:
        print(f"  note: {w}")
    return 0 if p.verdict != "none" else 2
