"""Reading attachments: every kind Hearth reads, and a specific sentence for what it refuses."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from app.attachments import AttachmentError, extract_text
from tests.attachments.pdfgen import write_pdf

FRENCH = "Les élèves ont étudié la mécanique quantique à l'école : « ça marche ! »\n"
RUSSIAN = "Квантовая механика описывает поведение вещества.\n"
JAPANESE = "量子力学は、原子レベルでの物質と光のふるまいを記述する理論です。\n"


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (FRENCH * 20, "utf-8"),
        (FRENCH * 20, "cp1252"),
        (FRENCH * 20, "utf-16"),
        (RUSSIAN * 20, "cp1251"),
        (RUSSIAN * 20, "koi8-r"),
        (JAPANESE * 20, "shift_jis"),
        (JAPANESE * 20, "euc-jp"),
        ("def f():\n    return 'plain ascii'\n", "ascii"),
    ],
)
def test_text_in_any_encoding_is_read(tmp_path: Path, text: str, encoding: str) -> None:
    p = tmp_path / "notes.txt"
    p.write_bytes(text.encode(encoding))
    got = extract_text(p)
    assert got.kind == "text"
    assert got.text == text
    assert got.encoding  # the encoding found is reported


def test_utf8_bom_and_crlf_are_normalised(tmp_path: Path) -> None:
    p = tmp_path / "win.md"
    p.write_bytes(b"\xef\xbb\xbf# Title\r\n\r\nBody line\r\n")
    got = extract_text(p)
    assert got.text == "# Title\n\nBody line\n"
    assert got.encoding == "utf-8"


def test_source_code_and_markdown_keep_their_text(tmp_path: Path) -> None:
    code = 'fn main() {\n    println!("{}", "```");\n}\n'
    (tmp_path / "main.rs").write_text(code)
    md = "# Notes\n\n```python\nprint(1)\n```\n"
    (tmp_path / "notes.md").write_text(md)
    assert extract_text(tmp_path / "main.rs").text == code
    assert extract_text(tmp_path / "notes.md").text == md


def test_empty_file_is_empty_text(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    assert extract_text(tmp_path / "empty.txt").text == ""


def test_pdf_text_by_page(tmp_path: Path) -> None:
    p = write_pdf(
        tmp_path / "paper.pdf",
        [["Attention (is) all you need", "Abstract: transformers"], ["Results: BLEU 28.4"]],
    )
    got = extract_text(p)
    assert got.kind == "pdf"
    assert got.pages == 2
    assert got.text.splitlines() == [
        "--- Page 1 of 2 ---",
        "Attention (is) all you need",
        "Abstract: transformers",
        "",
        "--- Page 2 of 2 ---",
        "Results: BLEU 28.4",
    ]


def test_twenty_megabyte_pdf(tmp_path: Path) -> None:
    """A 20 MB paper (a large figure and 300 pages of text) is read page by page."""
    pages = [[f"Page {i} line {j}: measured value {i * j}" for j in range(40)] for i in range(300)]
    p = write_pdf(tmp_path / "big.pdf", pages, image_bytes=20 * 1024 * 1024)
    assert p.stat().st_size > 20 * 1024 * 1024
    got = extract_text(p)
    assert got.pages == 300
    assert "Page 299 line 39: measured value 11661" in got.text
    assert got.text.count("--- Page ") == 300


def test_scanned_pdf_is_refused_with_a_way_out(tmp_path: Path) -> None:
    p = write_pdf(tmp_path / "scan.pdf", [["x"]], image_bytes=4096, text_layer=False)
    with pytest.raises(AttachmentError, match=r"scan\.pdf has no text to read .*OCR"):
        extract_text(p)


def test_damaged_pdf_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "broken.pdf"
    p.write_bytes(b"%PDF-1.4\n" + b"\x00garbage" * 100)
    with pytest.raises(AttachmentError, match=r"broken\.pdf is not a readable PDF"):
        extract_text(p)


def test_docx_headings_lists_and_tables(tmp_path: Path) -> None:
    import docx

    d = docx.Document()
    d.add_heading("Quarterly report", level=1)
    d.add_paragraph("Revenue grew in every region.")
    d.add_paragraph("North", style="List Bullet")
    d.add_heading("Figures", level=2)
    t = d.add_table(rows=2, cols=2)
    t.cell(0, 0).text, t.cell(0, 1).text = "Region", "Growth"
    t.cell(1, 0).text, t.cell(1, 1).text = "North", "12%"
    d.add_paragraph("Closing words.")
    d.save(str(tmp_path / "report.docx"))
    got = extract_text(tmp_path / "report.docx")
    assert got.kind == "docx"
    assert got.text.splitlines() == [
        "# Quarterly report",
        "Revenue grew in every region.",
        "- North",
        "## Figures",
        "| Region | Growth |",
        "|---|---|",
        "| North | 12% |",
        "",
        "Closing words.",
    ]


def _zip(path: Path, names: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for n, data in names.items():
            z.writestr(n, data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "sentence"),
    [
        (
            "photo.jpg",
            b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)) * 4,
            "photo.jpg is an image: Hearth can attach text, PDF and Word files.",
        ),
        (
            "shot.png",
            b"\x89PNG\r\n\x1a\n" + bytes(200),
            "shot.png is an image: Hearth can attach text, PDF and Word files.",
        ),
        (
            "song.mp3",
            b"ID3\x03\x00" + bytes(range(256)),
            "song.mp3 is an audio file: Hearth can attach text, PDF and Word files.",
        ),
        (
            "clip.mp4",
            b"\x00\x00\x00\x18ftypmp42" + bytes(100),
            "clip.mp4 is a video: Hearth can attach text, PDF and Word files.",
        ),
        (
            "tool",
            b"\x7fELF\x02\x01\x01" + bytes(300),
            "tool is a program: Hearth can attach text, PDF and Word files.",
        ),
        (
            "backup.tar.gz",
            b"\x1f\x8b\x08\x00" + bytes(range(256)),
            "backup.tar.gz is an archive: unpack it and attach the files inside.",
        ),
        (
            "old.doc",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512),
            "old.doc is an old Office file (.doc, .xls or .ppt): save it as .docx or PDF and "
            "attach that.",
        ),
        (
            "weights.dat",
            bytes(range(256)) * 64,
            "weights.dat is not text (binary data): Hearth can attach text, PDF and Word files.",
        ),
    ],
)
def test_binary_is_refused_with_a_reason(tmp_path: Path, name: str, data: bytes, sentence: str):
    (tmp_path / name).write_bytes(data)
    with pytest.raises(AttachmentError) as err:
        extract_text(tmp_path / name)
    assert str(err.value) == sentence


def _refusal(path: Path) -> str:
    with pytest.raises(AttachmentError) as err:
        extract_text(path)
    return str(err.value)


def test_office_zip_files_are_told_apart(tmp_path: Path) -> None:
    xlsx = _zip(tmp_path / "sheet.xlsx", {"xl/workbook.xml": b"<x/>"})
    assert _refusal(xlsx).startswith("sheet.xlsx is a spreadsheet: export it as CSV")
    pptx = _zip(tmp_path / "talk.pptx", {"ppt/presentation.xml": b"<x/>"})
    assert _refusal(pptx).startswith("talk.pptx is a presentation: export it as PDF")
    plain = _zip(tmp_path / "files.zip", {"a.txt": b"hello"})
    assert _refusal(plain).startswith("files.zip is an archive: unpack it")
    fake = _zip(tmp_path / "fake.docx", {"word/document.xml": b"not xml"})
    assert _refusal(fake).startswith("fake.docx is not a readable Word document")


def test_folder_missing_and_too_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "notes").mkdir()
    assert _refusal(tmp_path / "notes").startswith("notes is a folder: add it to the Library")
    assert _refusal(tmp_path / "gone.txt").startswith("gone.txt was not found")
    import app.attachments.extract as ex

    monkeypatch.setattr(ex, "MAX_FILE_BYTES", 1000)
    (tmp_path / "log.txt").write_text("x" * 2000)
    assert _refusal(tmp_path / "log.txt").startswith(
        "log.txt is too large to attach (2.0 KB; the limit is 1000 bytes): add its folder"
    )
