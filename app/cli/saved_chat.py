"""Where ``hearth chat`` keeps an exchange: a new conversation, the latest (``--continue``) or a
given one (``--conversation``). With ``--no-save`` an existing conversation only lends its
history. A store that cannot be written (read-only, locked, full) turns saving off with a note on
stderr; the reply still comes."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app import chat
from app.engine.options import SamplingOptions
from app.harmony import Message, PromptSettings
from app.store import Message as StoredMessage
from app.store import NotFoundError, Store, StoreError


class SavedChat:
    def __init__(self, store: Store | None, conversation_id: int | None) -> None:
        self.store = store
        self.conversation_id = conversation_id

    @property
    def saving(self) -> bool:
        return self.store is not None and not self.store.readonly

    @classmethod
    def open(cls, args: argparse.Namespace) -> SavedChat:
        """Raises StoreError when the chat to continue cannot be read."""
        continuing = args.continue_latest or args.conversation is not None
        if args.no_save and not continuing:
            return cls(None, None)
        try:
            store = Store.open(readonly_fallback=True)
        except StoreError as e:
            if continuing:
                raise
            # A damaged or too-new history must not stop a one-off question.
            print(f"hearth chat: this exchange will not be saved: {e}", file=sys.stderr)
            return cls(None, None)
        try:
            cid = cls._pick(store, args)
            if store.readonly and not args.no_save:
                reason = store.readonly_reason
                print(f"hearth chat: this exchange will not be saved: {reason}", file=sys.stderr)
                if not continuing:
                    store.close()
                    return cls(None, None)
        except BaseException:
            store.close()
            raise
        return cls(store, cid)

    @staticmethod
    def _pick(store: Store, args: argparse.Namespace) -> int | None:
        if args.conversation is not None:
            conv = store.get_conversation(args.conversation)
            if conv.trashed:
                # Replies saved there would vanish from the list and go with the trash.
                raise NotFoundError(
                    f"Conversation {conv.id} is in the trash.",
                    f"Restore it with `hearth history restore {conv.id}` first.",
                )
            return conv.id
        if args.continue_latest:
            latest = store.latest_conversation()
            if latest is None:
                raise NotFoundError(
                    "There is no saved conversation to continue.",
                    "Start one without --continue.",
                )
            return latest.id
        return None

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    def _settings(self) -> dict[str, Any]:
        if self.store is None or self.conversation_id is None:
            return {}
        return self.store.get_conversation(self.conversation_id).settings

    def path(self) -> list[StoredMessage]:
        if self.store is None or self.conversation_id is None:
            return []
        return self.store.active_path(self.conversation_id)

    def history(self) -> list[Message]:
        return chat.harmony_history(self.path())

    def settings(self) -> dict[str, Any]:
        return self._settings()

    def prompt_settings(self, given: PromptSettings) -> PromptSettings:
        stored = self._settings()
        if not stored:
            return given
        merged = chat.prompt_settings(stored)
        if given.instructions:
            merged.instructions = given.instructions
        return merged

    def reasoning_budget(self) -> int | None:
        return chat.history.reasoning_budget(self._settings())

    def sampling(self, args: argparse.Namespace) -> SamplingOptions:
        """The chat's stored sampling, with the options given on this command line on top."""
        stored = self._settings().get("sampling") or {}
        return SamplingOptions.from_dict({**stored, **given_sampling(args)})

    def begin(self, args: argparse.Namespace) -> int:
        """The conversation this exchange goes into, created or updated from the arguments."""
        assert self.store is not None
        backend = model_settings(args)
        if self.conversation_id is None:
            settings: dict[str, Any] = {
                **{k: v for k, v in backend.items() if v is not None},
                "effort": args.effort or "medium",
            }
            if args.system:
                settings["instructions"] = args.system
            if args.reasoning_budget:
                settings["reasoning_budget"] = args.reasoning_budget
            if given_sampling(args):
                settings["sampling"] = given_sampling(args)
            self.conversation_id = self.store.create_conversation(settings=settings).id
        else:
            changes: dict[str, Any] = dict(backend)  # "remote": None when local again
            if args.effort:
                changes["effort"] = args.effort
            if args.system:
                changes["instructions"] = args.system
            if args.reasoning_budget:
                changes["reasoning_budget"] = args.reasoning_budget
            self.store.update_settings(self.conversation_id, changes)
        return self.conversation_id


def model_settings(args: argparse.Namespace) -> dict[str, Any]:
    """What the chat records of its backend: the model, and the server connection it went
    through (``--remote``; None removes it when the chat goes back to a local model)."""
    remote = getattr(args, "remote", None)
    if remote:
        return {"model": getattr(args, "remote_model", "") or remote, "remote": remote}
    return {"model": str(args.model), "remote": None}


def given_sampling(args: argparse.Namespace) -> dict[str, Any]:
    given = {
        "temperature": args.temperature,
        "top_p": args.top_p,
        "top_k": args.top_k,
        "max_tokens": args.max_tokens,
        "seed": args.seed,
    }
    return {k: v for k, v in given.items() if v is not None}
