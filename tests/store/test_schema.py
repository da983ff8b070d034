"""The schema is declared in one place and created by one explicit call: every collection's
indexes exist after ``Store.ensure_schema`` whichever modules were imported, and no module
outside ``forge_tui/store`` declares or creates indexes. Real SecantusDB."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from pymongo.errors import DuplicateKeyError

from forge_tui.store.schema import SCHEMA, ensure_schema

ROOT = Path(__file__).resolve().parents[2]


def _missing(db) -> dict[str, set[str]]:
    """Declared index names that ``db`` lacks, per collection."""
    missing = {}
    for name, models in SCHEMA.items():
        have = set(db[name].index_information())
        lacking = {m.document["name"] for m in models} - have
        if lacking:
            missing[name] = lacking
    return missing


def test_ensure_schema_creates_every_declared_index_and_is_idempotent(db):
    ensure_schema(db)
    ensure_schema(db)
    assert _missing(db) == {}


def test_a_unique_index_is_enforced(db):
    ensure_schema(db)
    db["threads"].insert_one({"project": "p", "id": "T001"})
    with pytest.raises(DuplicateKeyError):
        db["threads"].insert_one({"project": "p", "id": "T001"})


def test_a_subset_of_collections_and_an_undeclared_one(db):
    ensure_schema(db, ["scratchpad"])
    assert "project_1_key_1" in db["scratchpad"].index_information()
    assert "embeddings" not in db.list_collection_names()
    with pytest.raises(KeyError):
        ensure_schema(db, ["no_such_collection"])


def test_the_schema_does_not_depend_on_which_modules_were_imported(mongo_client, mongo_uri):
    """A fresh interpreter that imports only the store still creates the knowledge graph's,
    search's and importers' indexes."""
    name = "t_" + uuid.uuid4().hex[:12]
    code = (
        "import sys\n"
        "from forge_tui.store.repository import Store\n"
        f"Store.connect({mongo_uri!r}, {name!r}).ensure_schema()\n"
        "features = [m for m in sys.modules if m.split('.')[:2] in (['forge_tui', 'knowledge'],"
        " ['forge_tui', 'search'], ['forge_tui', 'importers'])]\n"
        "assert not features, features\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert _missing(mongo_client[name]) == {}
    finally:
        mongo_client.drop_database(name)


def test_only_the_store_declares_indexes():
    offenders = []
    for path in sorted((ROOT / "forge_tui").rglob("*.py")):
        if path.parent.name == "store" and path.parent.parent.name == "forge_tui":
            continue
        text = path.read_text(encoding="utf-8")
        if any(word in text for word in ("create_index", "IndexModel", "register_indexes")):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
