"""Compression service parts that need no model: assembly, budget, continue, lineage, CLI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from forge_tui.commands import archive as archive_cmd
from forge_tui.compression import (
    CompressionError,
    archive_context_messages,
    continue_from,
    import_archive,
    lineage,
    load_archive,
)
from forge_tui.compression.assemble import fit_to_budget, merge_decisions, merge_threads
from forge_tui.protocol.example import example_archive
from forge_tui.knowledge.pipeline import Candidate, extract
from forge_tui.protocol.render import dump_archive
from forge_tui.protocol.validate import validate_archive

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "conversations"


def _turns(name: str) -> list[dict]:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    return [{"id": f"m{i}", **m} for i, m in enumerate(data["messages"])]


def test_fixtures_are_twenty_with_planted_facts():
    files = sorted(FIXTURES.glob("*.json"))
    assert len(files) == 20
    for f in files:
        data = json.loads(f.read_text())
        assert data["messages"] and data["planted"], f.name
        text = "\n".join(m["content"] for m in data["messages"])
        for fact in data["planted"]:
            assert fact["text"] in text, (f.name, fact)


def test_program_assigns_ids_and_maps_supersedes():
    ex = extract(_turns("04_db_choice_reversed"))
    model = [{"from": 2, "text": "Switch to PostgreSQL for joins", "rationale": "we need joins", "tier": 0.9,
              "priority": "high"},
             {"from": 2, "text": "duplicate restatement", "rationale": "", "tier": 0.1, "priority": "low"},
             {"from": 0, "text": "Invent a quantum cache", "rationale": "", "tier": 1.0, "priority": "critical"}]
    decisions = merge_decisions(ex.decisions, model, lossless=False, ground_truth=[], inherited=[])
    assert [d["id"] for d in decisions] == [f"D{i:03d}" for i in range(1, len(decisions) + 1)]
    first, second = decisions[0], decisions[1]
    assert first["status"] == "superseded" and second["supersedes"] == ["D001"]
    assert second["text"] == "Switch to PostgreSQL for joins" and second["priority"] == "high"
    assert not any("quantum" in d["text"] for d in decisions)  # ungrounded model invention dropped
    assert all(d["sources"] for d in decisions)


def test_ungrounded_wording_falls_back_to_verbatim_evidence():
    ex = extract(_turns("01_cache_backend"))
    model = [{"from": 1, "text": "Use SQLite for local storage", "rationale": "No server to run", "tier": 0.9,
              "priority": "high"}]
    decisions = merge_decisions(ex.decisions, model, lossless=False, ground_truth=[], inherited=[])
    assert decisions[0]["text"] == ex.decisions[0].text
    assert (decisions[0]["priority"], decisions[0]["tier"]) == (ex.decisions[0].priority, ex.decisions[0].tier)
    asked = Candidate(1, "Should we share the cache between workers?", "m2", "user", "thread")
    threads = merge_threads([asked], [{"from": 1, "title": "How to migrate the schema", "status": "OPEN",
                                       "priority": "low"}], lossless=False, ground_truth=[], inherited=[])
    assert threads[0]["title"] == asked.text and threads[0]["id"] == "T001"


def test_registry_is_ground_truth():
    ex = extract(_turns("01_cache_backend"))
    truth = [SimpleNamespace(id="D007", text="Cache in process with an LRU", rationale="no Redis in prod", tier=1.0,
                             priority="critical", status="active", supersedes=["D002"], conflicts_with=[],
                             sources=["m2"])]
    decisions = merge_decisions(ex.decisions, [], lossless=True, ground_truth=[vars(t) for t in truth], inherited=[])
    assert decisions[0]["id"] == "D007" and decisions[0]["supersedes"] == []  # D002 is not in this archive
    assert len({d["id"] for d in decisions}) == len(decisions)


def test_budget_drops_low_priority_first_and_keeps_references_valid():
    arch = example_archive()
    arch["decisions"][0]["priority"] = "low"  # D001, superseded by D002
    arch["artifacts"].append({"name": "notes.txt", "kind": "other", "summary": "x" * 200, "source": "m1"})
    count = lambda a: len(dump_archive(a)) // 4  # noqa: E731
    full = count(arch)
    dropped = fit_to_budget(arch, full - 60, count)
    assert dropped[0].startswith("decisions:D001") or dropped[0].startswith("artifacts:")
    assert count(arch) <= full - 60
    assert validate_archive(arch) == []
    assert all(c["priority"] == "critical" or c in arch["constraints"] for c in arch["constraints"])


def test_budget_never_drops_critical_items():
    arch = example_archive()
    count = lambda a: len(dump_archive(a)) // 4  # noqa: E731
    fit_to_budget(arch, 1, count)
    kept = [d["id"] for d in arch["decisions"]]
    assert "D002" in kept  # critical
    assert any(c["priority"] == "critical" for c in arch["constraints"])
    assert validate_archive(arch) == []


def test_import_continue_and_lineage(store):
    from forge_tui.domain.models import Conversation

    arch = example_archive()
    src = arch["header"]["source_conversations"][0]
    store.create_conversation(Conversation(id=src, project="billing-service", title="Invoice export"))
    aid = import_archive(store, arch)
    assert import_archive(store, arch) == aid  # idempotent
    assert load_archive(store, aid[:8]) == arch
    from forge_tui.compression import list_archives

    (summary,) = list_archives(store, conversation_id=src)
    assert summary["_id"] == aid and "archive" not in summary and summary["tokens_archive"] == 812
    conv = continue_from(store, aid)
    assert conv.archive_context == aid and conv.project == "billing-service"
    assert store.get_conversation(conv.id).title == "Invoice export (continued)"
    down = lineage(store, src)
    assert [(d["id"], d["via"]) for d in down["descendants"]] == [(aid, "compressed_into"), (conv.id, "continued_from")]
    up = lineage(store, conv.id)
    assert [a["id"] for a in up["ancestors"]] == [aid, src]
    assert up["ancestors"][0]["type"] == "archive" and up["ancestors"][1]["type"] == "conversation"


def test_missing_archive_is_a_clear_error(store):
    with pytest.raises(CompressionError, match="no archive"):
        continue_from(store, "0000")


def test_context_messages_render_archive_and_verbatim_turns():
    arch = example_archive()
    arch["verbatim_turns"] = [{"role": "user", "content": "and one more thing", "source": "m50"}]
    msgs = archive_context_messages(arch)
    assert msgs[0]["role"] == "system" and "D002" in msgs[0]["content"] and "verbatim_turns" not in msgs[0]["content"]
    assert msgs[1] == {"role": "user", "content": "and one more thing"}


def test_cli_validate(tmp_path, capsys):
    good = tmp_path / "a.yaml"
    good.write_text(dump_archive(example_archive()))
    bad = tmp_path / "b.yaml"
    arch = example_archive()
    arch["decisions"][1]["supersedes"] = ["D404"]
    bad.write_text(dump_archive(arch))
    bomb = tmp_path / "c.yaml"
    bomb.write_text("a: &a [1]\nb: [*a, *a]\n")
    ns = argparse.Namespace
    assert archive_cmd.cmd_validate(ns(file=str(good)), None) == 0
    assert "valid" in capsys.readouterr().out
    assert archive_cmd.cmd_validate(ns(file=str(bad)), None) == 2
    assert "decisions[1].supersedes[0]" in capsys.readouterr().err
    assert archive_cmd.cmd_validate(ns(file=str(bomb)), None) == 2
    assert "anchors" in capsys.readouterr().err
    assert archive_cmd.cmd_validate(ns(file=str(tmp_path / "none.yaml")), None) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_continue_from_file_and_lineage_json(store, tmp_path, capsys):
    path = tmp_path / "a.yaml"
    path.write_text(dump_archive(example_archive()))
    ctx = SimpleNamespace(store=lambda: store)
    assert archive_cmd.cmd_continue(argparse.Namespace(archive=str(path), title="Next"), ctx) == 0
    new_id = capsys.readouterr().out.split()[0]
    assert archive_cmd.cmd_lineage(argparse.Namespace(id=new_id[:10], json=True), ctx) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ancestors"][0]["id"] == example_archive()["header"]["archive_id"]
    assert archive_cmd.cmd_show(argparse.Namespace(id=out["ancestors"][0]["id"][:8]), ctx) == 0
    assert "schema: forge-archive/1" in capsys.readouterr().out


def test_pasted_archive_is_linked_in_real_time(store):
    from forge_tui.compression import link_pasted_archives

    arch = example_archive()
    bad = example_archive()
    bad["decisions"][0]["tier"] = 3
    text = ("Picking up from yesterday:\n```yaml\n" + dump_archive(arch) + "```\nand an old one:\n```yaml\n"
            + dump_archive(bad) + "```\nplus my notes:\n```yaml\ndecisions: [use tabs]\n```\n")
    links = link_pasted_archives(store, "conv-1", text, message_id="m9")
    aid = arch["header"]["archive_id"]
    assert links.linked == [aid] and links.foreign == 1
    assert links.invalid and links.invalid[0].startswith("decisions[0].tier")
    edge = store.edges_from("conv-1", "continued_from")[0]
    assert edge["dst"] == aid and edge["origin"] == "paste"
    assert link_pasted_archives(store, "conv-1", text).linked == [aid]  # idempotent
    assert store.db.lineage.count_documents({"src": "conv-1"}) == 1
