"""``hearth chat --attach``: the files go with the message (stored with it, read by the model),
a binary file is refused with its reason before anything starts, and a file too long for the
context is searched through the browser tool in the same turn (scripted replies, real engine)."""

from __future__ import annotations

import json
from pathlib import Path

import docx

from app.store import Store
from tests.attachments.pdfgen import write_pdf
from tests.cli.test_chat_tools import hearth


def test_text_pdf_and_word_files_go_with_the_message(tiny_model: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("# Notes\n\nThe boiler needs 1.5 bar.\n")
    write_pdf(tmp_path / "paper.pdf", [["Attention is all you need."], ["Page two."]])
    word = docx.Document()
    word.add_heading("Minutes", 1)
    word.add_paragraph("We agreed to paint the shed green.")
    word.save(str(tmp_path / "minutes.docx"))
    answer = "<|channel|>final<|message|>Read them.<|return|>"
    res = hearth(
        "chat", "--model", str(tiny_model), "--threads", "1", "--jsonl", "Summarise these",
        "--attach", str(tmp_path / "notes.md"), str(tmp_path / "paper.pdf"),
        "--attach", str(tmp_path / "minutes.docx"),
        scripts=[answer], tmp=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "Attached notes.md · 35 bytes · ≈ " in res.stderr
    assert "Attached paper.pdf · " in res.stderr and " · 2 pages · " in res.stderr
    assert "does not fit" not in res.stderr
    with Store.open() as s:
        (conv,) = s.list_conversations()
        user = s.active_path(conv.id)[0]
        assert user.content == "Summarise these"
        refs = user.attachments or []
        assert [(r["name"], r["kind"], r["inline"]) for r in refs] == [
            ("notes.md", "text", True),
            ("paper.pdf", "pdf", True),
            ("minutes.docx", "docx", True),
        ]
        from app.chat import harmony_history

        read = harmony_history(s.active_path(conv.id))[0].content
    assert "```notes.md\n# Notes\n\nThe boiler needs 1.5 bar.\n```" in read
    assert "Attention is all you need." in read and "--- Page 2 of 2 ---" in read
    assert "```minutes.docx\n# Minutes\nWe agreed to paint the shed green.\n```" in read
    assert read.endswith("Summarise these")
    exported = hearth("history", "export", str(conv.id), "--format", "md")
    assert "*Attached: notes.md (35 bytes), paper.pdf (" in exported.stdout


def test_a_binary_file_is_refused_with_its_reason(tiny_model: Path, tmp_path: Path) -> None:
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (tmp_path / "blob.dat").write_bytes(bytes(range(256)) * 64)
    for name, why in (("photo.png", "is an image"), ("blob.dat", "is not text (binary data)")):
        res = hearth(
            "chat", "--model", str(tiny_model), "What is this?", "--attach", str(tmp_path / name)
        )
        assert res.returncode == 2
        assert f"hearth chat: {name} {why}: Hearth can attach text, PDF and Word files." in (
            res.stderr
        )
    with Store.open() as s:
        assert s.list_conversations() == []  # refused before any chat was started


def test_a_file_too_long_is_searched_with_the_browser(long_model: Path, tmp_path: Path) -> None:
    chapter = "The expedition crossed the glacier at dawn and made camp by the ridge.\n"
    body = chapter * 4000 + "The treasure was buried under the old lighthouse.\n" + chapter * 500
    (tmp_path / "logbook.txt").write_text(body)
    search = (
        "<|channel|>analysis<|message|>Search it.<|end|><|start|>assistant<|channel|>analysis "
        'to=browser.search code<|message|>{"query": "treasure buried"}<|call|>'
    )
    answer = "<|channel|>final<|message|>Under the lighthouse 【0†L2】.<|return|>"
    res = hearth(
        "chat", "--model", str(long_model), "--ctx", "16384", "--threads", "1", "--jsonl",
        "--no-save", "Where was the treasure?", "--attach", str(tmp_path / "logbook.txt"),
        scripts=[search, answer], tmp=tmp_path,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "logbook.txt does not fit in the context" in res.stderr
    events = [json.loads(line) for line in res.stdout.splitlines()]
    result = next(e for e in events if e["type"] == "tool_result")
    assert result["status"] == "ok"
    assert "【0†logbook.txt†logbook.txt】 L4001: The treasure was buried" in result["text"]
    answer_text = "".join(e["text"] for e in events if e["type"] == "content")
    assert answer_text == "Under the lighthouse 【0†L2】."
