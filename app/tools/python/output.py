"""What one run of code printed, and what the model and the user each get of it.

The user keeps everything up to ``user_chars`` (a card can show a megabyte; a runaway print of
100 MB cannot be kept); the model gets at most ``model_chars``: the head and the tail, with a
line saying how much was cut (a traceback sits at the end: the tail matters). Images are saved
to the chat's output folder; the model reads a line saying that the user saw them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.tools.base import ToolFile

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
NO_OUTPUT = (
    "[WARN] No output available. Use print() to output anything to stdout to receive the output"
)


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


@dataclass
class OutputCollector:
    output_dir: Path
    drive: str = "/mnt/data"  # how the code names the chat folder (for the model's text)
    user_chars: int = 1_000_000
    model_chars: int = 16_000
    parts: list[str] = field(default_factory=list)  # the head, up to user_chars
    kept: int = 0  # characters in ``parts``
    seen: int = 0  # characters the code produced
    tail: str = ""  # the last characters past the head (a traceback after a flood of output)
    images: list[ToolFile] = field(default_factory=list)
    error_name: str = ""
    on_output: Callable[[str], None] | None = None

    def text(self, text: str) -> None:
        if self.on_output is not None and text and self.kept < self.user_chars:
            self.on_output(text[: self.user_chars - self.kept])
        self.seen += len(text)
        room = self.user_chars - self.kept
        if room > 0:
            piece = text[:room]
            self.parts.append(piece)
            self.kept += len(piece)
            text = text[room:]
        if text:
            keep = self.model_chars
            self.tail = text[-keep:] if len(text) >= keep else (self.tail + text)[-keep:]

    def result(self, text: str) -> None:
        self.text(text if text.endswith("\n") else text + "\n")

    def error(self, traceback: list[Any], content: dict[str, Any]) -> None:
        self.error_name = str(content.get("ename", "") or "Error")
        lines = [strip_ansi(str(line)) for line in traceback]
        if not lines:
            lines = [f"{content.get('ename', '')}: {content.get('evalue', '')}"]
        self.text("\n".join(lines) + "\n")

    def image(self, data: bytes, suffix: str, alt: str) -> None:
        self.output_dir.mkdir(parents=True, exist_ok=True)
        n = 1
        while (self.output_dir / f"figure-{n}{suffix}").exists():
            n += 1
        path = self.output_dir / f"figure-{n}{suffix}"
        path.write_bytes(data)
        mime = "image/png" if suffix == ".png" else "image/jpeg"
        self.images.append(ToolFile(str(path), path.name, mime, len(data)))
        what = alt.strip() or "An image"
        self.text(f"{what} (shown to the user as {path.name})\n")

    # -- results ---------------------------------------------------------------------------

    @property
    def _gap(self) -> int:
        return self.seen - self.kept - len(self.tail)

    @property
    def full(self) -> str:
        """What the user keeps: the head, and the tail when the middle was too much."""
        head = "".join(self.parts)
        if not self.tail:
            return head
        if self._gap <= 0:
            return head + self.tail
        return head + f"\n[… {self._gap:,} characters of output cut here …]\n" + self.tail

    @property
    def user_truncated(self) -> bool:
        return self._gap > 0

    def for_model(self) -> tuple[str, bool]:
        """(text, truncated) for the model: head and tail around a line saying what was cut."""
        if self.seen == 0 or not (self.full.strip()):
            return NO_OUTPUT, False
        if self.seen <= self.model_chars:
            return self.full, False
        head_n = self.model_chars * 2 // 3
        tail_n = self.model_chars - head_n
        head = "".join(self.parts)[:head_n]
        whole_end = self.tail if self._gap > 0 else self.full  # contiguous to the real end
        tail = whole_end[-tail_n:] if tail_n else ""
        cut = self.seen - len(head) - len(tail)
        return head + f"\n[… {cut:,} characters of output cut here …]\n" + tail, True
