"""Never a wrong answer from the KV state cache: a file that is truncated, corrupt, from another
model or made with other load options is ignored and removed, and the chat is read again; a save
cut short by a crash leaves nothing that is ever loaded; the budget removes the least recently
used files first. All through the real engine host."""

from __future__ import annotations

import os
import signal
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from app.engine import kvfiles
from app.engine.client import EngineClient, GenerateRequest
from app.engine.events import DoneEvent
from app.harmony import Message
from tests.helpers.kvchat import (
    CALL,
    GREEDY,
    KEY,
    LONG,
    REPLY,
    WHOLE,
    Reply,
    SavedChat,
    ask,
    first_turn,
    follow_up,
    host,
    reread,
    save_chat,
)
from tests.helpers.tinymodel import write_tiny_gptoss


@pytest.fixture(scope="module")
def saved(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> SavedChat:
    return save_chat(tiny_model, tmp_path_factory.mktemp("kv-saved"))


@pytest.fixture(scope="module")
def full(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Reply:
    return reread(tiny_model, tmp_path_factory.mktemp("kv-reread"), follow_up(), GREEDY)


def _flip(path: Path, offset_from_end: int) -> None:
    data = bytearray(path.read_bytes())
    data[-offset_from_end] ^= 0x40
    path.write_bytes(bytes(data))


def _header_end(path: Path) -> int:
    _magic, n, _crc = struct.unpack("<8sII", path.read_bytes()[:16])
    return 16 + n


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-100])


def _corrupt_state(path: Path) -> None:
    _flip(path, 1000)  # a byte of K/V: llama.cpp itself would load it without a word


def _corrupt_tokens(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[_header_end(path) + 40] ^= 0x01  # one token id
    path.write_bytes(bytes(data))


def _corrupt_header(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[20] ^= 0x01
    path.write_bytes(bytes(data))


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(4096))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": _truncate,
    "state": _corrupt_state,
    "tokens": _corrupt_tokens,
    "header": _corrupt_header,
    "garbage": _garbage,
    "empty": _empty,
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_file_is_ignored_and_removed(
    tiny_model: Path, saved: SavedChat, full: Reply, damage: str
) -> None:
    path = saved.install()
    DAMAGE[damage](path)
    with host(tiny_model) as client:
        # A reply that ends in a tool call saves nothing: what is on disk afterwards is what
        # the restore left.
        reply = ask(client, follow_up(), script=CALL)
        assert reply.stats.restored_tokens == 0 and reply.stats.cached_tokens == 0
        assert not path.exists()
        free = ask(client, follow_up())
    assert free.events == full.events


def test_another_model_never_uses_the_file(saved: SavedChat, tmp_path: Path) -> None:
    """Same architecture, shapes and vocabulary, other weights: llama.cpp would accept the state;
    the model file's identity in the key refuses it."""
    saved.install()
    other = write_tiny_gptoss(tmp_path / "other.gguf", seed=7)
    path = kvfiles.path_for(KEY)
    with host(other) as client:
        reply = ask(client, follow_up(), script=CALL)
    assert reply.stats.restored_tokens == 0 and not path.exists()


def test_the_same_path_with_another_file_never_uses_it(tmp_path: Path) -> None:
    model = write_tiny_gptoss(tmp_path / "model.gguf")
    first_turn(model)
    write_tiny_gptoss(tmp_path / "model.gguf", seed=3)  # replaced (a new download, say)
    with host(model) as client:
        reply = ask(client, follow_up(), script=CALL)
    assert reply.stats.restored_tokens == 0 and not kvfiles.path_for(KEY).exists()


@pytest.mark.parametrize(
    "options", [{"n_ctx": 2048}, {"flash_attn": False}], ids=["context", "flash_attn"]
)
def test_other_load_options_never_use_the_file(
    tiny_model: Path, saved: SavedChat, options: dict[str, object]
) -> None:
    saved.install()
    with host(tiny_model, **options) as client:
        reply = ask(client, follow_up(), script=CALL)
    assert reply.stats.restored_tokens == 0 and not kvfiles.path_for(KEY).exists()


def test_another_chats_file_is_not_used(tiny_model: Path, saved: SavedChat) -> None:
    """A file copied over another chat's name (its header names the chat it belongs to)."""
    saved.install("chat-9")
    with host(tiny_model) as client:
        reply = ask(client, follow_up(), key="chat-9", script=CALL)
    assert reply.stats.restored_tokens == 0 and not kvfiles.path_for("chat-9").exists()


def test_a_save_cut_short_is_never_loaded(tiny_model: Path) -> None:
    """The host killed the moment its reply is done (its save under way): whatever is left is
    either no file, or a whole one; a leftover temporary file is never read, and is cleared."""
    client = EngineClient()
    client.start()
    from app.engine.options import LoadOptions

    client.load(LoadOptions(model_path=str(tiny_model), n_ctx=4096, n_threads=1))
    request = GenerateRequest(
        messages=[Message("user", LONG)], sampling=WHOLE, script=REPLY, kv_key=KEY
    )
    for ev in client.stream(request):
        if isinstance(ev, DoneEvent):
            assert client.pid is not None
            os.kill(client.pid, signal.SIGKILL)
    client.close()

    path = kvfiles.path_for(KEY)
    if path.exists():  # the save finished before the kill: it must be whole
        with kvfiles.StateFile(path) as sf:
            sf.tokens()
            sf.state()
    # What a crash in the middle of the write leaves: a temporary file beside it.
    partial = path.with_name(f".{path.name}.abc123.tmp")
    partial.write_bytes(b"HEARTHKV" + os.urandom(5000))
    path.unlink(missing_ok=True)
    with host(tiny_model) as client:
        reply = ask(client, follow_up(), script=CALL)
        assert reply.stats.restored_tokens == 0
    assert [e.path for e in kvfiles.entries()] == []
    os.utime(partial, (1, 1))  # an hour later, nobody is writing it
    kvfiles.enforce_budget()
    assert not partial.exists()


def test_the_budget_removes_the_least_recently_used_first(tiny_model: Path) -> None:
    def question(name: str) -> str:
        return f"{name}: " + LONG

    first_turn(tiny_model, question("a"), key="chat-a")
    one = kvfiles.path_for("chat-a").stat().st_size
    kvfiles.set_budget(int(2.5 * one))  # room for two states of this size
    first_turn(tiny_model, question("b"), key="chat-b")
    # Chat a is used again (restored): now b is the least recently used.
    with host(tiny_model) as client:
        again = ask(client, follow_up(question("a")), key="chat-a", script=CALL)
        assert again.stats.restored_tokens > 0
    first_turn(tiny_model, question("c"), key="chat-c")
    keys = {e.key for e in kvfiles.entries()}
    assert keys == {"chat-a", "chat-c"}
    assert kvfiles.total_size() <= kvfiles.budget_bytes()

    kvfiles.set_budget(0)  # keep nothing: a new state is not even written
    first_turn(tiny_model, question("d"), key="chat-d")
    assert not kvfiles.path_for("chat-d").exists()


def test_the_budget_setting() -> None:
    assert kvfiles.budget_setting() is None  # automatic: min(2 GB, 5 % of the free space)
    assert 0 < kvfiles.budget_bytes() <= kvfiles.DEFAULT_CAP
    kvfiles.set_budget(123)
    assert kvfiles.budget_bytes() == 123
    kvfiles.settings_path().write_text("{not json")
    assert kvfiles.budget_setting() is None  # a broken file: automatic, never a failure


def _rewrite(path: Path, tokens: Callable[[list[int]], list[int]], state: bytes | None) -> None:
    """A well-formed file (right identity, checksums that match) with other tokens or state."""
    with kvfiles.StateFile(path) as sf:
        identity, old_tokens, old_state = sf.identity, sf.tokens(), bytes(sf.state())
    kvfiles.write_state(
        path, KEY, identity, tokens(old_tokens), old_state if state is None else state
    )


@pytest.mark.parametrize("what", ["garbage state", "fewer tokens than the state holds"])
def test_a_state_llama_cpp_rejects_or_that_disagrees_is_removed(
    tiny_model: Path, saved: SavedChat, full: Reply, what: str
) -> None:
    """Defence behind the checksums: llama.cpp refusing the bytes, or restoring a different
    number of positions than the file claims, is a failed restore too."""
    path = saved.install()
    if what == "garbage state":
        _rewrite(path, lambda t: t, os.urandom(len(saved.data) // 2))
    else:
        _rewrite(path, lambda t: t[:-5], None)
    with host(tiny_model) as client:
        reply = ask(client, follow_up(), script=CALL)
        assert reply.stats.restored_tokens == 0 and reply.stats.cached_tokens == 0
        assert not path.exists()
        assert ask(client, follow_up()).events == full.events
