"""A model's memory shape: what each layer, its experts and the KV cache cost, for the planner.

Read from a GGUF's own tensor table (``read_shape``), or computed from the architecture for a model
not downloaded yet (``gptoss_shape``). The gpt-oss figures, derived from OpenAI's published
configuration and checked against the published files:

- gpt-oss-20b: 24 layers, width 2880, 64 query / 8 KV heads of 64, 32 experts (4 active) with
  expert feed-forward 2880, 201,088-token vocabulary. In ggml-org's ``gpt-oss-20b-mxfp4.gguf`` the
  experts are MXFP4 (17 bytes per 32 weights) and the other matrices Q8_0 (34 bytes per 32):
  24 x 424 MB of experts + 24 x 28 MB of attention + 2 x 615 MB of embeddings/output = 12.09 GB,
  the "12.1 GB" the Hub shows.
- gpt-oss-120b: the same with 36 layers and 128 experts: 63.2 GB (ggml-org ships it in 3 parts).
- KV cache: 2 (K and V) x 8 heads x 64 x 2 bytes (f16) = 2 KiB per layer and token, 48 KiB for the
  20b's 24 layers. Half its layers use a 128-token sliding window, so without ``swa_full`` only the
  12 full-attention layers grow with the context (24 KiB/token, the figure in DESIGN.md §3);
  llama.cpp allocates the SWA layers at full size when ``swa_full`` is on, its default, which
  Hearth keeps for prefix reuse. The planner therefore counts 48 KiB per token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

EXPERT_RE = re.compile(r"^blk\.(\d+)\.ffn_(gate|up|down|gate_up)_exps\.")
LAYER_RE = re.compile(r"^blk\.(\d+)\.")
SPLIT_RE = re.compile(r"^(?P<stem>.*)-(?P<i>\d{5})-of-(?P<n>\d{5})\.gguf$")


class ShapeError(Exception):
    """The file is not a GGUF this planner can read (the message says why)."""


@dataclass
class ModelShape:
    name: str
    arch: str
    n_layer: int
    n_ctx_train: int
    layer_bytes: list[int]  # per layer, everything but the MoE experts
    expert_bytes: list[int]  # per layer, the MoE expert tensors (0 for dense layers)
    embd_bytes: int  # token embeddings: always kept in CPU memory by llama.cpp
    output_bytes: int  # output head + norm: on the GPU only when every layer is
    n_head_kv: int
    head_dim: int  # per head, K and V alike for gpt-oss
    n_expert: int = 0
    n_expert_used: int = 0
    sliding_window: int = 0
    n_vocab: int = 0
    files: list[Path] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(self.layer_bytes) + sum(self.expert_bytes) + self.embd_bytes + self.output_bytes

    @property
    def is_moe(self) -> bool:
        return any(self.expert_bytes)

    def kv_bytes_per_token(self, swa_full: bool = True) -> int:
        """f16 K and V for every layer (swa_full, llama.cpp's default: sliding-window layers are
        allocated at full context too)."""
        layers = self.n_layer
        if not swa_full and self.sliding_window:
            layers = (self.n_layer + 1) // 2  # gpt-oss alternates sliding and full layers
        return layers * 2 * self.n_head_kv * self.head_dim * 2


def split_parts(path: Path) -> list[Path]:
    """All parts of a split GGUF (``x-00001-of-00003.gguf``), or just ``[path]``."""
    m = SPLIT_RE.match(path.name)
    if not m:
        return [path]
    n = int(m.group("n"))
    return [path.with_name(f"{m.group('stem')}-{i:05d}-of-{n:05d}.gguf") for i in range(1, n + 1)]


def read_shape(path: str | Path) -> ModelShape:
    """The shape of a GGUF on disk, from its header and tensor table (no weights are read)."""
    from gguf import GGUFReader

    path = Path(path)
    parts = split_parts(path)
    missing = [p.name for p in parts if not p.exists()]
    if missing:
        raise ShapeError(f"Part of this split model is missing: {', '.join(missing)}.")
    arch = ""
    kv: dict[str, object] = {}
    tensors: list[tuple[str, int]] = []
    n_vocab = 0
    for p in parts:
        try:
            reader = GGUFReader(p)
        except Exception as e:  # the gguf package raises ValueError, struct.error, …
            raise ShapeError(f"{p.name} is not a readable GGUF file ({e}).") from e
        for fld in reader.fields.values():
            if fld.types and fld.name not in kv and not fld.name.startswith("tokenizer."):
                try:
                    kv[fld.name] = fld.contents()
                except Exception:
                    continue
        tensors += [(t.name, int(t.n_bytes)) for t in reader.tensors]
        tokens = reader.fields.get("tokenizer.ggml.tokens")
        if tokens is not None and not n_vocab:
            n_vocab = len(tokens.data)
    arch = str(kv.get("general.architecture", ""))
    if not arch:
        raise ShapeError(f"{path.name} has no general.architecture: not a model GGUF.")

    def num(key: str, default: int = 0) -> int:
        v = kv.get(f"{arch}.{key}", default)
        if isinstance(v, list):  # per-layer arrays: take the largest
            v = max(v) if v else default
        try:
            return int(v)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return default

    n_layer = num("block_count")
    if n_layer <= 0:
        raise ShapeError(f"{path.name} says it has no layers ({arch}.block_count).")
    layer = [0] * n_layer
    experts = [0] * n_layer
    embd = output = 0
    for name, nbytes in tensors:
        m = LAYER_RE.match(name)
        if m and int(m.group(1)) < n_layer:
            i = int(m.group(1))
            if EXPERT_RE.match(name):
                experts[i] += nbytes
            else:
                layer[i] += nbytes
        elif name.startswith("token_embd"):
            embd += nbytes
        else:
            output += nbytes
    n_head = num("attention.head_count", 1)
    n_embd = num("embedding_length")
    head_dim = num("attention.key_length") or (n_embd // n_head if n_head else 0)
    return ModelShape(
        name=str(kv.get("general.name") or path.stem),
        arch=arch,
        n_layer=n_layer,
        n_ctx_train=num("context_length", 4096),
        layer_bytes=layer,
        expert_bytes=experts,
        embd_bytes=embd,
        output_bytes=output,
        n_head_kv=num("attention.head_count_kv", n_head),
        head_dim=head_dim,
        n_expert=num("expert_count"),
        n_expert_used=num("expert_used_count"),
        sliding_window=num("attention.sliding_window"),
        n_vocab=n_vocab,
        files=parts,
    )


def _q8(n: int) -> int:
    return n * 34 // 32


def _mxfp4(n: int) -> int:
    return n * 17 // 32


def gptoss_shape(
    name: str = "gpt-oss-20b",
    *,
    n_layer: int = 24,
    n_expert: int = 32,
    n_expert_used: int = 4,
    n_embd: int = 2880,
    expert_ff: int = 2880,
    n_head: int = 64,
    n_head_kv: int = 8,
    head_dim: int = 64,
    vocab: int = 201088,
    n_ctx_train: int = 131072,
) -> ModelShape:
    """gpt-oss's tensor sizes as in ggml-org's MXFP4 GGUFs (experts MXFP4, matrices Q8_0,
    vectors f32), computed from the architecture."""
    q, kvd = n_head * head_dim, n_head_kv * head_dim
    attn = _q8(q * n_embd) + 2 * _q8(kvd * n_embd) + _q8(n_embd * q)
    vectors = 4 * (q + 2 * kvd + n_embd)  # attention biases
    vectors += 4 * n_head  # attention sinks
    vectors += 4 * 2 * n_embd  # the two norms
    vectors += 4 * (n_expert * n_embd + n_expert)  # router
    expert_bias = 4 * n_expert * (2 * expert_ff + n_embd)
    experts = 3 * _mxfp4(n_expert * expert_ff * n_embd) + expert_bias
    return ModelShape(
        name=name,
        arch="gpt-oss",
        n_layer=n_layer,
        n_ctx_train=n_ctx_train,
        layer_bytes=[attn + vectors] * n_layer,
        expert_bytes=[experts] * n_layer,
        embd_bytes=_q8(vocab * n_embd),
        output_bytes=_q8(vocab * n_embd) + 4 * n_embd,
        n_head_kv=n_head_kv,
        head_dim=head_dim,
        n_expert=n_expert,
        n_expert_used=n_expert_used,
        sliding_window=128,
        n_vocab=vocab,
    )


GPT_OSS_20B = gptoss_shape("gpt-oss-20b")
GPT_OSS_120B = gptoss_shape("gpt-oss-120b", n_layer=36, n_expert=128)
