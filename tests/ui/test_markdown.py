"""The Markdown renderer: whole documents, incremental streaming, safety."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.ui.markdown import IncrementalMarkdown, MarkdownColors, Segment, render_document

C = MarkdownColors()

DOC = """# Title

A paragraph with *emphasis*, `code` and a [link](https://example.org).

- one
- two

| name | value |
|:-----|------:|
| a    | 1     |

```python
def f(x):
    return x + 1
```

> a quote

Final words.
"""


def _kinds(segments: list[Segment]) -> list[str]:
    return [s.kind for s in segments]


def test_document_renders_every_construct() -> None:
    segs = render_document(DOC, C)
    assert _kinds(segs) == ["html", "code", "html"]
    head = segs[0].html
    assert "<h1" in head and "<i>emphasis</i>" in head and 'href="https://example.org"' in head
    assert "<ul" in head and "<table" in head and ">name<" in head and 'align="right"' in head
    code = segs[1]
    assert code.lang == "python" and code.code == "def f(x):\n    return x + 1\n"
    assert "<span" in code.html and "color" in code.html  # highlighted
    assert "<blockquote" in segs[2].html


def test_raw_html_is_escaped_and_images_become_links() -> None:
    html = render_document("<script>alert(1)</script>\n\n![alt](http://x/y.png) <b>x</b>", C)[
        0
    ].html
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and '<a href="http://x/y.png"' in html and "[image: alt]" in html
    assert "&lt;b&gt;" in html


def _stream(text: str, step: int) -> tuple[list[Segment], int]:
    inc = IncrementalMarkdown(C)
    finished: list[Segment] = []
    updates = 0
    for end in range(step, len(text) + step, step):
        done, _tail = inc.update(text[:end])
        finished.extend(done)
        updates += 1
    finished.extend(inc.finish(text))
    return finished, updates


def _merged(segs: list[Segment]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for s in segs:
        if out and s.kind == "html" and out[-1][0] == "html":
            out[-1] = ("html", out[-1][1] + s.html)
        else:
            out.append((s.kind, s.html))
    return out


def test_streaming_gives_the_same_result_as_rendering_at_once() -> None:
    for step in (1, 3, 7, 40):
        streamed, _ = _stream(DOC, step)
        assert _merged(streamed) == _merged(render_document(DOC, C)), step


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "para text",
                "# head",
                "- item",
                "1. first",
                "```",
                "code line",
                "| a | b |",
                "|---|---|",
                "> quote",
                "",
                "",
                "***",
                "    indented",
                "text *em*",
            ]
        ),
        max_size=30,
    ),
    st.integers(min_value=1, max_value=25),
)
def test_streaming_matches_for_random_documents(lines: list[str], step: int) -> None:
    text = "\n".join(lines)
    streamed, _ = _stream(text, step)
    assert _merged(streamed) == _merged(render_document(text, C))


def test_tail_parse_stays_small() -> None:
    """Only the open block is parsed again: the text already committed is never re-rendered."""
    inc = IncrementalMarkdown(C)
    text = "".join(f"Paragraph number {i}.\n\n" for i in range(500))
    inc.update(text)
    assert inc._committed >= len(text) - 2 * len("Paragraph number 499.\n\n")


def test_browser_citations_become_links_the_app_resolves() -> None:
    from app.library import parse_citation_url

    html = render_document("Cells reach 20% 【1†L23-L24】 or 【2†L5】; `【3†L1】` is code.", C)[
        0
    ].html
    assert '<a href="cite:1:23:24"' in html and ">&#8201;L23–24&#8201;</a>" in html
    assert '<a href="cite:2:5:5"' in html
    assert 'href="cite:3' not in html  # not inside a code span
    assert parse_citation_url("cite:1:23:24") == (1, 23, 24)
    assert parse_citation_url("https://example.org") is None
