"""The few things llama-cpp-python's low-level bindings leave to the caller.

- llama.cpp's C logging goes to a log file (or stderr with HEARTH_DEBUG) instead of the terminal;
  the last lines are kept so a failed load can say why ("unknown model architecture").
- ``tensor_buft_overrides``, which the bindings type as a bare pointer: the struct, and the
  NULL-terminated array that keeps the MoE experts of the first N layers in CPU memory (what
  llama.cpp's ``--n-cpu-moe`` does).
- Device inventory through ggml's backend-device functions (exported by libllama's dependencies,
  reached through the bindings' own library handle so a CUDA build found via LLAMA_CPP_LIB_PATH is
  the one asked).
- ``token_to_piece`` that never drops a token longer than the buffer.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp as L

GGML_BACKEND_DEVICE_TYPE_CPU = 0
GGML_BACKEND_DEVICE_TYPE_GPU = 1
GGML_BACKEND_DEVICE_TYPE_IGPU = 2
GGML_BACKEND_DEVICE_TYPE_ACCEL = 3

_lib: Any = L.llama_cpp._lib
_lock = threading.Lock()
_initialised = False
_log_file: Any = None
_recent_log: deque[str] = deque(maxlen=50)
_log_cb: Any = None  # the ctypes callback must outlive every call into llama.cpp


class TensorBuftOverride(ctypes.Structure):
    """struct llama_model_tensor_buft_override { const char * pattern; ggml_backend_buffer_type_t
    buft; }"""

    _fields_ = [("pattern", ctypes.c_char_p), ("buft", ctypes.c_void_p)]


def _bind(name: str, restype: Any, argtypes: list[Any]) -> Any:
    fn = getattr(_lib, name)
    fn.restype = restype
    fn.argtypes = argtypes
    return fn


_dev_count = _bind("ggml_backend_dev_count", ctypes.c_size_t, [])
_dev_get = _bind("ggml_backend_dev_get", ctypes.c_void_p, [ctypes.c_size_t])
_dev_name = _bind("ggml_backend_dev_name", ctypes.c_char_p, [ctypes.c_void_p])
_dev_description = _bind("ggml_backend_dev_description", ctypes.c_char_p, [ctypes.c_void_p])
_dev_type = _bind("ggml_backend_dev_type", ctypes.c_int, [ctypes.c_void_p])
_dev_memory = _bind(
    "ggml_backend_dev_memory",
    None,
    [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_size_t)],
)
_cpu_buffer_type = _bind("ggml_backend_cpu_buffer_type", ctypes.c_void_p, [])


def _on_log(level: int, text: bytes | None, _user: Any) -> None:
    if not text:
        return
    line = text.decode("utf-8", "replace")
    _recent_log.append(line)
    f = _log_file
    if f is not None:
        try:
            f.write(line)
            f.flush()
        except (OSError, ValueError):
            pass


def init(log_path: Path | None = None) -> None:
    """Initialise llama.cpp once per process; route its logging (quiet unless HEARTH_DEBUG)."""
    global _initialised, _log_file, _log_cb
    with _lock:
        if _initialised:
            return
        if not os.environ.get("HEARTH_DEBUG"):
            if log_path is not None:
                try:
                    log_path.parent.mkdir(parents=True, exist_ok=True)
                    _log_file = log_path.open("a", encoding="utf-8")
                except OSError:
                    _log_file = None
            _log_cb = L.llama_log_callback(_on_log)
            L.llama_log_set(_log_cb, ctypes.c_void_p(0))
        L.llama_backend_init()
        _initialised = True


def recent_log() -> list[str]:
    return list(_recent_log)


def clear_recent_log() -> None:
    _recent_log.clear()


@dataclass
class Device:
    name: str
    description: str
    kind: str  # "cpu", "gpu", "igpu", "accel"
    free_bytes: int
    total_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


_KINDS = {0: "cpu", 1: "gpu", 2: "igpu", 3: "accel"}


def devices() -> list[Device]:
    """Every ggml backend device of this llama.cpp build, with its memory now."""
    out = []
    for i in range(int(_dev_count())):
        dev = _dev_get(i)
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        _dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
        out.append(
            Device(
                name=(_dev_name(dev) or b"").decode("utf-8", "replace"),
                description=(_dev_description(dev) or b"").decode("utf-8", "replace"),
                kind=_KINDS.get(int(_dev_type(dev)), "other"),
                free_bytes=int(free.value),
                total_bytes=int(total.value),
            )
        )
    return out


def gpu_devices() -> list[Device]:
    return [d for d in devices() if d.kind in ("gpu", "igpu")]


def has_gpu_offload() -> bool:
    return bool(L.llama_supports_gpu_offload())


def cpu_moe_pattern(n_layers: int) -> str:
    """The regex for the MoE expert tensors of layers 0..n_layers-1."""
    layers = "|".join(str(i) for i in range(n_layers))
    return rf"blk\.({layers})\.ffn_(up|down|gate)_exps"


class CpuMoeOverrides:
    """A NULL-terminated ``llama_model_tensor_buft_override`` array that puts the expert tensors
    of the first ``n_layers`` layers in CPU memory. Keep the object alive while the model loads:
    llama.cpp reads the patterns during the load."""

    def __init__(self, n_layers: int) -> None:
        self.pattern = cpu_moe_pattern(n_layers).encode()
        self.array = (TensorBuftOverride * 2)()
        self.array[0].pattern = self.pattern
        self.array[0].buft = _cpu_buffer_type()
        self.array[1].pattern = None
        self.array[1].buft = None

    @property
    def pointer(self) -> int:
        return ctypes.addressof(self.array)


class PieceTable:
    """Token id -> bytes, cached. llama_token_to_piece is retried with the size it asks for, so
    tokens over any fixed buffer (llama-cpp-python's detokenize drops those over 32 bytes) come
    through whole."""

    def __init__(self, vocab: Any) -> None:
        self.vocab = vocab
        self.n_vocab = int(L.llama_vocab_n_tokens(vocab))
        self._cache: dict[int, bytes] = {}
        self._buf = ctypes.create_string_buffer(64)

    def piece(self, token: int) -> bytes:
        cached = self._cache.get(token)
        if cached is not None:
            return cached
        n = L.llama_token_to_piece(self.vocab, token, self._buf, len(self._buf), 0, True)
        if n < 0:
            self._buf = ctypes.create_string_buffer(-n + 8)
            n = L.llama_token_to_piece(self.vocab, token, self._buf, len(self._buf), 0, True)
        data = self._buf.raw[: max(0, n)]
        self._cache[token] = data
        return data

    def is_control(self, token: int) -> bool:
        return bool(L.llama_vocab_is_control(self.vocab, token))
