"""The store is the only door to the database, enforced mechanically.

Every module of ``forge_tui`` outside ``forge_tui/store`` is parsed and checked for what touching
a pymongo collection takes: importing pymongo (its exception classes excepted: catching a
``PyMongoError`` reads nothing), calling a collection or database method, or reaching for the
store's database or collection attributes. ``find`` itself is not listed (``str.find``), but
without those attributes and imports there is no collection to call it on.
"""

from __future__ import annotations

import ast
from pathlib import Path

from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.database import Database

import forge_tui
from forge_tui.store.repository import Store

PACKAGE = Path(forge_tui.__file__).parent
STORE = PACKAGE / "store"

#: methods only a pymongo ``Collection``/``Database``/``MongoClient`` has
MONGO_METHODS = frozenset({
    "find_one", "find_one_and_update", "find_one_and_replace", "find_one_and_delete", "find_raw_batches",
    "insert_one", "insert_many", "update_one", "update_many", "replace_one", "delete_one", "delete_many",
    "bulk_write", "aggregate", "aggregate_raw_batches", "count_documents", "estimated_document_count",
    "distinct", "watch", "create_index", "create_indexes", "drop_index", "drop_indexes", "list_indexes",
    "index_information", "list_collection_names", "list_collections", "get_collection", "create_collection",
    "drop_collection", "get_database", "get_default_database", "list_database_names", "start_session",
})
#: pymongo modules code outside the store may import (exception classes only)
ALLOWED_PYMONGO = frozenset({"pymongo.errors"})


def store_door_attributes() -> set[str]:
    """Attribute names under which the store and its repositories hold a database or collection
    (read from a real, never-connected ``Store``, so a new collection attribute is covered)."""
    client: MongoClient = MongoClient("mongodb://127.0.0.1:1", connect=False, serverSelectionTimeoutMS=1)
    try:
        store = Store(client["door_check"])
        holders = [store, *(v for v in vars(store).values() if not isinstance(v, (Collection, Database)))]
        names = {"db", "_db"}
        for holder in holders:
            names |= {k for k, v in vars(holder).items() if isinstance(v, (Collection, Database))}
        return names
    finally:
        client.close()


def violations(source: str, filename: str, door: set[str]) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            found += [f"{where} imports {a.name}" for a in node.names
                      if a.name.split(".")[0] in ("pymongo", "motor") and a.name not in ALLOWED_PYMONGO]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in ("pymongo", "motor") and node.module not in ALLOWED_PYMONGO:
                found.append(f"{where} imports from {node.module}")
        elif isinstance(node, ast.Attribute):
            if node.attr in MONGO_METHODS:
                found.append(f"{where} calls .{node.attr} (a collection method)")
            elif node.attr in door:
                found.append(f"{where} reaches the store's .{node.attr}")
    return found


def test_no_code_outside_the_store_touches_a_collection():
    door = store_door_attributes()
    assert {"_messages", "_conversations", "_decisions"} <= door  # the probe sees the store's collections
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if STORE in path.parents:
            continue
        found += violations(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE.parent)), door)
    assert not found, "raw database access outside forge_tui/store:\n" + "\n".join(found)


def test_the_check_catches_raw_access():
    door = store_door_attributes()
    source = (
        "from pymongo import ASCENDING\n"
        "import pymongo.collection\n"
        "from pymongo.errors import PyMongoError\n"  # allowed
        "def f(store, text):\n"
        "    store.db['messages'].find({})\n"
        "    store._messages.find_one({'_id': 1})\n"
        "    registry.store.knowledge._decisions.update_one({}, {})\n"
        "    return text.find('x')\n"  # str.find is fine
    )
    got = violations(source, "example.py", door)
    assert len(got) == 7, got  # two imports, .db, ._messages, .find_one, ._decisions, .update_one
    assert any("imports from pymongo" in g for g in got) and any(".db" in g for g in got)
    assert any("._decisions" in g for g in got) and any(".update_one" in g for g in got)
