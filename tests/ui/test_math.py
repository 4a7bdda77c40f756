"""Maths in the chat view: 30 formulas from real answers typeset in both themes, dollars that are
not maths stay text, code is never maths, a bad formula shows its source, renders are cached, and
a streaming answer shows its formulas as soon as they are typeset."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QObject

from app.ui import math_render
from app.ui.markdown import IncrementalMarkdown, render_document
from app.ui.math_render import FAILED, MathImage, MathRenderer
from app.ui.theme import DARK, LIGHT

# From maths answers as gpt-oss writes them: fractions, roots, matrices, aligned equations,
# cases, sums, products, integrals, limits, probability, linear algebra, calculus.
SNIPPETS = [
    r"x = \frac{-b \pm \sqrt{b^2 - 4ac}}{2a}",
    r"\int_0^1 x^2\,dx = \frac{1}{3}",
    r"\sum_{k=1}^{n} k = \frac{n(n+1)}{2}",
    r"\begin{pmatrix} a & b \\ c & d \end{pmatrix}^{-1} = \frac{1}{ad-bc}"
    r"\begin{pmatrix} d & -b \\ -c & a \end{pmatrix}",
    r"\begin{aligned} (a+b)^2 &= a^2 + 2ab + b^2 \\ (a-b)^2 &= a^2 - 2ab + b^2 \end{aligned}",
    r"f(x) = \begin{cases} x^2 & \text{if } x \ge 0 \\ -x & \text{otherwise} \end{cases}",
    r"\lim_{x \to 0} \frac{\sin x}{x} = 1",
    r"e^{i\pi} + 1 = 0",
    r"\boxed{42}",
    r"\det(A) = \begin{vmatrix} 1 & 2 \\ 3 & 4 \end{vmatrix} = -2",
    r"\mathbf{v} = \begin{bmatrix} 1 \\ 0 \\ -1 \end{bmatrix}",
    r"\binom{n}{k} = \frac{n!}{k!(n-k)!}",
    r"\nabla \cdot \vec{E} = \frac{\rho}{\varepsilon_0}",
    r"\frac{\partial^2 u}{\partial t^2} = c^2 \frac{\partial^2 u}{\partial x^2}",
    r"\int_{-\infty}^{\infty} e^{-x^2}\,dx = \sqrt{\pi}",
    r"P(A \mid B) = \frac{P(B \mid A)\,P(A)}{P(B)}",
    r"\mathbb{E}[X] = \sum_{i} x_i\, p_i",
    r"\sigma = \sqrt{\frac{1}{N}\sum_{i=1}^{N}(x_i - \mu)^2}",
    r"a^2 + b^2 = c^2",
    r"\left( \frac{a}{b} \right)^{n} = \frac{a^n}{b^n}",
    r"\prod_{p \text{ prime}} \frac{1}{1 - p^{-s}} = \zeta(s)",
    r"\hat{\beta} = (X^\top X)^{-1} X^\top y",
    r"\oint_C \mathbf{F} \cdot d\mathbf{r} = \iint_S (\nabla \times \mathbf{F}) \cdot d\mathbf{S}",
    r"\begin{aligned} 2x + 3y &= 7 \\ x - y &= 1 \\ \Rightarrow x &= 2,\; y = 1 \end{aligned}",
    r"\frac{d}{dx}\left[\ln x\right] = \frac{1}{x}",
    r"\overline{z} = a - bi, \quad |z| = \sqrt{a^2+b^2}",
    r"\forall \epsilon > 0\ \exists \delta > 0 : "
    r"|x - a| < \delta \implies |f(x) - f(a)| < \epsilon",
    r"\operatorname{Var}(X) = \mathbb{E}[X^2] - (\mathbb{E}[X])^2",
    r"A = \begin{pmatrix} 1 & 0 & 0 \\ 0 & \cos\theta & -\sin\theta \\ 0 & \sin\theta & "
    r"\cos\theta \end{pmatrix}",
    r"\dfrac{1}{1-x} = \sum_{n=0}^{\infty} x^n \quad (|x| < 1)",
]

NOT_MATHS = [
    "It costs $5 and $10 with shipping.",
    "Between $100 and $200, depending on size.",
    "The range is $1,000-$2,000 a month.",
    "Save $5! Only $3 today.",
    "Set PATH=$HOME/bin:$PATH in your shell.",
    "Use `$x$` for inline maths in LaTeX.",
    "```bash\necho $HOME and $USER $1\n```",
    "A lone $ sign, and another $ later.",
    r"An escaped \$5 and \$6 in text.",
    "    $indented$ is code: $a$ and $b$",
]


def _images(html: str) -> int:
    return html.count('<img src="data:image/png;base64,')


@pytest.mark.parametrize("tex", SNIPPETS)
def test_thirty_formulas_from_real_answers_render_in_both_themes(qapp, tex: str) -> None:
    r = math_render.renderer()
    for theme in (LIGHT, DARK):
        img = r.image(tex, True, theme.markdown.text, wait=60)
        assert isinstance(img, MathImage), tex
        assert img.width > 10 and img.height > 8
        assert img.uri.startswith("data:image/png;base64,")


def test_a_formula_is_displayed_inline_and_as_a_block(qapp) -> None:
    segs = render_document("Roots of $x^2-1$:\n\n$$\nx = \\pm 1\n$$\n\nDone.", LIGHT.markdown)
    assert len(segs) == 1
    html = segs[0].html
    assert _images(html) == 2
    assert '<p align="center"' in html  # the display formula is centred on its own line
    assert "x^2" not in html and "\\pm" not in html


@pytest.mark.parametrize("text", NOT_MATHS)
def test_dollars_that_are_not_maths_stay_text(qapp, text: str) -> None:
    html = "".join(s.html for s in render_document(text, LIGHT.markdown))
    assert _images(html) == 0, html


def test_code_spans_and_blocks_are_never_maths(qapp) -> None:
    segs = render_document("Write `$\\alpha$` or:\n\n```latex\n$$\\beta$$\n```\n", LIGHT.markdown)
    assert [s.kind for s in segs] == ["html", "code"]
    assert _images(segs[0].html) == 0 and "$\\alpha$" in segs[0].html
    assert segs[1].code == "$$\\beta$$\n"


def test_every_delimiter(qapp) -> None:
    text = "a $x$ b \\(y\\) c $$z$$ d \\[w\\]\n\n\\[\nv = 1\n\\]\n"
    html = "".join(s.html for s in render_document(text, LIGHT.markdown))
    assert _images(html) == 5


def test_a_formula_that_fails_shows_its_source_and_the_rest_renders(qapp, fresh) -> None:
    text = "Bad $\\frac{1}{$ here, good $x^2$ there, and *emphasis*."
    html = render_document(text, LIGHT.markdown)[0].html
    assert "$\\frac{1}{$" in html  # the source, as written
    assert _images(html) == 1 and "<i>emphasis</i>" in html
    assert fresh.image("\\frac{1}{", False, LIGHT.text) is FAILED


def test_renders_are_cached_by_source_and_colour(
    qapp, fresh, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    light = fresh.image("a^2+b^2", False, LIGHT.text, wait=60)
    again = fresh.image("a^2+b^2", False, LIGHT.text)
    dark = fresh.image("a^2+b^2", False, DARK.text, wait=60)
    assert isinstance(light, MathImage) and again is light
    assert isinstance(dark, MathImage) and dark.uri != light.uri
    # On disk too: a new renderer (a new session) answers from it without typesetting.
    later = MathRenderer(tmp_path / "maths")
    monkeypatch.setattr(math_render, "_svg", _no_typesetting)
    try:
        cached = later.image("a^2+b^2", False, LIGHT.text, wait=60)
        assert isinstance(cached, MathImage) and cached.uri == light.uri
        assert later.image("c^3", False, LIGHT.text, wait=60) is FAILED  # not cached
    finally:
        later.shutdown()


def _no_typesetting(*args: object) -> str:
    raise RuntimeError("typeset instead of read from the cache")


def test_the_switch_shows_sources(qapp, fresh) -> None:
    math_render.set_enabled(False)
    try:
        html = render_document("Area $\\pi r^2$.", LIGHT.markdown)[0].html
    finally:
        math_render.set_enabled(True)
    assert _images(html) == 0 and "$\\pi r^2$" in html


def test_streaming_keeps_a_block_open_until_its_formula_is_typeset(qapp, fresh) -> None:
    gate = threading.Event()
    fresh._pool.submit(gate.wait, 30)  # the render thread is busy: formulas wait
    inc = IncrementalMarkdown(LIGHT.markdown)
    text = "First $E=mc^2$ here.\n\nSecond paragraph.\n\nThird paragraph.\n\nFourth"
    finished, tail = inc.update(text)
    # Two blocks would be finished, but the first has a formula still being typeset: it stays
    # open (shown with its source) so a later update shows its image.
    assert finished == []
    assert "$E=mc^2$" in tail[0].html and _images(tail[0].html) == 0 and tail[0].pending
    gate.set()
    assert isinstance(fresh.image("E=mc^2", False, LIGHT.text, wait=60), MathImage)
    finished, tail = inc.update(text + " paragraph.")
    assert len(finished) == 2 and _images(finished[0].html) == 1 and not finished[0].pending


def test_a_lagging_renderer_never_holds_the_stream(qtbot, qapp, fresh) -> None:
    """Formulas arriving faster than they are typeset: the open tail stays bounded, finish()
    returns at once with sources, and ``when_ready`` says when to render the answer again."""
    gate = threading.Event()
    fresh._pool.submit(gate.wait, 30)
    inc = IncrementalMarkdown(LIGHT.markdown)
    text = "".join(f"Step {i}: $x_{{{i}}} = {i}^2$.\n\n" for i in range(12))
    finished, tail = inc.update(text)
    assert len(tail) == inc.OPEN_BLOCKS + inc.HOLD_MAX
    assert len(finished) == 12 - len(tail) and all(s.pending for s in finished)
    final = inc.finish(text)
    assert all(s.pending for s in final) and _images(final[-1].html) == 0
    called: list[int] = []
    owner = QObject()
    fresh.when_ready(owner, lambda: called.append(1))
    gone = QObject()
    fresh.when_ready(gone, lambda: called.append(2))
    from shiboken6 import delete

    delete(gone)
    gate.set()
    qtbot.waitUntil(lambda: called == [1], timeout=60_000)
    again = render_document(text, LIGHT.markdown)
    assert _images(again[0].html) == 12 and not again[0].pending


def test_copy_gives_the_latex_source(qtbot, qapp) -> None:
    from PySide6.QtGui import QGuiApplication

    from app.ui.message import MessageData, MessageWidget

    source = "The roots are $$x = \\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}$$ for $a \\ne 0$."
    w = MessageWidget(MessageData(id=1, role="assistant", content=source), LIGHT.markdown)
    qtbot.addWidget(w)
    w._copy()
    assert QGuiApplication.clipboard().text() == source


def test_warm_up_loads_the_typesetter_in_the_background(qapp, fresh) -> None:
    math_render.warm_up()
    img = fresh.image("w^2", False, LIGHT.text, wait=60)  # queued behind the warm-up
    assert isinstance(img, MathImage)
