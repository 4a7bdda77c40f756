"""Write a tiny GGUF with the real gpt-oss architecture, for tests and benchmarks.

Same tensor names, hyperparameters and tokenizer kind as gpt-oss-20b (see
../shared/gpu/gen_gptoss_shaped.py), scaled down: width 64, 2 layers, 4 experts (2 used), MXFP4
experts, a byte-level GPT-2 vocabulary plus the Harmony specials. A few hundred KB; llama.cpp loads
it in milliseconds and generates gibberish at over 1,000 tokens/s on a laptop CPU. Tests that need a
known reply force tokens with a logits processor.

Usage: python -m tests.helpers.tinymodel OUT.gguf
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
CHAT_TEMPLATE = (HERE / "gpt-oss.jinja").read_text(encoding="utf-8")

HARMONY_SPECIALS = [
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
# A normal token whose text is longer than 32 bytes: llama-cpp-python's detokenize drops such
# tokens silently, and the engine must not.
LONG_TOKEN = "Ġsupercalifragilisticexpialidocious-and-then-some"
# A few multi-byte words as single tokens, so tests can mix whole-character and split-byte output.
WORD_TOKENS = ["Hello", "Ġworld", "Ġthe", "Ġanswer", "Ġis", "Ġ42"]


def _byte_pieces() -> list[str]:
    """The 256 GPT-2 byte-level pieces, in byte order."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs, strict=True))
    return [chr(table[b]) for b in range(256)]


def vocabulary() -> list[str]:
    return [*_byte_pieces(), "he", LONG_TOKEN, *WORD_TOKENS, *HARMONY_SPECIALS]


# (width, heads, KV heads, head size, experts, experts used, expert FFN width)
TINY = (64, 4, 2, 16, 4, 2, 64)
# gpt-oss-20b's layer shapes: a layer of this model costs what a layer of the real one costs.
GPTOSS_20B_LAYER = (2880, 64, 8, 64, 32, 4, 2880)


def _writer(path: str, arch: str) -> Any:
    """A GGUFWriter that packs long string and integer arrays (a big vocabulary) in one go:
    gguf packs them item by item, which takes seconds for gpt-oss's 201,088 tokens."""
    import gguf

    class Writer(gguf.GGUFWriter):
        def _pack_val(self, val: Any, vtype: Any, add_vtype: bool, sub_type: Any = None) -> bytes:
            if vtype != gguf.GGUFValueType.ARRAY or sub_type is not None or len(val) < 4096:
                return bytes(super()._pack_val(val, vtype, add_vtype, sub_type))
            head = struct.pack("<I", vtype) if add_vtype else b""
            if all(type(v) is str for v in val):
                encoded = [v.encode("utf-8") for v in val]
                body = b"".join(struct.pack("<Q", len(e)) + e for e in encoded)
                ltype = gguf.GGUFValueType.STRING
            elif all(isinstance(v, int) and not isinstance(v, bool) for v in val):
                body = np.asarray(val, dtype="<i4").tobytes()
                ltype = gguf.GGUFValueType.INT32
            else:
                return bytes(super()._pack_val(val, vtype, add_vtype, sub_type))
            return head + struct.pack("<IQ", ltype, len(val)) + body

    return Writer(path, arch)


def write_tiny_gptoss(
    out: str | Path,
    *,
    n_layer: int = 2,
    context_length: int = 4096,
    arch: str = "gpt-oss",
    vocab_only: bool = False,
    seed: int = 0,
    name: str = "tiny-gpt-oss",
    dims: tuple[int, int, int, int, int, int, int] = TINY,
    vocab_size: int | None = None,
) -> Path:
    """The tiny model; ``dims=GPTOSS_20B_LAYER`` gives gpt-oss-20b's layer shapes (MXFP4 experts,
    f16 attention; ~520 MB a layer) with the same small vocabulary, for tests where a prompt
    must take real time to evaluate (a 512-token chunk takes seconds on one core).
    ``vocab_size`` pads the vocabulary with filler tokens to that size (gpt-oss's is 201,088), so
    that loading takes real time (about a second here, mostly llama.cpp's vocabulary set-up)."""
    import gguf

    out = Path(out)
    rng = np.random.default_rng(seed)
    E, H, HKV, HD, NEXP, NUSED, FF = dims
    wide = dims != TINY
    tokens = vocabulary()
    if vocab_size is not None and vocab_size > len(tokens):
        n_normal = len(tokens) - len(HARMONY_SPECIALS)
        filler = [f"filler{i:06d}" for i in range(vocab_size - len(tokens))]
        tokens = [*tokens[:n_normal], *filler, *tokens[n_normal:]]
    vocab = len(tokens)
    n_special = len(HARMONY_SPECIALS)
    types = [gguf.TokenType.NORMAL] * (vocab - n_special) + [gguf.TokenType.CONTROL] * n_special
    ids = {t: i for i, t in enumerate(tokens)}

    w = _writer(str(out), arch) if vocab > 4096 else gguf.GGUFWriter(str(out), arch)
    w.add_name(name)
    if not vocab_only:
        w.add_block_count(n_layer)
        w.add_context_length(context_length)
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
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-4o")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(["h e"])
    w.add_bos_token_id(ids["<|startoftext|>"])
    w.add_eos_token_id(ids["<|return|>"])
    w.add_pad_token_id(ids["<|endoftext|>"])
    w.add_chat_template(CHAT_TEMPLATE)

    def f32(shape: tuple[int, ...], scale: float = 0.02) -> np.ndarray:
        return (rng.standard_normal(shape, dtype=np.float32) * scale).astype(np.float32)

    def matrix(shape: tuple[int, int]) -> np.ndarray:
        # f16 at full width, as the real model's attention weights (and half the file size).
        return f32(shape).astype(np.float16) if wide else f32(shape)

    def mxfp4(n_exp: int, rows: int, cols: int) -> np.ndarray:
        # 17-byte blocks of 32 values: an E8M0 scale byte (2^-10 keeps activations small)
        # then 16 bytes of 4-bit values.
        nb = cols // 32
        a = rng.integers(0, 256, size=(n_exp, rows, nb, 17), dtype=np.uint8)
        a[..., 0] = 117
        return a.reshape(n_exp, rows, nb * 17)

    def embedding() -> np.ndarray:
        if vocab <= 4096:
            return f32((vocab, E), 0.5)
        # A big vocabulary: f16, its filler rows repeating the first ones (random numbers for
        # them all take seconds).
        return np.resize(f32((4096, E), 0.5).astype(np.float16), (vocab, E))

    if not vocab_only:
        w.add_tensor("token_embd.weight", embedding())
        w.add_tensor("output_norm.weight", np.ones(E, np.float32))
        w.add_tensor("output.weight", embedding())
        mx = gguf.GGMLQuantizationType.MXFP4
        for i in range(n_layer):
            p = f"blk.{i}."
            w.add_tensor(p + "attn_norm.weight", np.ones(E, np.float32))
            w.add_tensor(p + "post_attention_norm.weight", np.ones(E, np.float32))
            w.add_tensor(p + "attn_q.weight", matrix((H * HD, E)))
            w.add_tensor(p + "attn_q.bias", f32((H * HD,)))
            w.add_tensor(p + "attn_k.weight", matrix((HKV * HD, E)))
            w.add_tensor(p + "attn_k.bias", f32((HKV * HD,)))
            w.add_tensor(p + "attn_v.weight", matrix((HKV * HD, E)))
            w.add_tensor(p + "attn_v.bias", f32((HKV * HD,)))
            w.add_tensor(p + "attn_output.weight", matrix((E, H * HD)))
            w.add_tensor(p + "attn_output.bias", f32((E,)))
            w.add_tensor(p + "attn_sinks.weight", f32((H,)))
            w.add_tensor(p + "ffn_gate_inp.weight", f32((NEXP, E)))
            w.add_tensor(p + "ffn_gate_inp.bias", f32((NEXP,)))
            w.add_tensor(p + "ffn_gate_exps.weight", mxfp4(NEXP, FF, E), raw_dtype=mx)
            w.add_tensor(p + "ffn_gate_exps.bias", f32((NEXP, FF)))
            w.add_tensor(p + "ffn_up_exps.weight", mxfp4(NEXP, FF, E), raw_dtype=mx)
            w.add_tensor(p + "ffn_up_exps.bias", f32((NEXP, FF)))
            w.add_tensor(p + "ffn_down_exps.weight", mxfp4(NEXP, E, FF), raw_dtype=mx)
            w.add_tensor(p + "ffn_down_exps.bias", f32((NEXP, E)))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out


if __name__ == "__main__":
    print(write_tiny_gptoss(sys.argv[1] if len(sys.argv) > 1 else "tiny-gpt-oss.gguf"))
