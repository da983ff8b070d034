"""The ``embeddings`` collection: one document per (message, model).

Vectors are BSON Binary subtype 9 float32 (``bson.binary.BinaryVector``), the
format MongoDB's own ``$vectorSearch`` reads, so a store moved to a server that
offers vector search needs no conversion. Vectors of several models live side
by side (``_id = "<message_id>:<model>"``); the ``meta`` document ``embedding``
names the model whose vector set was last complete (the *active* model).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Iterator

import numpy as np
from bson.binary import Binary, BinaryVectorDtype
from pymongo import ReplaceOne
from pymongo.database import Database

from forge_tui.domain.models import utcnow

#: where message vectors live (one document per message and model)
EMBEDDINGS = "embeddings"
META = "meta"
META_ID = "embedding"
# float32 BinaryVector header: dtype byte 0x27, padding byte 0
_FLOAT32_HEADER = BinaryVectorDtype.FLOAT32.value + b"\x00"
VECTOR_SUBTYPE = 9


def content_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()[:16]


def vector_to_binary(vector: np.ndarray) -> Binary:
    """BSON Binary subtype 9 (vector), float32, byte for byte what ``Binary.from_vector`` writes
    (dtype byte, padding byte, little-endian floats) without a detour through a Python list."""
    data = np.ascontiguousarray(vector, dtype="<f4").tobytes()
    return Binary(_FLOAT32_HEADER + data, VECTOR_SUBTYPE)


def binary_to_vector(value: Any) -> np.ndarray | None:
    """Decode a stored float32 vector; None for anything else (read defensively)."""
    if isinstance(value, (bytes, Binary)):
        raw = bytes(value)
        if raw[:2] == _FLOAT32_HEADER and (len(raw) - 2) % 4 == 0:
            return np.frombuffer(raw, dtype=np.float32, offset=2)
        return None
    if isinstance(value, list) and value and all(isinstance(x, (int, float)) for x in value):
        return np.asarray(value, dtype=np.float32)
    return None


@dataclass(frozen=True)
class StoredVector:
    message_id: str
    conversation_id: str
    project: str
    model: str
    dim: int
    vector: np.ndarray
    embedded_at: datetime | None


def vector_doc(message: dict[str, Any], model: str, vector: np.ndarray, fingerprint: str | None = None) -> dict[str, Any]:
    """The stored document; ``fingerprint`` identifies the embedded passage (default: a hash of the content)."""
    content = message.get("content") or ""
    return {
        "_id": f"{message['_id']}:{model}",
        "message_id": message["_id"],
        "conversation_id": message.get("conversation_id"),
        "project": message.get("project", "default"),
        "role": message.get("role"),
        "created_at": message.get("created_at"),
        "model": model,
        "dim": int(vector.shape[-1]),
        "vector": vector_to_binary(vector),
        "content_hash": fingerprint or content_hash(content),
        "embedded_at": utcnow(),
    }


class VectorStore:
    """Reads and writes the ``embeddings`` collection and the active-model meta document.

    The ``Store`` builds one (``store.vectors``); search reaches the vectors only through it."""

    def __init__(self, db: Database):
        self._collection = db[EMBEDDINGS]
        self._meta = db[META]

    # -- writes --------------------------------------------------------------
    def write(self, docs: list[dict[str, Any]]) -> int:
        if not docs:
            return 0
        self._collection.bulk_write([ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs], ordered=False)
        return len(docs)

    # -- reads ---------------------------------------------------------------
    def hashes(self, model: str, dim: int | None = None) -> dict[str, str]:
        """message_id -> content_hash of every vector stored for ``model`` (of ``dim`` dimensions, if given).

        A vector of the wrong dimension is left out, so the pipeline re-embeds it.
        """
        cursor = self._collection.find({"model": model}, {"message_id": 1, "content_hash": 1, "dim": 1, "_id": 0})
        return {
            d["message_id"]: d.get("content_hash", "")
            for d in cursor
            if "message_id" in d and (dim is None or d.get("dim") == dim)
        }

    def iter_vectors(
        self, model: str, since: datetime | None = None, slack_s: float = 10.0, seen: dict[str, Any] | None = None
    ) -> Iterator[StoredVector]:
        """Vectors of ``model`` (embedded at or after ``since`` less ``slack_s``).

        With ``seen`` (message id -> embedded_at already held), only the ids and
        dates are read first and vectors travel only for what is new or changed.
        """
        query: dict[str, Any] = {"model": model}
        if since is not None:
            query["embedded_at"] = {"$gte": since - timedelta(seconds=slack_s)}
        if seen is not None:
            fresh = [
                d["_id"] for d in self._collection.find(query, {"message_id": 1, "embedded_at": 1})
                if seen.get(d.get("message_id")) != d.get("embedded_at")
            ]
            for start in range(0, len(fresh), 1000):
                yield from self._decode(self._collection.find({"_id": {"$in": fresh[start:start + 1000]}}), model)
            return
        yield from self._decode(self._collection.find(query, batch_size=2000), model)

    @staticmethod
    def _decode(cursor: Any, model: str) -> Iterator[StoredVector]:
        for doc in cursor:
            vec = binary_to_vector(doc.get("vector"))
            if vec is None or "message_id" not in doc:
                continue
            yield StoredVector(
                message_id=doc["message_id"],
                conversation_id=doc.get("conversation_id") or "",
                project=doc.get("project") or "default",
                model=model,
                dim=int(vec.shape[0]),
                vector=vec,
                embedded_at=doc.get("embedded_at"),
            )

    def models(self) -> list[dict[str, Any]]:
        """Per model: vector count and the dimensions seen (for status and mismatch checks)."""
        rows = self._collection.aggregate(
            [{"$group": {"_id": "$model", "count": {"$sum": 1}, "dims": {"$addToSet": "$dim"}}}]
        )
        return sorted(
            ({"model": r["_id"], "count": r["count"], "dims": sorted(d for d in r["dims"] if d)} for r in rows),
            key=lambda r: str(r["model"]),
        )

    def count(self, model: str) -> int:
        return self._collection.count_documents({"model": model})

    def current_vectors(self, model: str) -> Iterator[tuple[str, str, np.ndarray | None]]:
        """(message id, content hash, vector or None when unreadable) of every vector stored for ``model``."""
        for doc in self._collection.find({"model": model}, {"message_id": 1, "vector": 1, "content_hash": 1}):
            if "message_id" in doc:
                yield doc["message_id"], doc.get("content_hash", ""), binary_to_vector(doc.get("vector"))

    def delete_for_messages(self, message_ids: Iterable[str]) -> None:
        """Drop every model's vectors of these messages (a purged conversation's turns)."""
        self._collection.delete_many({"message_id": {"$in": list(message_ids)}})

    # -- $vectorSearch (servers that offer it) --------------------------------
    def server_search(self, index: str, query: Any, limit: int, num_candidates: int,
                      filt: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """The server's own ``$vectorSearch`` over ``index``: (message id, score), best first.
        A server without it raises ``OperationFailure`` (a ``PyMongoError``)."""
        stage: dict[str, Any] = {"index": index, "path": "vector", "queryVector": query,
                                 "numCandidates": num_candidates, "limit": limit}
        if filt:
            stage["filter"] = filt
        pipeline = [{"$vectorSearch": stage}, {"$project": {"message_id": 1, "score": {"$meta": "vectorSearchScore"}}}]
        return [(d["message_id"], float(d.get("score") or 0.0)) for d in self._collection.aggregate(pipeline)]

    # -- active model --------------------------------------------------------
    def active_model(self) -> dict[str, Any] | None:
        """``{"model": name, "dim": n, "switched_at": date}`` or None before the first complete pass."""
        doc = self._meta.find_one({"_id": META_ID})
        if not doc or not isinstance(doc.get("model"), str):
            return None
        return {"model": doc["model"], "dim": int(doc.get("dim") or 0), "switched_at": doc.get("switched_at")}

    def set_active_model(self, model: str, dim: int) -> None:
        previous = self.active_model()
        update: dict[str, Any] = {"model": model, "dim": int(dim), "switched_at": utcnow()}
        if previous and previous["model"] != model:
            update["previous_model"] = previous["model"]
        self._meta.update_one({"_id": META_ID}, {"$set": update}, upsert=True)


def chunked(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
