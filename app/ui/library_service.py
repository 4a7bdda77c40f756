"""The app's Library: the index of the user's folders kept current off the GUI thread, and the
citations in answers opened at their lines.

One worker thread does all the indexing, in order: a folder added (read with a progress signal,
then read again until nothing changed: files edited while it was read are caught), a directory
the file watcher saw change (``app.library.watch.sync_dir``), every folder on start and every
``POLL_S`` (a size-and-time check that reads only what changed, for edits the watcher cannot
see), a folder removed. Settings → Library shows its progress; the window's turns read the same
index (``index()``) for the browser tool.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal, Slot

from app.chat.documents import STATE_KEY
from app.library import (
    BrowserState,
    Folder,
    LibraryError,
    LibraryIndex,
    parse_citation_url,
    resolve_citation,
    sync_folder,
)
from app.library.index import default_path
from app.library.watch import folder_dirs, sync_dir

if TYPE_CHECKING:
    from app.ui.source_viewer import SourceViewer
    from app.ui.window import MainWindow

POLL_S = 60  # the periodic check of every folder (edits the watcher does not report)
PASSES = 3  # a folder is read again while the last pass found changes, at most this often
PROGRESS_EVERY_S = 0.1  # progress signals while a folder is read, at most this often


class LibraryService(QObject):
    progress = Signal(str, int, int, str)  # folder, files done, files found, current file
    changed = Signal()  # folders or indexed files changed (Settings refreshes its figures)
    busyChanged = Signal(bool)
    failed = Signal(str)  # a sentence for the user
    _watch = Signal(list)  # directories to watch (from the worker)
    _done = Signal()  # a job finished (from the worker)

    def __init__(self, window: MainWindow | None, parent: QObject | None = None) -> None:
        super().__init__(parent if parent is not None else window)
        self.win = window  # None: Settings opened without the window (no chats, no citations)
        self._index: LibraryIndex | None = None
        self._index_lock = threading.Lock()
        self._jobs: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()  # the folder being read: stop (it was removed)
        self._current = ""  # the folder being read
        self._pending = 0  # jobs queued or running (GUI thread's count)
        self._lock = threading.Lock()
        self._closed = False
        self.last_error = ""
        self.viewer: SourceViewer | None = None  # the last citation or file opened
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(self._dir_changed)
        self._watch.connect(self._add_watches)
        self._done.connect(self._job_done)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_S * 1000)
        self.timer.timeout.connect(self.sync_all)

    # -- the index -----------------------------------------------------------------------------

    def index(self, create: bool = True) -> LibraryIndex | None:
        """The index (opened on first use; thread-safe). None when it cannot be opened (the
        reason is in ``last_error``) or, with ``create=False``, when there is none yet."""
        with self._index_lock:
            if self._index is None:
                if not create and not default_path().exists():
                    return None
                try:
                    self._index = LibraryIndex()
                except LibraryError as e:
                    self.last_error = str(e)
                    return None
            return self._index

    def require(self) -> LibraryIndex:
        """The index, opened if need be; LibraryError (with the way out) if it cannot be."""
        index = self.index()
        if index is None:
            raise LibraryError(self.last_error)
        return index

    def start(self) -> None:
        """Catch up with changes made while Hearth was closed, and watch the folders."""
        index = self.index(create=False)
        if index is not None and index.folder_list():
            self.sync_all()
        self.timer.start()

    @property
    def busy(self) -> bool:
        return self._pending > 0

    def folders(self) -> list[Folder]:
        index = self.index(create=False)
        return index.folders() if index is not None else []

    def add_folder(self, path: str | Path) -> Folder:
        """Add a folder and start reading it. Raises LibraryError (not a folder, the index
        cannot be opened)."""
        folder = self.require().add_folder(path)
        self._queue("folder", folder.path)
        self.changed.emit()
        return folder

    def remove_folder(self, path: str) -> None:
        """Forget a folder (its files are not touched); stops reading it if it is being read."""
        if self._current == path:
            self._cancel.set()
        dirs = [d for d in self.watcher.directories() if Path(d).is_relative_to(path)]
        if dirs:
            self.watcher.removePaths(dirs)
        self._queue("remove", path)

    def sync_all(self) -> None:
        index = self.index(create=False)
        for folder in index.folder_list() if index is not None else []:
            self._queue("folder", folder.path)

    @Slot(str)
    def _dir_changed(self, directory: str) -> None:
        self._queue("dir", directory)

    @Slot(list)
    def _add_watches(self, dirs: list[str]) -> None:
        new = [d for d in dirs if d not in set(self.watcher.directories()) and Path(d).is_dir()]
        if new:
            self.watcher.addPaths(new)

    # -- the worker ----------------------------------------------------------------------------

    def _queue(self, kind: str, path: str) -> None:
        if self._closed:
            return
        self._pending += 1
        if self._pending == 1:
            self.busyChanged.emit(True)
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="hearth-library", daemon=True)
            self._thread.start()
        self._jobs.put((kind, path))

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            kind, path = job
            try:
                self._run(kind, path)
            except Exception as e:  # a bug or a broken disk must not end the worker
                traceback.print_exc()
                self._emit(self.failed, f"The Library could not be updated ({e}).")
            self._emit(self._done)

    @Slot()
    def _job_done(self) -> None:
        self._pending -= 1
        self.changed.emit()
        if self._pending == 0:
            self.busyChanged.emit(False)

    def _run(self, kind: str, path: str) -> None:
        index = self.index()
        if index is None:
            return
        if kind == "remove":
            index.remove_folder(path)
        elif kind == "dir":
            changes = sync_dir(index, path)
            if changes.new_dirs:
                self._emit(self._watch, [d for n in changes.new_dirs for d in folder_dirs(n)])
        elif kind == "folder" and index.folder(path) is not None:
            self._read_folder(index, path)

    def _read_folder(self, index: LibraryIndex, path: str) -> None:
        # Watch first: a file created while the folder is read is then reported too.
        self._emit(self._watch, folder_dirs(path))
        self._cancel.clear()
        self._current = path
        last = 0.0

        def progress(done: int, total: int, rel: str) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= PROGRESS_EVERY_S or done == total:
                last = now
                self._emit(self.progress, path, done, total, rel)

        try:
            for _ in range(PASSES):
                report = sync_folder(index, path, progress, self._cancel)
                changed = report.added + report.updated + report.removed
                if report.cancelled or not (changed or report.changed_while_read):
                    break
        finally:
            self._current = ""

    def _emit(self, signal: Any, *args: Any) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:
            pass  # the window is gone

    def shutdown(self) -> None:
        """Stop the worker (a folder being read stops within a file) and close the index."""
        self._closed = True
        self.timer.stop()
        self._cancel.set()
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(30)
            self._thread = None
        with self._index_lock:
            if self._index is not None:
                self._index.close()
                self._index = None

    # -- citations -----------------------------------------------------------------------------

    def open_citation(self, url: str) -> SourceViewer | None:
        """Open the source of a citation (``cite:3:9:11``) in the viewer, its lines marked."""
        from app.ui.source_viewer import SourceViewer

        win = self.win
        parsed = parse_citation_url(url)
        if win is None or parsed is None or win.store is None or win.conversation_id is None:
            return None
        settings = win.store.get_conversation(win.conversation_id).settings
        state = BrowserState.from_dict(settings.get(STATE_KEY))
        index = self.index(create=False)
        target = resolve_citation(index, state, *parsed) if index is not None else None
        if index is None or target is None:
            win.note(
                "This citation points to a page Hearth no longer has (the document may have "
                "left the Library): ask the model to search again."
            )
            return None
        self.viewer = SourceViewer.for_citation(index, target, win)
        self.viewer.show()
        return self.viewer
