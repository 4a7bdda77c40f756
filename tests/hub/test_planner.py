"""The fit planner against gpt-oss-20b's and 120b's real shapes on typical machines."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.options import LoadOptions
from app.hub.fmt import GiB
from app.hub.hardware import GpuDevice, Hardware
from app.hub.planner import Verdict, estimate, plan, plan_with_overrides
from app.hub.shape import GPT_OSS_20B, GPT_OSS_120B, read_shape


def test_shapes_match_the_published_files() -> None:
    # ggml-org/gpt-oss-20b-GGUF gpt-oss-20b-mxfp4.gguf is 12.1 GB; the 120b's three parts ~63 GB.
    assert 12.0e9 < GPT_OSS_20B.total_bytes < 12.2e9
    assert 62.5e9 < GPT_OSS_120B.total_bytes < 64e9
    assert GPT_OSS_20B.kv_bytes_per_token() == 48 * 1024  # swa_full: all 24 layers
    assert GPT_OSS_20B.kv_bytes_per_token(swa_full=False) == 24 * 1024  # DESIGN.md's figure
    # Experts are ~94 % of each layer: why keeping them on the CPU frees so much VRAM.
    assert GPT_OSS_20B.expert_bytes[0] > 14 * GPT_OSS_20B.layer_bytes[0]


def gpu(gb: int, ram: int = 32) -> Hardware:
    return Hardware.with_gpu(gb * GiB, ram=ram * GiB)


@pytest.mark.parametrize(
    ("hw", "verdict", "ncmoe", "ctx"),
    [
        (gpu(8), Verdict.PARTIAL, (9, 13), 8192),
        (gpu(12), Verdict.PARTIAL, (1, 3), 8192),
        (gpu(16), Verdict.GPU, (0, 0), 32768),
        (gpu(24), Verdict.GPU, (0, 0), 32768),
        (Hardware.apple(16 * GiB), Verdict.PARTIAL, (2, 8), 8192),
        (Hardware.cpu_only(16 * GiB), Verdict.CPU, (0, 0), 16384),
        (Hardware.cpu_only(32 * GiB), Verdict.CPU, (0, 0), 32768),
    ],
    ids=["8GB", "12GB", "16GB", "24GB", "apple16", "cpu16", "cpu32"],
)
def test_gpt_oss_20b(hw: Hardware, verdict: Verdict, ncmoe: tuple[int, int], ctx: int) -> None:
    p = plan(GPT_OSS_20B, hw, "/m/gpt-oss-20b-mxfp4.gguf")
    assert p.verdict == verdict, p.summary
    assert ncmoe[0] <= p.n_cpu_moe <= ncmoe[1], p.summary
    assert p.n_ctx == ctx
    assert p.flash_attn
    assert p.gpu_bytes <= p.gpu_budget and p.ram_bytes <= p.ram_budget
    if hw.gpus:
        assert p.n_gpu_layers == -1  # experts go to the CPU before whole layers do
    else:
        assert p.n_gpu_layers == 0 and p.gpu_bytes == 0
    # The smallest N: one layer fewer on the CPU would not fit.
    if p.n_cpu_moe:
        tighter = plan_with_overrides(
            GPT_OSS_20B, hw, n_ctx=p.n_ctx, n_gpu_layers=-1, n_cpu_moe=p.n_cpu_moe - 1
        )
        assert tighter.verdict == Verdict.NONE
    assert str(p.n_ctx) in p.summary.replace(",", "")


def test_verdict_wording() -> None:
    p = plan(GPT_OSS_20B, gpu(8))
    assert p.label == f"fits with {p.n_cpu_moe} layers' experts on CPU (slower)"
    assert "GPU memory" in p.summary and "to spare" in p.summary
    assert plan(GPT_OSS_20B, gpu(24)).label == "fits on GPU"
    assert plan(GPT_OSS_20B, Hardware.cpu_only(16 * GiB)).label == "CPU only (slow)"
    small = plan(GPT_OSS_20B, Hardware.cpu_only(8 * GiB))
    assert small.verdict == Verdict.NONE and small.label == "won't fit"
    assert small.n_ctx == 2048 and "RAM" in small.summary


@pytest.mark.parametrize("hw", [gpu(8), gpu(12), gpu(16), gpu(24), Hardware.cpu_only(32 * GiB)])
def test_gpt_oss_120b_does_not_fit_ordinary_machines(hw: Hardware) -> None:
    p = plan(GPT_OSS_120B, hw)
    assert p.verdict == Verdict.NONE
    assert "RAM" in p.summary


def test_gpt_oss_120b_on_a_workstation() -> None:
    p = plan(GPT_OSS_120B, gpu(24, ram=96))
    assert p.verdict == Verdict.PARTIAL and 20 <= p.n_cpu_moe <= 30
    assert plan(GPT_OSS_120B, gpu(80, ram=96)).verdict == Verdict.GPU


def test_drops_whole_layers_only_when_all_experts_on_cpu_do_not_fit() -> None:
    # 2 GB of VRAM cannot hold even the 20b's attention for every layer plus KV and buffers.
    p = plan(GPT_OSS_20B, gpu(2))
    assert p.verdict == Verdict.PARTIAL
    assert 0 < p.layers_on_gpu < 24 and p.n_gpu_layers == p.layers_on_gpu
    assert "layers on GPU" in p.label


def test_estimate_moves_bytes_not_creates_them() -> None:
    s = GPT_OSS_20B
    for ngl, ncmoe in [(-1, 0), (-1, 12), (-1, 24), (10, 24), (0, 0)]:
        g, r = estimate(s, 8192, ngl, ncmoe)
        weights_and_kv = s.total_bytes + s.kv_bytes_per_token() * 8192
        assert weights_and_kv < g + r < weights_and_kv + 2 * GiB


def test_overrides() -> None:
    hw = gpu(8)
    auto = plan(GPT_OSS_20B, hw)
    p = plan_with_overrides(GPT_OSS_20B, hw, "/m.gguf", n_ctx=4096)
    assert p.n_ctx == 4096 and p.n_cpu_moe <= auto.n_cpu_moe  # less KV, fewer experts off GPU
    p = plan_with_overrides(GPT_OSS_20B, hw, n_cpu_moe=24)
    assert p.n_cpu_moe == 24 and p.gpu_bytes < auto.gpu_bytes and p.verdict == Verdict.PARTIAL
    forced = plan_with_overrides(GPT_OSS_20B, hw, n_gpu_layers=-1, n_cpu_moe=0)
    assert forced.verdict == Verdict.NONE and "GPU memory" in forced.summary
    p = plan_with_overrides(GPT_OSS_20B, hw, n_ctx=500, flash_attn=False)
    assert p.n_ctx == 2048 and not p.flash_attn  # never below 2k
    p = plan_with_overrides(GPT_OSS_20B, hw, n_ctx=262144)
    assert any("trained for 131,072" in w for w in p.warnings)


def test_load_options() -> None:
    p = plan(GPT_OSS_20B, gpu(8), "/models/gpt-oss-20b-mxfp4.gguf")
    o = p.to_load_options()
    assert isinstance(o, LoadOptions)
    assert (o.model_path, o.n_ctx, o.n_gpu_layers, o.n_cpu_moe, o.flash_attn) == (
        "/models/gpt-oss-20b-mxfp4.gguf",
        p.n_ctx,
        -1,
        p.n_cpu_moe,
        True,
    )


def test_multi_gpu_and_busy_gpu() -> None:
    two = Hardware.with_gpu(8 * GiB)
    two.gpus.append(GpuDevice("CUDA1", "second", 8 * GiB, 8 * GiB))
    assert plan(GPT_OSS_20B, two).verdict == Verdict.GPU
    busy = Hardware.with_gpu(16 * GiB)
    busy.gpus[0].free = 4 * GiB  # another program holds 12 GB
    assert plan(GPT_OSS_20B, busy).n_cpu_moe > 0


def test_plan_from_a_real_gguf(tiny_model: Path) -> None:
    shape = read_shape(tiny_model)
    assert shape.n_layer == 2 and shape.is_moe and shape.n_vocab > 256
    assert shape.total_bytes <= tiny_model.stat().st_size
    p = plan(shape, Hardware.cpu_only(16 * GiB), str(tiny_model))
    assert p.verdict == Verdict.CPU
    assert p.n_ctx == 4096  # the tiny model's training context caps the choice
    assert p.to_load_options().model_path == str(tiny_model)
