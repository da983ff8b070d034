"""Turn the model's answer plus the deterministic extraction into an archive.

The program owns every ID and reference: decisions and threads are numbered
here (D001…, T001…), ``supersedes`` is mapped from candidate numbers, and
sources come from the message each candidate was found in. The model only
contributes wording (text, rationale, titles), tiers, priorities and the
continuation prompt. Anything the model skipped is still kept from the
extraction, so even a tiny model's archive holds the facts.
"""

from __future__ import annotations

import re
from dataclasses import asdict, is_dataclass
from typing import Any, Callable, Iterable, Sequence

from forge_tui.knowledge.pipeline.candidates import Candidate, Extraction
from forge_tui.knowledge.pipeline.text import words
from forge_tui.protocol.spec import DECISION_ID, PRIORITIES, PRIORITY_RANK, SOURCE_RE, THREAD_ID

MODEL_ONLY_TIER_CAP = 0.5  # a decision the model wrote with no evidence in the candidates


def norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def grounded(text: str, vocabulary: set[str], min_share: float = 0.6) -> bool:
    """True when most of ``text``'s significant words occur in the source.

    Small models copy prompt boilerplate or invent; wording that is not
    grounded in the conversation is replaced by the verbatim evidence.
    """
    mine = words(text)
    if not mine:
        return False
    return len(mine & vocabulary) / len(mine) >= min_share


def as_dict(obj: Any) -> dict:
    if isinstance(obj, dict):
        return obj
    if is_dataclass(obj):
        return asdict(obj)
    return dict(vars(obj))


def _sources(values: Iterable[Any]) -> list[str]:
    return [str(v)[:80] for v in values if v and re.fullmatch(SOURCE_RE, str(v)[:80])][:20]


def _priority(value: Any, default: str = "medium") -> str:
    return value if value in PRIORITY_RANK else default


def _line(text: Any, limit: int) -> str:
    return " ".join(str(text or "").split())[:limit]


def merge_decisions(
    cands: list[Candidate], model_items: list[dict], *, lossless: bool, ground_truth: list[dict], inherited: list[dict],
    vocabulary: set[str] | None = None,
) -> list[dict]:
    """Decisions with ids assigned; ground truth (registry) first, then evidence, then inherited."""
    by_number = {c.number: c for c in cands}
    wording: dict[int, dict] = {}
    extra: list[dict] = []
    vocab = vocabulary if vocabulary is not None else set().union(*(words(c.text) for c in cands))
    for item in model_items:
        n = item.get("from", 0)
        text = _line(item.get("text"), 400)
        if n in by_number and n not in wording:
            # keep the model's wording only when it restates this candidate
            if not grounded(text, words(by_number[n].text) | vocab, 0.6) or not words(text) & words(by_number[n].text):
                item = {**item, "text": ""}
            if not grounded(_line(item.get("rationale"), 400), vocab, 0.6):
                item = {**item, "rationale": ""}
            # nothing grounded: the model did not understand this item, so ignore its tier/priority too
            wording[n] = item if item["text"] or item["rationale"] else {}
        elif n not in by_number and not lossless and text and grounded(text, vocab, 0.8):
            extra.append(item)
    out: list[dict] = []
    seen: set[str] = set()
    used_ids: set[str] = set()

    for g in ground_truth:
        gid = g.get("id") if isinstance(g.get("id"), str) and re.fullmatch(DECISION_ID, g["id"]) else None
        d = {
            "id": gid, "text": _line(g.get("text"), 400), "rationale": _line(g.get("rationale"), 400),
            "tier": float(min(max(g.get("tier", 0.8) or 0.0, 0.0), 1.0)),
            "priority": _priority(g.get("priority")), "status": "active",
            "supersedes": [], "conflicts_with": [], "sources": _sources(g.get("sources") or []),
            "_refs": {"supersedes": list(g.get("supersedes") or []), "conflicts_with": list(g.get("conflicts_with") or [])},
        }
        if gid:
            used_ids.add(gid)
        out.append(d)
        seen.add(norm(d["text"]))

    number_to_index: dict[int, int] = {}
    for c in cands:
        key = norm(c.text)
        if key in seen:
            continue
        seen.add(key)
        w = wording.get(c.number, {})
        text = c.text if lossless or not w else _line(w.get("text"), 400) or c.text
        number_to_index[c.number] = len(out)
        out.append({
            "id": None, "text": _line(text, 400),
            "rationale": _line(w.get("rationale"), 400),
            "tier": float(w.get("tier", c.tier)) if w else c.tier,
            "priority": _priority(w.get("priority"), c.priority) if w else c.priority,
            "status": c.status if c.status in ("active", "superseded") else "active",
            "supersedes": [], "conflicts_with": [], "sources": _sources([c.source]),
            "_cand_supersedes": list(c.supersedes),
        })
    for item in extra:
        text = _line(item.get("text"), 400)
        if norm(text) in seen or not norm(text):
            continue
        seen.add(norm(text))
        out.append({
            "id": None, "text": text, "rationale": _line(item.get("rationale"), 400) or "summarised by the model",
            "tier": min(float(item.get("tier", 0.5)), MODEL_ONLY_TIER_CAP), "priority": _priority(item.get("priority")),
            "status": "active", "supersedes": [], "conflicts_with": [], "sources": [],
        })
    for inh in inherited:
        text = _line(inh.get("text"), 400)
        if norm(text) in seen or inh.get("status") == "superseded":
            continue
        seen.add(norm(text))
        out.append({
            "id": None, "text": text, "rationale": _line(inh.get("rationale"), 400),
            "tier": float(inh.get("tier", 0.8)), "priority": _priority(inh.get("priority")), "status": "active",
            "supersedes": [], "conflicts_with": [], "sources": _sources(inh.get("sources") or []),
        })
    truth_ids = set(used_ids)
    _assign_ids(out, "D", used_ids)
    for d in out:
        refs = d.pop("_refs", None)
        if refs:  # registry references resolve only among the registry's own decisions
            for key in ("supersedes", "conflicts_with"):
                d[key] = [r for r in refs[key] if r in truth_ids and r != d["id"]]
        for n in d.pop("_cand_supersedes", []):
            if n in number_to_index:
                d["supersedes"].append(out[number_to_index[n]]["id"])
    return out


def merge_threads(
    cands: list[Candidate], model_items: list[dict], *, lossless: bool, ground_truth: list[dict], inherited: list[dict],
    vocabulary: set[str] | None = None,
) -> list[dict]:
    by_number = {c.number: c for c in cands}
    wording: dict[int, dict] = {}
    vocab = vocabulary if vocabulary is not None else set().union(*(words(c.text) for c in cands))
    for item in model_items:
        n = item.get("from", 0)
        if n in by_number and n not in wording:
            title = _line(item.get("title"), 300)
            if not grounded(title, vocab, 0.6) or not words(title) & words(by_number[n].text):
                item = {}  # ungrounded: keep the evidence's title and priority
            wording[n] = item
    out: list[dict] = []
    seen: set[str] = set()
    used_ids: set[str] = set()
    for g in ground_truth:
        gid = g.get("id") if isinstance(g.get("id"), str) and re.fullmatch(THREAD_ID, g["id"]) else None
        if gid:
            used_ids.add(gid)
        status = g.get("status") if g.get("status") in ("OPEN", "RESOLVED", "ABANDONED") else "OPEN"
        out.append({"id": gid, "title": _line(g.get("title"), 300), "status": status,
                    "priority": _priority(g.get("priority")), "sources": _sources(g.get("sources") or [])})
        seen.add(norm(out[-1]["title"]))
    for c in cands:
        if norm(c.text) in seen:
            continue
        seen.add(norm(c.text))
        w = wording.get(c.number, {})
        title = c.text if lossless or not w else _line(w.get("title"), 300) or c.text
        sources = [c.source] + ([c.closed_by] if c.closed_by else [])
        item = {"id": None, "title": _line(title, 300), "status": c.status,
                "priority": _priority(w.get("priority"), c.priority) if w else c.priority,
                "sources": _sources(sources)}
        if c.status == "RESOLVED" and c.value:
            item["resolution"] = _line(c.value, 400)
        out.append(item)
    for inh in inherited:
        title = _line(inh.get("title"), 300)
        if norm(title) in seen:
            continue
        seen.add(norm(title))
        out.append({"id": None, "title": title, "status": inh.get("status", "OPEN"),
                    "priority": _priority(inh.get("priority")), "sources": _sources(inh.get("sources") or [])})
    _assign_ids(out, "T", used_ids)
    return out


def _assign_ids(items: list[dict], prefix: str, used: set[str]) -> None:
    """Number items without an id after the highest id already used (never reusing one)."""
    n = max((int(u[1:]) for u in used if u[1:].isdigit()), default=0)
    for item in items:
        if item["id"]:
            continue
        while True:
            n += 1
            candidate = f"{prefix}{n:03d}"
            if candidate not in used:
                break
        used.add(candidate)
        item["id"] = candidate


def merge_simple(own: list[dict], inherited: list[dict], key: str) -> list[dict]:
    seen = {norm(x[key]) for x in own}
    out = list(own)
    for x in inherited:
        if norm(str(x.get(key, ""))) not in seen:
            seen.add(norm(str(x.get(key, ""))))
            out.append(dict(x))
    return out


# -- budget ----------------------------------------------------------------------

#: share of a default archive's budget kept for key statements (chosen on the corpus's train+dev split)
FACTS_SHARE = 0.5
_PROTECTED_KINDS = ("threads", "decisions", "constraints", "artifacts")


def _is_protected(kind: str, item: dict) -> bool:
    """What a default archive keeps before anything else: open threads, constraints, current
    decisions and real artifacts (files, URLs, commands)."""
    if kind == "threads":
        return item.get("status") == "OPEN"
    if kind == "decisions":
        return item.get("status") == "active"
    if kind == "artifacts":
        return item.get("kind") in ("file", "url", "command")
    return kind == "constraints"


def _holds_state(kind: str, item: dict) -> bool:
    """Threads and constraints: what a continuation must get right, kept before key statements.

    Measured on the memory corpus (train+dev): keeping every current decision and artifact
    before key statements kept 0.56 of the key facts; letting them share the budget with the
    statements (which hold the same values, more compactly) kept 0.79, with the same thread
    statuses."""
    return kind in ("threads", "constraints")


def _drop_rank(kind: str, item: dict) -> tuple[float, int]:
    """Sort key: items dropped first sort first. Snippets and superseded decisions go first,
    then current decisions, then file/URL/command artifacts, then closed and open threads (their status is what a continuation must get right), and
    constraints last; within a group, lower priority first."""
    if kind == "artifacts":
        group = 2.5 if _is_protected(kind, item) else 0
    elif kind == "decisions":
        group = 2.0 if item.get("status") == "active" else 0.0
    elif kind == "threads":
        group = 4 if item.get("status") == "OPEN" else 3
    else:
        group = 5
    return (group, -PRIORITY_RANK.get(item.get("priority", "medium"), 2))


def _label(kind: str, item: dict) -> str:
    return f"{kind}:{item.get('id') or item.get('name') or item.get('quote', '')[:40]}"


def fit_to_budget(archive: dict, budget: int, count: Callable[[dict], int],
                  facts: Sequence[Any] = (), count_text: Callable[[str], int] | None = None,
                  reserve: float | None = None) -> list[str]:
    """Fit ``archive`` to ``budget`` tokens, then fill what is left with ``facts``.

    Items give way in ``_drop_rank`` order until ``reserve`` of the budget is free (by default
    ``FACTS_SHARE`` when there are ``facts``, else nothing); threads and constraints give way only
    when they alone exceed the whole budget (never a critical one). References to dropped
    decisions are removed. ``facts`` (objects with ``text``, best first) are then added while
    they fit. Returns ``kind:label`` of each dropped item.
    """
    dropped: list[str] = []
    if reserve is None:
        reserve = FACTS_SHARE if facts else 0.0
    soft = int(budget * (1 - reserve))
    pool = [(kind, item) for kind in _PROTECTED_KINDS for item in archive.get(kind, [])]
    pool.sort(key=lambda ki: _drop_rank(*ki))
    total = count(archive)
    ratio = total / max(1, len(repr(archive)))  # estimate each item's share; confirm with real counts
    for kind, item in pool:
        limit = budget if _holds_state(kind, item) else soft
        if total <= limit:
            if limit == soft:
                continue
            break
        if item.get("priority") == "critical":
            continue  # a critical item stays even past the budget
        archive[kind].remove(item)
        dropped.append(_label(kind, item))
        total -= int(len(repr(item)) * ratio) + 4
        if total <= limit:
            _drop_dangling(archive)
            total = count(archive)
    _drop_dangling(archive)
    if facts and count_text is not None:
        _add_facts(archive, budget, count, facts, count_text)
    return dropped


def _add_facts(archive: dict, budget: int, count: Callable[[dict], int], facts: Sequence[Any],
               count_text: Callable[[str], int]) -> None:
    from forge_tui.compression.facts import choose

    room = budget - count(archive) - 4  # the "facts:" key
    chosen: list[dict] = []
    for fact in choose(facts, room, count_text):  # no source line: in a budget, values come first
        chosen.append({"text": fact.text})
    if not chosen:
        return
    archive["facts"] = chosen
    while chosen and count(archive) > budget:  # the estimate was optimistic: trim the weakest
        chosen.pop()
    if not chosen:
        archive.pop("facts")


def _drop_dangling(archive: dict) -> None:
    ids = {d["id"] for d in archive.get("decisions", [])}
    for d in archive.get("decisions", []):
        for key in ("supersedes", "conflicts_with"):
            kept = [r for r in d.get(key, []) if r in ids]
            if kept:
                d[key] = kept
            else:
                d.pop(key, None)


def compact(archive: dict) -> None:
    """Leave out what says nothing: empty reference lists, whole-project scopes."""
    _drop_dangling(archive)
    for c in archive.get("constraints", []):
        if c.get("scope") in ("project", ""):
            c.pop("scope", None)


__all__ = ["PRIORITIES", "Extraction", "as_dict", "fit_to_budget", "merge_decisions", "merge_simple", "merge_threads"]
