"""System prompts and exports from the palette: Pilot flows on the real store with the scripted
engine (what the engine received is asserted), files equal to `forge export`'s, and snapshots of
the system-prompt editor and the export screen at 80×24."""

from __future__ import annotations

import os
import stat
from dataclasses import replace

import pytest

from forge_tui.cli import main
from forge_tui.compression import compress
from forge_tui.domain.models import SystemPrompt
from forge_tui.export import export_conversation

from .conftest import SIZE
from .helpers import open_conversation, run_palette, wait_connected, wait_idle, wait_until
from .seed import seed_library

SMALL = (80, 24)
PIRATE = "You are a pirate.\nAnswer in pirate speak."


async def _type_prompt(pilot, text: str) -> None:
    """Type ``text`` into the open editor (Enter makes a new line there) and save with ctrl+s."""
    await wait_until(pilot, lambda: bool(pilot.app.screen.query("#system-prompt-text")))
    area = pilot.app.screen.query_one("#system-prompt-text")
    area.text = ""
    for i, line in enumerate(text.split("\n")):
        if i:
            await pilot.press("enter")
        await pilot.press(*line)
    await pilot.press("ctrl+s")


def _sidebar_prompt(app) -> str:
    return str(app.main_screen.query_one("#system-prompt").render())


async def _send(pilot, text: str) -> None:
    app = pilot.app
    before = len(app.controller.engine.requests)
    app.main_screen.query_one("#prompt").focus()
    await pilot.press(*text, "enter")
    await wait_until(pilot, lambda: len(app.controller.engine.requests) > before)
    await wait_idle(pilot)


async def test_a_new_conversations_prompt_is_stored_with_it_and_sent_as_the_system_message(make_app, store):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await run_palette(pilot, "Set system prompt")
        await _type_prompt(pilot, PIRATE)
        await wait_until(pilot, lambda: app.controller.state.system_prompt == SystemPrompt(PIRATE, "conversation"))
        await wait_until(pilot, lambda: _sidebar_prompt(app).startswith("conversation · You are a pirate."))
        assert "prompt: own" in str(app.main_screen.query_one("#status-line").render())
        await _send(pilot, "Where is the treasure?")
        sent = app.controller.engine.requests[-1].messages
        assert sent[0] == {"role": "system", "content": PIRATE}
        assert sent[-1] == {"role": "user", "content": "Where is the treasure?"}
        conv_id = app.controller.state.conversation.id
        await wait_until(pilot, lambda: store.get_conversation(conv_id) is not None)
        assert store.get_conversation(conv_id).system_prompt == PIRATE


async def test_the_project_default_is_inherited_until_a_conversation_sets_its_own(make_app, store):
    convs = seed_library(store)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        await open_conversation(pilot, convs["plan"].id)
        await run_palette(pilot, "Set project system prompt")
        await _type_prompt(pilot, "Keep answers under 50 words.")
        await wait_until(pilot, lambda: store.project_system_prompt("default") == "Keep answers under 50 words.")
        await wait_until(pilot, lambda: _sidebar_prompt(app) == "project default · Keep answers under 50 words.")
        await _send(pilot, "Summarise the plan.")
        assert app.controller.engine.requests[-1].messages[0]["content"] == "Keep answers under 50 words."

        # another conversation of the project follows it; another project's does not
        await open_conversation(pilot, convs["bugs"].id)
        assert app.controller.state.system_prompt == SystemPrompt("Keep answers under 50 words.", "project")
        await open_conversation(pilot, convs["risk"].id)
        assert app.controller.state.system_prompt is None
        await wait_until(pilot, lambda: not app.main_screen.query_one("#system-prompt").display)

        # its own prompt wins; Clear gives the project's back
        await open_conversation(pilot, convs["bugs"].id)
        await run_palette(pilot, "Set system prompt")
        await _type_prompt(pilot, "Explain like I am five.")
        await wait_until(pilot, lambda: store.get_conversation(convs["bugs"].id).system_prompt
                         == "Explain like I am five.")
        await wait_until(pilot, lambda: _sidebar_prompt(app) == "conversation · Explain like I am five.")
        await _send(pilot, "Why?")
        assert app.controller.engine.requests[-1].messages[0]["content"] == "Explain like I am five."
        await run_palette(pilot, "Set system prompt")
        await wait_until(pilot, lambda: bool(app.screen.query("#system-prompt-text")))
        assert app.screen.query_one("#system-prompt-text").text == "Explain like I am five."
        await pilot.click("#clear")
        await wait_until(pilot, lambda: store.get_conversation(convs["bugs"].id).system_prompt is None)
        await wait_until(pilot, lambda: _sidebar_prompt(app).startswith("project default"))
        # from the list: the highlighted conversation gets it, not the open one
        conv_list = app.main_screen.conversation_list
        conv_list.focus()
        conv_list.highlighted = conv_list.get_option_index(convs["plan"].id)
        await run_palette(pilot, "Set system prompt")
        await _type_prompt(pilot, "Plan mode.")
        await wait_until(pilot, lambda: store.get_conversation(convs["plan"].id).system_prompt == "Plan mode.")
        assert app.controller.state.conversation.id == convs["bugs"].id
        assert app.controller.state.system_prompt == SystemPrompt("Keep answers under 50 words.", "project")
        # Esc leaves everything as it was
        await run_palette(pilot, "Set project system prompt")
        await wait_until(pilot, lambda: bool(app.screen.query("#system-prompt-text")))
        await pilot.press("x", "escape")
        await pilot.pause(0.3)
        assert store.project_system_prompt("default") == "Keep answers under 50 words."


@pytest.fixture
def forge_cli(db, mongo_uri, tmp_path, monkeypatch):
    """``forge ARGS`` in-process against the test database (the return code)."""
    monkeypatch.setenv("FORGE_DB", db.name)
    monkeypatch.setenv("FORGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FORGE_MODELS", raising=False)
    return lambda *args: main(["--mongo-uri", mongo_uri, *args])


async def _export(pilot, command: str, fmt_label: str | None = None) -> None:
    await run_palette(pilot, command)
    await wait_until(pilot, lambda: bool(pilot.app.screen.query("#export-path")))
    if fmt_label is not None:
        await pilot.click(f"#format-{fmt_label}")
        await pilot.pause(0.1)
    pilot.app.screen.query_one("#export-path").focus()
    await pilot.press("enter")


async def test_export_writes_each_format_as_forge_export_does(make_app, store, tmp_path, forge_cli):
    convs = seed_library(store)
    plan = convs["plan"].id
    store.set_project_system_prompt("default", PIRATE)
    out = tmp_path / "exports"
    out.mkdir()
    app = make_app()
    notes: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        app.controller.settings = replace(app.controller.settings, export_dir=str(out))
        app.main_screen.notify = lambda message, **kw: notes.append(message)  # type: ignore[method-assign]
        await open_conversation(pilot, plan)
        for fmt in ("md", "json", "yaml"):
            await _export(pilot, "Export conversation", fmt)
            written = out / f"archive-storage-plan-{plan[:8]}.{fmt}"
            await wait_until(pilot, lambda: f"Conversation exported to {written}" in notes)
            assert stat.S_IMODE(os.stat(written).st_mode) == 0o600
            assert forge_cli("export", plan, "--format", fmt, "-o", str(tmp_path / f"cli.{fmt}")) == 0
            assert written.read_bytes() == (tmp_path / f"cli.{fmt}").read_bytes()
            assert "You are a pirate." in written.read_text(encoding="utf-8")

        # an existing file: refused in the screen until Overwrite confirms it
        written = out / f"archive-storage-plan-{plan[:8]}.md"
        written.write_text("keep me", encoding="utf-8")
        await _export(pilot, "Export conversation", "md")
        await wait_until(pilot, lambda: "already exists" in str(app.screen.query_one("#export-error").render()))
        assert str(app.screen.query_one("#export").label) == "Overwrite"
        assert written.read_text(encoding="utf-8") == "keep me"
        await pilot.press("enter")
        await wait_until(pilot, lambda: written.read_text(encoding="utf-8") == export_conversation(store, plan, "md"))

        # a folder that does not exist: said so, nothing written, the screen stays
        await run_palette(pilot, "Export conversation")
        await wait_until(pilot, lambda: bool(app.screen.query("#export-path")))
        app.screen.query_one("#export-path").value = str(tmp_path / "missing" / "plan.md")
        app.screen.query_one("#export-path").focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: "does not exist" in str(app.screen.query_one("#export-error").render()))
        await pilot.press("escape")
        assert not (tmp_path / "missing").exists()


async def test_export_archive_writes_the_latest_archive_as_yaml(make_app, store, tmp_path, forge_cli):
    convs = seed_library(store)
    plan = convs["plan"].id
    app = make_app()
    notes: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        app.controller.settings = replace(app.controller.settings, export_dir=str(tmp_path))
        app.main_screen.notify = lambda message, **kw: notes.append(message)  # type: ignore[method-assign]
        await open_conversation(pilot, convs["bugs"].id)
        await run_palette(pilot, "Export archive")
        await wait_until(pilot, lambda: any("has no archive yet" in n for n in notes))

        archive_id = compress(store, None, plan).archive_id
        await open_conversation(pilot, plan)
        await run_palette(pilot, "Export archive")
        await wait_until(pilot, lambda: bool(app.screen.query("#export-path")))
        assert app.screen.query_one("#format-md").disabled and not app.screen.query_one("#format-yaml").disabled
        await pilot.press("enter")
        written = tmp_path / f"archive-storage-plan-archive-{archive_id[:8]}.yaml"
        await wait_until(pilot, lambda: f"Archive exported to {written}" in notes)
        assert forge_cli("export", archive_id, "-o", str(tmp_path / "cli.yaml")) == 0
        assert written.read_bytes() == (tmp_path / "cli.yaml").read_bytes()


def test_system_prompt_editor_snapshot(snap_compare, make_app, store):
    convs = seed_library(store)
    store.set_project_system_prompt("default", "Keep answers under 50 words.")

    async def run_before(pilot):
        await wait_connected(pilot)
        await open_conversation(pilot, convs["plan"].id)
        await run_palette(pilot, "Set system prompt")
        await wait_until(pilot, lambda: bool(pilot.app.screen.query("#system-prompt-text")))
        await pilot.press(*"You are a careful reviewer.", "enter", *"Point at the line.")
        await pilot.pause(0.2)

    assert snap_compare(make_app(), terminal_size=SMALL, run_before=run_before)


def test_export_screen_snapshot(snap_compare, make_app, store, tmp_path):
    convs = seed_library(store)
    app = make_app()

    async def run_before(pilot):
        await wait_connected(pilot)
        app.controller.settings = replace(app.controller.settings, export_dir="/home/me/exports")
        await open_conversation(pilot, convs["plan"].id)
        await run_palette(pilot, "Export conversation")
        await wait_until(pilot, lambda: bool(pilot.app.screen.query("#export-path")))
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SMALL, run_before=run_before)
