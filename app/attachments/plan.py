"""From files the user picked to what the model gets: read, store, count, decide what fits.

``attach(path)`` reads and stores one file (or raises AttachmentError with the sentence for its
chip). ``plan(attachments, budget)`` decides, in the order attached, which go into the message in
full and which are too long and go to the library (reached through the browser tool), and gives
the warning the composer shows. ``message_text`` builds the user message the model reads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app import paths
from app.attachments.extract import AttachmentError, extract_text, format_size
from app.attachments.fence import Part, compose
from app.attachments.storage import AttachmentRef, load_text, save_text, store_file
from app.attachments.tokens import FIT_MARGIN, estimate_tokens

# Space the reply needs: the budget the caller passes should already leave it out, but a plan
# never lets attachments take more than this share of what is left.
MAX_SHARE = 0.9


@dataclass
class Attachment:
    """A file ready to send: its stored record and its text."""

    ref: AttachmentRef
    text: str

    @property
    def chip(self) -> str:
        """What the chip under the composer says: "report.pdf · 1.2 MB · ≈ 3,400 tokens"."""
        pages = f" · {self.ref.pages} pages" if self.ref.pages else ""
        return (
            f"{self.ref.name} · {format_size(self.ref.size)}{pages} · ≈ {self.ref.tokens:,} tokens"
        )


def attach(path: str | os.PathLike[str]) -> Attachment:
    """Read ``path``, copy it into Hearth's data folder and count its tokens. Raises
    AttachmentError (its text is the sentence for the user) for a file Hearth cannot read."""
    p = Path(path)
    extracted = extract_text(p)
    sha, stored = store_file(p)
    save_text(sha, extracted.text)
    ref = AttachmentRef(
        name=p.name,
        sha256=sha,
        size=stored.stat().st_size,
        kind=extracted.kind,
        tokens=estimate_tokens(extracted.text),
        pages=extracted.pages,
        encoding=extracted.encoding,
        stored=stored.relative_to(paths.data_dir()).as_posix(),
    )
    return Attachment(ref, extracted.text)


@dataclass
class Plan:
    inline: list[Attachment] = field(default_factory=list)  # in the message, in full
    library: list[Attachment] = field(default_factory=list)  # indexed; the browser tool reads them
    tokens: int = 0  # estimated tokens of what goes in full
    budget: int = 0
    warning: str = ""  # for the composer; "" when everything fits

    @property
    def needs_browser(self) -> bool:
        return bool(self.library)


def plan(attachments: Sequence[Attachment], budget: int) -> Plan:
    """Decide what goes in full: in the order attached, each file that still fits (with the
    estimate's margin) goes in; the rest go to the library. Sets each ref's ``inline``."""
    room = int(budget * MAX_SHARE)
    out = Plan(budget=budget)
    for a in attachments:
        need = int(a.ref.tokens * FIT_MARGIN)
        if need <= room - int(out.tokens * FIT_MARGIN):
            a.ref.inline = True
            out.inline.append(a)
            out.tokens += a.ref.tokens
        else:
            a.ref.inline = False
            out.library.append(a)
    if out.library:
        names = ", ".join(a.ref.name for a in out.library)
        total = sum(a.ref.tokens for a in attachments)
        out.warning = (
            f"{names} {'does' if len(out.library) == 1 else 'do'} not fit in the context "
            f"(≈ {total:,} tokens attached, about {room:,} free): the model will search "
            f"{'it' if len(out.library) == 1 else 'them'} with its browser tool instead of "
            "reading everything. Start a new chat or remove files to send them in full."
        )
    return out


def message_text(
    user_text: str, refs: Sequence[AttachmentRef], texts: dict[str, str] | None = None
) -> str:
    """The user message the model reads, for a stored message: each ``inline`` attachment
    fenced in full (its text from ``texts`` by sha256, else from the store), the others as a
    note pointing to the browser tool, then what the user typed."""
    parts = []
    for ref in refs:
        if not ref.inline:
            parts.append(Part(ref.name, inline=False, tokens=ref.tokens, pages=ref.pages))
            continue
        text = (texts or {}).get(ref.sha256)
        if text is None:
            text = load_text(ref)
        if text is None:
            try:
                text = extract_text(ref.path).text
            except AttachmentError:
                text = f"(The stored copy of {ref.name} is missing; its text is not available.)"
        parts.append(Part(ref.name, text))
    return compose(user_text, parts)
