import os
import threading

from app.store import DiskFullError, Store, StreamingWriter


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _die(store):
    """What a killed process leaves: no finish(), no cleanup; its locks vanish with it."""
    store._conn.close()
    os.close(store._instance_lock)
    store._instance_lock = None


def _saved(store, mid):
    return store.get_message(mid).content


def test_writer_saves_at_most_every_interval_and_once_at_the_end(store):
    c = store.create_conversation()
    store.add_message(c.id, "user", "q")
    a = store.add_message(c.id, "assistant", status="streaming")
    clock = FakeClock()
    w = StreamingWriter(store, a.id, clock=clock, timer=False)
    for i in range(10):  # 10 tokens within 90 ms: nothing written yet
        clock.t = i * 0.01
        w.append_content(f"t{i} ")
    assert _saved(store, a.id) == "" and w.saves == 0
    clock.t = 0.25
    w.append_reasoning("thinking")
    assert w.saves == 1
    assert _saved(store, a.id) == w.content
    assert store.get_message(a.id).reasoning == "thinking"
    clock.t = 0.3
    w.append_content("tail")
    assert _saved(store, a.id) != w.content  # at risk: < 250 ms of text
    w.add_tool_call({"name": "functions.f", "arguments": "{}"})
    w.finish("done", stats={"tokens": 12}, model="tiny")
    m = store.get_message(a.id)
    assert (m.content, m.status, m.stats, m.model) == (w.content, "done", {"tokens": 12}, "tiny")
    assert m.tool_calls == [{"name": "functions.f", "arguments": "{}"}]


def test_streaming_message_becomes_interrupted_on_reopen_with_text_kept(store, db_path):
    c = store.create_conversation()
    store.add_message(c.id, "user", "q")
    a = store.add_message(c.id, "assistant", status="streaming")
    w = StreamingWriter(store, a.id, interval=0.0)
    w.append_content("partial reply")
    _die(store)
    with Store.open(db_path) as again:
        m = again.get_message(a.id)
        assert m.status == "interrupted" and m.content == "partial reply"
        assert again.recovered == 1
        assert again.execute_raw("PRAGMA integrity_check")[0][0] == "ok"


def test_disk_full_during_a_reply_keeps_the_text_in_memory_and_saved_prefix(store):
    c = store.create_conversation()
    store.add_message(c.id, "user", "q")
    a = store.add_message(c.id, "assistant", status="streaming")
    w = StreamingWriter(store, a.id, interval=0.0)
    w.append_content("saved part. ")
    assert w.save_error is None
    pages = store.execute_raw("PRAGMA page_count")[0][0]
    store.execute_raw(f"PRAGMA max_page_count = {pages}")  # the disk is now "full"
    w.append_content("x" * 200_000)
    assert isinstance(w.save_error, DiskFullError)
    assert "disk is full" in str(w.save_error).lower()
    assert _saved(store, a.id) == "saved part. "  # the earlier save is intact
    assert len(w.content) == 200_012  # nothing lost in memory
    store.execute_raw("PRAGMA max_page_count = 1073741823")  # space freed
    w.finish("done")
    assert _saved(store, a.id) == w.content
    assert store.execute_raw("PRAGMA integrity_check")[0][0] == "ok"


def test_gui_and_worker_threads_share_one_store(store):
    c = store.create_conversation()
    store.add_message(c.id, "user", "q")
    a = store.add_message(c.id, "assistant", status="streaming")
    errors: list[BaseException] = []
    done = threading.Event()

    def worker() -> None:
        try:
            w = StreamingWriter(store, a.id, interval=0.0)
            for i in range(300):
                w.append_content(f"tok{i} ")
            w.finish("done")
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    t = threading.Thread(target=worker)
    t.start()
    reads = 0
    while not done.is_set() or reads < 5:  # the "GUI thread" reads meanwhile
        store.list_conversations()
        store.active_path(c.id)
        store.search("tok1")
        reads += 1
    t.join(timeout=30)
    assert not errors
    assert store.get_message(a.id).content.count("tok") == 300


def test_no_recovery_while_another_hearth_has_the_database_open(store, db_path):
    c = store.create_conversation()
    a = store.add_message(c.id, "assistant", "growing", status="streaming")
    # A second process-like opener (e.g. `hearth history list` while the GUI streams) must not
    # mark the live reply as interrupted.
    with Store.open(db_path) as other:
        assert other.recovered == 0
        assert other.get_message(a.id).status == "streaming"
    _die(store)
    with Store.open(db_path) as after_crash:
        assert after_crash.get_message(a.id).status == "interrupted"


def test_a_pause_in_the_stream_is_saved_by_the_timer(store):
    c = store.create_conversation()
    a = store.add_message(c.id, "assistant", status="streaming")
    saved = threading.Event()
    real_update = store.update_message

    def spy(*args, **kwargs):
        real_update(*args, **kwargs)
        saved.set()

    store.update_message = spy  # type: ignore[method-assign]
    w = StreamingWriter(store, a.id, interval=0.05)
    w.append_content("first ")  # within the interval: not saved now ...
    w.append_content("words")
    assert saved.wait(5)  # ... but without another token the timer saves it
    assert _saved(store, a.id) == "first words"
    w.finish("done")
    assert store.get_message(a.id).status == "done"


def test_held_text_is_not_saved_until_released_but_never_lost(store):
    c = store.create_conversation()
    a = store.add_message(c.id, "assistant", status="streaming")
    w = StreamingWriter(store, a.id, interval=0.0, timer=False)
    w.append_content("shown. ")
    w.append_content("not shown yet", hold=True)
    w.append_reasoning("r", hold=True)
    assert _saved(store, a.id) == "shown. "  # the disk never gets ahead of the screen
    assert w.content == "shown. not shown yet"
    w.release()
    assert _saved(store, a.id) == "shown. not shown yet"
    w.append_content(" held at the end", hold=True)
    w.finish("cancelled")  # finishing keeps everything received
    m = store.get_message(a.id)
    assert (m.content, m.reasoning) == ("shown. not shown yet held at the end", "r")


def test_a_timer_save_that_lands_after_finish_does_not_cut_the_reply(store):
    c = store.create_conversation()
    a = store.add_message(c.id, "assistant", status="streaming")
    w = StreamingWriter(store, a.id, interval=0.0, timer=False)
    w.append_content("shown. ")
    w.append_content("held at the end", hold=True)  # e.g. the display raised before release
    w.finish("cancelled")
    # The timer thread had passed its "unsaved text?" check just before finish() and now gets
    # the save lock: what it holds is the released prefix only.
    w.save()
    m = store.get_message(a.id)
    assert (m.content, m.status) == ("shown. held at the end", "cancelled")


def test_a_failed_save_healed_by_the_final_one_is_not_reported(store):
    c = store.create_conversation()
    a = store.add_message(c.id, "assistant", status="streaming")
    w = StreamingWriter(store, a.id, interval=0.0, timer=False)
    pages = store.execute_raw("PRAGMA page_count")[0][0]
    store.execute_raw(f"PRAGMA max_page_count = {pages}")  # the disk is "full" for a moment
    w.append_content("x" * 200_000)
    assert isinstance(w.save_error, DiskFullError)
    store.execute_raw("PRAGMA max_page_count = 1073741823")  # space freed
    w.finish("done")
    assert _saved(store, a.id) == w.content
    # app.chat reports save_error to the user ("the reply was not fully saved", exit 1).
    assert w.save_error is None
