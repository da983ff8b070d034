"""`forge ask` end to end: the CLI entry point, the real OpenAI-compatible server
(llama_cpp.server + SmolLM2) and the real MongoDB wire protocol."""

from __future__ import annotations

import io
import json

import pytest

from forge_tui.cli import main
from forge_tui.domain.models import Role, TurnStatus


@pytest.fixture
def forge(db, mongo_uri, tmp_path, monkeypatch, capsys):
    """Run ``forge ARGS`` (stdin given or a terminal) against the test database."""
    monkeypatch.setenv("FORGE_DB", db.name)
    monkeypatch.setenv("FORGE_DATA_DIR", str(tmp_path / "data"))
    models = tmp_path / "models.toml"
    monkeypatch.setenv("FORGE_MODELS", str(models))

    def run(*args: str, stdin: str | None = None, server=None):
        base = server.base_url if server is not None else "http://127.0.0.1:9/v1"
        models.write_text(
            f'default = "local"\n[models.local]\nkind = "openai"\nbase_url = "{base}"\nmodel = "smollm2"\n'
            f'structured = "grammar"\nn_ctx = 2048\nmax_retries = 0\n'
            f'[models.claude]\nkind = "anthropic"\nmodel = "c"\napi_key_env = "FORGE_TEST_UNSET_KEY"\n')
        fake_stdin = io.StringIO(stdin or "")
        fake_stdin.isatty = lambda: stdin is None  # type: ignore[method-assign]
        monkeypatch.setattr("sys.stdin", fake_stdin)
        capsys.readouterr()
        rc = main(["--mongo-uri", mongo_uri, *args])
        out = capsys.readouterr()
        return rc, out.out, out.err

    return run


@pytest.mark.slow
def test_ask_streams_stores_and_continues(forge, store, llama_server):
    rc, out, err = forge("ask", "Say hello in three words.", "--system", "Be brief.",
                         stdin="piped context line", server=llama_server)
    assert rc == 0, err
    [conv] = store.list_conversations()
    turns = store.turns(conv.id)
    assert [t.role for t in turns] == [Role.SYSTEM, Role.USER, Role.ASSISTANT]
    assert turns[1].content == "Say hello in three words.\n\npiped context line"
    reply = turns[2]
    assert reply.status is TurnStatus.COMPLETE and reply.content and out.strip() == reply.content.strip()
    assert reply.engine == "openai" and reply.model == "local"
    assert reply.usage["completion"] == reply.tokens > 0 and reply.usage["prompt"] > 0

    rc, out, err = forge("ask", "Thanks.", "--continue", "--json", server=llama_server)
    assert rc == 0, err
    answer = json.loads(out)
    assert answer["conversation_id"] == conv.id and answer["status"] == "complete" and answer["engine"] == "openai"
    assert len(store.turns(conv.id)) == 5


def test_ask_errors_are_one_line_and_store_nothing_half_done(forge, store):
    rc, out, err = forge("ask", "Is anyone there?")
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "Cannot reach http://127.0.0.1:9/v1" in err and "Start the server" in err
    assert store.list_conversations() == []
    rc, _, err = forge("ask", "hi", "--model", "claude")
    assert rc == 2 and "FORGE_TEST_UNSET_KEY, which is not set" in err and "export" in err
    rc, _, err = forge("ask", "hi", "--model", "nope")
    assert rc == 2 and "Unknown model 'nope'" in err
    rc, _, err = forge("ask", "")
    assert rc == 2 and "nothing to ask" in err
    rc, _, err = forge("ask", "hi", "--continue")
    assert rc == 2 and "no conversation to continue" in err
