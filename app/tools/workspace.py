"""Each chat's own folder for its tools: ``files`` (what the python tool's code sees as
/mnt/data, and where the user drops files for it) and ``outputs`` (figures the code displayed,
kept out of the code's reach)."""

from __future__ import annotations

from pathlib import Path

from app import paths


def chat_root(conversation_id: int | None) -> Path:
    name = str(conversation_id) if conversation_id is not None else "scratch"
    return paths.data_dir() / "chats" / name


def release_chat(conversation_id: int) -> None:
    """A chat moved to the trash: its kernel is stopped (its memory back); its files stay until
    the trash is emptied, so Undo or restore loses nothing but the kernel's state."""
    from app.tools.python.tool import POOL

    POOL.shutdown(chat_root(conversation_id) / "files")


def forget_chat(conversation_id: int) -> None:
    """A chat deleted for good: its kernel stopped and its folder (the files the code wrote,
    the figures) removed."""
    import shutil

    from app.tools.python.tool import POOL

    root = chat_root(conversation_id)
    POOL.shutdown(root / "files")
    shutil.rmtree(root, ignore_errors=True)


def work_dir(conversation_id: int | None) -> Path:
    folder = chat_root(conversation_id) / "files"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def output_dir(conversation_id: int | None) -> Path:
    folder = chat_root(conversation_id) / "outputs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
