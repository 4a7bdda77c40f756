"""Bad model files: each gives its own specific message, and the app keeps working.

Cases: truncated at several points, random bytes, zero bytes, a folder, no read permission, a
vocabulary-only GGUF and an unsupported architecture. Each is tried through the CLI
(``hearth chat --model``), through one engine client (a good model then loads and answers in
that same client), and through one real window (the banner names the file and the problem; a
good model then loads in that same window). The CLI and client checks run in a child without
root's power over file permissions, so "no read permission" is real even in a root container.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.engine.options import LoadOptions
from tests.helpers.privileges import run_python_unprivileged
from tests.helpers.tinymodel import write_tiny_gptoss

# case -> (expected error kind, words the message must contain)
EXPECTED: dict[str, tuple[str, str]] = {
    "truncated-header": ("truncated", "inside its header"),
    "truncated-early": ("truncated", "File is truncated"),
    "truncated-middle": ("truncated", "File is truncated"),
    "truncated-last-bytes": ("truncated", "File is truncated"),
    "random-bytes": ("not_gguf", "is not a GGUF model file"),
    "zero-bytes": ("empty", "is empty (0 bytes)"),
    "directory": ("directory", "is a folder, not a model file"),
    "no-read-permission": ("unreadable", "permission denied"),
    "vocabulary-only": ("vocab_only", "vocabulary-only GGUF"),
    "unsupported-architecture": ("unsupported_architecture", "doesn't support"),
}


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad-models")
    data = tiny_model.read_bytes()
    files: dict[str, Path] = {}

    def put(name: str, blob: bytes) -> None:
        p = d / f"{name}.gguf"
        p.write_bytes(blob)
        files[name] = p

    put("truncated-header", data[:300])
    put("truncated-early", data[: len(data) // 10])
    put("truncated-middle", data[: len(data) // 2])
    put("truncated-last-bytes", data[:-7])
    put("random-bytes", os.urandom(200_000))
    put("zero-bytes", b"")
    (d / "directory.gguf").mkdir()
    files["directory"] = d / "directory.gguf"
    put("no-read-permission", data)
    files["no-read-permission"].chmod(0)
    files["vocabulary-only"] = write_tiny_gptoss(d / "vocabulary-only.gguf", vocab_only=True)
    files["unsupported-architecture"] = write_tiny_gptoss(
        d / "unsupported-architecture.gguf", arch="alien-net"
    )
    assert set(files) == set(EXPECTED)
    return files


_CHILD = r"""
import contextlib, io, json, sys
from app.cli import main
from app.engine.client import EngineClient, EngineError, GenerateRequest
from app.engine.events import ContentEvent, DoneEvent
from app.engine.options import LoadOptions
from app.harmony import Message

cases = json.loads(sys.argv[1])
good = sys.argv[2]
out = {"cli": {}, "client": {}}
for name, path in cases.items():
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["chat", "--model", path, "--no-save", "hi"])
    out["cli"][name] = {"code": code, "err": err.getvalue()}
with EngineClient() as client:
    for name, path in cases.items():
        try:
            client.load(LoadOptions(model_path=path, n_threads=1))
            out["client"][name] = {"kind": "loaded"}
        except EngineError as e:
            out["client"][name] = {"kind": e.kind, "message": e.message}
    info = client.load(LoadOptions(model_path=good, n_threads=1))
    script = "<|channel|>final<|message|>Still here.<|return|>"
    req = GenerateRequest([Message("user", "hi")], script=script)
    events = list(client.stream(req))
    out["after"] = {
        "architecture": info.architecture,
        "text": "".join(e.text for e in events if isinstance(e, ContentEvent)),
        "done": isinstance(events[-1], DoneEvent),
    }
print(json.dumps(out))
"""


def test_each_bad_file_has_its_own_message_via_cli_and_client(
    bad_files: dict[str, Path], tiny_model: Path
) -> None:
    cases = {k: str(v) for k, v in bad_files.items()}
    res = run_python_unprivileged(_CHILD, json.dumps(cases), str(tiny_model))
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout)
    for name, (kind, words) in EXPECTED.items():
        cli = out["cli"][name]
        assert cli["code"] == 1, (name, cli)
        lines = cli["err"].strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (name, cli["err"])
        client = out["client"][name]
        assert client["kind"] == kind and words in client["message"], (name, client)
    # Each kind of damage has its own sentence (the truncation points share "truncated").
    messages = {out["client"][n]["message"].split(":")[0] for n in EXPECTED if "trunc" not in n}
    assert len(messages) == len([n for n in EXPECTED if "trunc" not in n])
    # The same client loads a good model afterwards and answers.
    assert out["after"] == {"architecture": "gpt-oss", "text": "Still here.", "done": True}
    print(f"\nbad model files: {len(EXPECTED)} cases x (CLI, engine client), failures: 0")


def test_each_bad_file_is_explained_in_the_window_which_then_loads_a_good_one(
    qtbot, window, bad_files: dict[str, Path], tiny_model: Path
) -> None:  # type: ignore[no-untyped-def]
    shown = 0
    for name, path in bad_files.items():
        if name == "no-read-permission" and os.geteuid() == 0:
            continue  # root reads anything; the unprivileged client check above covers it
        _kind, words = EXPECTED[name]
        window.load_model(LoadOptions(model_path=str(path), n_threads=1))
        qtbot.waitUntil(lambda: not window.engine.busy, timeout=60_000)
        text = window.banner.label.text()
        assert window.banner.isVisible() and words in text, (name, text)
        assert f"Couldn't load {path.name}" in text, (name, text)
        assert "Choose another model" in window.banner.buttons
        assert window.isVisible() and not window.composer.can_send
        shown += 1
    window.load_model(LoadOptions(model_path=str(tiny_model), n_threads=1))
    qtbot.waitUntil(lambda: not window.engine.busy, timeout=60_000)
    assert window.engine.ready and not window.banner.isVisible()
    assert window.composer.can_send
    print(f"\nbad model files in the window: {shown} cases, failures: 0")
