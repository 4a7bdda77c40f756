"""A chat's documents (no Qt): attachments planned against the context, and the ``browser``
tool over the attachments that did not fit and the Library folders the chat may browse.

The window and ``hearth chat`` do the same four things:

- ``attachment_budget(n_ctx, history_tokens(path))``: how many tokens the attachments of the
  next message may take (the reply and the prompt's fixed parts keep their room);
- ``app.attachments.plan(attachments, budget)``: what goes into the message in full;
- ``prepare_turn(..., attachments=[a.ref ...])``: the refs are stored on the user message and the
  model reads ``app.attachments.message_text`` (``app.chat.history``);
- ``chat_browser(store, conversation_id, index)``: the turn's browser tool, or None when the chat
  has nothing to browse. It indexes the chat's long attachments (once per content) and keeps its
  pages in the chat's settings after each call, so citations resolve after a restart.

A chat's settings hold ``library_folders`` (the folders it may browse; none by default) and
``browser`` (the browser's page stack).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from app.attachments import AttachmentRef, estimate_tokens, load_text
from app.attachments.storage import remove_unreferenced
from app.fsutil import atomic_write
from app.library import BrowserState, BrowserTool, LibraryIndex, footnotes
from app.library.index import ATTACHMENT_PREFIX
from app.library.index import default_path as default_index_path
from app.store import Message as StoredMessage
from app.store import Store, StoreError, export_text
from app.tools.base import ToolCall, ToolContext, ToolResult

FOLDERS_KEY = "library_folders"
STATE_KEY = "browser"

# What the next prompt needs besides the history and the attachments: the system and developer
# messages with the tools declared (~700 tokens with python and the browser), and the reply
# (a quarter of the context, at least 1,024 tokens: gpt-oss thinks before it answers).
PROMPT_OVERHEAD = 800
REPLY_MIN = 1024
REPLY_SHARE = 0.25
PER_MESSAGE = 8  # Harmony's header tokens per message


def attachment_budget(n_ctx: int, used: int) -> int:
    """Tokens the next message's attachments may take in a context of ``n_ctx`` already holding
    ``used`` tokens of history."""
    reply = max(REPLY_MIN, int(n_ctx * REPLY_SHARE))
    return max(0, n_ctx - used - reply - PROMPT_OVERHEAD)


def refs_of(message: StoredMessage) -> list[AttachmentRef]:
    return [AttachmentRef.from_dict(d) for d in message.attachments or [] if isinstance(d, dict)]


def history_tokens(path: Sequence[StoredMessage]) -> int:
    """An estimate of the tokens the stored messages take in the next prompt (attachments by
    their stored counts, so no file is read)."""
    total = 0
    for m in path:
        total += PER_MESSAGE + estimate_tokens(m.content)
        if m.role == "user":
            total += sum(r.tokens + PER_MESSAGE for r in refs_of(m) if r.inline)
    return total


def allowed_folders(settings: dict[str, Any]) -> list[str]:
    """The Library folders a chat may browse (its settings' ``library_folders``)."""
    value = settings.get(FOLDERS_KEY)
    return [str(f) for f in value if isinstance(f, str)] if isinstance(value, list) else []


def library_refs(path: Iterable[StoredMessage]) -> list[AttachmentRef]:
    """The chat's attachments that were too long for the context (read through the browser)."""
    out: dict[str, AttachmentRef] = {}
    for m in path:
        if m.role == "user":
            for r in refs_of(m):
                if not r.inline and r.sha256:
                    out.setdefault(r.sha256, r)
    return list(out.values())


def ensure_indexed(
    index: LibraryIndex, refs: Iterable[AttachmentRef], texts: dict[str, str] | None = None
) -> list[str]:
    """Index each attachment not in the library yet (its text from ``texts`` by sha256, else
    the text kept beside its stored copy); returns the sha256s that could be indexed (a stored
    copy deleted since is left out)."""
    ready = []
    for ref in refs:
        if index.doc_by_key(ATTACHMENT_PREFIX + ref.sha256) is None:
            text = (texts or {}).get(ref.sha256)
            if text is None:
                text = load_text(ref)
            if text is None:
                continue
            index.add_attachment(ref.sha256, ref.name, text, ref.path)
        ready.append(ref.sha256)
    return ready


class ChatBrowser(BrowserTool):
    """The browser of one saved chat: after each call its pages are saved with the chat."""

    def __init__(
        self,
        index: LibraryIndex,
        folders: Sequence[str],
        attachments: Sequence[str],
        *,
        state: BrowserState,
        store: Store | None = None,
        conversation_id: int | None = None,
    ) -> None:
        super().__init__(index, folders, attachments, state=state)
        self.store = store
        self.conversation_id = conversation_id

    def run(self, call: ToolCall, ctx: ToolContext) -> ToolResult:
        result = super().run(call, ctx)
        if self.store is not None and self.conversation_id is not None:
            try:
                self.store.update_settings(self.conversation_id, {STATE_KEY: self.state.to_dict()})
            except StoreError:
                pass  # the reply goes on; only later citation clicks lose their target
        return result


def chat_browser(
    store: Store | None,
    conversation_id: int | None,
    index: LibraryIndex | None = None,
    *,
    open_index: Callable[[], LibraryIndex] = LibraryIndex,
    settings: dict[str, Any] | None = None,
    path: Sequence[StoredMessage] | None = None,
    texts: dict[str, str] | None = None,
) -> ChatBrowser | None:
    """The browser tool for a chat's next turn, or None when it has nothing to browse (no
    allowed folders, no long attachment). A saved chat (``store`` and ``conversation_id``) reads
    its settings and messages from the store; an unsaved one passes ``settings`` and ``path``.
    Without ``index``, ``open_index()`` opens one only when the chat has something to browse
    (it may raise LibraryError).
    Indexing a long attachment takes a moment: call it off the GUI thread."""
    if store is not None and conversation_id is not None:
        settings = store.get_conversation(conversation_id).settings
        path = store.active_path(conversation_id)
    settings = settings or {}
    folders = allowed_folders(settings)
    refs = library_refs(path or [])
    if not folders and not refs:
        return None
    index = index if index is not None else open_index()
    shas = ensure_indexed(index, refs, texts)
    state = BrowserState.from_dict(settings.get(STATE_KEY))
    return ChatBrowser(
        index, folders, shas, state=state, store=store, conversation_id=conversation_id
    )


def export_chat_text(
    store: Store, conversation_id: int, fmt: str, index: LibraryIndex | None = None
) -> str:
    """The chat exported as Markdown (``fmt="md"``) or JSON; in Markdown, the citations of a
    chat that used the browser (``【3†L9-L11】``) become footnotes naming the file and lines.
    (JSON keeps them as written, with the browser's pages in the chat's settings.)"""
    text = export_text(store, conversation_id, fmt)
    state = store.get_conversation(conversation_id).settings.get(STATE_KEY)
    if fmt == "md" and state:
        lib = index if index is not None else LibraryIndex()
        text = footnotes(text, lib, BrowserState.from_dict(state))
    return text


def export_chat(
    store: Store,
    conversation_id: int,
    path: Path | str,
    fmt: str,
    index: LibraryIndex | None = None,
) -> Path:
    """Write ``export_chat_text`` atomically. Raises StoreError or OSError."""
    return atomic_write(path, export_chat_text(store, conversation_id, fmt, index))


def attachments_in_use(store: Store) -> set[str]:
    """The sha256 of every file attached to a message of any chat (the trash's included)."""
    keep: set[str] = set()
    for trashed in (False, True):
        for conv in store.list_conversations(trashed=trashed):
            for m in store.messages(conv.id):
                keep.update(r.sha256 for r in refs_of(m))
    return keep


UNSENT_GRACE_S = 24 * 3600  # a file attached in a window but not sent yet is in no message


def forget_attachments(store: Store, index: LibraryIndex | None = None) -> int:
    """After chats are deleted for good: remove the stored files (and their Library index
    entries) that no message refers to any more. Returns how many files were removed."""
    keep = attachments_in_use(store)
    removed = remove_unreferenced(keep, min_age_s=UNSENT_GRACE_S)
    if index is None and default_index_path().exists():
        index = LibraryIndex()
    if index is not None:
        con = index.connection()
        gone = [
            int(doc_id)
            for doc_id, key in con.execute(
                "SELECT id, key FROM docs WHERE folder_id IS NULL AND key LIKE ?",
                (ATTACHMENT_PREFIX + "%",),
            )
            if str(key)[len(ATTACHMENT_PREFIX) :] not in keep
        ]
        if gone:
            with index.writing() as w:
                for doc_id in gone:
                    index.delete_document(w, doc_id)
    return removed
