"""A demo conversation (thinking, code, a table) for screenshots and manual checks.

HEARTH_HOME=/tmp/demo .venv/bin/python tools/demo_store.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.store import Store

QUESTION = "How do I read a large CSV file in Python without running out of memory?"

REASONING = (
    "The user wants to process a big CSV. Options: the csv module streams row by row; pandas "
    "can read in chunks with chunksize; polars has a lazy scan. Show the standard-library way "
    "first, then pandas chunks, and compare them briefly in a table."
)

ANSWER = """Read it **in pieces** instead of all at once. With the standard library:

```python
import csv

def total_sales(path: str) -> float:
    total = 0.0
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            total += float(row["amount"])
    return total
```

| approach | memory | best for |
|---|---|---|
| `csv.DictReader` | one row | simple sums, filters |
| pandas `chunksize` | one chunk | grouping, statistics |
| polars `scan_csv` | lazy | large analytical queries |

Keep chunks around **100,000 rows**: big enough to be fast, small enough to fit in memory.
"""

OTHER_CHATS = [
    "Plan a three-day trip to Lisbon",
    "Explain Rust lifetimes with an example",
    "Draft a polite reminder email",
    "What is the Harmony chat format?",
    "Regex for ISO 8601 dates",
]


def build(store: Store) -> int:
    for title in OTHER_CHATS:
        c = store.create_conversation(title)
        store.add_message(c.id, "user", title)
        store.add_message(c.id, "assistant", "…", status="done")
    conv = store.create_conversation()
    store.add_message(conv.id, "user", QUESTION)
    store.add_message(
        conv.id,
        "assistant",
        ANSWER,
        reasoning=REASONING,
        stats={
            "generated_tokens": 412,
            "generation_tps": 38.4,
            "ttft_s": 0.41,
            "thinking_s": 3.2,
            "context_used": 731,
            "context_size": 8192,
        },
    )
    store.set_pinned(store.list_conversations()[-1].id, True)
    # Spread the other chats over the past weeks, so the sidebar shows its date groups.
    now = time.time()
    for c, days in zip(store.list_conversations()[2:], (1.1, 2.5, 9, 40), strict=False):
        store.execute_raw(
            "UPDATE conversations SET updated_at = ? WHERE id = ?", (now - days * 86400, c.id)
        )
    return conv.id


if __name__ == "__main__":
    with Store.open() as s:
        print(build(s))
