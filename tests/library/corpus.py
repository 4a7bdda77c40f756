"""Generated document folders for the library's tests and benchmark.

Text is made from a fixed vocabulary with a seeded random generator, so runs are repeatable and
each file's words are known; a few "needle" lines carry rare words a test can search for.
"""

from __future__ import annotations

import random
from pathlib import Path

VOCAB = """the of and to in is was for on with as by at from that this it are be or an which have
system data model time value state energy water light market policy theory process network
language history music garden river mountain city village school doctor patient engine battery
signal memory kernel thread socket packet budget invoice contract meeting recipe flour butter oven
orbit planet comet telescope protein enzyme gene cell membrane voltage current circuit sensor
filter matrix vector tensor gradient loss layer attention""".split()  # noqa: SIM905


def paragraph_line(rng: random.Random, words: int = 12) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(words)).capitalize() + "."


def write_corpus(
    root: Path, n_files: int, bytes_per_file: int = 2000, seed: int = 0, folders: int = 20
) -> list[Path]:
    """``n_files`` Markdown notes of about ``bytes_per_file`` bytes each, spread over
    ``folders`` sub-folders. File i contains the needle word ``needle{i}`` on line 5."""
    rng = random.Random(seed)
    paths = []
    for i in range(n_files):
        folder = root / f"topic{i % folders:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        lines = [f"# Note {i}", ""]
        size = 0
        while size < bytes_per_file:
            line = paragraph_line(rng)
            if len(lines) == 4:
                line = f"The code word for this note is needle{i}."
            lines.append(line)
            size += len(line) + 1
        p = folder / f"note{i:05d}.md"
        p.write_text("\n".join(lines) + "\n")
        paths.append(p)
    return paths
