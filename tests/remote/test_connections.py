"""Saved connections and their API keys (app.remote.connections, app.remote.keys)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from app.remote import keys
from app.remote.connections import Connection, RemoteError, Remotes, clear_text_warning
from tests.helpers.memkeyring import MemoryKeyring

KEY = "sk-test-0123456789abcdef"


def test_urls_are_normalised_and_bad_names_or_urls_refused() -> None:
    remotes = Remotes()
    for given, saved in [
        ("gpu-box:8000", "http://gpu-box:8000/v1"),
        ("http://gpu-box:8000/", "http://gpu-box:8000/v1"),
        ("https://example.org/openai/v1/", "https://example.org/openai/v1"),
    ]:
        remotes.save(Connection("s", given))
        assert remotes.get("s").base_url == saved
    with pytest.raises(RemoteError, match="not a server address"):
        remotes.save(Connection("s", "ftp://x"))
    with pytest.raises(RemoteError, match="cannot name a connection"):
        remotes.save(Connection("no spaces", "http://x"))
    with pytest.raises(RemoteError, match=r"no server connection named 'nope'\. Known: s"):
        remotes.get("nope")


def test_key_goes_to_the_keyring_and_never_into_the_connections_file(
    memory_keyring: MemoryKeyring,
) -> None:
    remotes = Remotes()
    where = remotes.save(Connection("gpu", "http://10.0.0.2:8000", model="m"), KEY)
    assert where == keys.KEYRING
    assert memory_keyring.passwords == {(keys.SERVICE, "gpu"): KEY}
    assert KEY not in remotes.path.read_text()
    assert not keys.key_file().exists()
    conn = remotes.get("gpu")
    assert conn.key_storage == "keyring" and remotes.api_key(conn) == KEY
    # Changing the connection without a new key keeps it; "" forgets it.
    remotes.save(Connection("gpu", "http://10.0.0.3:8000", model="m"))
    assert remotes.api_key(remotes.get("gpu")) == KEY
    remotes.save(Connection("gpu", "http://10.0.0.3:8000"), "")
    assert memory_keyring.passwords == {} and not remotes.get("gpu").has_key
    remotes.save(Connection("gpu", "http://10.0.0.3:8000"), KEY)
    remotes.remove("gpu")
    assert memory_keyring.passwords == {}
    assert remotes.connections() == []


def test_without_a_keyring_the_key_is_in_a_file_only_the_user_can_read() -> None:
    remotes = Remotes()
    assert remotes.save(Connection("gpu", "https://gpu.example"), KEY) == keys.FILE
    path = keys.key_file()
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert KEY not in remotes.path.read_text()
    assert remotes.api_key(remotes.get("gpu")) == KEY
    leftovers = [p.name for p in Path(path.parent).iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    remotes.remove("gpu")
    assert KEY not in path.read_text()


def test_learned_facts_are_saved_and_a_broken_file_is_named() -> None:
    remotes = Remotes()
    remotes.save(Connection("gpu", "http://127.0.0.1:8000"))
    remotes.remember("gpu", reasoning_format="reasoning_content", model="gpt-oss-120b")
    conn = remotes.get("gpu")
    assert (conn.reasoning_format, conn.model) == ("reasoning_content", "gpt-oss-120b")
    assert conn.label == "gpt-oss-120b on gpu (127.0.0.1)"
    remotes.path.write_text("{not json")
    with pytest.raises(RemoteError, match=r"remotes.json .*Fix or remove the file"):
        remotes.connections()


def test_a_key_sent_in_clear_text_to_another_machine_is_warned_about() -> None:
    lan = Connection("lan", "http://192.168.1.5:8000/v1", key_storage="file")
    assert "unencrypted" in (clear_text_warning(lan) or "")
    assert (
        clear_text_warning(Connection("t", "http://127.0.0.1:8000/v1", key_storage="file")) is None
    )
    assert clear_text_warning(Connection("s", "https://gpu.example/v1", key_storage="file")) is None
    assert clear_text_warning(Connection("n", "http://192.168.1.5:8000/v1")) is None
