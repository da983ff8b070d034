"""Unit tests of UI parts: the bridge's coalescing, theme loading, and the layering rule."""

from __future__ import annotations

import ast
from pathlib import Path

from forge_tui.domain.models import Role, Turn
from forge_tui.session import events as ev
from forge_tui.ui import messages as msg
from forge_tui.ui.bridge import Bridge
from forge_tui.ui.themes import load_themes

UI = Path(__file__).resolve().parents[2] / "forge_tui" / "ui"


class Collector:
    """Stands in for a message pump: records what the bridge posts."""

    def __init__(self):
        self.posted = []

    def post_message(self, message):
        self.posted.append(message)
        return True


def _turn(turn_id="t1"):
    return Turn(id=turn_id, conversation_id="c", seq=1, role=Role.ASSISTANT, content="abc")


def test_bridge_coalesces_reply_pieces_until_the_ui_takes_them():
    bridge, target = Bridge(), Collector()
    bridge.attach(target)
    for piece in ("a", "b", "c"):
        bridge.emit(ev.ReplyChunk("c", "t1", piece))
    assert len(target.posted) == 1 and target.posted[0].event.text == "abc"
    bridge.emit(ev.ReplyChunk("c", "t1", "d"))  # taken: a new message
    bridge.emit(ev.ReplyFinished("c", _turn(), "stop"))
    bridge.emit(ev.ReplyChunk("c", "t1", "e"))  # after finish: never appended to an old message
    kinds = [m.event_type for m in target.posted]
    assert kinds == [ev.ReplyChunk, ev.ReplyChunk, ev.ReplyFinished, ev.ReplyChunk]
    assert target.posted[1].event.text == "d" and target.posted[3].event.text == "e"


def test_bridge_delivers_events_emitted_before_attach_in_order():
    bridge, target = Bridge(), Collector()
    bridge.emit(ev.Notice("first"))
    bridge.emit(ev.ConversationsListed([]))
    bridge.attach(target)
    assert [m.event_type for m in target.posted] == [ev.Notice, ev.ConversationsListed]


def test_every_session_event_is_one_dataclass_the_screen_handles():
    """No kind strings, no payload dicts: each event type is a frozen dataclass with a handler."""
    import dataclasses
    from types import SimpleNamespace

    from forge_tui.session.state import SessionState
    from forge_tui.ui.screens.main import MainScreen

    events = {cls for cls in vars(ev).values()
              if isinstance(cls, type) and issubclass(cls, ev.Event) and cls not in (ev.Event, ev.ConversationEvent)}
    assert all(dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen for cls in events)
    screen = MainScreen(SimpleNamespace(state=SessionState(project="p")))  # type: ignore[arg-type]
    assert set(screen._handlers) == events


def test_bursty_events_coalesce():
    from forge_tui.session.state import SessionState

    state = SessionState(project="p")
    assert msg.SessionEventPosted(ev.StateChanged(state)).can_replace(msg.SessionEventPosted(ev.StateChanged(state)))
    assert msg.SessionEventPosted(ev.ConversationsListed([])).can_replace(
        msg.SessionEventPosted(ev.ConversationsListed([])))
    assert not msg.SessionEventPosted(ev.StateChanged(state)).can_replace(msg.SessionEventPosted(ev.Notice("x")))
    assert msg.SessionEventPosted(ev.KnowledgeChanged("p", {})).can_replace(
        msg.SessionEventPosted(ev.KnowledgeChanged("p", {})))
    assert not msg.SessionEventPosted(ev.KnowledgeChanged("p", {})).can_replace(
        msg.SessionEventPosted(ev.KnowledgeChanged("q", {})))
    assert not msg.SessionEventPosted(ev.Notice("a")).can_replace(msg.SessionEventPosted(ev.Notice("a")))


def test_bridge_coalesces_archive_pieces_and_keeps_order():
    bridge, target = Bridge(), Collector()
    bridge.attach(target)
    bridge.emit(ev.ArchiveStarted("c", "default"))
    for piece in ("sch", "ema: ", "1\n"):
        bridge.emit(ev.ArchivePiece("c", piece))
    bridge.emit(ev.ArchiveFailed("c", "stopped"))
    bridge.emit(ev.ArchivePiece("c", "x"))
    kinds = [m.event_type for m in target.posted]
    assert kinds == [ev.ArchiveStarted, ev.ArchivePiece, ev.ArchiveFailed, ev.ArchivePiece]
    assert target.posted[1].event.text == "schema: 1\n" and target.posted[3].event.text == "x"


def test_themes_load_from_files_and_failures_are_collected(tmp_path):
    (tmp_path / "ok.toml").write_text('primary = "#112233"\ndark = false\n')
    (tmp_path / "syntax.toml").write_text('primary = "#112233\n')
    (tmp_path / "colour.toml").write_text('primary = "blurple-ish"\n')
    (tmp_path / "extra.toml").write_text('primary = "#112233"\nsparkle = true\n')
    result = load_themes([UI.parents[1] / "themes", tmp_path, tmp_path / "missing"])
    assert {"forge-dark", "forge-light", "ok"} <= set(result.themes)
    assert result.themes["ok"].dark is False
    assert len(result.errors) == 3
    joined = "\n".join(result.errors)
    assert "syntax.toml" in joined and "colour.toml" in joined and "sparkle" in joined


def test_widgets_and_screens_never_touch_the_engine_or_the_database():
    forbidden = ("pymongo", "forge_tui.engine", "forge_tui.store", "llama_cpp", "secantus")
    for folder in ("widgets", "screens"):
        for path in (UI / folder).glob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                for name in names:
                    assert not name.startswith(forbidden), f"{path.name} imports {name}"
