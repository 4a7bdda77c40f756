"""The token estimate against real o200k counts (tiktoken with OpenAI's o200k_base vocabulary,
measured once; the vocabulary is not shipped, so the counts are written here)."""

from __future__ import annotations

import pytest

from app.attachments import FIT_MARGIN, estimate_tokens, fits

SAMPLES = {
    "english": (
        "The committee met on Tuesday to review the quarterly budget. Spending on cloud "
        "infrastructure rose by 12% while travel fell sharply; the chair asked for a detailed "
        "breakdown before the next meeting, due on 14 March 2025.\n"
    )
    * 10,
    "python": (
        "def fibonacci(n: int) -> list[int]:\n"
        '    """The first n Fibonacci numbers."""\n'
        "    out = [0, 1]\n"
        "    while len(out) < n:\n"
        "        out.append(out[-1] + out[-2])\n"
        "    return out[:n]\n\n"
    )
    * 10,
    "json": '{"id": 4821, "name": "sensor-07", "readings": [12.5, 13.1, 12.9], "ok": true}\n' * 10,
    "german": (
        "Die Quantenmechanik beschreibt das Verhalten von Materie und Licht auf atomarer Ebene. "
        "Ihre Vorhersagen wurden in unzähligen Experimenten bestätigt, auch wenn ihre Deutung bis "
        "heute umstritten ist. "
    )
    * 10,
    "chinese": (
        "量子力学描述了原子尺度上物质和光的行为。它的预测已被无数实验证实，尽管其解释至今仍有争议。"
    )
    * 10,
    "russian": (
        "Квантовая механика описывает поведение вещества и света на атомном уровне. "
        "Её предсказания подтверждены бесчисленными экспериментами. "
    )
    * 10,
}

# o200k_base token counts of the samples above (o200k_harmony differs only in special tokens).
REAL = {
    "english": 460,
    "python": 530,
    "json": 390,
    "german": 431,
    "chinese": 390,
    "russian": 331,
}


@pytest.mark.parametrize("kind", sorted(REAL))
def test_estimate_is_within_the_documented_error(kind: str) -> None:
    real = REAL[kind]
    estimate = estimate_tokens(SAMPLES[kind])
    assert abs(estimate / real - 1) <= 0.2, (kind, estimate, real)
    # The margin a "does it fit?" check keeps covers the worst error measured.
    assert estimate * FIT_MARGIN >= real * 0.99


def test_large_texts_are_estimated_from_samples() -> None:
    text = SAMPLES["english"] * 2000  # ~4.7 MB
    whole = sum(estimate_tokens(text[i : i + 1_000_000]) for i in range(0, len(text), 1_000_000))
    assert abs(estimate_tokens(text) / whole - 1) < 0.02


def test_fits_keeps_the_margin() -> None:
    assert fits(1000, 1200) and not fits(1000, 1100)
    assert estimate_tokens("") == 0
