"""The one splitter, tokeniser and artifact rules of the extraction pipeline, and bad input."""

from __future__ import annotations

import pytest

from forge_tui.knowledge.pipeline import default_classifier, extract, extract_state, sentences, split_sentences
from forge_tui.knowledge.pipeline.artifacts import artifacts_in
from forge_tui.knowledge.pipeline.text import content_words, tokens


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("The gateway is 10.0.0.12 now. Next step.", ["The gateway is 10.0.0.12 now.", "Next step."]),
        ("We pin python 3.11.4 and numpy 1.26. Done.", ["We pin python 3.11.4 and numpy 1.26.", "Done."]),
        ("Edit src/app/main.py. Then run it.", ["Edit src/app/main.py.", "Then run it."]),
        ("See https://docs.python.org/3/library/csv.html. It helps.",
         ["See https://docs.python.org/3/library/csv.html.", "It helps."]),
        ("Use a cache, e.g. Redis. ok", ["Use a cache, e.g. Redis.", "ok"]),
        ("- one thing here.\n2. Second? Third!", ["one thing here.", "Second?", "Third!"]),
        ("lowercase voice. no caps here. still split", ["lowercase voice.", "no caps here.", "still split"]),
        ("Run `make test. now` please. Next.", ["Run `make test. now` please.", "Next."]),
    ],
)
def test_splitter_keeps_numbers_paths_urls_and_code_whole(text, want):
    assert sentences(text) == want


def test_units_are_exact_substrings_with_kinds():
    text = "Intro line.\n```python\nx = 1. y = 2\n```\n* item one\nLast."
    units = split_sentences(text)
    assert [(u.kind, u.text) for u in units] == [
        ("prose", "Intro line."), ("code", "x = 1. y = 2\n"), ("item", "item one"), ("prose", "Last.")
    ]
    assert all(text[u.start:u.end] == u.text for u in units)


def test_tokeniser_keeps_versions_ips_and_paths():
    assert tokens("Bump go to 1.22.3 on 10.0.0.12, see src/app.py.") == [
        "bump", "go", "to", "1.22.3", "on", "10.0.0.12", "see", "src/app.py"
    ]
    assert "redis" in content_words("ok Redis it is") and "the" not in content_words("the cache")


def test_artifacts_are_real_files_urls_commands_not_products():
    text = (
        "The config lives in config/settings.toml and src/app/main.py. See https://docs.python.org/3/library/csv.html. "
        "Always run `pytest -q` first. It works for client/server and/or batch. We use Node.js and Vue.js with "
        "Python 3.12. Put DATABASE_URL in .env and read dash.filters.v2.\n```bash\n$ pip install psycopg\n```"
    )
    names = {(a["kind"], a["name"]) for a in artifacts_in(text, "m1")}
    assert {("file", "config/settings.toml"), ("file", "src/app/main.py"), ("command", "pytest -q"),
            ("command", "pip install psycopg"), ("url", "https://docs.python.org/3/library/csv.html"),
            ("other", "DATABASE_URL"), ("other", "dash.filters.v2")} <= names
    assert not {n for _, n in names} & {"client/server", "and/or", "Node.js", "Vue.js", "3.12"}


def test_code_snippets_keep_their_content():
    ex = extract([{"id": "a", "role": "assistant", "content": "Connect like this:\n```python\nimport sqlite3\n```"}])
    snippet = next(a for a in ex.artifacts if a["kind"] == "snippet")
    assert snippet["source"] == "a" and "import sqlite3" in snippet["content"] and snippet["summary"] == "Connect like this"


@pytest.mark.parametrize(
    "content",
    [
        "",
        "   \n\n  ",
        "Wir nehmen PostgreSQL. Noch offen ist, ob wir ein Wildcard-Zertifikat brauchen.",
        "我们用 Redis 吧。还没决定端口。",
        "```python\n" + "x = 1\n" * 200 + "```",
        "word " * 210_000,  # a 1 MB turn
        "a.b.c.d.e. " * 5000,
        # one 200 kB word, and a run of "+": each once took minutes (a regex tried every position of the run)
        "aB" * 100_000,
        "a+" * 100_000,
    ],
    ids=["empty", "blank", "german", "chinese", "code-only", "1MB", "dots", "long-word", "plus-run"],
)
def test_bad_input_never_crashes(content):
    turns = [{"id": "u", "role": "user", "content": content}, {"id": "a", "role": "assistant", "content": content}]
    state = extract_state(turns, default_classifier())
    assert state.path == "cues"
    extract(turns)  # the archive's view too
