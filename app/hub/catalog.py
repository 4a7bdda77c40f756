"""What Hearth offers to download: a short catalog of gpt-oss GGUFs, and a search of the Hub.

The catalog's repositories and file names are the published ones (ggml-org's are llama.cpp's own
conversions; bartowski's and unsloth's are the most used alternatives). Sizes are the published
ones, rounded; the download itself uses the exact size and SHA-256 the Hub gives at that moment.
For planning before a download, each entry carries the model's shape computed from the
architecture, scaled to the file's size for quantizations other than ggml-org's.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.hub import fmt
from app.hub.download import DownloadRequest
from app.hub.hardware import Hardware
from app.hub.hfcache import repo_of
from app.hub.hubapi import HubClient
from app.hub.planner import LoadPlan, estimate, plan
from app.hub.shape import GPT_OSS_20B, GPT_OSS_120B, SPLIT_RE, ModelShape

if TYPE_CHECKING:
    from app.hub.installed import InstalledModel


def _scaled(shape: ModelShape, size: int, name: str) -> ModelShape:
    """The shape of another quantization of the same model: experts stay MXFP4 in every
    published gpt-oss GGUF, so only the other tensors change size."""
    experts = sum(shape.expert_bytes)
    rest = shape.total_bytes - experts
    k = max(0.1, (size - experts) / rest)
    return replace(
        shape,
        name=name,
        layer_bytes=[int(b * k) for b in shape.layer_bytes],
        embd_bytes=int(shape.embd_bytes * k),
        output_bytes=int(shape.output_bytes * k),
    )


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    title: str
    repo_id: str
    files: tuple[str, ...]
    size: int  # bytes, all files together (as published)
    quantization: str
    publisher: str
    description: str
    shape: ModelShape = field(compare=False, hash=False, repr=False)
    recommended: bool = False

    def request(self, dest_dir: str | None = None) -> DownloadRequest:
        return DownloadRequest(self.repo_id, self.files, dest_dir=dest_dir, label=self.title)

    @property
    def memory_needed(self) -> int:
        """Weights, an 8k-token KV cache and buffers: RAM + VRAM together."""
        gpu, ram = estimate(self.shape, 8192, -1, 0)
        return gpu + ram

    def fit(self, hw: Hardware) -> LoadPlan:
        return plan(self.shape, hw)

    def to_dict(self, hw: Hardware | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "repo_id": self.repo_id,
            "files": list(self.files),
            "size": self.size,
            "quantization": self.quantization,
            "publisher": self.publisher,
            "description": self.description,
            "recommended": self.recommended,
            "memory_needed": self.memory_needed,
        }
        if hw is not None:
            p = self.fit(hw)
            d["fit"] = {"verdict": str(p.verdict), "label": p.label, "summary": p.summary}
        return d


def _entry(
    id: str,
    title: str,
    repo: str,
    files: tuple[str, ...],
    size: float,
    quant: str,
    publisher: str,
    description: str,
    base: ModelShape,
    recommended: bool = False,
) -> CatalogEntry:
    size_b = int(size)
    shape = base if abs(size_b - base.total_bytes) < 0.02 * size_b else _scaled(base, size_b, id)
    return CatalogEntry(
        id, title, repo, files, size_b, quant, publisher, description, shape, recommended
    )


CATALOG: list[CatalogEntry] = [
    _entry(
        "gpt-oss-20b",
        "gpt-oss 20B",
        "ggml-org/gpt-oss-20b-GGUF",
        ("gpt-oss-20b-mxfp4.gguf",),
        12.1e9,
        "MXFP4",
        "ggml-org",
        "OpenAI's open-weight model, in its native MXFP4 format, converted by the llama.cpp "
        "team. Runs on a 16 GB laptop; fast with 8 GB of VRAM or more.",
        GPT_OSS_20B,
        recommended=True,
    ),
    _entry(
        "gpt-oss-120b",
        "gpt-oss 120B",
        "ggml-org/gpt-oss-120b-GGUF",
        tuple(f"gpt-oss-120b-mxfp4-{i:05d}-of-00003.gguf" for i in (1, 2, 3)),
        63.4e9,
        "MXFP4",
        "ggml-org",
        "The large gpt-oss: stronger answers, needs about 64 GB of RAM+VRAM (a workstation or "
        "a 96 GB Mac).",
        GPT_OSS_120B,
    ),
    _entry(
        "gpt-oss-20b-bartowski-mxfp4",
        "gpt-oss 20B (bartowski, MXFP4)",
        "bartowski/openai_gpt-oss-20b-GGUF",
        ("openai_gpt-oss-20b-MXFP4.gguf",),
        12.1e9,
        "MXFP4",
        "bartowski",
        "The same MXFP4 weights, converted with an importance matrix.",
        GPT_OSS_20B,
    ),
    _entry(
        "gpt-oss-20b-bartowski-q4_k_m",
        "gpt-oss 20B (bartowski, Q4_K_M)",
        "bartowski/openai_gpt-oss-20b-GGUF",
        ("openai_gpt-oss-20b-Q4_K_M.gguf",),
        11_673_418_816,
        "Q4_K_M",
        "bartowski",
        "Attention in Q4_K_M, experts kept MXFP4: barely smaller, for tools that expect K-quants.",
        GPT_OSS_20B,
    ),
    _entry(
        "gpt-oss-20b-unsloth-f16",
        "gpt-oss 20B (unsloth, F16)",
        "unsloth/gpt-oss-20b-GGUF",
        ("gpt-oss-20b-F16.gguf",),
        13.8e9,
        "F16",
        "unsloth",
        "Attention and embeddings unquantized (F16), experts MXFP4: the most faithful, 1.7 GB "
        "larger.",
        GPT_OSS_20B,
    ),
]


def by_id(entry_id: str) -> CatalogEntry | None:
    for e in CATALOG:
        if e.id == entry_id:
            return e
    return None


def recommended() -> CatalogEntry:
    return next(e for e in CATALOG if e.recommended)


def recommend(hw: Hardware) -> tuple[CatalogEntry, LoadPlan]:
    """The model to suggest on this machine: the recommended 20B, unless the 120B fits entirely
    on the GPU (then it is as fast and better)."""
    big = by_id("gpt-oss-120b")
    if big is not None:
        p = big.fit(hw)
        if p.verdict == "gpu":
            return big, p
    e = recommended()
    return e, e.fit(hw)


# -- searching the Hub ---------------------------------------------------------------------------
@dataclass
class HubModel:
    repo_id: str
    downloads: int = 0
    likes: int = 0
    tags: list[str] = field(default_factory=list)


@dataclass
class HubGGUF:
    """A model file in a repository (split GGUFs as one entry, named by their first part)."""

    repo_id: str
    filename: str
    files: tuple[str, ...]
    size: int

    @property
    def quantization(self) -> str:
        stem = self.filename.rsplit(".", 1)[0].upper()
        for q in ("MXFP4", "Q8_0", "Q6_K", "Q5_K_M", "Q5_K_S", "Q4_K_M", "Q4_K_S", "Q4_0", "F16"):
            if q in stem.replace("-", "_"):
                return q
        return ""

    def request(self, dest_dir: str | None = None) -> DownloadRequest:
        return DownloadRequest(self.repo_id, self.files, dest_dir=dest_dir)


def search_hub(query: str, client: HubClient | None = None, limit: int = 30) -> list[HubModel]:
    """GGUF repositories on the Hub matching ``query``, most downloaded first."""
    found = (client or HubClient()).search(query, limit)
    return [
        HubModel(m.id, int(m.downloads or 0), int(m.likes or 0), list(m.tags or [])) for m in found
    ]


def repo_ggufs(repo_id: str, client: HubClient | None = None) -> list[HubGGUF]:
    """The GGUF files of a repository, split models grouped, smallest first."""
    info = (client or HubClient()).model_info(repo_id)
    groups: dict[str, list[tuple[str, int]]] = {}
    for s in info.siblings or []:
        name = s.rfilename
        if not name.lower().endswith(".gguf"):
            continue
        size = int(s.lfs.size if s.lfs is not None else (s.size or 0))
        m = SPLIT_RE.match(name.rsplit("/", 1)[-1])
        key = name[: len(name) - len(m.group(0))] + m.group("stem") if m else name
        groups.setdefault(key, []).append((name, size))
    out = []
    for parts in groups.values():
        parts.sort()
        names = tuple(n for n, _ in parts)
        out.append(HubGGUF(repo_id, names[0], names, sum(sz for _, sz in parts)))
    out.sort(key=lambda g: (g.size, g.filename))
    return out


def describe_size(entry: CatalogEntry) -> str:
    return f"{fmt.size(entry.size)} download, about {fmt.size(entry.memory_needed)} of memory"


# -- which entries are on this computer -----------------------------------------------------------
def installed_copy(entry: CatalogEntry, models: list[InstalledModel]) -> InstalledModel | None:
    """The usable installed model that is this entry's download: the same repository and file,
    and bytes known to be the Hub's (its SHA-256 from the cache's layout or Hearth's record of a
    download into a folder). Not by size: the catalog's sizes are rounded, and a file of another
    origin can have the same name and size."""
    for m in models:
        if (
            m.ok
            and m.sha256 is not None
            and m.repo_id == entry.repo_id
            and m.filename == entry.files[0]
            and len(m.parts) == len(entry.files)
        ):
            return m
    return None


def entry_with_file(name: str, entries: list[CatalogEntry]) -> CatalogEntry | None:
    """The entry one of whose files is called ``name`` (a file's own name, without folders)."""
    for e in entries:
        if any(f.rsplit("/", 1)[-1] == name for f in e.files):
            return e
    return None


def title_for(path: str | Path) -> str | None:
    """The catalog's name ("gpt-oss 20B") for a model file that is one of its downloads: the same
    file name and, inside the Hugging Face cache, the same repository (its folder says which)."""
    p = Path(path)
    entry = entry_with_file(p.name, CATALOG)
    if entry is None:
        return None
    repo = repo_of(p)
    return entry.title if repo in (None, entry.repo_id) else None
