"""Rule-based pre-extraction: artifacts, verbatim constraints, decision/thread candidates."""

from __future__ import annotations

from forge_tui.protocol.extract import extract, sentences

TURNS = [
    {"id": "m1", "role": "user", "content": (
        "We need a CLI for exports. Never write to the prod database directly! Always run `pytest -q` before "
        "committing. The config lives in config/settings.toml and src/app/main.py. "
        "See https://docs.python.org/3/library/csv.html. It works for client/server and/or batch."
    )},
    {"id": "m2", "role": "assistant", "content": (
        "Let's go with SQLite for the cache.\n\n```python\nimport sqlite3\nconn = sqlite3.connect('c.db')\n```\n\n"
        "Should we add a migration tool?"
    )},
    {"id": "m3", "role": "user", "content": (
        "Actually, switch to PostgreSQL instead of SQLite for the cache. How do we handle retries?\n"
        "```bash\n$ pip install psycopg\n```"
    )},
    {"id": "m4", "role": "assistant", "content": "Retries are fixed with exponential backoff; set max_retries to 5."},
    {"id": "m5", "role": "system", "content": "Never mind this system text."},
]


def test_artifacts():
    ex = extract(TURNS)
    by_kind = {(a["kind"], a["name"]): a for a in ex.artifacts}
    assert ("url", "https://docs.python.org/3/library/csv.html") in by_kind
    assert ("file", "config/settings.toml") in by_kind and ("file", "src/app/main.py") in by_kind
    assert ("command", "pytest -q") in by_kind and ("command", "pip install psycopg") in by_kind
    snippet = next(a for a in ex.artifacts if a["kind"] == "snippet")
    assert snippet["source"] == "m2" and "sqlite3.connect" in snippet["content"]
    assert not any(a["name"] in ("client/server", "and/or") for a in ex.artifacts)


def test_constraints_are_verbatim_user_sentences():
    ex = extract(TURNS)
    quotes = [c["quote"] for c in ex.constraints]
    assert quotes == ["Never write to the prod database directly!", "Always run `pytest -q` before committing."]
    assert ex.constraints[0]["priority"] == "critical" and ex.constraints[0]["source"] == "m1"
    assert all(q in TURNS[0]["content"] for q in quotes)


def test_decisions_reversal_and_thread_resolution():
    ex = extract(TURNS)
    first, second = ex.decisions[0], ex.decisions[1]
    assert first.text == "Let's go with SQLite for the cache." and first.status == "superseded"
    assert second.supersedes == [1] and second.status == "active" and second.tier == 1.0
    status = {t.text: t.status for t in ex.threads}
    assert status == {"Should we add a migration tool?": "OPEN", "How do we handle retries?": "RESOLVED"}
    assert ex.threads[1].closed_by == "m4"


def test_abandoned_and_sentence_split():
    turns = [
        {"id": "a", "role": "user", "content": "Should we support Windows paths?"},
        {"id": "b", "role": "user", "content": "Never mind, drop it."},
    ]
    ex = extract(turns)
    assert ex.threads[0].status == "ABANDONED"
    assert sentences("- one thing here.\n2. Second? Third!") == ["one thing here.", "Second?", "Third!"]


def test_identifiers_values_and_directories():
    turns = [
        {"id": "u1", "role": "user", "content": (
            "Connection string goes in .env as DATABASE_URL. Store filters under dash.filters.v2 please. "
            "Learning rate 3e-5, batch size 16. Checkpoints go to runs/clf-v3/ and p99 is 1200 ms."
        )},
        {"id": "a1", "role": "assistant", "content": "How do we roll back the migrations?"},
        {"id": "u2", "role": "user", "content": "The rollback question is resolved."},
    ]
    ex = extract(turns)
    names = {(a["kind"], a["name"]) for a in ex.artifacts}
    assert {("other", "DATABASE_URL"), ("other", "dash.filters.v2"), ("file", "runs/clf-v3/")} <= names
    values = [d for d in ex.decisions if d.tier == 0.6]
    assert any("3e-5" in d.text for d in values) and any("1200 ms" in d.text for d in values)
    assert ex.threads[0].status == "RESOLVED"  # "roll back" ~ "rollback"
