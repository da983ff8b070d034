"""User mistakes on the command line end in one line on stderr and exit status 2 — never a
traceback: a bad or unreachable --mongo-uri, a model that cannot load, an empty id."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from forge_tui.cli import main
from forge_tui.domain.models import Conversation, Role, Turn, utcnow


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("forge: ") and "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("uri, expected", [
    ("not-a-uri", "is not a MongoDB URI"),
    ("mongodb://127.0.0.1:99999", "Port must be an integer"),
    ("mongodb://127.0.0.1:1/?directConnection=true", "Cannot reach the MongoDB server at 127.0.0.1:1"),
    ("mongodb://", "is not usable"),
])
def test_bad_mongo_uri_is_one_line_and_fast(uri, expected, tmp_path, capsys):
    started = time.monotonic()
    assert main(["--mongo-uri", uri, "--data-dir", str(tmp_path), "sessions"]) == 2
    elapsed = time.monotonic() - started
    line = one_line(capsys.readouterr().err)
    assert expected in line
    assert "--mongo-uri" in line  # names where the URI came from, i.e. what to fix
    assert elapsed < 10  # bounded by the 2 s check, not pymongo's 30 s default


def test_uri_from_the_environment_is_named_as_such(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FORGE_MONGO_URI", "localhost:27017")
    assert main(["--data-dir", str(tmp_path), "sessions"]) == 2
    assert "FORGE_MONGO_URI" in one_line(capsys.readouterr().err)


@pytest.fixture
def forge(db, mongo_uri, tmp_path, monkeypatch):
    monkeypatch.setenv("FORGE_DB", db.name)

    def run(*argv: str) -> int:
        return main(["--mongo-uri", mongo_uri, "--data-dir", str(tmp_path / "data"), *argv])

    return run


@pytest.fixture
def conversation(store) -> str:
    now = utcnow()
    conv = Conversation(id="c0ffee00-0000-8000-8000-000000000001", project="p", title="probe",
                        created_at=now, updated_at=now)
    store.create_conversation(conv)
    store.insert_turn(Turn(id="t1", conversation_id=conv.id, seq=0, role=Role.USER,
                           content="We decided to use Postgres.", created_at=now, updated_at=now), "p")
    return conv.id


def test_show_with_an_empty_id_is_an_error(forge, conversation, capsys):
    assert forge("show", "") == 2
    assert "empty" in one_line(capsys.readouterr().err)
    assert forge("lineage", " ") == 2
    one_line(capsys.readouterr().err)
    assert forge("export", "") == 2
    one_line(capsys.readouterr().err)


@pytest.mark.slow
def test_compress_with_a_model_that_cannot_load_is_one_line(forge, conversation, tmp_path, capsys, monkeypatch):
    from forge_tui.engine.model_files import smollm2_path

    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("hello, not a model\n" * 10)
    truncated = tmp_path / "truncated.gguf"
    with smollm2_path().open("rb") as fh:
        truncated.write_bytes(fh.read(300_000))
    models = tmp_path / "models.toml"
    models.write_text(
        'default = "missing"\n'
        f'[models.missing]\npath = "{tmp_path / "nope.gguf"}"\nn_ctx = 512\nn_threads = 1\n'
        f'[models.notgguf]\npath = "{not_gguf}"\nn_ctx = 512\nn_threads = 1\n'
        f'[models.truncated]\npath = "{truncated}"\nn_ctx = 512\nn_threads = 1\n'
        '[models.unknownpkg]\npath = "package:no_such_model_pkg"\nn_ctx = 512\nn_threads = 1\n'
    )
    monkeypatch.setenv("FORGE_MODELS", str(models))
    for name, expected in [("missing", "not found"), ("notgguf", "not a GGUF"),
                           ("truncated", "could not load"), ("unknownpkg", "Unknown packaged model"),
                           ("no-such-name", "no-such-name")]:
        assert forge("compress", conversation, "--model", name) == 2, name
        err = capsys.readouterr().err
        progress = "\n".join(line for line in err.splitlines() if not line.startswith("compressing "))
        assert expected in one_line(progress), name


def test_exports_are_private(forge, conversation, tmp_path, capsys):
    old = os.umask(0o022)
    try:
        assert forge("export", conversation, "-o", str(tmp_path / "one.md")) == 0
        assert forge("export", "--all", "-o", str(tmp_path / "all")) == 0
    finally:
        os.umask(old)
    files = [tmp_path / "one.md", *Path(tmp_path / "all").rglob("*.*")]
    assert len(files) >= 2
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    assert stat.S_IMODE((tmp_path / "all").stat().st_mode) == 0o700
