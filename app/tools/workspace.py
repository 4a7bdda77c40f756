"""Each chat's own folder for its tools: ``files`` (what the python tool's code sees as
/mnt/data, and where the user drops files for it) and ``outputs`` (figures the code displayed,
kept out of the code's reach)."""

from __future__ import annotations

from pathlib import Path

from app import paths


def chat_root(conversation_id: int | None) -> Path:
    name = str(conversation_id) if conversation_id is not None else "scratch"
    return paths.data_dir() / "chats" / name


def work_dir(conversation_id: int | None) -> Path:
    folder = chat_root(conversation_id) / "files"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def output_dir(conversation_id: int | None) -> Path:
    folder = chat_root(conversation_id) / "outputs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
