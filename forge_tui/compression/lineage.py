"""Walk lineage edges: what a conversation or archive came from, and what came of it.

Edge kinds and their direction (parent -> child):

* ``compressed_into``: src conversation -> dst archive (src is the parent)
* ``continued_from``:  dst archive -> src conversation (dst is the parent)
* ``bridged_from``:    dst archive -> src archive (dst is the parent)
"""

from __future__ import annotations

from typing import Any

PARENT_IS_SRC = {"compressed_into"}
PARENT_IS_DST = {"continued_from", "bridged_from"}
LINEAGE_KINDS = sorted(PARENT_IS_SRC | PARENT_IS_DST)


def _parents(store: Any, node: str) -> list[tuple[str, str]]:
    out = [(e["src"], e["kind"]) for e in store.edges_to(node) if e["kind"] in PARENT_IS_SRC]
    out += [(e["dst"], e["kind"]) for e in store.edges_from(node) if e["kind"] in PARENT_IS_DST]
    return out


def _children(store: Any, node: str) -> list[tuple[str, str]]:
    out = [(e["dst"], e["kind"]) for e in store.edges_from(node) if e["kind"] in PARENT_IS_SRC]
    out += [(e["src"], e["kind"]) for e in store.edges_to(node) if e["kind"] in PARENT_IS_DST]
    return out


def _node_type(store: Any, node: str) -> str:
    if store.has_archive(node):
        return "archive"
    if store.has_conversation(node):
        return "conversation"
    return "unknown"


def _walk(store: Any, start: str, step, max_nodes: int) -> list[dict]:
    seen = {start}
    frontier = [(start, 0)]
    out: list[dict] = []
    while frontier and len(out) < max_nodes:
        node, depth = frontier.pop(0)
        for other, kind in step(store, node):
            if other in seen:
                continue
            seen.add(other)
            out.append({"id": other, "type": _node_type(store, other), "via": kind, "from": node, "depth": depth + 1})
            frontier.append((other, depth + 1))
    return out


def lineage(store: Any, node: str, max_nodes: int = 500) -> dict:
    """Ancestors and descendants of a conversation or archive, nearest first."""
    return {
        "id": node,
        "type": _node_type(store, node),
        "ancestors": _walk(store, node, _parents, max_nodes),
        "descendants": _walk(store, node, _children, max_nodes),
    }
