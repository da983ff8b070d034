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
        bridge.emit(ev.ReplyChunk("t1", piece))
    assert len(target.posted) == 1 and target.posted[0].take() == "abc"
    bridge.emit(ev.ReplyChunk("t1", "d"))  # taken: a new message
    bridge.emit(ev.ReplyFinished(_turn(), "stop"))
    bridge.emit(ev.ReplyChunk("t1", "e"))  # after finish: never appended to an old message
    kinds = [type(m) for m in target.posted]
    assert kinds == [msg.ReplyStreamed, msg.ReplyStreamed, msg.ReplyFinished, msg.ReplyStreamed]
    assert target.posted[1].take() == "d" and target.posted[3].take() == "e"


def test_bridge_delivers_events_emitted_before_attach_in_order():
    bridge, target = Bridge(), Collector()
    bridge.emit(ev.ModelLoading("m"))
    bridge.emit(ev.StoreFailed("down"))
    bridge.attach(target)
    assert [type(m) for m in target.posted] == [msg.ModelLoading, msg.StoreFailed]


def test_every_session_event_has_a_message():
    bridge, target = Bridge(), Collector()
    bridge.attach(target)
    events = [cls for cls in vars(ev).values()
              if isinstance(cls, type) and issubclass(cls, ev.Event) and cls is not ev.Event]
    samples = {
        ev.StoreConnected: ("x",), ev.StoreFailed: ("x",), ev.ModelLoading: ("m",),
        ev.ModelReady: ("m", 1, 0.0), ev.ModelFailed: ("m", "x"), ev.ConversationsListed: ([],),
        ev.TurnPersisted: (_turn(),), ev.ReplyStarted: (_turn(),),
        ev.ReplyChunk: ("t", "x"), ev.ReplyFinished: (_turn(), "stop"), ev.TokensCounted: (1, 2),
        ev.Notice: ("x",), ev.FeatureEvent: ("k",),
    }
    for cls in events:
        if cls is ev.ConversationOpened:
            continue  # needs a Conversation; covered by the Pilot tests
        bridge.emit(cls(*samples[cls]))
    assert len(target.posted) == len(events) - 1


def test_bursty_messages_coalesce():
    assert msg.TokensCounted(1, 10).can_replace(msg.TokensCounted(2, 10))
    assert msg.ConversationsListed([]).can_replace(msg.ConversationsListed([]))
    assert not msg.TokensCounted(1, 10).can_replace(msg.StoreFailed("x"))
    assert msg.FeatureUpdated("knowledge_changed").can_replace(msg.FeatureUpdated("knowledge_changed"))
    assert not msg.FeatureUpdated("lineage").can_replace(msg.FeatureUpdated("lineage"))


def test_bridge_coalesces_archive_pieces_and_keeps_order():
    bridge, target = Bridge(), Collector()
    bridge.attach(target)
    bridge.emit(ev.FeatureEvent("archive_started", {"mode": "default"}))
    for piece in ("sch", "ema: ", "1\n"):
        bridge.emit(ev.FeatureEvent("archive_piece", {"text": piece}))
    bridge.emit(ev.FeatureEvent("archive_ready", {"archive_id": "a"}))
    bridge.emit(ev.FeatureEvent("archive_piece", {"text": "x"}))
    kinds = [type(m).__name__ for m in target.posted]
    assert kinds == ["FeatureUpdated", "ArchiveStreamed", "FeatureUpdated", "ArchiveStreamed"]
    assert target.posted[1].take() == "schema: 1\n" and target.posted[3].take() == "x"


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
