"""System prompts on the real SecantusDB server: a conversation's own and its project's default,
what the model is sent, exports, archives (header and continuation) and `forge sessions prompt`."""

from __future__ import annotations

import io
import json
import os
import stat
from datetime import timedelta

import pytest
import yaml

from forge_tui.cli import main
from forge_tui.compression import archive_context_messages, compress, continue_from, load_archive
from forge_tui.domain.ids import conversation_id, message_id
from forge_tui.domain.models import (
    SYSTEM_PROMPT_MAX_CHARS,
    Conversation,
    Role,
    SystemPrompt,
    Turn,
    TurnStatus,
    utcnow,
)
from forge_tui.export import ExportError, export_conversation, write_export
from forge_tui.protocol.validate import validate_archive
from forge_tui.session.context import SYSTEM_PROMPT, build_messages

PIRATE = "You are a pirate.\nAnswer every question in pirate speak."
TERSE = "Answer in one sentence."


def _conversation(store, title: str, project: str = "p", turns: tuple[tuple[str, str], ...] = ()) -> Conversation:
    start = utcnow()
    conv = Conversation(id=conversation_id(project, title, start), project=project, title=title,
                        created_at=start, updated_at=start)
    built = [Turn(id=message_id(conv.id, str(i), start + timedelta(seconds=i)), conversation_id=conv.id, seq=i,
                  role=Role(role), content=text, status=TurnStatus.COMPLETE,
                  created_at=start + timedelta(seconds=i), updated_at=start + timedelta(seconds=i))
             for i, (role, text) in enumerate(turns)]
    store.write_conversation_whole(conv, built)
    return store.get_conversation(conv.id)


SESSION = (("user", "We need a cache for the pricing API. Never cache responses for more than 300 seconds."),
           ("assistant", "Let's go with an in-process LRU cache in src/pricing/cache.py with maxsize 4096."))


def test_a_conversation_follows_its_project_default_until_it_has_its_own(store):
    conv = _conversation(store, "Cache")
    other = _conversation(store, "Elsewhere", project="q")
    assert store.system_prompt_for(conv) is None

    assert store.set_project_system_prompt("p", f"  {PIRATE}  \n\n") == PIRATE  # trimmed as stored
    assert store.system_prompt_for(conv) == SystemPrompt(PIRATE, "project")
    assert store.system_prompt_for(other) is None  # another project's conversations are untouched

    changed = store.set_conversation_system_prompt(conv.id, TERSE)
    assert changed.system_prompt == TERSE and store.get_conversation(conv.id).system_prompt == TERSE
    assert store.system_prompt_for(changed) == SystemPrompt(TERSE, "conversation")

    cleared = store.set_conversation_system_prompt(conv.id, "   ")  # blank clears: back to the project's
    assert cleared.system_prompt is None and store.system_prompt_for(cleared) == SystemPrompt(PIRATE, "project")
    assert store.set_project_system_prompt("p", None) is None
    assert store.project_system_prompt("p") is None and store.system_prompt_for(cleared) is None
    assert store.set_conversation_system_prompt("no-such-id", TERSE) is None


def test_a_prompt_too_long_is_refused_and_changes_nothing(store):
    conv = _conversation(store, "Cache")
    store.set_conversation_system_prompt(conv.id, TERSE)
    with pytest.raises(ValueError, match="keep it under 20,000"):
        store.set_conversation_system_prompt(conv.id, "x" * (SYSTEM_PROMPT_MAX_CHARS + 1))
    with pytest.raises(ValueError, match="characters"):
        store.set_project_system_prompt("p", "x" * (SYSTEM_PROMPT_MAX_CHARS + 1))
    assert store.get_conversation(conv.id).system_prompt == TERSE and store.project_system_prompt("p") is None


def test_a_re_import_keeps_a_prompt_set_in_forge(store):
    conv = _conversation(store, "Cache", turns=SESSION)
    store.set_conversation_system_prompt(conv.id, TERSE)
    again = Conversation(id=conv.id, project="p", title="Cache", created_at=conv.created_at,
                         updated_at=conv.updated_at)
    store.write_conversation_whole(again, store.turns(conv.id))
    assert store.get_conversation(conv.id).system_prompt == TERSE


def test_the_system_message_starts_with_the_prompt_in_force(store):
    conv = _conversation(store, "Cache", turns=SESSION)
    turns = store.turns(conv.id)
    plain = build_messages(turns, conv, store)
    assert plain[0] == {"role": "system", "content": SYSTEM_PROMPT}
    told = build_messages(turns, conv, store, system_prompt=SystemPrompt(PIRATE, "project"))
    assert told[0]["role"] == "system" and told[0]["content"] == PIRATE and SYSTEM_PROMPT not in told[0]["content"]
    assert [m["role"] for m in told] == ["system", "user", "assistant"]


@pytest.mark.parametrize("fmt", ["md", "json", "yaml"])
def test_exports_carry_the_prompt_and_where_it_comes_from(store, fmt):
    conv = _conversation(store, "Cache", turns=SESSION)
    store.set_project_system_prompt("p", PIRATE)
    text = export_conversation(store, conv.id, fmt)
    if fmt == "md":
        assert "**System prompt** (the project's default):" in text
        assert "> You are a pirate.\n> Answer every question in pirate speak." in text
    else:
        data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
        assert (data["system_prompt"], data["system_prompt_from"]) == (PIRATE, "project")
        assert [m["content"] for m in data["messages"]] == [t for _, t in SESSION]
    store.set_conversation_system_prompt(conv.id, TERSE)
    assert TERSE in export_conversation(store, conv.id, fmt)


def test_write_export_refuses_a_missing_folder_and_an_existing_file(store, tmp_path):
    conv = _conversation(store, "Cache", turns=SESSION)
    with pytest.raises(ExportError, match="does not exist; create it first"):
        write_export(store, conv.id, "md", tmp_path / "nope" / "c.md")
    with pytest.raises(ExportError, match="is a folder"):
        write_export(store, conv.id, "md", tmp_path)
    target = tmp_path / "c.md"
    written = write_export(store, conv.id, "md", target)
    assert written == target and stat.S_IMODE(os.stat(target).st_mode) == 0o600
    target.write_text("mine", encoding="utf-8")
    with pytest.raises(ExportError, match="already exists; confirm to overwrite"):
        write_export(store, conv.id, "json", target)
    assert target.read_text(encoding="utf-8") == "mine"  # nothing half-written
    write_export(store, conv.id, "json", target, overwrite=True)
    assert json.loads(target.read_text(encoding="utf-8"))["id"] == conv.id


def test_archives_carry_the_prompt_and_a_continued_session_keeps_it(store):
    conv = _conversation(store, "Cache", turns=SESSION)
    store.set_conversation_system_prompt(conv.id, TERSE)
    result = compress(store, None, conv.id)
    header = result.archive["header"]
    assert (header["system_prompt"], header["system_prompt_from"]) == (TERSE, "conversation")
    assert not validate_archive(result.archive)
    assert "system_prompt: Answer in one sentence." in result.yaml_text
    # the model sees it once, as the system prompt, not again inside the archive's YAML
    assert TERSE not in archive_context_messages(load_archive(store, result.archive_id))[0]["content"]
    continued = continue_from(store, result.archive_id)
    assert continued.system_prompt == TERSE
    assert store.system_prompt_for(continued) == SystemPrompt(TERSE, "conversation")


def test_a_project_default_in_an_archive_is_followed_while_the_project_keeps_it(store):
    conv = _conversation(store, "Cache", turns=SESSION)
    store.set_project_system_prompt("p", PIRATE)
    archive_id = compress(store, None, conv.id).archive_id
    assert load_archive(store, archive_id)["header"]["system_prompt_from"] == "project"
    follows = continue_from(store, archive_id)
    assert follows.system_prompt is None and store.system_prompt_for(follows) == SystemPrompt(PIRATE, "project")
    store.set_project_system_prompt("p", TERSE)  # the project moved on: the continuation keeps the archive's
    assert continue_from(store, archive_id).system_prompt == PIRATE


# -- the CLI ---------------------------------------------------------------------------------

@pytest.fixture
def forge(db, mongo_uri, tmp_path, monkeypatch, capsys):
    """Run ``forge ARGS`` against the test database; returns (rc, stdout, stderr)."""
    monkeypatch.setenv("FORGE_DB", db.name)
    monkeypatch.setenv("FORGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FORGE_MODELS", raising=False)

    def run(*args: str, stdin: str = ""):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        capsys.readouterr()
        rc = main(["--mongo-uri", mongo_uri, *args])
        out = capsys.readouterr()
        return rc, out.out, out.err

    return run


def test_cli_sets_shows_and_clears_prompts(store, forge):
    conv = _conversation(store, "Cache", turns=SESSION)
    short = conv.id[:8]
    rc, out, _ = forge("sessions", "prompt", short)
    assert rc == 0 and "none (Forge's built-in prompt)" in out

    rc, out, _ = forge("sessions", "prompt", "--project", "p", "-", stdin=PIRATE + "\n")
    assert rc == 0 and "default system prompt set" in out and store.project_system_prompt("p") == PIRATE
    rc, out, _ = forge("sessions", "prompt", short)
    assert rc == 0 and "(project 'p' default):\nYou are a pirate." in out

    rc, out, _ = forge("sessions", "prompt", short, "Answer", "in", "one", "sentence.")
    assert rc == 0 and "system prompt set (23 characters)" in out
    assert store.get_conversation(conv.id).system_prompt == TERSE
    rc, out, _ = forge("sessions", "prompt", short)
    assert "(its own):\nAnswer in one sentence." in out

    rc, out, _ = forge("sessions", "prompt", short, "--clear")
    assert rc == 0 and "cleared; it follows project 'p' default" in out
    assert store.get_conversation(conv.id).system_prompt is None
    rc, out, _ = forge("sessions", "prompt", "--project", "p", "--clear")
    assert rc == 0 and store.project_system_prompt("p") is None


@pytest.mark.parametrize("args, message", [
    ((), "name the conversation"),
    (("ID", "text", "--clear"), "not both"),
    (("ID", " "), "the prompt is empty"),
    (("nope", "text"), "no conversation with id 'nope'"),
])
def test_cli_mistakes_are_one_line_errors(store, forge, args, message):
    conv = _conversation(store, "Cache", turns=SESSION)
    args = tuple(conv.id if a == "ID" else a for a in args)
    rc, out, err = forge("sessions", "prompt", *args)
    assert rc == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1
    assert store.get_conversation(conv.id).system_prompt is None


def test_an_exported_prompt_comes_back_with_forge_import_transcript(store, mongo_client, tmp_path):
    import uuid

    from forge_tui.importers.service import import_conversations
    from forge_tui.importers.transcript import parse_transcript
    from forge_tui.store.repository import Store

    own = _conversation(store, "Own", turns=SESSION)
    store.set_conversation_system_prompt(own.id, PIRATE)
    inherited = _conversation(store, "Inherited", turns=SESSION)
    store.set_project_system_prompt("p", TERSE)
    for conv in (own, inherited):
        write_export(store, conv.id, "json", tmp_path / f"{conv.title}.json")
    name = "t_" + uuid.uuid4().hex[:12]
    other = Store(mongo_client[name])
    try:
        other.ensure_schema()
        for conv in (own, inherited):
            import_conversations(other, parse_transcript(tmp_path / f"{conv.title}.json"), project=None)
        back = {c.title: c for c in other.list_conversations()}
        assert back["Own"].system_prompt == PIRATE
        assert back["Inherited"].system_prompt is None  # a project's default is not pinned on the conversation
    finally:
        mongo_client.drop_database(name)


def test_the_models_chat_template_renders_the_prompt_as_its_system_turn(store, smollm2_path):
    """SmolLM2's own GGUF template (what LlamaEngine renders with), loaded vocabulary-only."""
    import llama_cpp

    from forge_tui.engine.chat_template import make_formatter

    conv = _conversation(store, "Cache", turns=SESSION)
    store.set_project_system_prompt("p", PIRATE)
    messages = build_messages(store.turns(conv.id), conv, store, system_prompt=store.system_prompt_for(conv))
    llm = llama_cpp.Llama(model_path=str(smollm2_path), vocab_only=True, verbose=False)
    try:
        prompt, _ = make_formatter(llm, None)(messages)
    finally:
        llm.close()
    assert prompt.startswith(f"<|im_start|>system\n{PIRATE}<|im_end|>\n<|im_start|>user\nWe need a cache")
    assert SYSTEM_PROMPT not in prompt
