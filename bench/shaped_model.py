"""A GGUF with gpt-oss-20b's exact shapes and random weights, for the CPU anchor figures.

Speed depends on shapes and types, not on weight values, so this stands in for the real file:
width 2880, 64 query / 8 KV heads of 64, 32 experts with 4 active (MXFP4), f16 attention and
output, and the real 201,088-token vocabulary size (sampling cost grows with it). Byte-level
pieces first so any text tokenizes, then filler tokens, then the Harmony specials as CONTROL.
The same recipe as ``../shared/gpu/gen_gptoss_shaped.py`` (the GPU checks), kept here so
``make bench-anchor`` needs nothing outside the repository.

Usage: ``python bench/shaped_model.py OUT [n_layer]`` (2 layers: about 3.1 GB).
"""

from __future__ import annotations

import sys
from pathlib import Path

import gguf
import numpy as np

E, H, HKV, HD, NEXP, NUSED, FF, VOCAB = 2880, 64, 8, 64, 32, 4, 2880, 201088
SPECIALS = [
    "<|startoftext|>",
    "<|endoftext|>",
    "<|return|>",
    "<|constrain|>",
    "<|channel|>",
    "<|start|>",
    "<|end|>",
    "<|message|>",
    "<|call|>",
]


def _byte_pieces() -> list[str]:
    """GPT-2's byte-to-unicode table: the 256 byte pieces, printable bytes first."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    bs += range(ord("®"), ord("ÿ") + 1)
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def write_shaped(out: Path, n_layer: int = 2) -> Path:
    rng = np.random.default_rng(0)
    w = gguf.GGUFWriter(str(out), "gpt-oss")
    w.add_name("gpt-oss-20b-shaped-random")
    w.add_block_count(n_layer)
    w.add_context_length(131072)
    w.add_embedding_length(E)
    w.add_feed_forward_length(FF)
    w.add_head_count(H)
    w.add_head_count_kv(HKV)
    w.add_key_length(HD)
    w.add_value_length(HD)
    w.add_rope_freq_base(150000.0)
    w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
    w.add_rope_scaling_factor(32.0)
    w.add_rope_scaling_orig_ctx_len(4096)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_expert_count(NEXP)
    w.add_expert_used_count(NUSED)
    w.add_expert_feed_forward_length(FF)
    w.add_sliding_window(128)

    pieces = _byte_pieces()
    filler = [f"tok{i}" for i in range(VOCAB - len(pieces) - 1 - len(SPECIALS))]
    tokens = [*pieces, "he", *filler, *SPECIALS]
    types = [gguf.TokenType.NORMAL] * (VOCAB - len(SPECIALS))
    types += [gguf.TokenType.CONTROL] * len(SPECIALS)
    ids = {t: i for i, t in enumerate(tokens)}
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-4o")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(["h e"])
    w.add_bos_token_id(ids["<|startoftext|>"])
    w.add_eos_token_id(ids["<|return|>"])

    def f16(shape: tuple[int, ...], scale: float = 0.02) -> np.ndarray:
        return (rng.standard_normal(shape, dtype=np.float32) * scale).astype(np.float16)

    def f32(shape: tuple[int, ...], scale: float = 0.02) -> np.ndarray:
        return rng.standard_normal(shape, dtype=np.float32) * scale

    def mxfp4(n_exp: int, rows: int, cols: int) -> np.ndarray:
        # 17-byte blocks of 32 values: one E8M0 scale byte (2^-10 keeps activations small) and
        # 16 bytes of 4-bit values.
        nb = cols // 32
        a = rng.integers(0, 256, size=(n_exp, rows, nb, 17), dtype=np.uint8)
        a[..., 0] = 117
        return a.reshape(n_exp, rows, nb * 17)

    w.add_tensor("token_embd.weight", f16((VOCAB, E), 0.5))
    w.add_tensor("output_norm.weight", np.ones(E, np.float32))
    w.add_tensor("output.weight", f16((VOCAB, E), 0.05))
    shared = {
        "attn_q.weight": f16((H * HD, E)),
        "attn_q.bias": f32((H * HD,)),
        "attn_k.weight": f16((HKV * HD, E)),
        "attn_k.bias": f32((HKV * HD,)),
        "attn_v.weight": f16((HKV * HD, E)),
        "attn_v.bias": f32((HKV * HD,)),
        "attn_output.weight": f16((E, H * HD)),
        "attn_output.bias": f32((E,)),
        "attn_sinks.weight": f32((H,)),
        "ffn_gate_inp.weight": f32((NEXP, E)),
        "ffn_gate_inp.bias": f32((NEXP,)),
        "ffn_gate_exps.bias": f32((NEXP, FF)),
        "ffn_up_exps.bias": f32((NEXP, FF)),
        "ffn_down_exps.bias": f32((NEXP, E)),
    }
    experts = {
        "ffn_gate_exps.weight": mxfp4(NEXP, FF, E),
        "ffn_up_exps.weight": mxfp4(NEXP, FF, E),
        "ffn_down_exps.weight": mxfp4(NEXP, E, FF),
    }
    for i in range(n_layer):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", np.ones(E, np.float32))
        w.add_tensor(p + "post_attention_norm.weight", np.ones(E, np.float32))
        for k, v in shared.items():
            w.add_tensor(p + k, v)
        for k, v in experts.items():
            w.add_tensor(p + k, v, raw_dtype=gguf.GGMLQuantizationType.MXFP4)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out


if __name__ == "__main__":
    path = write_shaped(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 2)
    print("wrote", path)
