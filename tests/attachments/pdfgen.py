"""Write real PDF files for tests: text pages in Helvetica, optionally a large image.

A PDF is a few numbered objects and a cross-reference table of their byte offsets; writing one
by hand keeps the tests free of a PDF-writing dependency and lets them make a 20 MB file the way
real ones are large (a scanned figure) in well under a second.
"""

from __future__ import annotations

import os
from pathlib import Path


def _escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_pdf(
    path: Path, pages: list[list[str]], image_bytes: int = 0, text_layer: bool = True
) -> Path:
    """A PDF with one page per entry of ``pages`` (each a list of lines, Latin-1 text). With
    ``image_bytes``, page 1 also draws a grey image of about that many (random) bytes. With
    ``text_layer=False`` the pages have the image only: a "scanned" PDF."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below
    pages_obj = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    image = 0
    if image_bytes:
        side = max(1, int(image_bytes**0.5))
        data = os.urandom(side * side)
        image = add(
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
            b"/BitsPerComponent 8 /Length %d >>\nstream\n"
            % (side, side, len(data))
            + data
            + b"\nendstream"
        )
    kids = []
    for i, lines in enumerate(pages):
        ops = []
        if text_layer:
            ops.append("BT /F1 11 Tf 14 TL 72 740 Td")
            ops.extend(f"({_escape(line)}) Tj T*" for line in lines)
            ops.append("ET")
        if image and i == 0:
            ops.append("q 200 0 0 200 72 72 cm /Im1 Do Q")
        content = "\n".join(ops).encode("latin-1")
        stream = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        xobj = b" /XObject << /Im1 %d 0 R >>" % image if image and i == 0 else b""
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] "
                b"/Resources << /Font << /F1 %d 0 R >>%s >> /Contents %d 0 R >>"
                % (pages_obj, font, xobj, stream)
            )
        )
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_obj
    objects[pages_obj - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        catalog,
        xref,
    )
    path.write_bytes(bytes(out))
    return path
