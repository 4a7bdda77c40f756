"""Running a reply for the window: the turn controller.

A turn's rows are created on the GUI thread (``app.chat.prepare_turn``), the reply streams on a
``GenerationWorker`` thread (``app.chat.stream_turn``), and the controller only renders what the
worker reports. The worker is met in a few small methods only: ``_run_worker`` (make and wire
it), ``_on_progress`` (a batch of text: an ``Update``), ``_on_finished`` (how the reply ended: an
``Outcome``) and ``_report`` (what the window says about that outcome).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from app import chat
from app.engine.client import GenerateRequest
from app.store import StoreError
from app.ui.message import MessageWidget
from app.ui.worker import GenerationWorker, Job, Outcome, Update, WorkerThread

if TYPE_CHECKING:
    from app.ui.window import MainWindow


class TurnController(QObject):
    """One reply at a time: starts it, streams it into its message widget, stops it, and says
    how it ended (a banner with the way out when it failed)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)  # a QObject on the GUI thread: the worker's signals land here
        self.win = window
        self.worker: GenerationWorker | None = None
        self.worker_thread: WorkerThread | None = None
        self.streaming: MessageWidget | None = None  # the reply being written
        # Testing/screenshot aid: called with each GenerateRequest before it is sent (e.g. to
        # set ``script`` for an exact reply, or ``suppress_stop``).
        self.request_hook: Callable[[GenerateRequest], None] | None = None

    @property
    def busy(self) -> bool:
        return self.worker is not None

    def start(
        self, text: str | None = None, *, edit: int | None = None, regenerate: int | None = None
    ) -> bool:
        """Send ``text`` (or an edit of message ``edit``, or regenerate reply ``regenerate``) in
        the open chat. False, with the reason shown, when no reply can start."""
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
            info = win.engine.info
            turn = chat.prepare_turn(
                store,
                conversation_id,
                text,
                edit=edit,
                regenerate=regenerate,
                model=info.name if info and info.name else None,
            )
        except StoreError as exc:
            win.show_store_error(exc)
            if text and edit is None:
                win.composer.set_text(text)
            return False
        if self.request_hook is not None:
            self.request_hook(turn.request)
        win.conversations.render()
        win.sidebar.reload(select=conversation_id)
        win.title_label.setText(store.get_conversation(conversation_id).display_title)
        self.streaming = win.chat.widget_for(turn.assistant_message.id)

        control = chat.TurnControl()

        def job(on_event: Callable[[Any], None]) -> Any:
            # Through the queue the local server shares (app.ui.server_control).
            return chat.stream_turn(
                store, win.server.engine, turn, control=control, on_event=on_event
            )

        self._run_worker(job, cancel=control.stop)
        return True

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()

    def shutdown(self) -> None:
        """Stop the reply and wait for its thread (the window is closing)."""
        self.stop()
        if self.worker_thread is not None:
            self.worker_thread.wait(30_000)
            # Deliver the queued finished signal so the reply row is finished in the view too.
            QApplication.sendPostedEvents()

    # -- the worker ------------------------------------------------------------------------

    def _run_worker(self, job: Job, cancel: Callable[[], None]) -> None:
        worker = GenerationWorker(job, cancel=cancel)
        holder = WorkerThread(worker)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        self.worker, self.worker_thread = worker, holder
        self._show_running()
        holder.start()

    @Slot(object)
    def _on_progress(self, up: Update) -> None:
        w = self.streaming
        if w is not None:
            w.stream(up.reasoning, up.content)
        for note in up.notes:
            self.win.note(note)

    @Slot(object)
    def _on_finished(self, out: Outcome) -> None:
        if self.worker_thread is not None:
            self.worker_thread.wait()
        self.worker = None
        self.worker_thread = None
        self.win.shortcuts["stop"].setEnabled(False)
        w, self.streaming = self.streaming, None
        if w is not None:
            w.data.content = out.content or w.data.content
            w.finish(out.status, out.error, out.stats)
            self._remember_thinking_time(w, out.stats)
        self.win.chat.end_stream()
        self.win.composer.set_busy(False)
        if out.stats:
            self.win.last_stats = out.stats
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

    def _report(self, out: Outcome) -> None:
        """A failed or unsaved reply: say so, with the way out."""
        win = self.win
        if out.error_kind == "engine_died" or (
            out.status == "error"
            and win.engine.client is not None
            and not win.engine.client.is_alive
        ):
            win.models.engine_lost(
                f"{out.error or 'The engine stopped unexpectedly.'} Your chat and the partial "
                "reply are saved."
            )
        elif out.status == "error":
            win.banner.show_message(
                f"The reply failed: {out.error}",
                [("Try again", lambda: win.conversations.regenerate(int(out.message_id)))]
                if out.message_id is not None
                else [],
            )
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
