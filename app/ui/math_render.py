"""Typesetting TeX for the chat view: ziamath draws it, Qt rasterises it, rich text shows it.

Why ziamath: measured on the 30 formulas of tests/ui/test_math.py (real answers: fractions,
matrices, aligned equations, cases, sums, integrals), ziamath renders 30 of 30, matplotlib's
mathtext 21 (it has no matrix, aligned or cases environments, nor ``\\boxed``). ziamath is pure
Python (latex2mathml → MathML → glyph outlines from its bundled STIX Two Math font), so it looks
the same on every OS and needs no TeX install; it is slower (see bench/maths.py), which is why
rendering runs off the GUI thread and every image is cached by (source, colour, size) in memory
and on disk.

A formula becomes ``<img src="data:image/png;base64,…">`` at the screen's pixel ratio with its
logical size: Qt's rich text (QLabel) shows data URIs without any resource set-up. The image is
padded so that the formula's maths axis sits at the image's middle, and ``vertical-align:
middle`` then lines it up with the text around it.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

MAX_TEX = 4000  # longer "formulas" are shown as source (a runaway $ in a long answer)
MEMORY_ITEMS = 2000
SIZE_RATIO = 1.1  # a formula's font size / the text's (maths fonts run small)


@dataclass(frozen=True)
class MathImage:
    uri: str  # data:image/png;base64,…
    width: int  # logical pixels
    height: int

    def html(self, display: bool) -> str:
        return (
            f'<img src="{self.uri}" width="{self.width}" height="{self.height}" '
            f'style="vertical-align:middle">'
        )


class _Failed:
    """A formula ziamath cannot typeset: shown as its source."""


FAILED = _Failed()
_Result = MathImage | _Failed


# latex2mathml gives a sub/superscript on an environment (``\\end{pmatrix}^{-1}``) the whole
# environment's pieces as its base, which ziamath rejects: brace the environment first.
_ENV_SCRIPT = re.compile(
    r"(\\begin\{(\w+\*?)\}(?:(?!\\(?:begin|end)\{\2\}).)*\\end\{\2\})(?=\s*[\^_])", re.DOTALL
)


def prepare(tex: str) -> str:
    """TeX as ziamath reads it best."""
    return _ENV_SCRIPT.sub(r"{\1}", tex)


# ziamath 0.13 loads its font with a deprecated importlib call; the warning is its own.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ziamath\.")


def _svg(tex: str, display: bool, color: str, px: float) -> str:
    import ziamath

    # SVG 1.1 output: Qt's SVG renderer does not draw SVG 2's <symbol>/<use> glyphs.
    ziamath.config.svg2 = False
    formula = ziamath.Latex(prepare(tex), size=px, color=color, inline=not display)
    return str(formula.svg())


def rasterise(svg: str, px: float, ratio: float) -> MathImage:
    """An SVG from ziamath as a PNG data URI at ``ratio`` device pixels per logical pixel."""
    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    if not renderer.isValid():
        raise ValueError("invalid SVG")
    box = renderer.viewBoxF()  # y = 0 is the baseline; box.top() is minus the ascent
    top, bottom = box.top(), box.bottom()
    axis = 0.25 * px  # the maths axis, ~a quarter em above the baseline
    # Pad so that the axis is the image's middle (``vertical-align: middle`` aligns middles).
    if (top + bottom) / 2 > -axis:
        top = -2 * axis - bottom
    else:
        bottom = -2 * axis - top
    pad = 1.0
    width = math.ceil(box.width() + 2 * pad)
    height = math.ceil(bottom - top + 2 * pad)
    image = QImage(
        max(1, round(width * ratio)),
        max(1, round(height * ratio)),
        QImage.Format.Format_ARGB32_Premultiplied,
    )
    image.fill(0)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(ratio, ratio)
    renderer.render(painter, QRectF(pad, pad + (box.top() - top), box.width(), box.height()))
    painter.end()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")  # type: ignore[call-overload]  # (the stub says bytes; str works)
    buf.close()
    png = bytes(data.data())
    return MathImage("data:image/png;base64," + base64.b64encode(png).decode(), width, height)


def _load(path: Path, ratio: float) -> MathImage | None:
    """A formula rendered in an earlier session (the disk cache)."""
    try:
        png = path.read_bytes()
    except OSError:  # (not there: the common case)
        return None
    img = QImage()
    if not img.loadFromData(png, "PNG"):
        return None
    uri = "data:image/png;base64," + base64.b64encode(png).decode()
    return MathImage(uri, round(img.width() / ratio), round(img.height() / ratio))


_text_px: tuple[str, float] | None = None


def text_px() -> float:
    """The formula size that matches the app's text (asked once per app font)."""
    global _text_px
    from PySide6.QtGui import QFontInfo

    if QGuiApplication.instance() is None:
        return 15.0
    font = QGuiApplication.font()
    key = font.key()
    if _text_px is None or _text_px[0] != key:
        _text_px = (key, round(QFontInfo(font).pixelSize() * SIZE_RATIO, 1))
    return _text_px[1]


def _ratio() -> float:
    app = QGuiApplication.instance()
    screen = QGuiApplication.primaryScreen() if app is not None else None
    return float(math.ceil(screen.devicePixelRatio())) if screen is not None else 1.0


class _Notifier(QObject):
    """Lives on the GUI thread: the render thread's "all typeset" arrives here, queued."""

    ready = Signal()

    def __init__(self, owner: MathRenderer) -> None:
        super().__init__()
        self.owner = owner
        self.ready.connect(self.flush, Qt.ConnectionType.QueuedConnection)  # always later

    @Slot()
    def flush(self) -> None:
        self.owner._flush()


class MathRenderer:
    """Renders formulas on one background thread; answers from its caches at once."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.enabled = True
        self._memory: OrderedDict[tuple[str, bool, str, float, float], _Result] = OrderedDict()
        self._pending: dict[tuple[str, bool, str, float, float], Future[_Result]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hearth-maths")
        self._cache_dir = cache_dir
        self._waiters: list[tuple[QObject, Callable[[], None]]] = []
        self._notifier: _Notifier | None = None

    def _disk(self, key: tuple[str, bool, str, float, float]) -> Path | None:
        if self._cache_dir is None:
            return None
        h = hashlib.sha256(repr(key).encode("utf-8")).hexdigest()
        return self._cache_dir / h[:2] / f"{h}.png"

    def image(
        self, tex: str, display: bool, color: str, px: float = 0.0, wait: float = 0.0
    ) -> MathImage | _Failed | None:
        """The rendered formula, FAILED, or None while it is still being rendered (after
        waiting up to ``wait`` seconds for it)."""
        if len(tex) > MAX_TEX:
            return FAILED
        key = (tex, display, color, float(px or text_px()), _ratio())
        with self._lock:
            hit = self._memory.get(key)
            if hit is not None:
                self._memory.move_to_end(key)
                return hit
            future = self._pending.get(key)
            if future is None:
                future = self._pool.submit(self._render, key)
                self._pending[key] = future
        if future.done():
            return future.result()
        try:
            return future.result(timeout=wait) if wait > 0 else None
        except FutureTimeout:
            return None

    def _remember(self, key: tuple[str, bool, str, float, float], result: _Result) -> None:
        with self._lock:
            self._memory[key] = result
            while len(self._memory) > MEMORY_ITEMS:
                self._memory.popitem(last=False)
            self._pending.pop(key, None)
            notify = not self._pending and self._waiters and self._notifier is not None
        if notify and self._notifier is not None:
            self._notifier.ready.emit()

    def when_ready(self, receiver: QObject, fn: Callable[[], None]) -> None:
        """Call ``fn`` on the GUI thread once no formula is being typeset (soon, if none is),
        unless ``receiver`` (the widget that asked) has been deleted by then. Call this from
        the GUI thread, for a segment marked ``pending``."""
        if self._notifier is None:
            self._notifier = _Notifier(self)
        with self._lock:
            self._waiters.append((receiver, fn))
            idle = not self._pending
        if idle:
            self._notifier.ready.emit()

    def _flush(self) -> None:
        from shiboken6 import isValid

        with self._lock:
            if self._pending:
                return
            waiters, self._waiters = self._waiters, []
        for receiver, fn in waiters:
            if isValid(receiver):
                fn()

    def _render(self, key: tuple[str, bool, str, float, float]) -> _Result:
        """On the render thread: the disk cache (an earlier session's render), else ziamath."""
        tex, display, color, px, ratio = key
        disk = self._disk(key)
        result: _Result | None = _load(disk, ratio) if disk is not None else None
        if result is None:
            try:
                result = rasterise(_svg(tex, display, color, px), px, ratio)
            except Exception:  # ziamath raises many kinds for TeX it does not know
                result = FAILED
            else:
                if disk is not None:
                    self._save(disk, result)
        self._remember(key, result)
        return result

    @staticmethod
    def _save(path: Path, image: MathImage) -> None:
        from app.fsutil import atomic_write

        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, base64.b64decode(image.uri.split(",", 1)[1]))
        except OSError:
            pass  # a cache: a full or read-only disk only costs a re-render next time

    def shutdown(self, wait: bool = False) -> None:
        """Stop typesetting (queued formulas are dropped); ``wait`` for the one in hand."""
        self._pool.shutdown(wait=wait, cancel_futures=True)


_renderer: MathRenderer | None = None
_renderer_lock = threading.Lock()


def renderer() -> MathRenderer:
    """The app's renderer (disk cache under Hearth's cache folder)."""
    global _renderer
    with _renderer_lock:
        if _renderer is None:
            from app import paths

            _renderer = MathRenderer(paths.cache_dir() / "maths")
        return _renderer


def warm_up() -> Future[str]:
    """Load ziamath and its font on the render thread now (~0.3 s of CPU once), so the first
    formula of the session does not pay for it: call it when the window has opened. Done when
    the returned future is."""
    r = renderer()
    return r._pool.submit(_svg, "x", False, "#000000", 12.0)


def set_enabled(on: bool) -> None:
    """The maths switch (Settings): off shows formulas as their TeX source."""
    renderer().enabled = on
