"""Formulas still being typeset when a reply finishes or a chat opens show their source first,
then the view shows them typeset as soon as they are ready (the real renderer on its thread, held
busy by a gate so the order is certain); the window starts the typesetter when it opens."""

from __future__ import annotations

import threading

from app.ui.markdown_view import MarkdownView
from app.ui.math_render import MathImage, MathRenderer
from app.ui.theme import LIGHT

QUADRATIC = "The roots are $$x = \\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}$$ when $a \\ne 0$."


def _html(view: MarkdownView) -> str:
    return "".join(getattr(w, "text", lambda: "")() for w in view.blocks())


def _busy(r: MathRenderer) -> threading.Event:
    gate = threading.Event()
    r._pool.submit(gate.wait, 30)
    return gate


def test_a_chat_opened_before_its_formulas_are_typeset_shows_them_when_ready(qtbot, fresh) -> None:
    view = MarkdownView(LIGHT.markdown)
    qtbot.addWidget(view)
    gate = _busy(fresh)
    view.set_document(QUADRATIC)
    assert "\\frac{-b" in _html(view) and "data:image/png" not in _html(view)
    gate.set()
    qtbot.waitUntil(lambda: _html(view).count("data:image/png") == 2, timeout=60_000)
    assert "\\frac" not in _html(view)  # the source is in the image's alt text only


def test_a_reply_that_ends_before_its_formulas_are_typeset_shows_them_when_ready(
    qtbot, fresh
) -> None:
    view = MarkdownView(LIGHT.markdown)
    qtbot.addWidget(view)
    gate = _busy(fresh)
    text = "First $y = x^2$.\n\nThen " + QUADRATIC
    for end in range(10, len(text), 15):
        view.stream(text[:end])
    view.finish(text)
    assert "data:image/png" not in _html(view)
    gate.set()
    qtbot.waitUntil(lambda: _html(view).count("data:image/png") == 3, timeout=60_000)


def test_the_window_starts_the_typesetter_when_it_opens(qtbot, window, fresh) -> None:
    gate = _busy(fresh)  # the warm-up queues behind this
    qtbot.waitUntil(lambda: fresh._pool._work_queue.qsize() >= 1, timeout=10_000)
    gate.set()
    img = fresh.image("z^3", False, LIGHT.text, wait=60)
    assert isinstance(img, MathImage)
