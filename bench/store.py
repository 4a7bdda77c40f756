"""Store benchmarks: start-up, opening a long chat and search, on 1,000 chats / 100,000 messages.

The database is built with one bulk transaction (the real schema, triggers and FTS index), then
read through the real ``Store`` API, each figure the median of several runs.
"""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path

from app.store import Store
from bench.core import Context, Result, median

BENCH = "store"
COMMON = [
    "the",
    "a",
    "to",
    "and",
    "of",
    "in",
    "is",
    "it",
    "you",
    "that",
    "for",
    "on",
    "with",
    "this",
    "be",
    "are",
    "as",
    "can",
    "not",
    "have",
    "your",
    "or",
    "but",
    "if",
    "so",
    "do",
    "what",
    "how",
    "about",
    "will",
    "would",
    "there",
    "some",
    "more",
    "use",
    "one",
    "when",
    "which",
    "make",
    "like",
]


def _vocabulary(rng: random.Random, n: int = 20_000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = {"".join(rng.choice(letters) for _ in range(rng.randint(4, 10))) for _ in range(n)}
    return sorted(words)


def _text(rng: random.Random, vocab: list[str], n_words: int) -> str:
    # Zipf-like: common words often, the long tail rarely, as in real chat text.
    out = []
    for _ in range(n_words):
        if rng.random() < 0.45:
            out.append(rng.choice(COMMON))
        else:
            out.append(vocab[min(len(vocab) - 1, int(rng.paretovariate(0.7)) - 1)])
    return " ".join(out)


def build(path: Path, conversations: int, messages: int, long_chat: int) -> dict[str, int]:
    """Create the database through Store (schema), then bulk-insert in one transaction."""
    Store.open(path).close()
    rng = random.Random(7)
    vocab = _vocabulary(rng)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("BEGIN")
    now = time.time() - 86_400 * 365
    per_chat = [long_chat] + [
        (messages - long_chat) // (conversations - 1) for _ in range(conversations - 1)
    ]
    per_chat[-1] += messages - sum(per_chat)
    mid = 0
    long_id = 0
    for ci, count in enumerate(per_chat):
        t = now + ci * 3600
        cid = conn.execute(
            "INSERT INTO conversations (title, created_at, updated_at, pinned, settings)"
            " VALUES (?, ?, ?, ?, '{}')",
            (_text(rng, vocab, 5)[:60], t, t + count, int(ci % 97 == 0)),
        ).lastrowid
        if ci == 0:
            long_id = int(cid or 0)
        rows = []
        parent = None
        first = mid + 1
        for k in range(count):
            mid += 1
            user = k % 2 == 0
            rows.append(
                (
                    mid,
                    cid,
                    parent,
                    "user" if user else "assistant",
                    _text(rng, vocab, 15 if user else 60),
                    "" if user else _text(rng, vocab, 20),
                    "done",
                    t + k,
                    t + k,
                    mid + 1 if k + 1 < count else None,
                )
            )
            parent = mid
        conn.executemany(
            "INSERT INTO messages (id, conversation_id, parent_id, role, content, reasoning,"
            " status, created_at, updated_at, selected_child_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.execute("UPDATE conversations SET active_leaf_id = ? WHERE id = ?", (mid, cid))
        assert first <= mid
    conn.execute("COMMIT")
    conn.execute("PRAGMA optimize")
    conn.close()
    return {"long_chat_id": long_id, "vocab_word_rank_100": 100}


def _time(fn, runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return median(times), times


def run(ctx: Context) -> list[Result]:
    conversations, messages, long_chat = (1000, 100_000, 2000)
    if ctx.quick:
        conversations, messages, long_chat = (100, 10_000, 2000)
    db = ctx.work / "store-bench.sqlite3"
    t0 = time.perf_counter()
    info = build(db, conversations, messages, long_chat)
    build_s = time.perf_counter() - t0
    runs = 3 if ctx.quick else 7

    def startup() -> None:
        with Store.open(db) as s:
            assert len(s.list_conversations()) == conversations

    start_ms, start_all = _time(startup, runs)

    store = Store.open(db)
    cid = info["long_chat_id"]

    def open_chat() -> None:
        store.get_conversation(cid)
        path = store.active_path(cid)
        store.path_branches(cid, path)
        assert len(path) == long_chat

    open_ms, open_all = _time(open_chat, runs)

    rng = random.Random(11)
    vocab = _vocabulary(random.Random(7))
    # Queries a person types: a word from the middle of the vocabulary, a rarer one, two words,
    # and a prefix while typing.
    queries = [vocab[rng.randint(2, 40)] for _ in range(3)]
    queries += [vocab[rng.randint(200, 2000)] for _ in range(3)]
    queries += [f"{vocab[rng.randint(2, 40)]} {vocab[rng.randint(2, 40)]}" for _ in range(2)]
    queries += [vocab[rng.randint(2, 40)][:3]]
    queries += ["what", "the"]  # the worst case: words in a third of all messages
    per_query: dict[str, float] = {}
    hits: dict[str, int] = {}
    for q in queries:
        per_query[q], _ = _time(lambda q=q: store.search(q, limit=50), runs)
        hits[q] = len(store.search(q, limit=50))
    search_ms = median(list(per_query.values()))
    store.close()
    base = {"conversations": conversations, "messages": messages, "build_s": round(build_s, 1)}
    return [
        Result(
            BENCH,
            "start-up: open + list chats",
            start_ms,
            "ms",
            "<= 100",
            base | {"runs_ms": start_all},
        ),
        Result(
            BENCH,
            f"open a {long_chat}-message chat",
            open_ms,
            "ms",
            "<= 200",
            base | {"runs_ms": open_all},
        ),
        Result(
            BENCH,
            f"search {messages:,} messages",
            search_ms,
            "ms",
            "<= 100",
            base | {"per_query_ms": per_query, "hits": hits, "worst_ms": max(per_query.values())},
        ),
    ]
