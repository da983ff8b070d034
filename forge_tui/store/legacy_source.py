"""Another program's MongoDB database, read only: the source of ``forge import mongo``.

Forge OS kept its history in MongoDB without a fixed schema; the importer infers field names
from samples and streams the documents. This is the one place that reads such a database, so
code outside the store never touches a collection, Forge's own or a foreign one.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

from pymongo import ASCENDING, MongoClient
from pymongo.database import Database

from forge_tui.store.connection import check_reachable, open_client


class LegacySource:
    """Read-only access to the collections of one foreign database."""

    def __init__(self, db: Database):
        self._db = db

    @classmethod
    def open(cls, uri: str, db_name: str | None, *, what: str, default_db: str,
             timeout_ms: int = 5000) -> "LegacySource":
        """Connect and check the server answers; ``StoreUnavailable`` (naming ``what``) or a
        ``PyMongoError`` when it does not."""
        client: MongoClient = open_client(uri, what=what, timeout_ms=timeout_ms)
        check_reachable(client, what=what)
        return cls(client[db_name] if db_name else client.get_default_database(default=default_db))

    @property
    def name(self) -> str:
        return self._db.name

    def collection_names(self) -> list[str]:
        return self._db.list_collection_names()

    def documents(self, collection: str, order: Sequence[str] = ()) -> Iterator[dict[str, Any]]:
        """Every document of ``collection``, ascending by the fields of ``order`` when given."""
        cursor = self._db[collection].find({})
        return cursor.sort([(k, ASCENDING) for k in order]) if order else cursor

    def sample(self, collection: str, n: int = 20) -> list[dict[str, Any]]:
        return list(self._db[collection].find({}, limit=n))

    def distinct_count(self, collection: str, key: str) -> int:
        """How many distinct values ``key`` takes in ``collection``."""
        return len(self._db[collection].distinct(key))

    def count(self, collection: str) -> int:
        """The server's estimate of the number of documents (cheap)."""
        return self._db[collection].estimated_document_count()
