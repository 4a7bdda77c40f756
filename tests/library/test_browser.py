"""The browser tool over a generated library: search ranking, numbered windows, find, cursors and
citations, in the reference tool's format; scope limits; an attachment too long for the context."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.attachments import attach, estimate_tokens, message_text, plan
from app.library import (
    BrowserState,
    BrowserTool,
    LibraryIndex,
    find_citations,
    footnotes,
    resolve_citation,
    sync_folder,
)
from app.tools.base import Tool, ToolCall, ToolContext, ToolResult
from tests.library.corpus import write_corpus

LINK = re.compile(r"^  \* 【(\d+)†([^†】]+)†([^†】]+)】 L(\d+): (.*)$")
HEADER = re.compile(r"^\[(\d+)\] (.*)\n\*\*viewing lines \[(\d+) - (\d+)\] of (\d+)\*\*\n\n")


@pytest.fixture
def library(tmp_path: Path) -> tuple[LibraryIndex, Path]:
    root = tmp_path / "notes"
    write_corpus(root, 60, bytes_per_file=3000)
    (root / "energy").mkdir()
    (root / "energy" / "solar.md").write_text(
        "# Solar panels\n\n"
        + "Filler about the roof and the weather.\n" * 20
        + "Solar panel efficiency is about 20 percent for silicon cells.\n"
        + "A solar panel's efficiency drops as it gets hot.\n"
        + "More filler text.\n" * 200
    )
    (root / "energy" / "wind.md").write_text(
        "# Wind\n\nTurbines convert wind. A solar farm is mentioned once here.\n"
    )
    (root / "energy" / "grid.md").write_text("# Grid\n\nThe panel of experts met on Tuesday.\n")
    index = LibraryIndex()
    sync_folder(index, root)
    return index, root


def _call(tool: Tool, fn: str, **args: object) -> ToolResult:
    return tool.run(ToolCall(f"browser.{fn}", json.dumps(args)), ToolContext(work_dir=Path(".")))


def _view(text: str) -> tuple[int, str, int, int, int, list[str]]:
    m = HEADER.match(text)
    assert m, text[:200]
    body = text[m.end() :].split("\n")
    return int(m[1]), m[2], int(m[3]), int(m[4]), int(m[5]), body


def test_search_ranks_and_formats_like_the_reference_tool(library) -> None:
    index, root = library
    tool = BrowserTool(index, folders=[root])
    r = _call(tool, "search", query="solar panel efficiency", topn=5)
    assert r.ok and r.text == r.output
    cursor, title, first, _, _, body = _view(r.text)
    assert (cursor, title, first) == (0, "solar panel efficiency", 0)
    assert body[:2] == ["L0: # Search Results", "L1: "]
    links = [LINK.match(line.split(": ", 1)[1]) for line in body[2:]]
    assert all(links), body
    ranked = [(m[1], m[2], m[3]) for m in links if m]
    # All three words, in the title too: first. One or two of the words: after it.
    assert ranked[0] == ("0", "Solar panels", "notes/energy/solar.md")
    assert {r[2] for r in ranked[1:]} == {"notes/energy/wind.md", "notes/energy/grid.md"}
    first_hit = links[0]
    assert first_hit is not None and first_hit[4] == "23"  # the line with all three words
    assert first_hit[5].startswith("Solar panel efficiency is about 20 percent")


def test_open_a_result_shows_a_numbered_window_at_the_passage(library) -> None:
    index, root = library
    tool = BrowserTool(index, folders=[root])
    _call(tool, "search", query="solar panel efficiency")
    r = _call(tool, "open", id=0)
    cursor, title, first, last, total, body = _view(r.text)
    lines = (root / "energy" / "solar.md").read_text().split("\n")
    assert cursor == 1
    assert title == f"notes/energy/solar.md ({(root / 'energy' / 'solar.md').as_uri()})"
    assert first == 19  # 4 lines above the passage (line 23), like the reference tool
    assert total == len(lines)  # L0 is the URL line, so the last line is L{len(lines)}
    assert body[0] == f"L19: {lines[18]}"
    assert f"L23: {lines[22]}" in body
    # About 1,000 tokens a view, as the reference tool's view_tokens.
    assert 700 <= estimate_tokens(r.text) <= 1200
    assert last == first + len(body) - 1
    # Scroll: open without an id moves on the same document, with a new cursor.
    r2 = _call(tool, "open", loc=200, num_lines=3)
    cursor2, _, first2, last2, _, body2 = _view(r2.text)
    assert (cursor2, first2, last2) == (2, 200, 202)
    assert body2 == [f"L{n}: {lines[n - 1]}" for n in (200, 201, 202)]
    # The start of a document is its URL line.
    r3 = _call(tool, "open", id="notes/energy/wind.md")
    assert _view(r3.text)[5][:2] == [
        f"L0: URL: {(root / 'energy' / 'wind.md').as_uri()}",
        "L1: # Wind",
    ]


def test_open_errors_are_told_to_the_model(library) -> None:
    index, root = library
    tool = BrowserTool(index, folders=[root])
    assert _call(tool, "open", id=0).text == "No pages to access! Use browser.search first."
    _call(tool, "search", query="solar")
    assert _call(tool, "open", id=99).text == "Invalid link id `99`."
    assert _call(tool, "open", cursor=7).text.startswith("Cursor `7` is out of range.")
    r = _call(tool, "open", id="notes/energy/grid.md", loc=500)
    assert r.status == "error"
    assert r.text == "Invalid location parameter: `500`. Cannot exceed page maximum of 4."
    assert len(tool.state.pages) == 1  # a failed open does not leave a page behind
    missing = _call(tool, "open", id="nowhere.md")
    assert missing.text.startswith("No document `nowhere.md` in the library: use browser.search")
    bad = tool.run(ToolCall("browser.open", "{not json"), ToolContext(work_dir=Path(".")))
    assert bad.status == "error" and bad.error == "Invalid function arguments: send a JSON object."
    assert _call(tool, "fly").text == "Unknown function: fly"


def test_find_in_the_open_page(library) -> None:
    index, root = library
    tool = BrowserTool(index, folders=[root])
    _call(tool, "open", id=(root / "energy" / "solar.md").as_uri())
    r = _call(tool, "find", pattern="EFFICIENCY")
    cursor, title, *_, body = _view(r.text)
    assert cursor == 1
    assert title.startswith("Find results for text: `EFFICIENCY` in `notes/energy/solar.md`")
    # One match: the next one (line 24) is within the 4 lines shown, so not listed again.
    assert body == [
        "L0: # 【0†match at L23】",
        "L1: Solar panel efficiency is about 20 percent for silicon cells.",
        "L2: A solar panel's efficiency drops as it gets hot.",
        "L3: More filler text.",
        "L4: More filler text.",
    ]
    # A find result is a link: opening it goes to the document at that line.
    opened = _call(tool, "open", id=0)
    assert _view(opened.text)[2] == 19
    on_results = _call(tool, "find", pattern="zzz", cursor=1)
    assert on_results.text == "Cannot run `find` on search results page or find results page"
    none = _call(tool, "find", pattern="no such words")
    assert "No `find` results for pattern: `no such words`" in none.text


def test_citations_resolve_to_files_and_lines(library) -> None:
    index, root = library
    tool = BrowserTool(index, folders=[root])
    _call(tool, "search", query="solar panel efficiency")  # cursor 0
    _call(tool, "open", id=0)  # cursor 1
    _call(tool, "find", pattern="efficiency")  # cursor 2
    answer = "Silicon cells reach about 20% 【1†L23-L24】, less when hot 【2†L2】; see 【0†L2】."
    cites = find_citations(answer)
    assert [(c.cursor, c.first, c.last) for c in cites] == [(1, 23, 24), (2, 2, 2), (0, 2, 2)]
    assert answer[cites[0].start : cites[0].end] == "【1†L23-L24】" == cites[0].text
    solar = str(root / "energy" / "solar.md")
    targets = [resolve_citation(index, tool.state, c.cursor, c.first, c.last) for c in cites]
    assert [(t.path, t.first_line, t.last_line) for t in targets if t] == [
        (solar, 23, 24),
        (solar, 24, 24),  # find page line 2 is the file's line 24
        (solar, 23, 23),  # search page line 2 is the first result: its passage
    ]
    assert targets[0] is not None and targets[0].label == "solar.md, lines 23–24"
    assert resolve_citation(index, tool.state, 9, 1) is None
    # The state is plain data: kept with the chat, it resolves the same after a restart, and
    # the next call continues the cursor numbering.
    saved = json.loads(json.dumps(tool.state.to_dict()))
    again = BrowserTool(index, folders=[root], state=BrowserState.from_dict(saved))
    assert resolve_citation(index, again.state, 1, 23, 24) == targets[0]
    assert _view(_call(again, "search", query="wind").text)[0] == 3
    # Exported, citations become footnotes.
    exported = footnotes(answer + " Made up 【9†L1】.", index, tool.state)
    assert exported.startswith("Silicon cells reach about 20% [^1], less when hot [^2]; see [^3].")
    assert "Made up 【9†L1】." in exported  # left as it is
    assert f"[^1]: notes/energy/solar.md, lines 23–24 ({solar})" in exported
    assert f"[^3]: notes/energy/solar.md, line 23 ({solar})" in exported


def test_scope_only_what_the_chat_allows(library, tmp_path: Path) -> None:
    index, root = library
    other = tmp_path / "private"
    other.mkdir()
    (other / "diary.md").write_text("My secret solar plans.\n")
    sync_folder(index, other)
    tool = BrowserTool(index, folders=[root])
    r = _call(tool, "search", query="secret solar plans")
    assert "diary" not in r.text
    refused = _call(tool, "open", id=str(other / "diary.md"))
    assert (
        refused.status == "error" and "is not in the folders this chat may browse" in refused.text
    )
    nothing = _call(BrowserTool(index), "search", query="solar")
    assert nothing.status == "unavailable" and "has not allowed any Library folders" in nothing.text


def test_an_attachment_too_long_for_the_context_is_read_through_the_browser(tmp_path: Path):
    chapter = "The expedition crossed the glacier at dawn and made camp by the ridge.\n"
    body = chapter * 3000 + "The treasure was buried under the old lighthouse.\n" + chapter * 500
    (tmp_path / "logbook.txt").write_text(body)
    (tmp_path / "question.txt").write_text("Where was the treasure?\n")
    big, small = attach(tmp_path / "logbook.txt"), attach(tmp_path / "question.txt")
    p = plan([big, small], budget=16_000)
    assert [a.ref.name for a in p.library] == ["logbook.txt"] and p.inline == [small]
    index = LibraryIndex()
    for a in p.library:
        index.add_attachment(a.ref.sha256, a.ref.name, a.text, a.ref.path)
    msg = message_text("Where is the treasure?", [big.ref, small.ref])
    assert "lighthouse" not in msg and '{"id": "logbook.txt"}' in msg
    tool = BrowserTool(index, attachments=[big.ref.sha256])
    r = _call(tool, "search", query="where was the treasure buried")
    m = LINK.match(_view(r.text)[5][2].split(": ", 1)[1])
    assert m and m[3] == "logbook.txt" and m[4] == "3001"
    opened = _call(tool, "open", id="logbook.txt", loc=2999, num_lines=3)
    assert "L3001: The treasure was buried under the old lighthouse." in opened.text
    cite = resolve_citation(index, tool.state, 1, 3001)
    assert cite is not None and cite.path == str(big.ref.path) and cite.first_line == 3001
