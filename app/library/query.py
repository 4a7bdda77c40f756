"""Ranked search over the library: a model's query in, one best passage per document out.

The model writes natural language ("how do I rotate the API keys"). FTS5 wants a query
expression, so the words are quoted (no operator in a query can fail to parse) and stop words
dropped; all remaining words must match first (precise, and fast on a large index), and if that
finds fewer documents than asked for, any of them may (BM25 then ranks documents that match more
and rarer words first). A phrase the model put in double quotes stays a phrase.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.library.index import Doc, LibraryIndex, doc_from_row

_WORD = re.compile(r"\w+", re.UNICODE)
_PHRASE = re.compile(r'"([^"]+)"')
_STOP = frozenset(
    """a an and are as at be but by can could did do does for from had has have how i if in
    into is it its me my no not of on or our so such than that the their then there these
    they this to was we were what when where which who why will with would you your""".split()  # noqa: SIM905
)
_CANDIDATES = 8  # chunks fetched per result wanted (several chunks of one file may rank high)
_TITLE_WEIGHT = 4.0  # a word in the title or path counts this much more than in the text


@dataclass(frozen=True)
class Hit:
    doc: Doc
    line: int  # 1-based line of the best passage
    snippet: str  # that line (trimmed)
    score: float  # BM25 (lower is better, as SQLite returns it)


def fts_query(query: str, *, any_word: bool = False) -> str:
    """The FTS5 expression for a natural-language query ("" if nothing is searchable)."""
    phrases = [p.strip() for p in _PHRASE.findall(query) if _WORD.search(p)]
    rest = _PHRASE.sub(" ", query)
    words = [w.lower() for w in _WORD.findall(rest)]
    kept = [w for w in words if w not in _STOP] or words
    terms = [_quote(" ".join(_WORD.findall(p))) for p in phrases]
    seen: set[str] = set()
    for w in kept:
        if w not in seen:
            seen.add(w)
            terms.append(_quote(w))
    return (" OR " if any_word else " ").join(terms)


def _quote(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def search(
    index: LibraryIndex,
    query: str,
    topn: int = 10,
    *,
    folder_ids: Sequence[int] = (),
    attachment_keys: Sequence[str] = (),
) -> list[Hit]:
    """The best ``topn`` documents for ``query`` among the given folders and attachments (an
    empty scope finds nothing: the model browses only what the user allowed)."""
    if not folder_ids and not attachment_keys:
        return []
    hits = _run(index, fts_query(query), topn, folder_ids, attachment_keys)
    if len(hits) < topn:
        more = _run(index, fts_query(query, any_word=True), topn, folder_ids, attachment_keys)
        seen = {h.doc.id for h in hits}
        hits += [h for h in more if h.doc.id not in seen][: topn - len(hits)]
    return hits


def _run(
    index: LibraryIndex,
    expr: str,
    topn: int,
    folder_ids: Sequence[int],
    attachment_keys: Sequence[str],
) -> list[Hit]:
    if not expr:
        return []
    scope = []
    args: list[object] = [expr]
    if folder_ids:
        scope.append(f"d.folder_id IN ({','.join('?' * len(folder_ids))})")
        args.extend(folder_ids)
    if attachment_keys:
        scope.append(f"d.key IN ({','.join('?' * len(attachment_keys))})")
        args.extend(attachment_keys)
    args.append(topn * _CANDIDATES)
    sql = (
        "SELECT d.id, d.key, d.path, d.rel, d.title, d.folder_id, d.lines, d.sha256, "
        "c.start_line, f.text, f.score FROM "
        f"(SELECT rowid, text, bm25(chunks_fts, 1.0, {_TITLE_WEIGHT}) AS score FROM chunks_fts "
        "WHERE chunks_fts MATCH ?) f "
        "JOIN chunks c ON c.id = f.rowid JOIN docs d ON d.id = c.doc_id "
        f"WHERE ({' OR '.join(scope)}) ORDER BY f.score LIMIT ?"
    )
    try:
        rows = index.connection().execute(sql, args).fetchall()
    except Exception:  # an FTS5 syntax corner we did not foresee: no results, never a crash
        return []
    words = [w.lower() for w in _WORD.findall(expr) if w.upper() != "OR"]
    best: dict[int, Hit] = {}
    for row in rows:
        doc = doc_from_row(row[:8])
        if doc.id in best:
            continue
        offset, line = best_line(str(row[9]), words)
        best[doc.id] = Hit(doc, int(row[8]) + offset, line, float(row[10]))
        if len(best) == topn:
            break
    return list(best.values())


def best_line(text: str, words: Sequence[str]) -> tuple[int, str]:
    """(offset, line) of the chunk line that holds the most query words (by stem-ish prefix)."""
    stems = [w[: max(4, len(w) - 2)] for w in words]
    best = (0, -1)
    lines = text.split("\n")
    for i, line in enumerate(lines):
        low = line.lower()
        score = sum(1 for s in stems if s in low)
        if score > best[1] and line.strip():
            best = (i, score)
    i = best[0]
    return i, lines[i].strip()[:300] if lines else ""
