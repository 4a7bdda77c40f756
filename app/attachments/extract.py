"""A file's text for the model, or the reason Hearth cannot read it.

Text in any encoding (UTF-8 first, then charset-normalizer's guess), PDF through pypdfium2 (one
page at a time, so a 20 MB file never sits in memory as objects), Word (.docx) through
python-docx. Everything else is refused with a sentence that names the file, what it is and what
to do instead ("photo.jpg is an image: Hearth can attach text, PDF and Word files.").
"""

from __future__ import annotations

import contextlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 200 * 1024 * 1024  # larger files belong in a Library folder
SUPPORTED = "Hearth can attach text, PDF and Word files"
_HEAD = 8192


class AttachmentError(Exception):
    """A file Hearth cannot read; ``str(error)`` is the sentence for the user."""


@dataclass(frozen=True)
class Extracted:
    text: str  # line endings normalised to "\n"
    kind: str  # "text", "pdf" or "docx"
    encoding: str = ""  # the text encoding found (kind "text")
    pages: int = 0  # PDF pages


def extract_text(path: str | os.PathLike[str]) -> Extracted:
    """Read ``path`` as text for the model. Raises AttachmentError with a sentence for the user."""
    p = Path(path)
    name = p.name
    try:
        st = p.stat()
    except FileNotFoundError:
        raise AttachmentError(f"{name} was not found: it may have been moved or deleted.") from None
    except OSError as e:
        raise AttachmentError(f"{name} cannot be read: {e.strerror or e}.") from None
    if p.is_dir():
        raise AttachmentError(
            f"{name} is a folder: add it to the Library in Settings to let the model search it."
        )
    if st.st_size > MAX_FILE_BYTES:
        raise AttachmentError(
            f"{name} is too large to attach ({format_size(st.st_size)}; the limit is "
            f"{format_size(MAX_FILE_BYTES)}): add its folder to the Library instead."
        )
    try:
        with open(p, "rb") as f:
            head = f.read(_HEAD)
    except OSError as e:
        raise AttachmentError(f"{name} cannot be read: {e.strerror or e}.") from None
    kind = sniff(head, name)
    if kind == "pdf":
        return _pdf(p)
    if kind == "zip":
        return _zip(p)
    if kind != "text":
        raise AttachmentError(refusal(name, kind))
    try:
        data = p.read_bytes()
    except OSError as e:
        raise AttachmentError(f"{name} cannot be read: {e.strerror or e}.") from None
    text, encoding = decode_text(data, name)
    return Extracted(text, "text", encoding)


# -- what a file is ----------------------------------------------------------------------------

_MAGIC: list[tuple[bytes, int, str]] = [
    (b"%PDF-", 0, "pdf"),
    (b"PK\x03\x04", 0, "zip"),
    (b"\x89PNG\r\n\x1a\n", 0, "image"),
    (b"\xff\xd8\xff", 0, "image"),
    (b"GIF87a", 0, "image"),
    (b"GIF89a", 0, "image"),
    (b"II*\x00", 0, "image"),
    (b"MM\x00*", 0, "image"),
    (b"\x00\x00\x01\x00", 0, "image"),  # .ico
    (b"8BPS", 0, "image"),
    (b"ID3", 0, "audio"),
    (b"fLaC", 0, "audio"),
    (b"OggS", 0, "audio"),
    (b"\x1aE\xdf\xa3", 0, "video"),  # Matroska / WebM
    (b"\x1f\x8b", 0, "archive"),
    (b"BZh", 0, "archive"),
    (b"\xfd7zXZ\x00", 0, "archive"),
    (b"7z\xbc\xaf\x27\x1c", 0, "archive"),
    (b"Rar!\x1a\x07", 0, "archive"),
    (b"(\xb5/\xfd", 0, "archive"),  # zstd
    (b"ustar", 257, "archive"),
    (b"\x7fELF", 0, "program"),
    (b"MZ", 0, "program"),
    (b"\xcf\xfa\xed\xfe", 0, "program"),
    (b"\xce\xfa\xed\xfe", 0, "program"),
    (b"\xca\xfe\xba\xbe", 0, "program"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "office-old"),
    (b"SQLite format 3\x00", 0, "database"),
    (b"GGUF", 0, "model"),
]

_EXT_TABLE = """
image: .jpg .jpeg .png .gif .webp .bmp .tif .tiff .heic .heif .ico .psd .raw .cr2 .nef
audio: .mp3 .wav .flac .ogg .m4a .aac .opus .wma .aiff
video: .mp4 .mov .mkv .webm .avi .wmv .m4v .mpg .mpeg
archive: .zip .gz .tgz .bz2 .xz .7z .rar .tar .zst .jar .whl
program: .exe .dll .so .dylib .bin .o .a .class .pyc .app .msi
office-old: .doc .xls .ppt
spreadsheet: .xlsx .xlsm .ods
presentation: .pptx .odp .key
document: .odt .rtf .pages
ebook: .epub
database: .sqlite .sqlite3 .db
model: .gguf .safetensors .pt .onnx
"""
KIND_BY_EXTENSION = {
    ext: kind.rstrip(":")
    for line in _EXT_TABLE.strip().splitlines()
    for kind, *exts in [line.split()]
    for ext in exts
}


def sniff(head: bytes, name: str = "") -> str:
    """What the first bytes of a file say it is: "pdf", "zip", "text" (maybe), or a refused kind
    ("image", "audio", "video", "archive", "program", "office-old", "database", "model")."""
    for magic, offset, kind in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            if magic == b"MZ" and _ext(name) not in (".exe", ".dll", ".sys", ".scr", ".com"):
                continue  # "MZ" also starts plain text
            return kind
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"avif", b"mif1"):
            return "image"
        return "audio" if brand.startswith(b"M4A") else "video"
    if head[:4] == b"RIFF":
        return {b"WEBP": "image", b"WAVE": "audio", b"AVI ": "video"}.get(head[8:12], "binary")
    return "text"


def _ext(name: str) -> str:
    return os.path.splitext(name)[1].lower()


_WHAT = {
    "image": "is an image",
    "audio": "is an audio file",
    "video": "is a video",
    "archive": "is an archive",
    "program": "is a program",
    "office-old": "is an old Office file (.doc, .xls or .ppt)",
    "spreadsheet": "is a spreadsheet",
    "presentation": "is a presentation",
    "document": "is a document format Hearth cannot read",
    "ebook": "is an e-book",
    "database": "is a database",
    "model": "is a model file",
    "binary": "is not text (binary data)",
}
_INSTEAD = {
    "archive": "unpack it and attach the files inside",
    "office-old": "save it as .docx or PDF and attach that",
    "spreadsheet": "export it as CSV and attach that",
    "presentation": "export it as PDF and attach that",
    "document": "save it as .docx or PDF and attach that",
    "ebook": "save it as PDF or text and attach that",
}


def refusal(name: str, kind: str) -> str:
    """The sentence for a file of a kind Hearth does not read."""
    if kind == "binary":
        kind = KIND_BY_EXTENSION.get(_ext(name), "binary")
    what = _WHAT.get(kind, _WHAT["binary"])
    instead = _INSTEAD.get(kind)
    return f"{name} {what}: {instead}." if instead else f"{name} {what}: {SUPPORTED}."


# -- text --------------------------------------------------------------------------------------

_BOMS = [
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
]


def decode_text(data: bytes, name: str = "file") -> tuple[str, str]:
    """(text, encoding) of bytes that are text in some encoding; AttachmentError if they are not.
    UTF-8 (the common case) is tried first and costs one decode; otherwise charset-normalizer
    guesses from samples of the file."""
    text: str | None = None
    encoding = ""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            with contextlib.suppress(UnicodeDecodeError):
                text, encoding = data.decode(enc), enc.replace("-sig", "")
            break
    if text is None:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    if text is None:
        if b"\x00" in data[:_HEAD]:
            raise AttachmentError(refusal(name, "binary"))
        from charset_normalizer import from_bytes

        results = from_bytes(data)
        best = results.best()
        if best is None:
            raise AttachmentError(refusal(name, "binary"))
        # Short Western text scores the same in cp1250 and cp1252 ("è" vs "č"): on a tie, the
        # far more common Windows-1252 wins.
        for m in results:
            if (m.chaos, m.coherence) == (best.chaos, best.coherence) and m.encoding == "cp1252":
                best = m
        text, encoding = str(best), best.encoding
    if _looks_binary(text):
        raise AttachmentError(refusal(name, "binary"))
    return text.replace("\r\n", "\n").replace("\r", "\n"), encoding


def _looks_binary(text: str) -> bool:
    """Control characters other than tab, newline, form feed and escape in more than 1% of the
    first 8,000 characters: a binary file that happens to decode."""
    sample = text[:8000]
    if not sample:
        return False
    controls = sum(1 for c in sample if c < " " and c not in "\t\n\r\f\x1b")
    return "\x00" in sample or controls > len(sample) / 100


# -- PDF ---------------------------------------------------------------------------------------


def _pdf(path: Path) -> Extracted:
    import pypdfium2 as pdfium

    name = path.name
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as e:
        if getattr(e, "err_code", None) in (4, 5):  # FPDF_ERR_PASSWORD, FPDF_ERR_SECURITY
            raise AttachmentError(
                f"{name} is password-protected: save an unprotected copy and attach that."
            ) from None
        raise AttachmentError(
            f"{name} is not a readable PDF (it may be damaged): open it in a PDF viewer and "
            "save a new copy."
        ) from None
    parts: list[str] = []
    has_text = False
    try:
        n = len(pdf)
        for i in range(n):
            page = pdf[i]
            try:
                textpage = page.get_textpage()
                try:
                    body = textpage.get_text_bounded()
                finally:
                    textpage.close()
            except pdfium.PdfiumError:
                body = ""
            finally:
                page.close()
            body = body.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip("\n")
            has_text = has_text or any(c.isalnum() for c in body)
            parts.append(f"--- Page {i + 1} of {n} ---\n{body}" if n > 1 else body)
    finally:
        pdf.close()
    text = "\n\n".join(parts)
    if not has_text:
        raise AttachmentError(
            f"{name} has no text to read (a scanned PDF?): run it through OCR, or copy the text "
            "into a text file and attach that."
        )
    return Extracted(text, "pdf", pages=n)


# -- Word and other zip files ------------------------------------------------------------------


def _zip(path: Path) -> Extracted:
    name = path.name
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            mimetype = z.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError):
        raise AttachmentError(refusal(name, "archive")) from None
    if "word/document.xml" in names:
        return _docx(path)
    if "xl/workbook.xml" in names:
        kind = "spreadsheet"
    elif "ppt/presentation.xml" in names:
        kind = "presentation"
    elif b"epub" in mimetype:
        kind = "ebook"
    elif b"opendocument.text" in mimetype:
        kind = "document"
    elif b"opendocument.spreadsheet" in mimetype:
        kind = "spreadsheet"
    elif b"opendocument.presentation" in mimetype:
        kind = "presentation"
    else:
        kind = "archive"
    raise AttachmentError(refusal(name, kind))


def _docx(path: Path) -> Extracted:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(str(path))
    except Exception:  # python-docx raises KeyError, ValueError, lxml errors… for a bad file
        raise AttachmentError(
            f"{path.name} is not a readable Word document (it may be damaged): open it in "
            "Word or LibreOffice and save a new copy."
        ) from None
    lines: list[str] = []
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            lines.append(_paragraph_text(block))
        elif isinstance(block, Table):
            lines.extend(_table_lines(block))
            lines.append("")
    return Extracted("\n".join(lines).strip("\n"), "docx")


def _paragraph_text(p: object) -> str:
    text = str(getattr(p, "text", "")).replace("\r", "")
    style = getattr(getattr(p, "style", None), "name", "") or ""
    if text and style.startswith("Heading"):
        level = style.removeprefix("Heading").strip()
        return "#" * (int(level) if level.isdigit() else 1) + " " + text
    if text and style == "Title":
        return "# " + text
    if text and style.startswith("List"):
        return ("1. " if "Number" in style else "- ") + text
    return text


def _table_lines(table: object) -> list[str]:
    """A Word table as a Markdown table (merged cells repeat their text, as python-docx reads
    them)."""
    rows: list[list[str]] = []
    for row in getattr(table, "rows", []):
        rows.append([c.text.replace("\n", " ").replace("|", "\\|").strip() for c in row.cells])
    if not rows:
        return []
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out.extend("| " + " | ".join(r) + " |" for r in rows[1:])
    return out


def format_size(n: int) -> str:
    """1.5 MB, 12.0 KB, 900 bytes."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
