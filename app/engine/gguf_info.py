"""Look inside a GGUF before llama.cpp does, and say exactly what is wrong with a bad one.

llama.cpp answers every bad file with a bare "Failed to load model". Here the header is read with
the ``gguf`` package (memory-mapped, tensor data never touched) after cheap checks that catch the
usual accidents: a missing, empty or unreadable file, a folder, an HTML error page saved instead of
the model, an interrupted download, a vocabulary-only file, an architecture llama.cpp can't run.

The facts the model planner needs (per-layer tensor bytes, which of them are MoE experts, the KV
cache cost per token) are computed from the same header: no weights are read.
"""

from __future__ import annotations

import os
import re
import stat
import struct
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

GGUF_MAGIC = b"GGUF"
# Hearth runs gpt-oss; other architectures llama.cpp knows still load and are reported as such.
CHAT_ARCHITECTURES = ("gpt-oss",)
_LAYER_RE = re.compile(r"^blk\.(\d+)\.")
_EXPERT_RE = re.compile(r"\.ffn_(?:up|down|gate|gate_up)_exps\.")
# A header bigger than this is not a header (random bytes after a valid magic, for example).
_MAX_TENSORS = 1_000_000
_MAX_KV = 100_000


class GGUFError(Exception):
    """A model file Hearth cannot use. ``str(err)`` is a sentence for the user: the problem and the
    way out. ``kind`` names the case for code: missing, directory, unreadable, empty, not_gguf,
    truncated, unsupported_version, unsupported_architecture, vocab_only, corrupt."""

    def __init__(self, message: str, kind: str = "corrupt") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


@dataclass
class LayerBytes:
    """Bytes of one transformer block's tensors; ``expert_bytes`` is the part in MoE experts (what
    ``n_cpu_moe`` keeps in CPU memory)."""

    index: int
    total_bytes: int
    expert_bytes: int


@dataclass
class GGUFInfo:
    path: str
    file_size: int
    version: int
    architecture: str
    name: str
    parameter_count: int
    file_type: str  # llama.cpp's file type, e.g. "MOSTLY_MXFP4_MOE"
    quantization: str  # short label for people, e.g. "MXFP4"
    tensor_types: dict[str, int]  # ggml type name -> bytes of tensors of that type
    context_length: int
    has_chat_template: bool
    tensor_count: int
    data_offset: int  # where tensor data starts
    expected_size: int  # bytes the header says the file has (header + tensor data)
    layer_count: int
    expert_count: int
    expert_used_count: int
    embedding_length: int
    head_count: int
    head_count_kv: int
    key_length: int
    value_length: int
    sliding_window: int
    layers: list[LayerBytes] = field(default_factory=list)
    non_layer_bytes: int = 0  # embeddings, output head, final norm
    # KV cache (f16) per token of context, every layer at full size (swa_full, as Hearth loads).
    kv_bytes_per_token: int = 0
    # The same when sliding-window layers keep only their window (not how Hearth loads).
    kv_bytes_per_token_swa: int = 0
    architecture_known: bool = True
    vocab_size: int = 0

    @property
    def tensor_bytes(self) -> int:
        return self.expected_size - self.data_offset

    @property
    def expert_bytes(self) -> int:
        return sum(layer.expert_bytes for layer in self.layers)

    @property
    def is_chat_model(self) -> bool:
        return self.architecture in CHAT_ARCHITECTURES

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["tensor_bytes"] = self.tensor_bytes
        d["expert_bytes"] = self.expert_bytes
        return d


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{int(n)} bytes" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def _looks_like(head: bytes) -> str:
    """What a file that is not a GGUF probably is, from its first bytes."""
    text = head.lstrip().lower()
    if head.startswith((b"lmgg", b"tjgg", b"fmgg", b"algg")):
        return "an old GGML/GGJT model, which llama.cpp no longer reads: get the GGUF version"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml")):
        return "a web page (perhaps an error page saved instead of the model): download it again"
    if head.startswith(b"version https://git-lfs"):
        return "a Git LFS pointer, not the model itself: download the file, not the pointer"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive: unpack it and pick the .gguf inside"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip archive: unpack it and pick the .gguf inside"
    if len(head) >= 9 and head[8:9] == b"{":
        return "a safetensors file: Hearth needs the GGUF version of the model"
    if text.startswith((b"{", b"[")):
        return "a JSON file: pick the .gguf model file instead"
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head[:64]):
        return "a text file: pick the .gguf model file instead"
    return "unrecognised binary data: pick a .gguf model file"


def _check_file(path: Path) -> int:
    """Cheap checks before reading: returns the size."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise GGUFError(
            f"No such file: {path}. Check the path or pick the model again.", "missing"
        ) from None
    except PermissionError:
        raise GGUFError(
            f"Hearth can't read {path} (permission denied). Check the file's permissions.",
            "unreadable",
        ) from None
    if stat.S_ISDIR(st.st_mode):
        raise GGUFError(
            f"{path} is a folder, not a model file. Pick the .gguf file inside it.", "directory"
        )
    if not os.access(path, os.R_OK):
        raise GGUFError(
            f"Hearth can't read {path} (permission denied). Check the file's permissions.",
            "unreadable",
        )
    if st.st_size == 0:
        raise GGUFError(
            f"{path.name} is empty (0 bytes): the download probably failed. Download it again.",
            "empty",
        )
    return st.st_size


def _read_head(path: Path, n: int = 64) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(n)
    except PermissionError:
        raise GGUFError(
            f"Hearth can't read {path} (permission denied). Check the file's permissions.",
            "unreadable",
        ) from None
    except OSError as e:
        raise GGUFError(f"Hearth can't read {path}: {e.strerror or e}.", "unreadable") from None


def _truncated_header(path: Path, size: int) -> GGUFError:
    return GGUFError(
        f"File is truncated: {path.name} ends after {human_bytes(size)}, inside its header. "
        "The file is incomplete. Find the complete file, or download it again.",
        "truncated",
    )


@lru_cache(maxsize=16)
def _known_architectures() -> frozenset[str]:
    from gguf.constants import MODEL_ARCH_NAMES

    return frozenset(MODEL_ARCH_NAMES.values())


def supported_architectures() -> frozenset[str]:
    """Architectures the gguf package of this build knows (a close match to llama.cpp's list;
    the engine host confirms with llama.cpp itself when it loads)."""
    return _known_architectures()


def inspect_gguf(path: str | os.PathLike[str]) -> GGUFInfo:
    """Read a GGUF's header and check the file against it. Raises GGUFError naming the problem."""
    p = Path(path)
    size = _check_file(p)
    st = p.stat()
    return _inspect_cached(str(p.resolve()), size, st.st_mtime_ns)


@lru_cache(maxsize=32)
def _inspect_cached(path_str: str, size: int, mtime_ns: int) -> GGUFInfo:
    p = Path(path_str)
    head = _read_head(p)
    if not head.startswith(GGUF_MAGIC):
        raise GGUFError(
            f"{p.name} is not a GGUF model file: it looks like {_looks_like(head)}.", "not_gguf"
        )
    if len(head) < 24:
        raise _truncated_header(p, size)
    version, n_tensors, n_kv = struct.unpack_from("<IQQ", head, 4)
    if version not in (2, 3):
        raise GGUFError(
            f"{p.name} is GGUF version {version}; this Hearth reads versions 2 and 3. "
            "Get a current GGUF of the model.",
            "unsupported_version",
        )
    if n_tensors > _MAX_TENSORS or n_kv > _MAX_KV:
        raise GGUFError(
            f"{p.name} has a damaged header ({n_tensors} tensors, {n_kv} metadata keys). "
            "Download it again.",
            "corrupt",
        )
    reader = _read_header(p, size)
    return _build_info(p, size, version, reader)


def _read_header(p: Path, size: int) -> Any:
    from gguf import GGUFReader

    class HeaderReader(GGUFReader):
        """GGUFReader without touching tensor data: a truncated file still yields its header,
        and nothing of a 12 GB file is paged in but the header.

        Arrays are skipped over, not unpacked: gpt-oss has 201k tokens and 446k merges, which
        the stock reader turns into a million small numpy views (13 s); walking the string
        lengths takes a fraction of a second. Their contents are not needed here (only the
        length, kept as the field's last part)."""

        def _get_field_parts(self, orig_offs: int, raw_type: int) -> Any:
            from gguf.constants import GGUFValueType

            if int(raw_type) != GGUFValueType.ARRAY:
                return super()._get_field_parts(orig_offs, raw_type)
            raw_itype = self._get(orig_offs, np.uint32)
            alen = self._get(orig_offs + 4, np.uint64)
            if len(raw_itype) != 1 or len(alen) != 1:
                raise IndexError("header ends inside an array")
            itype, n = int(raw_itype[0]), int(alen[0])
            offs = orig_offs + 12
            if itype == GGUFValueType.STRING:
                data = self.data
                unpack = struct.Struct("<Q").unpack_from
                end = len(data)
                for _ in range(n):
                    offs += 8 + unpack(data, offs)[0]  # type: ignore[arg-type]
                    if offs > end:
                        raise IndexError("header ends inside a string array")
            elif itype == GGUFValueType.ARRAY:
                raise ValueError("nested arrays are not used by llama.cpp models")
            else:
                nptype = self.gguf_scalar_to_np[GGUFValueType(itype)]
                offs += np.dtype(nptype).itemsize * n
                if offs > len(self.data):
                    raise IndexError("header ends inside an array")
            types = [GGUFValueType.ARRAY, GGUFValueType(itype)]
            return offs - orig_offs, [raw_itype, alen], [], types

        def _build_tensors(self, start_offs: int, fields: list[Any]) -> None:
            from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

            infos = []
            for fld in fields:
                _nl, name_data, _nd, dims, raw_dtype, offset_tensor = fld.parts
                qtype = GGMLQuantizationType(int(raw_dtype[0]))
                n_elems = 1
                for d in dims.tolist():
                    n_elems *= int(d)
                block, type_size = GGML_QUANT_SIZES[qtype]
                infos.append(
                    (
                        bytes(name_data).decode("utf-8", "replace"),
                        qtype.name,
                        n_elems,
                        n_elems * type_size // block,
                        int(start_offs + int(offset_tensor[0])),
                    )
                )
            self.tensor_infos = infos

    try:
        return HeaderReader(str(p))
    except PermissionError:
        raise GGUFError(
            f"Hearth can't read {p} (permission denied). Check the file's permissions.",
            "unreadable",
        ) from None
    except (
        IndexError,
        ValueError,
        OverflowError,
        UnicodeDecodeError,
        KeyError,
        MemoryError,
        struct.error,
    ) as e:
        # A short header makes the reader run off the end of the map.
        if "unknown" not in str(e).lower() and size < 64 * 1024 * 1024:
            raise _truncated_header(p, size) from None
        raise GGUFError(
            f"{p.name} has a damaged header ({e}). Download it again.", "corrupt"
        ) from None


def _field(reader: Any, key: str, default: Any = None) -> Any:
    f = reader.fields.get(key)
    if f is None:
        return default
    try:
        return f.contents()
    except Exception:
        return default


def _build_info(p: Path, size: int, version: int, reader: Any) -> GGUFInfo:
    from gguf.constants import LlamaFileType

    arch = str(_field(reader, "general.architecture", "") or "")
    infos: list[tuple[str, str, int, int, int]] = reader.tensor_infos
    tokens = reader.fields.get("tokenizer.ggml.tokens")
    vocab_size = int(tokens.parts[-1][0]) if tokens is not None else 0  # the array's length
    if not infos:
        raise GGUFError(
            f"{p.name} is a vocabulary-only GGUF (a tokenizer without weights): it can't chat. "
            "Pick the full model file.",
            "vocab_only",
        )
    if not arch:
        raise GGUFError(
            f"{p.name} does not say which architecture it is (no general.architecture). "
            "Pick another GGUF of the model.",
            "corrupt",
        )
    known = arch in supported_architectures()
    if not known:
        raise GGUFError(
            f"{p.name} is a '{arch}' model, an architecture this llama.cpp build doesn't support. "
            "Pick a gpt-oss GGUF, or update Hearth.",
            "unsupported_architecture",
        )

    data_end = max(off + nbytes for _n, _t, _e, nbytes, off in infos)
    if size < data_end:
        have, want = human_bytes(size), human_bytes(data_end)
        if have == want:
            have, want = f"{size:,} bytes", f"{data_end:,}"
        raise GGUFError(
            f"File is truncated: {have} of {want}. The file is incomplete. Find the complete "
            "file, or download it again.",
            "truncated",
        )

    def num(key: str, default: int = 0) -> int:
        v = _field(reader, f"{arch}.{key}", default)
        try:
            return int(v)
        except (TypeError, ValueError):
            return default

    raw_ft = _field(reader, "general.file_type")
    try:
        file_type = LlamaFileType(int(raw_ft)).name if raw_ft is not None else "unknown"
    except ValueError:
        file_type = f"type {raw_ft}"

    tensor_types: dict[str, int] = {}
    layer_total: dict[int, int] = {}
    layer_experts: dict[int, int] = {}
    non_layer = 0
    params = 0
    for name, tname, n_elems, nbytes, _off in infos:
        params += n_elems
        tensor_types[tname] = tensor_types.get(tname, 0) + nbytes
        m = _LAYER_RE.match(name)
        if m is None:
            non_layer += nbytes
            continue
        i = int(m.group(1))
        layer_total[i] = layer_total.get(i, 0) + nbytes
        if _EXPERT_RE.search(name):
            layer_experts[i] = layer_experts.get(i, 0) + nbytes
    layers = [LayerBytes(i, layer_total[i], layer_experts.get(i, 0)) for i in sorted(layer_total)]

    n_layer = num("block_count", len(layers))
    n_head = num("attention.head_count")
    n_head_kv = num("attention.head_count_kv", n_head)
    n_embd = num("embedding_length")
    head_dim = n_embd // n_head if n_head else 0
    k_len = num("attention.key_length", head_dim)
    v_len = num("attention.value_length", head_dim)
    window = num("attention.sliding_window")
    per_layer_kv = (k_len + v_len) * n_head_kv * 2  # f16 K and V
    kv_full = per_layer_kv * n_layer
    # gpt-oss alternates sliding-window and full layers (even layers slide).
    kv_swa = per_layer_kv * (n_layer - (n_layer + 1) // 2) if window else kv_full

    return GGUFInfo(
        path=str(p),
        file_size=size,
        version=version,
        architecture=arch,
        name=str(_field(reader, "general.name", "") or p.stem),
        parameter_count=params,
        file_type=file_type,
        quantization=_quant_label(file_type, tensor_types),
        tensor_types=dict(sorted(tensor_types.items(), key=lambda kv: -kv[1])),
        context_length=num("context_length"),
        has_chat_template=reader.fields.get("tokenizer.chat_template") is not None,
        tensor_count=len(infos),
        data_offset=int(reader.data_offset),
        expected_size=data_end,
        layer_count=n_layer,
        expert_count=num("expert_count"),
        expert_used_count=num("expert_used_count"),
        embedding_length=n_embd,
        head_count=n_head,
        head_count_kv=n_head_kv,
        key_length=k_len,
        value_length=v_len,
        sliding_window=window,
        layers=layers,
        non_layer_bytes=non_layer,
        kv_bytes_per_token=kv_full,
        kv_bytes_per_token_swa=kv_swa,
        architecture_known=known,
        vocab_size=vocab_size,
    )


def _quant_label(file_type: str, tensor_types: dict[str, int]) -> str:
    if file_type.startswith("MOSTLY_"):
        label = file_type.removeprefix("MOSTLY_")
        return label.removesuffix("_MOE")
    if file_type == "ALL_F32":
        return "F32"
    # No file type in the header: name the type holding most of the bytes.
    return max(tensor_types.items(), key=lambda kv: kv[1])[0] if tensor_types else "unknown"
