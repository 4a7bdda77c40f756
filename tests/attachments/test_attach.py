"""Attaching: stored content-addressed, counted, fenced safely, and planned against the context."""

from __future__ import annotations

import json
import re
from pathlib import Path

from markdown_it import MarkdownIt

from app import paths
from app.attachments import (
    AttachmentRef,
    attach,
    compose,
    estimate_tokens,
    fence,
    load_text,
    message_text,
    plan,
)
from app.attachments.fence import Part
from app.attachments.storage import remove_unreferenced


def test_attach_copies_into_the_data_folder_content_addressed(tmp_path: Path) -> None:
    src = tmp_path / "notes.md"
    src.write_text("# Notes\n\nThe meeting is on Tuesday.\n")
    a = attach(src)
    ref = a.ref
    assert ref.name == "notes.md" and ref.kind == "text" and ref.size == src.stat().st_size
    assert re.fullmatch(r"[0-9a-f]{64}", ref.sha256)
    assert ref.stored == f"attachments/{ref.sha256[:2]}/{ref.sha256}/notes.md"
    assert ref.path.read_bytes() == src.read_bytes()
    assert ref.path.is_relative_to(paths.data_dir())
    assert load_text(ref) == a.text
    # The original may go away: the message keeps its copy and its text.
    src.unlink()
    assert ref.path.exists()
    # The same content again is stored once.
    src.write_text("# Notes\n\nThe meeting is on Tuesday.\n")
    again = attach(src)
    assert again.ref.sha256 == ref.sha256 and again.ref.stored == ref.stored
    assert len(list((paths.data_dir() / "attachments").glob("*/*/notes.md"))) == 1


def test_ref_round_trips_through_json_and_tolerates_junk() -> None:
    ref = AttachmentRef("a.pdf", "ab" * 32, 1234, "pdf", tokens=99, pages=3, inline=False)
    d = json.loads(json.dumps(ref.to_dict()))
    assert AttachmentRef.from_dict(d) == ref
    odd = AttachmentRef.from_dict({"name": "x", "size": "not a number", "tokens": None})
    assert odd.size == 0 and odd.tokens == 0 and odd.inline is True


def test_chip_text(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello world " * 1000)
    a = attach(tmp_path / "a.txt")
    assert a.chip == f"a.txt · 11.7 KB · ≈ {a.ref.tokens:,} tokens"
    assert 1800 <= a.ref.tokens <= 2200  # "hello world " is 2 tokens in o200k


def test_fence_outruns_backticks_in_the_content() -> None:
    md = "Intro\n\n````markdown\n```python\nprint(1)\n```\n````\n"
    block = fence("README.md", md)
    assert block.startswith("`````README.md\n") and block.endswith("\n`````")
    # A CommonMark parser sees exactly one code block holding the whole file.
    tokens = [t for t in MarkdownIt("commonmark").parse(block) if t.type == "fence"]
    assert len(tokens) == 1 and tokens[0].content == md and tokens[0].info == "README.md"
    assert fence("a.txt", "no newline").endswith("no newline\n```")


def test_compose_puts_files_first_then_the_question() -> None:
    text = compose(
        "What does it say?",
        [Part("a.txt", "alpha\n"), Part("big.pdf", inline=False, tokens=50000, pages=120)],
    )
    assert text.startswith("```a.txt\nalpha\n```\n\n[Attached: big.pdf (120 pages, about 50,000")
    assert 'browser.open with {"id": "big.pdf"}' in text
    assert text.endswith("\n\nWhat does it say?")


def test_plan_sends_what_fits_and_routes_the_rest_to_the_library(tmp_path: Path) -> None:
    (tmp_path / "small.txt").write_text("A short note about the budget.\n")
    (tmp_path / "book.txt").write_text("Chapter one. It was a dark and stormy night.\n" * 4000)
    (tmp_path / "tail.txt").write_text("Another short note.\n")
    small, book, tail = (attach(tmp_path / n) for n in ("small.txt", "book.txt", "tail.txt"))
    assert book.ref.tokens > 30000
    p = plan([small, book, tail], budget=8000)
    assert [a.ref.name for a in p.inline] == ["small.txt", "tail.txt"]
    assert [a.ref.name for a in p.library] == ["book.txt"]
    assert p.needs_browser and small.ref.inline and not book.ref.inline
    assert p.warning.startswith("book.txt does not fit in the context")
    assert "browser tool" in p.warning
    everything = plan([small, tail], budget=8000)
    assert everything.warning == "" and not everything.needs_browser
    assert everything.tokens == small.ref.tokens + tail.ref.tokens


def test_message_text_for_a_stored_message(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("alpha beta\n")
    (tmp_path / "b.txt").write_text("gamma " * 50000)
    a, b = attach(tmp_path / "a.txt"), attach(tmp_path / "b.txt")
    plan([a, b], budget=4000)
    refs = [AttachmentRef.from_dict(json.loads(json.dumps(x.ref.to_dict()))) for x in (a, b)]
    text = message_text("Summarise.", refs)
    assert text.startswith("```a.txt\nalpha beta\n```\n\n[Attached: b.txt")
    assert "gamma" not in text
    assert estimate_tokens(text) < 200


def test_message_text_survives_a_lost_copy(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("alpha\n")
    a = attach(tmp_path / "a.txt")
    assert remove_unreferenced(keep=set()) == 1
    text = message_text("Hi", [a.ref])
    assert "The stored copy of a.txt is missing" in text and text.endswith("Hi")
