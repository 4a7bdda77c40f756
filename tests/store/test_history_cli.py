import json
import subprocess
import sys

import pytest

from app.cli import main
from app.store import Store


@pytest.fixture
def filled(db_path):
    with Store.open(db_path) as s:
        a = s.create_conversation()
        s.add_message(a.id, "user", "How do penguins stay warm?")
        s.add_message(a.id, "assistant", "Feathers and fat.", reasoning="Penguin insulation.")
        b = s.create_conversation()
        s.add_message(b.id, "user", "Recipe for pancakes")
    return a.id, b.id


def _run(capsys, *argv):
    code = main(["history", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_show_search(capsys, filled):
    a, b = filled
    code, out, _ = _run(capsys, "list")
    assert code == 0 and "How do penguins stay warm?" in out and "2 msgs" in out
    code, out, _ = _run(capsys, "list", "--json")
    rows = json.loads(out)
    assert [r["id"] for r in rows] == [b, a] and rows[1]["messages"] == 2
    code, out, _ = _run(capsys, "show", str(a))
    assert "## You" in out and "Feathers and fat." in out and "(reasoning)" in out
    code, out, _ = _run(capsys, "show", str(a), "--json")
    assert [m["role"] for m in json.loads(out)["path"]] == ["user", "assistant"]
    code, out, _ = _run(capsys, "search", "penguin")
    assert code == 0 and "[penguins]" in out
    code, out, _ = _run(capsys, "search", "penguin", "--json")
    assert {h["message_id"] for h in json.loads(out)} == {1, 2}
    code, out, _ = _run(capsys, "search", '"NEAR(xyzzy')
    assert code == 0 and "No messages match" in out


def test_export_import_rename_delete_restore_empty(capsys, filled, tmp_path):
    a, b = filled
    target = tmp_path / "a.json"
    code, out, _ = _run(capsys, "export", str(a), "--format", "json", "-o", str(target))
    assert code == 0 and json.loads(target.read_text())["format"] == "hearth.conversation"
    code, out, _ = _run(capsys, "export", str(a), "--format", "md")
    assert "<summary>Reasoning</summary>" in out
    code, out, _ = _run(capsys, "import", str(target))
    assert code == 0 and "as conversation 3" in out
    code, out, _ = _run(capsys, "rename", str(b), "Pancakes", "for", "two")
    code, out, _ = _run(capsys, "list", "--json")
    assert "Pancakes for two" in [r["title"] for r in json.loads(out)]
    code, out, _ = _run(capsys, "delete", str(b))
    assert code == 0 and f"hearth history restore {b}" in out
    code, out, _ = _run(capsys, "list", "--trash", "--json")
    assert [r["id"] for r in json.loads(out)] == [b]
    code, out, _ = _run(capsys, "restore", str(b))
    from app.tools.workspace import chat_root, work_dir

    written = work_dir(a) / "plot.png"  # a file the python tool wrote for this chat
    written.write_bytes(b"png")
    from app.chat.forget import kv_key
    from app.engine import kvfiles

    kv_file = kvfiles.path_for(kv_key(a))
    kv_file.write_bytes(b"state")
    code, out, _ = _run(capsys, "delete", str(a))
    assert written.exists()  # in the trash: still restorable with its files
    code, out, _ = _run(capsys, "empty-trash")
    assert code == 0 and "Deleted 1 conversation " in out
    assert not chat_root(a).exists() and chat_root(b) != chat_root(a)
    assert not kv_file.exists()  # the saved KV state held the chat's text too
    code, out, _ = _run(capsys, "list", "--json")
    assert sorted(r["id"] for r in json.loads(out)) == [b, 3]


def test_errors_are_one_line_and_non_zero(capsys, filled, tmp_path):
    for argv, needle in (
        (["show", "99"], "No conversation with id 99"),
        (["rename", "99", "x"], "No conversation with id 99"),
        (["import", str(tmp_path / "nope.json")], "No such file"),
        (["export", "1", "-o", str(tmp_path / "no" / "dir.md")], "cannot write"),
    ):
        code, _out, err = _run(capsys, *argv)
        assert code == 1, argv
        assert needle in err and err.count("\n") == 1


def test_corrupt_database_via_the_real_command(db_path):
    db_path.write_bytes(b"garbage" * 1000)
    res = subprocess.run(
        [sys.executable, "-m", "app", "history", "list"], capture_output=True, text=True
    )
    assert res.returncode == 1
    assert "damaged or not a database" in res.stderr and "Traceback" not in res.stderr
    assert db_path.read_bytes() == b"garbage" * 1000
