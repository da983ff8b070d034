"""A complete, valid example archive (used by the docs and as a test baseline)."""

from __future__ import annotations

from forge_tui.domain.ids import conversation_id, entity_id
from forge_tui.protocol.spec import SCHEMA_VERSION


def example_archive() -> dict:
    project = "billing-service"
    conv = conversation_id(project, "invoice-export", "2026-11-20T09:00:00+00:00")
    earlier = entity_id(project, "archive", "earlier", "2026-11-18T16:00:00+00:00")
    return {
        "schema": SCHEMA_VERSION,
        "header": {
            "archive_id": entity_id(project, "archive", conv, "2026-11-20T11:42:00+00:00"),
            "source_conversations": [conv],
            "project": project,
            "created_at": "2026-11-20T11:42:00+00:00",
            "model": "smollm2-135m",
            "mode": "default",
            "tokens": {"source": 5234, "archive": 812},
            "bridged_from": [earlier],
        },
        "decisions": [
            {
                "id": "D001",
                "text": "Store invoice amounts as integer cents",
                "rationale": "Floats lost a cent on 0.1 + 0.2 in the March export",
                "tier": 1.0,
                "priority": "critical",
                "status": "superseded",
                "supersedes": [],
                "conflicts_with": [],
                "sources": ["m12"],
            },
            {
                "id": "D002",
                "text": "Store amounts as Decimal with 4 places, render cents at the edge",
                "rationale": "FX conversion needs sub-cent precision",
                "tier": 0.9,
                "priority": "critical",
                "status": "active",
                "supersedes": ["D001"],
                "conflicts_with": [],
                "sources": ["m31"],
            },
        ],
        "threads": [
            {"id": "T001", "title": "CSV export drops the VAT column for EU customers", "status": "RESOLVED",
             "priority": "high", "sources": ["m18", "m40"]},
            {"id": "T002", "title": "Should exports be streamed for > 100k rows?", "status": "OPEN",
             "priority": "medium", "sources": ["m44"]},
        ],
        "artifacts": [
            {"name": "billing/export.py", "kind": "file", "summary": "CSV/JSON invoice export", "source": "m18"},
            {"name": "pytest tests/test_export.py -k vat", "kind": "command", "summary": "VAT regression test",
             "source": "m40"},
            {"name": "https://docs.python.org/3/library/decimal.html", "kind": "url",
             "summary": "decimal module reference", "source": "m31"},
        ],
        "constraints": [
            {"quote": "Never round before the final total.", "priority": "critical", "scope": "billing",
             "source": "m12"},
            {"quote": "Don't add new dependencies without asking me.", "priority": "high", "scope": "project",
             "source": "m3"},
        ],
        "continuation_prompt": (
            "We are fixing the invoice export in billing/export.py. Amounts are Decimal (D002, which replaced "
            "integer cents). The VAT column bug is fixed and covered by tests/test_export.py. Next: decide whether "
            "exports over 100k rows should stream (T002)."
        ),
    }
