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
from typing import Any

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
    scope = _Scope(folder_ids, attachment_keys)
    hits = _ranked(index, fts_query(query), topn, scope)
    if len(hits) < topn:
        # Any of the words may match. Words found everywhere add nothing but cost: keep the
        # ones rare enough to rank.
        terms = [t for t in fts_query(query, any_word=True).split(" OR ") if t]
        counted = sorted((_count(index, t), t) for t in terms)
        rare: list[str] = []
        total = 0
        for n, t in counted:  # the rarest words first, while BM25 can rank all they match
            if n and total + n <= RANK_CAP:
                rare.append(t)
                total += n
        if rare and len(terms) > 1:
            more = _ranked(index, " OR ".join(rare), topn, scope)
            seen = {h.doc.id for h in hits}
            hits += [h for h in more if h.doc.id not in seen][: topn - len(hits)]
    return hits


# BM25 ranks every match of a query: ~5-10 µs a chunk on a quiet machine of this size (~10 ms for
# 1,000, ~200 ms for 20,000), several times that on a busy one. A query whose words are in more
# chunks than RANK_CAP is ranked among its most recently indexed WINDOW matches (and, for
# attachments, within each attached document): such words say little about which chunk is best.
RANK_CAP = 1000
WINDOW = 400


class _Scope:
    def __init__(self, folder_ids: Sequence[int], attachment_keys: Sequence[str]) -> None:
        parts: list[str] = []
        self.args: list[object] = []
        if folder_ids:
            parts.append(f"d.folder_id IN ({','.join('?' * len(folder_ids))})")
            self.args.extend(folder_ids)
        if attachment_keys:
            parts.append(f"d.key IN ({','.join('?' * len(attachment_keys))})")
            self.args.extend(attachment_keys)
        self.sql = " OR ".join(parts)
        self.attachment_keys = list(attachment_keys)


def _count(index: LibraryIndex, expr: str) -> int:
    """How many chunks match, counting no further than RANK_CAP + 1 (cheap: no ranking)."""
    try:
        row = (
            index.connection()
            .execute(
                "SELECT COUNT(*) FROM (SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? "
                "LIMIT ?)",
                (expr, RANK_CAP + 1),
            )
            .fetchone()
        )
    except Exception:  # an FTS5 syntax corner we did not foresee: no results, never a crash
        return 0
    return int(row[0])


def _ranked(index: LibraryIndex, expr: str, topn: int, scope: _Scope) -> list[Hit]:
    if not expr:
        return []
    n = _count(index, expr)
    if n == 0:
        return []
    rows: list[Any] = []
    if n <= RANK_CAP:
        rows = _rank(index, expr, "", [], topn, scope)
    else:
        con = index.connection()
        edge = con.execute(
            "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY rowid DESC "
            "LIMIT 1 OFFSET ?",
            (expr, WINDOW),
        ).fetchone()
        rows += _rank(index, expr, "AND rowid > ?", [edge[0]], topn, scope)
        for key in scope.attachment_keys:
            lo, hi = con.execute(
                "SELECT MIN(c.id), MAX(c.id) FROM chunks c JOIN docs d ON d.id = c.doc_id "
                "WHERE d.key = ?",
                (key,),
            ).fetchone()
            if lo is not None:
                rows += _rank(index, expr, "AND rowid BETWEEN ? AND ?", [lo, hi], topn, scope)
        rows.sort(key=lambda r: float(r[9]))
    words = [w.lower() for w in _WORD.findall(expr) if w not in ("OR", "title")]
    best: dict[int, Hit] = {}
    for row in rows:
        doc = doc_from_row(row[:8])
        if doc.id in best:
            continue
        text = (
            index.connection()
            .execute("SELECT text FROM chunks_fts WHERE rowid = ?", (row[10],))
            .fetchone()
        )
        offset, line = best_line(str(text[0]) if text else "", words)
        best[doc.id] = Hit(doc, int(row[8]) + offset, line, float(row[9]))
        if len(best) == topn:
            break
    return list(best.values())


def _rank(
    index: LibraryIndex, expr: str, extra: str, extra_args: list[object], topn: int, scope: _Scope
) -> list[Any]:
    """The best-scoring in-scope chunks for ``expr`` (BM25 over every match: keep it small)."""
    sql = (
        "SELECT d.id, d.key, d.path, d.rel, d.title, d.folder_id, d.lines, d.sha256, "
        "c.start_line, f.score, f.rowid FROM "
        f"(SELECT rowid, bm25(chunks_fts, 1.0, {_TITLE_WEIGHT}) AS score FROM chunks_fts "
        f"WHERE chunks_fts MATCH ? {extra}) f "
        "JOIN chunks c ON c.id = f.rowid JOIN docs d ON d.id = c.doc_id "
        f"WHERE ({scope.sql}) ORDER BY f.score LIMIT ?"
    )
    try:
        return (
            index.connection()
            .execute(sql, [expr, *extra_args, *scope.args, topn * _CANDIDATES])
            .fetchall()
        )
    except Exception:  # an FTS5 syntax corner we did not foresee: no results, never a crash
        return []


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
