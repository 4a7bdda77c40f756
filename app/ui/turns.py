"""Running a reply for the window: the turn controller.

A turn's rows are created on the GUI thread (``app.chat.prepare_turn``), the turn streams on a
``GenerationWorker`` thread (``app.chat.stream_turn``, tool calls included), and the controller
only shows what the worker reports: ``_on_progress`` gets a batch of typed engine events for the
reply's widget, ``_on_finished`` the turn's ``TurnOutcome``, and ``_report`` says what the window
should about it. A tool that asks before each run asks here, on the tool's card
(``_ask_consent``), while the worker thread waits for the answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from app import chat
from app.attachments import Attachment, plan
from app.chat.documents import attachment_budget, chat_browser, history_tokens
from app.chat.tools import chat_tools
from app.engine.events import EngineEvent, TrimmedEvent
from app.engine.protocol import GenerateRequest
from app.library import LibraryError
from app.store import Store, StoreError
from app.tools.base import ToolCall
from app.ui.message import MessageWidget
from app.ui.worker import GenerationWorker, Job, WorkerThread

if TYPE_CHECKING:
    from app.ui.window import MainWindow


@dataclass
class ConsentRequest:
    """A tool call waiting for the user's Run / Don't run (from the worker thread)."""

    call: ToolCall
    key: str  # the tool's settings key ("python", "mcp:NAME")
    answered: threading.Event = field(default_factory=threading.Event)
    run: bool = False


class TurnController(QObject):
    """One reply at a time: starts it, streams it into its message widget, stops it, and says
    how it ended (a banner with the way out when it failed)."""

    consentRequested = Signal(object)  # ConsentRequest, from the worker thread
    toolProblem = Signal(str)  # a tool that is on but cannot be offered, from the worker thread

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)  # a QObject on the GUI thread: the worker's signals land here
        self.win = window
        self.worker: GenerationWorker | None = None
        self.worker_thread: WorkerThread | None = None
        self.streaming: MessageWidget | None = None  # the reply being written
        # Testing/screenshot aid: called (on the worker thread) with each request of a turn
        # before it is sent (e.g. to set ``script`` for an exact reply, or ``suppress_stop``).
        self.request_hook: Callable[[GenerateRequest], None] | None = None
        self.consentRequested.connect(self._ask_consent)
        self.toolProblem.connect(self.win.note)

    @property
    def busy(self) -> bool:
        return self.worker is not None

    def start(
        self,
        text: str | None = None,
        *,
        edit: int | None = None,
        regenerate: int | None = None,
        attachments: list[Attachment] | None = None,
    ) -> bool:
        """Send ``text`` (or an edit of message ``edit``, or regenerate reply ``regenerate``) in
        the open chat, with the files in ``attachments`` (read already: the composer's chips).
        False, with the reason shown, when no reply can start."""
        win = self.win
        if self.busy:
            win.note("A reply is still being written: stop it (Esc) first.")
            return False
        if win.store is None or win.store.readonly:
            win.banner.show_message(
                "Chats can't be saved right now, so Hearth won't start a reply that would be lost."
                + (
                    f" {win.store.readonly_reason}"
                    if win.store and win.store.readonly_reason
                    else ""
                )
            )
            return False
        client = win.engine.client
        if not win.engine.ready or client is None:
            if win.engine.info is not None:  # loaded once, but the host is gone
                win.models.engine_lost()
            else:
                win.note("Load a model first: Open GGUF file… or Choose a model… below.")
            if text and edit is None:
                win.composer.set_text(text)
            return False
        win.settings.flush()
        store = win.store
        try:
            conversation_id = win.conversations.ensure_saved()
            _record_backend(store, conversation_id, win.engine.remote)
            info = win.engine.info
            refs = None
            if attachments:
                budget = self.attachment_budget()
                planned = plan(attachments, budget if budget is not None else 0)
                if planned.warning:
                    win.note(planned.warning)
                refs = [a.ref for a in attachments]
            turn = chat.prepare_turn(
                store,
                conversation_id,
                text,
                edit=edit,
                regenerate=regenerate,
                model=info.name if info and info.name else None,
                attachments=refs,
            )
        except StoreError as exc:
            win.show_store_error(exc)
            if text and edit is None:
                win.composer.set_text(text)
            return False
        win.conversations.render()
        win.sidebar.reload(select=conversation_id)
        win.title_label.setText(store.get_conversation(conversation_id).display_title)
        self.streaming = win.chat.widget_for(turn.assistant_message.id)
        control = chat.TurnControl()
        hook = self.request_hook
        texts = {a.ref.sha256: a.text for a in attachments or []}

        def job(on_event: Callable[[EngineEvent], None]) -> chat.TurnOutcome:
            # The chat's tools are found here, off the GUI thread: MCP servers may take a
            # moment to start, and a long attachment is indexed for the browser.
            tools = self._tools(conversation_id, control, texts)
            return chat.stream_turn(
                store,
                win.server.engine,  # the queue the local server shares
                turn,
                control=control,
                on_event=on_event,
                tools=tools,
                before_send=hook,
            )

        self._run_worker(job, control)
        return True

    def attachment_budget(self) -> int | None:
        """Tokens the next message's attachments may take in the open chat (None while no
        model is loaded: the context size is not known)."""
        win = self.win
        info = win.engine.info
        if info is None or not info.n_ctx:
            return None
        path = []
        if win.store is not None and win.conversation_id is not None:
            try:
                path = win.store.active_path(win.conversation_id)
            except StoreError:
                path = []
        return attachment_budget(info.n_ctx, history_tokens(path))

    def _browser(self, conversation_id: int, texts: dict[str, str]) -> Any:
        """The chat's browser over its long attachments and allowed Library folders (on the
        worker thread: indexing a long attachment takes a moment)."""
        library = self.win.library
        try:
            return chat_browser(
                self.win.store, conversation_id, open_index=library.require, texts=texts
            )
        except (LibraryError, StoreError) as exc:
            self.toolProblem.emit(f"The Library is not available in this chat: {exc}")
            return None

    def _tools(
        self, conversation_id: int, control: chat.TurnControl, texts: dict[str, str]
    ) -> chat.TurnTools | None:
        def ask(call: ToolCall, key: str) -> bool:
            request = ConsentRequest(call, key)
            self.consentRequested.emit(request)
            # Stop while the question is open is a "no" (and ends the turn).
            while not request.answered.wait(0.1):
                if control.stopped:
                    return False
            return request.run

        browser = self._browser(conversation_id, texts)
        tools, problems = chat_tools(conversation_id, control.stop_event, ask, browser)
        for name, why in problems.items():
            self.toolProblem.emit(f"{name} is not available in this chat: {why}")
        return tools

    @Slot(object)
    def _ask_consent(self, request: ConsentRequest) -> None:
        w = self.streaming
        card = w.pending_card() if w is not None else None
        if card is None:  # nothing to ask on (the reply was stopped): don't run
            request.answered.set()
            return

        def answer(run: bool, always: bool) -> None:
            if always:
                self._allow_in_chat(request.key)
            request.run = run
            request.answered.set()

        card.ask(answer)
        self.win.chat.scroll_to_bottom()

    def _allow_in_chat(self, key: str) -> None:
        """ "Don't ask again in this chat": this tool runs automatically in this chat."""
        self.win.conversations.tool_mode_changed(key, "auto")
        if key == "python":
            self.win.settings.load_tool_mode("auto")

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()

    def answer_now(self) -> None:
        """End the model's thinking; it writes its answer with what it has."""
        if self.worker is not None:
            self.worker.control.answer_now()

    def shutdown(self) -> None:
        """Stop the reply and wait for its thread (the window is closing)."""
        self.stop()
        if self.worker_thread is not None:
            self.worker_thread.wait(30_000)
            # Deliver the queued finished signal so the reply row is finished in the view too.
            QApplication.sendPostedEvents()

    # -- the worker ------------------------------------------------------------------------

    def _run_worker(self, job: Job, control: chat.TurnControl) -> None:
        worker = GenerationWorker(job, control)
        holder = WorkerThread(worker)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        self.worker, self.worker_thread = worker, holder
        self._show_running()
        holder.start()

    @Slot(object)
    def _on_progress(self, events: list[EngineEvent]) -> None:
        w = self.streaming
        if w is not None:
            w.apply(events)
            self.win.composer.set_thinking(w.thinking is not None and w.thinking.live)
        for ev in events:
            if isinstance(ev, TrimmedEvent):
                self.win.note(ev.message)

    @Slot(object)
    def _on_finished(self, out: chat.TurnOutcome) -> None:
        if self.worker_thread is not None:
            self.worker_thread.wait()
        self.worker = None
        self.worker_thread = None
        self.win.shortcuts["stop"].setEnabled(False)
        stats = out.stats.to_dict() if out.stats is not None else {}
        error = out.error.message if out.error is not None else ""
        w, self.streaming = self.streaming, None
        if w is not None:
            w.finish(out.status, error, stats)
            self._remember_thinking_time(w, stats)
        self.win.chat.end_stream()
        self.win.composer.set_busy(False)
        if stats:
            self.win.last_stats = stats
        self.win.refresh_status()
        self.win.sidebar.reload(select=self.win.conversation_id)
        self._report(out)

    # -- around the reply ------------------------------------------------------------------

    def _show_running(self) -> None:
        """A reply starts: Stop instead of Send, Esc stops it, the view follows it."""
        win = self.win
        win.composer.set_busy(True)
        win.shortcuts["stop"].setEnabled(True)
        win.chat.streaming = True
        win.chat.scroll_to_bottom()

    def _report(self, out: chat.TurnOutcome) -> None:
        """A failed or unsaved reply: say so, with the way out."""
        win = self.win
        error = out.error.message if out.error is not None else ""
        kind = out.error.kind if out.error is not None else ""
        if kind == "engine_died" or (
            out.status == "error"
            and win.engine.client is not None
            and not win.engine.client.is_alive
        ):
            win.models.engine_lost(
                f"{error or 'The engine stopped unexpectedly.'} Your chat and the partial "
                "reply are saved."
            )
        elif out.status == "error":
            message_id = out.assistant_message_id
            win.banner.show_message(
                f"The reply failed: {error}",
                [("Try again", lambda: win.conversations.regenerate(int(message_id)))]
                if message_id is not None
                else [],
            )
        if out.note:
            win.note(out.note)
        if out.save_error:
            win.banner.show_message(
                f"The reply could not be saved: {out.save_error} The text stays on screen; "
                "free some disk space, then regenerate or copy it."
            )

    def _remember_thinking_time(self, w: MessageWidget, stats: dict[str, Any]) -> None:
        """Keep "Thought for N s" for later: stored beside the engine's stats."""
        seconds = w.data.thinking_seconds
        store = self.win.store
        if seconds is None or store is None or store.readonly:
            return
        try:
            store.update_message(
                int(w.data.id), stats={**(stats or {}), "thinking_s": round(seconds, 1)}
            )
        except (StoreError, ValueError):
            pass  # only a nicety: the reply itself is saved

    def copy_last_answer(self) -> bool:
        w = self.win.chat.last_assistant()
        if w is None or not w.data.content:
            return False
        QGuiApplication.clipboard().setText(w.data.content)
        self.win.note("Copied the last answer.")
        return True


def _record_backend(store: Store, conversation_id: int, remote: str | None) -> None:
    """The chat's settings say which server its replies go through ("remote"; none for the
    local engine), for the window and ``hearth chat --continue`` alike."""
    if store.get_conversation(conversation_id).settings.get("remote") != remote:
        store.update_settings(conversation_id, {"remote": remote})
