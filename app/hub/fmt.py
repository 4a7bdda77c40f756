"""Human-readable sizes, speeds, durations and counts for messages and tables."""

from __future__ import annotations

GB = 1000**3
GiB = 1024**3
MiB = 1024**2


def size(n: float | None) -> str:
    """Bytes in decimal units, as the Hub and file managers show them ("12.1 GB")."""
    if n is None:
        return "unknown size"
    n = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def speed(bytes_per_s: float | None) -> str:
    if not bytes_per_s:
        return "–"
    return f"{size(bytes_per_s)}/s"


def duration(seconds: float | None) -> str:
    """ "1 h 05 min", "3 min 20 s", "12 s"; "–" when unknown."""
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "–"
    s = max(0, round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {(s % 3600) // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"


def count(n: int) -> str:
    """A large count as `hearth inspect` writes it: "799.8K", "20.9B"."""
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f}{unit}"
    return str(n)


def plural(n: int, word: str, words: str | None = None) -> str:
    """ "1 download", "1,234 downloads" ("1 GGUF repository", "2 GGUF repositories")."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"
