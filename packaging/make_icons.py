"""Render Hearth's icon from its SVG source into every format the installers need.

    python packaging/make_icons.py            # writes into resources/icons/

Outputs (all committed, so a build needs no image tools):
  hearth-<N>.png for N in 16 24 32 48 64 128 256 512   Linux hicolor theme, Qt window icon
  hearth.ico                                           Windows (exe, installer, shortcuts)
  hearth.icns                                          macOS (.app bundle)

The PNGs are drawn by Qt's own SVG renderer (QtSvg ships in PySide6-Essentials), so no Inkscape,
rsvg or ImageMagick is needed. .ico and .icns are simple container formats written here directly;
on a Mac, ``packaging/make-icns-macos.sh`` produces the same .icns with Apple's iconutil.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "resources" / "icons"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# icns element types holding PNG data, and the pixel size each one carries.
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"ic11", 32),  # 16@2x
    (b"ic12", 64),  # 32@2x
    (b"ic07", 128),
    (b"ic13", 256),  # 128@2x
    (b"ic08", 256),
    (b"ic14", 512),  # 256@2x
    (b"ic09", 512),
    (b"ic10", 1024),  # 512@2x
)


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError("Qt could not encode a PNG")
    buffer.close()
    return bytes(data.data())


def dib_bytes(image: QImage) -> bytes:
    """A 32-bit BMP (DIB) icon image: what every Windows version reads for the small sizes."""
    image = image.convertToFormat(QImage.Format.Format_ARGB32)
    width, height = image.width(), image.height()
    header = struct.pack("<IiiHHIIiiII", 40, width, height * 2, 1, 32, 0, 0, 0, 0, 0, 0)
    stride = image.bytesPerLine()
    raw = bytes(image.constBits())  # little-endian ARGB32 in memory = B, G, R, A
    rows = [raw[y * stride : y * stride + width * 4] for y in range(height)]
    pixels = b"".join(reversed(rows))  # DIBs are stored bottom-up
    mask_stride = ((width + 31) // 32) * 4  # AND mask: all zero, the alpha channel decides
    return header + pixels + bytes(mask_stride * height)


def write_ico(images: dict[int, QImage], path: Path) -> None:
    # PNG for 256 px (keeps the file small; Vista+ reads it), DIB for the rest.
    blobs = [(s, png_bytes(images[s]) if s >= 256 else dib_bytes(images[s])) for s in ICO_SIZES]
    out = struct.pack("<HHH", 0, 1, len(blobs))
    offset = 6 + 16 * len(blobs)
    for size, blob in blobs:
        dim = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
        out += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset)
        offset += len(blob)
    path.write_bytes(out + b"".join(blob for _, blob in blobs))


def write_icns(images: dict[int, QImage], path: Path) -> None:
    body = b""
    for kind, size in ICNS_TYPES:
        blob = png_bytes(images[size])
        body += kind + struct.pack(">I", 8 + len(blob)) + blob
    path.write_bytes(b"icns" + struct.pack(">I", 8 + len(body)) + body)


def main(out_dir: Path = ICONS) -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(ICONS / "hearth.svg"))
    if not renderer.isValid():
        print(f"Cannot read {ICONS / 'hearth.svg'}: not a valid SVG.", file=sys.stderr)
        return 1
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = sorted(set(PNG_SIZES) | set(ICO_SIZES) | {s for _, s in ICNS_TYPES})
    images = {size: render(renderer, size) for size in sizes}
    for size in PNG_SIZES:
        images[size].save(str(out_dir / f"hearth-{size}.png"), "PNG")
    write_ico(images, out_dir / "hearth.ico")
    write_icns(images, out_dir / "hearth.icns")
    del app
    print(f"Wrote {len(PNG_SIZES)} PNGs, hearth.ico and hearth.icns to {out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ICONS))
