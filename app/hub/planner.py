"""The fit planner: how to load a model on this machine, with an estimate, before loading it.

Order of preference, as llama.cpp users tune by hand:

1. every layer (and the output head) on the GPU;
2. else the MoE expert weights of the first N layers in CPU memory (``--n-cpu-moe N``): the
   attention, the router and the KV cache stay on the GPU, and only the experts a token picks are
   computed on the CPU — the smallest N that fits;
3. else whole layers on the CPU (fewer ``n_gpu_layers``, all experts on the CPU);
4. else (no usable GPU) everything on the CPU; or "won't fit".

The context is chosen with the placement: the best placement at 8k tokens first, then grown to 16k
and 32k while that placement still fits; below 8k (4k, then 2k, never less) only when 8k cannot fit
at all. Flash attention is on (less memory for the attention scratch, faster on every backend).

Estimates: weights from the model's tensor table (``ModelShape``), KV cache f16 for every layer
(``swa_full``), a compute buffer (the logits of a 512-token batch plus scratch), a little runtime
overhead, and budgets that keep a reserve: 5 % of VRAM (at least 256 MiB), and 15 % of RAM (at
least 2 GiB) for the OS and the app. On unified memory (Apple Silicon) the GPU share is Metal's
working set and both sides come out of the same RAM.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from app.engine.options import LoadOptions
from app.hub import fmt
from app.hub.hardware import Hardware
from app.hub.shape import ModelShape

PREFERRED_CTX = (8192, 16384, 32768)
FALLBACK_CTX = (4096, 2048)
MIN_CTX = 2048
UBATCH = 512
RUNTIME_OVERHEAD = 300 * fmt.MiB  # llama.cpp's own buffers, the tokenizer, the Python host


class Verdict(enum.StrEnum):
    GPU = "gpu"  # everything on the GPU
    PARTIAL = "partial"  # some experts or layers on the CPU
    CPU = "cpu"  # CPU only
    NONE = "none"  # won't fit


_RANK = {Verdict.GPU: 0, Verdict.PARTIAL: 1, Verdict.CPU: 2, Verdict.NONE: 3}


@dataclass
class LoadPlan:
    n_ctx: int
    n_gpu_layers: int  # -1: all layers and the output head
    n_cpu_moe: int
    flash_attn: bool
    verdict: Verdict
    gpu_bytes: int  # estimated GPU memory use
    ram_bytes: int  # estimated RAM use (resident weights, KV and buffers on the CPU side)
    gpu_budget: int  # usable GPU memory (after the reserve)
    ram_budget: int
    n_layer: int
    n_threads: int | None = None
    model_path: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def gpu_headroom(self) -> int:
        return self.gpu_budget - self.gpu_bytes

    @property
    def ram_headroom(self) -> int:
        return self.ram_budget - self.ram_bytes

    @property
    def layers_on_gpu(self) -> int:
        return self.n_layer if self.n_gpu_layers < 0 else min(self.n_gpu_layers, self.n_layer)

    @property
    def label(self) -> str:
        """The verdict in a few words: "fits on GPU", "fits with 11 layers' experts on CPU
        (slower)", "CPU only (slow)", "won't fit"."""
        if self.verdict == Verdict.GPU:
            return "fits on GPU"
        if self.verdict == Verdict.PARTIAL:
            if self.layers_on_gpu < self.n_layer:
                return f"fits with {self.layers_on_gpu} of {self.n_layer} layers on GPU (slower)"
            n = self.n_cpu_moe
            owner = "1 layer's" if n == 1 else f"{n} layers'"
            return f"fits with {owner} experts on CPU (slower)"
        if self.verdict == Verdict.CPU:
            return "CPU only (slow)"
        return "won't fit"

    @property
    def summary(self) -> str:
        ctx = f"{self.n_ctx:,}-token context"
        if self.verdict == Verdict.NONE:
            return f"Won't fit: {'; '.join(self.warnings) or 'not enough memory'}."
        parts = []
        if self.gpu_bytes:
            parts.append(
                f"{fmt.size(self.gpu_bytes)} of {fmt.size(self.gpu_budget)} usable GPU memory "
                f"({fmt.size(self.gpu_headroom)} to spare)"
            )
        parts.append(
            f"{fmt.size(self.ram_bytes)} of {fmt.size(self.ram_budget)} usable RAM "
            f"({fmt.size(self.ram_headroom)} to spare)"
        )
        return f"{self.label[0].upper()}{self.label[1:]}: {', '.join(parts)}; {ctx}."

    def to_load_options(self, model_path: str | None = None) -> LoadOptions:
        return LoadOptions(
            model_path=model_path or self.model_path,
            n_ctx=self.n_ctx,
            n_gpu_layers=self.n_gpu_layers,
            n_cpu_moe=self.n_cpu_moe,
            flash_attn=self.flash_attn,
            n_threads=self.n_threads,
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(label=self.label, summary=self.summary)
        return d


@dataclass
class _Budget:
    gpu: int
    ram: int
    unified: bool


def budgets(hw: Hardware) -> _Budget:
    gpu = 0
    if hw.gpu_offload:
        for g in hw.gpus:
            avail = min(g.free, g.total) if g.free else g.total
            gpu += max(0, avail - max(256 * fmt.MiB, g.total // 20))
    ram = max(0, hw.ram_total - max(2 * fmt.GiB, hw.ram_total * 15 // 100))
    return _Budget(gpu, ram, hw.unified_memory)


def compute_bytes(shape: ModelShape) -> int:
    # The logits of one micro-batch (f32) dominate for a 201k vocabulary; plus attention scratch.
    return 4 * max(shape.n_vocab, 32000) * UBATCH + 256 * fmt.MiB


def estimate(shape: ModelShape, n_ctx: int, n_gpu_layers: int, n_cpu_moe: int) -> tuple[int, int]:
    """(GPU bytes, RAM bytes) for one placement. llama.cpp puts the *last* n_gpu_layers layers on
    the GPU (and the output head only when all are), and keeps the experts of layers 0..N-1 in CPU
    memory with --n-cpu-moe N."""
    L = shape.n_layer
    all_layers = n_gpu_layers < 0 or n_gpu_layers > L
    k = L if all_layers else max(0, n_gpu_layers)
    kv_layer_token = shape.kv_bytes_per_token() // L
    gpu = ram = 0
    for i in range(L):
        on_gpu = i >= L - k
        experts_cpu = i < n_cpu_moe or not on_gpu
        if on_gpu:
            gpu += shape.layer_bytes[i] + kv_layer_token * n_ctx
        else:
            ram += shape.layer_bytes[i] + kv_layer_token * n_ctx
        if experts_cpu:
            ram += shape.expert_bytes[i]
        else:
            gpu += shape.expert_bytes[i]
    ram += shape.embd_bytes + RUNTIME_OVERHEAD
    if all_layers and k:
        gpu += shape.output_bytes
    else:
        ram += shape.output_bytes
    if k:
        gpu += compute_bytes(shape)
        ram += 64 * fmt.MiB  # the host-side copy of the batch and logits
    else:
        ram += compute_bytes(shape)
    return gpu, ram


def _evaluate(
    shape: ModelShape,
    b: _Budget,
    n_ctx: int,
    ngl: int,
    ncmoe: int,
    hw: Hardware,
    flash_attn: bool = True,
) -> LoadPlan:
    gpu, ram = estimate(shape, n_ctx, ngl, ncmoe)
    L = shape.n_layer
    k = L if ngl < 0 or ngl > L else ngl
    ram_budget = b.ram - (gpu if b.unified else 0)
    warnings = []
    if gpu > b.gpu:
        if b.gpu:
            warnings.append(f"needs {fmt.size(gpu)} of GPU memory, {fmt.size(b.gpu)} usable")
        else:
            warnings.append("no GPU that this llama.cpp build can use")
    if ram > ram_budget:
        warnings.append(f"needs {fmt.size(ram)} of RAM, {fmt.size(max(0, ram_budget))} usable")
    if warnings:
        verdict = Verdict.NONE
    elif k == 0:
        verdict = Verdict.CPU
    elif k == L and ncmoe == 0:
        verdict = Verdict.GPU
    else:
        verdict = Verdict.PARTIAL
    if hw.ram_available and ram > hw.ram_available and verdict != Verdict.NONE:
        warnings.append(
            f"only {fmt.size(hw.ram_available)} of RAM is free right now: close other apps "
            "for best speed"
        )
    return LoadPlan(
        n_ctx=n_ctx,
        n_gpu_layers=-1 if k == L else k,
        n_cpu_moe=min(ncmoe, L) if k else 0,
        flash_attn=flash_attn,
        verdict=verdict,
        gpu_bytes=gpu,
        ram_bytes=ram,
        gpu_budget=b.gpu,
        ram_budget=max(0, ram_budget),
        n_layer=L,
        n_threads=hw.cpu_physical or None,
        warnings=warnings,
    )


def _place(shape: ModelShape, hw: Hardware, b: _Budget, n_ctx: int) -> LoadPlan:
    """The best placement at this context size."""
    L = shape.n_layer
    if b.gpu <= 0:
        return _evaluate(shape, b, n_ctx, 0, 0, hw)
    # 1-2: all layers on the GPU, with the fewest layers' experts on the CPU.
    moe_steps = range(L + 1) if shape.is_moe else range(1)
    for ncmoe in moe_steps:
        p = _evaluate(shape, b, n_ctx, -1, ncmoe, hw)
        if p.gpu_bytes <= b.gpu:
            return p  # RAM decides the verdict: more experts on the CPU only need more RAM
    # 3: fewer layers on the GPU, all experts on the CPU.
    for ngl in range(L - 1, 0, -1):
        p = _evaluate(shape, b, n_ctx, ngl, L, hw)
        if p.gpu_bytes <= b.gpu:
            return p
    # 4: CPU only.
    return _evaluate(shape, b, n_ctx, 0, 0, hw)


def _rank(p: LoadPlan) -> tuple[int, int, int]:
    return (_RANK[p.verdict], p.n_cpu_moe, -p.layers_on_gpu)


def plan(shape: ModelShape, hw: Hardware, model_path: str = "") -> LoadPlan:
    """The best way to load ``shape`` on ``hw``."""
    b = budgets(hw)
    cap = shape.n_ctx_train or PREFERRED_CTX[-1]
    base_ctx = min(PREFERRED_CTX[0], cap)
    best = _place(shape, hw, b, base_ctx)
    if best.verdict == Verdict.NONE:
        for ctx in FALLBACK_CTX:
            if ctx >= base_ctx:
                continue
            p = _place(shape, hw, b, ctx)
            best = p
            if p.verdict != Verdict.NONE:
                break
    else:
        for ctx in PREFERRED_CTX[1:]:
            if ctx > cap:
                break
            p = _place(shape, hw, b, ctx)
            if _rank(p) != _rank(best):
                break
            best = p
    best.model_path = model_path
    return best


def plan_with_overrides(
    shape: ModelShape,
    hw: Hardware,
    model_path: str = "",
    *,
    n_ctx: int | None = None,
    n_gpu_layers: int | None = None,
    n_cpu_moe: int | None = None,
    flash_attn: bool | None = None,
) -> LoadPlan:
    """The automatic plan with the user's values in place of the planner's, re-estimated.

    A context alone re-plans the placement for that context; a forced layer or expert count is
    kept exactly as given, and the verdict then says whether it fits.
    """
    b = budgets(hw)
    if n_ctx is not None:
        n_ctx = max(MIN_CTX, int(n_ctx))
    if n_gpu_layers is None and n_cpu_moe is None:
        p = _place(shape, hw, b, n_ctx) if n_ctx is not None else plan(shape, hw)
    else:
        auto = plan(shape, hw) if n_ctx is None else _place(shape, hw, b, n_ctx)
        ngl = auto.n_gpu_layers if n_gpu_layers is None else int(n_gpu_layers)
        ncmoe = auto.n_cpu_moe if n_cpu_moe is None else max(0, int(n_cpu_moe))
        if n_gpu_layers is not None and n_cpu_moe is None and ngl != auto.n_gpu_layers:
            ncmoe = 0 if ngl < 0 else ncmoe
        p = _evaluate(shape, b, auto.n_ctx, ngl, ncmoe, hw)
    if flash_attn is not None:
        p = replace(p, flash_attn=bool(flash_attn))
    if n_ctx is not None and shape.n_ctx_train and n_ctx > shape.n_ctx_train:
        p.warnings.append(f"the model was trained for {shape.n_ctx_train:,} tokens at most")
    p.model_path = model_path
    return p
