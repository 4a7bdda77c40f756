"""What this computer has: memory, CPU cores, and the GPUs the loaded llama.cpp build can use.

Memory comes from the OS (/proc/meminfo on Linux, sysctl on macOS, GlobalMemoryStatusEx on
Windows), GPUs from llama.cpp's own ggml backend registry through ctypes (the same library that
will load the model, so a CUDA card the build cannot use is not reported), never from vendor tools.
"""

from __future__ import annotations

import ctypes
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from app.cpu import cpu_cores
from app.hub import fmt

# ggml_backend_dev_type
DEV_CPU, DEV_GPU, DEV_IGPU, DEV_ACCEL = 0, 1, 2, 3


@dataclass
class GpuDevice:
    name: str  # "CUDA0", "Metal", "Vulkan0"
    description: str  # "NVIDIA GeForce RTX 4070", "Apple M2"
    total: int  # bytes
    free: int  # bytes
    integrated: bool = False  # shares system memory (Apple Silicon, iGPUs)


@dataclass
class Hardware:
    ram_total: int
    ram_available: int
    cpu_physical: int
    cpu_logical: int
    backend: str  # "CUDA", "Metal", "Vulkan", … or "CPU"
    gpus: list[GpuDevice] = field(default_factory=list)
    gpu_offload: bool = False  # llama_supports_gpu_offload()
    os: str = ""

    @property
    def unified_memory(self) -> bool:
        return bool(self.gpus) and all(g.integrated for g in self.gpus)

    @property
    def gpu_total(self) -> int:
        return sum(g.total for g in self.gpus)

    @property
    def gpu_free(self) -> int:
        return sum(g.free for g in self.gpus)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["unified_memory"] = self.unified_memory
        return d

    def describe(self) -> str:
        lines = [
            f"Memory: {fmt.size(self.ram_total)} ({fmt.size(self.ram_available)} available)",
            f"CPU: {self.cpu_physical} cores ({self.cpu_logical} threads)",
            f"llama.cpp GPU backend: {self.backend if self.gpu_offload else 'none (CPU only)'}",
        ]
        for g in self.gpus:
            kind = "shares system memory" if g.integrated else "dedicated memory"
            lines.append(
                f"  {g.name}: {g.description}, {fmt.size(g.total)} ({fmt.size(g.free)} free, "
                f"{kind})"
            )
        return "\n".join(lines)

    # Named machines, for the planner's tests and for "what if" plans.
    @classmethod
    def cpu_only(cls, ram: int, cores: int = 8) -> Hardware:
        return cls(ram, ram, cores, cores * 2, "CPU", os="linux")

    @classmethod
    def with_gpu(cls, vram: int, ram: int = 32 * fmt.GiB, name: str = "CUDA0") -> Hardware:
        gpu = GpuDevice(name, "simulated GPU", vram, vram)
        return cls(ram, ram, 8, 16, "CUDA", [gpu], gpu_offload=True, os="linux")

    @classmethod
    def apple(cls, ram: int) -> Hardware:
        # Metal reports recommendedMaxWorkingSetSize: about 2/3 of RAM up to 36 GB, 3/4 above.
        share = ram * 2 // 3 if ram <= 36 * fmt.GiB else ram * 3 // 4
        gpu = GpuDevice("Metal", "Apple M-series (simulated)", share, share, integrated=True)
        return cls(ram, ram, 8, 8, "Metal", [gpu], gpu_offload=True, os="darwin")


# -- memory --------------------------------------------------------------------------------------
def _meminfo_linux() -> tuple[int, int]:
    values: dict[str, int] = {}
    with open("/proc/meminfo", encoding="ascii") as f:
        for line in f:
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts:
                values[key] = int(parts[0]) * 1024
    total = values.get("MemTotal", 0)
    avail = values.get("MemAvailable", values.get("MemFree", 0) + values.get("Cached", 0))
    return total, avail


def _sysctl(name: str) -> int:
    out = subprocess.run(["sysctl", "-n", name], capture_output=True, text=True, timeout=5)
    return int(out.stdout.strip() or 0)


def _meminfo_macos() -> tuple[int, int]:
    total = _sysctl("hw.memsize")
    try:
        out = subprocess.run(["vm_stat"], capture_output=True, text=True, timeout=5).stdout
        page = int(out.split("page size of")[1].split()[0]) if "page size of" in out else 4096
        pages = 0
        for line in out.splitlines():
            if line.startswith(("Pages free", "Pages inactive", "Pages speculative")):
                pages += int(line.split(":")[1].strip().rstrip("."))
        avail = pages * page
    except (OSError, ValueError, IndexError):
        avail = total // 2
    return total, avail or total // 2


def _meminfo_windows() -> tuple[int, int]:
    class MEMORYSTATUSEX(ctypes.Structure):
        _fields_ = [
            ("dwLength", ctypes.c_ulong),
            ("dwMemoryLoad", ctypes.c_ulong),
            ("ullTotalPhys", ctypes.c_ulonglong),
            ("ullAvailPhys", ctypes.c_ulonglong),
            ("ullTotalPageFile", ctypes.c_ulonglong),
            ("ullAvailPageFile", ctypes.c_ulonglong),
            ("ullTotalVirtual", ctypes.c_ulonglong),
            ("ullAvailVirtual", ctypes.c_ulonglong),
            ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
        ]

    stat = MEMORYSTATUSEX()
    stat.dwLength = ctypes.sizeof(MEMORYSTATUSEX)
    ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(stat))  # type: ignore[attr-defined]
    return int(stat.ullTotalPhys), int(stat.ullAvailPhys)


def memory() -> tuple[int, int]:
    """(total, available) bytes of RAM."""
    try:
        if sys.platform.startswith("linux"):
            return _meminfo_linux()
        if sys.platform == "darwin":
            return _meminfo_macos()
        if sys.platform == "win32":
            return _meminfo_windows()
    except (OSError, ValueError, AttributeError):
        pass
    return 0, 0


# -- GPUs through ggml -----------------------------------------------------------------------------
def _ggml_devices() -> tuple[bool, list[GpuDevice], str]:
    """(supports offload, GPU devices, backend name) from the llama.cpp library in use."""
    try:
        import llama_cpp
        from llama_cpp import llama_cpp as lib_mod
    except Exception:
        return False, [], "CPU"
    lib = lib_mod._lib
    vp = ctypes.c_void_p
    try:
        lib.ggml_backend_dev_count.restype = ctypes.c_size_t
        lib.ggml_backend_dev_count.argtypes = []
        lib.ggml_backend_dev_get.restype = vp
        lib.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
        lib.ggml_backend_dev_name.restype = ctypes.c_char_p
        lib.ggml_backend_dev_name.argtypes = [vp]
        lib.ggml_backend_dev_description.restype = ctypes.c_char_p
        lib.ggml_backend_dev_description.argtypes = [vp]
        lib.ggml_backend_dev_type.restype = ctypes.c_int
        lib.ggml_backend_dev_type.argtypes = [vp]
        lib.ggml_backend_dev_memory.restype = None
        lib.ggml_backend_dev_memory.argtypes = [
            vp,
            ctypes.POINTER(ctypes.c_size_t),
            ctypes.POINTER(ctypes.c_size_t),
        ]
        lib.ggml_backend_dev_backend_reg.restype = vp
        lib.ggml_backend_dev_backend_reg.argtypes = [vp]
        lib.ggml_backend_reg_name.restype = ctypes.c_char_p
        lib.ggml_backend_reg_name.argtypes = [vp]
    except AttributeError:
        return bool(llama_cpp.llama_supports_gpu_offload()), [], "unknown"
    offload = bool(llama_cpp.llama_supports_gpu_offload())
    gpus: list[GpuDevice] = []
    backend = "CPU"
    for i in range(int(lib.ggml_backend_dev_count())):
        dev = lib.ggml_backend_dev_get(i)
        kind = int(lib.ggml_backend_dev_type(dev))
        if kind not in (DEV_GPU, DEV_IGPU):
            continue
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        lib.ggml_backend_dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
        reg = lib.ggml_backend_dev_backend_reg(dev)
        reg_name = (lib.ggml_backend_reg_name(reg) or b"").decode(errors="replace")
        if backend == "CPU" and reg_name:
            backend = reg_name
        gpus.append(
            GpuDevice(
                name=(lib.ggml_backend_dev_name(dev) or b"").decode(errors="replace"),
                description=(lib.ggml_backend_dev_description(dev) or b"").decode(errors="replace"),
                total=int(total.value),
                free=int(free.value),
                # Apple's Metal device reports as a GPU but shares system memory.
                integrated=kind == DEV_IGPU or reg_name in ("Metal", "MTL"),
            )
        )
    return offload, gpus, backend


def detect() -> Hardware:
    total, avail = memory()
    physical, logical = cpu_cores()
    offload, gpus, backend = _ggml_devices()
    return Hardware(
        ram_total=total,
        ram_available=avail,
        cpu_physical=physical,
        cpu_logical=logical,
        backend=backend if gpus else "CPU",
        gpus=gpus,
        gpu_offload=offload and bool(gpus),
        os=platform.system().lower(),
    )
