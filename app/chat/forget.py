"""Deleting chats for good: the rows, and everything else that was theirs."""

from __future__ import annotations

from app.chat.documents import forget_attachments
from app.engine import kvfiles
from app.store import Store
from app.tools.workspace import forget_chat


def kv_key(conversation_id: int) -> str:
    """The name under which the engine keeps a chat's KV state on disk."""
    return f"chat-{conversation_id}"


def empty_trash(store: Store) -> tuple[list[int], int]:
    """Delete the trashed chats for good with what belonged to them: their tools' folders (the
    files their code wrote, their figures), their saved KV state (it holds their text), and the
    attached files no other message refers to. Returns the chats' ids and how many attached
    files went. Raises StoreError (nothing deleted) or LibraryError (the chats are gone; the
    attachments' index could not be tidied)."""
    purged = store.empty_trash()
    for cid in purged:
        forget_chat(cid)
        kvfiles.remove(kvfiles.path_for(kv_key(cid)))
    return purged, forget_attachments(store)
