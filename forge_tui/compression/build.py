"""An archive from the extraction (and the model's wording, when there is one), fitted to its
budget: ids and sources assigned, compact references, key statements in the room left."""

from __future__ import annotations

from typing import Any, Callable

from forge_tui.compression import assemble
from forge_tui.compression.continuation import _brief, continuation_prose, vet_briefing
from forge_tui.compression.select import fill_default
from forge_tui.domain.ids import entity_id
from forge_tui.domain.models import Conversation, SystemPrompt, utcnow
from forge_tui.engine.base import KnowledgeEngine
from forge_tui.knowledge.pipeline import Extraction
from forge_tui.knowledge.pipeline.text import words
from forge_tui.protocol.render import dump_archive, dump_yaml
from forge_tui.protocol.spec import ARCHIVE_SPEC, SCHEMA_VERSION

#: a default archive's artifact summaries are cut to this many characters
ARTIFACT_SUMMARY_CHARS = 60
#: the header's model when an archive was made without one
RULES_ONLY = "none (rules only)"
#: a default archive is at most this share of its source (and never above the token budget)
SOURCE_SHARE = 0.5


#: below this many tokens a session is "short": half of it would not even hold the header, so the
#: archive may use up to the whole source size (never more) to keep its statements
SHORT_SESSION = 300


def archive_budget(budget_tokens: int, tokens_source: int) -> int:
    """Tokens a default archive may use: ``min(budget, ~half the source)``, and for a short
    session up to ``SHORT_SESSION`` tokens but never more than the source itself."""
    return max(1, min(budget_tokens, max(int(tokens_source * SOURCE_SHARE), min(tokens_source, SHORT_SESSION))))


def finish_archive(conv: Conversation, engine: KnowledgeEngine | None, ex: Extraction, model_out: dict, mode: str,
            bridged_ids: list[str], bridged: list[dict], registry: Any, verbatim: list, upto_message_id: str | None,
            compressed: list, refs: dict[str, str], count_text: Callable[[str], int], budget_tokens: int,
            adapter: str | None = None, system_prompt: SystemPrompt | None = None) -> tuple[dict, int, list[str]]:
    """The archive from the extraction (and the model's wording, if any), fitted to its budget:
    the archive, the source's token count and the items left out. ``system_prompt`` (what the
    conversation ran under) goes into the header, so a session continued from the archive keeps it."""
    archive = _assemble(conv, engine, ex, model_out, mode, bridged_ids, bridged, registry, verbatim,
                        upto_message_id if mode == "partial" else None, compressed)
    if adapter:
        archive["header"]["adapter"] = adapter
    _short_sources(archive, refs)
    assemble.compact(archive)
    tokens_source = count_text(_transcript(compressed))
    archive["header"]["tokens"]["source"] = tokens_source
    measure = lambda a: count_text(dump_archive(a))  # noqa: E731
    dropped: list[str] = []
    source_of = lambda t: refs.get(t.id, "")  # noqa: E731
    if mode == "lossless":
        _lossless(archive, compressed, source_of)
    else:
        budget = archive_budget(budget_tokens, tokens_source)
        if tokens_source < SHORT_SESSION:
            # the header (ids, times, counts: ~100 tokens) would leave a short session's archive
            # empty; its body may be as large as the source instead, never larger
            budget = tokens_source + count_text(dump_yaml(ARCHIVE_SPEC, {"schema": archive["schema"],
                                                                          "header": archive["header"]}))
            archive["continuation_prompt"] = (f"A short session on \"{_brief(conv.title or 'this work', 60)}\"; "
                                              "what was said is kept below as it was said.")
        stale = [d for d in archive["decisions"] if d["status"] != "active"]
        dropped = [f"decisions:{d['id']}" for d in stale]
        archive["decisions"] = [d for d in archive["decisions"] if d["status"] == "active"]  # current values only
        dropped += fill_default(archive, compressed, budget, measure, count_text, source_of,
                                superseded=[d["text"] for d in stale])
    if system_prompt is not None:  # after fitting: the prompt is carried whole, never at the content's cost
        archive["header"]["system_prompt"] = system_prompt.text
        archive["header"]["system_prompt_from"] = system_prompt.level
    return archive, tokens_source, dropped


def _lossless(archive: dict, compressed: list, source_of: Callable[[Any], str]) -> None:
    """Every turn verbatim, the items pointing into them: lossless by construction, so no key
    statements and no snippet bodies (the turns hold both)."""
    archive["artifacts"] = [a for a in archive.get("artifacts", []) if a.get("kind") in ("file", "url", "command")]
    for a in archive["artifacts"]:
        a.pop("content", None)
        a["summary"] = _brief(a.get("summary") or a["kind"], ARTIFACT_SUMMARY_CHARS)
    archive["turns"] = [{"role": _role(t), "content": t.content, "source": source_of(t)}
                        for t in compressed if _role(t) != "system" and t.content.strip()]


def _transcript(turns: list) -> str:
    return "\n\n".join(f"{_role(t)}: {t.content}" for t in turns)


def _short_sources(archive: dict, refs: dict[str, str]) -> None:
    """Message ids of the compressed conversation become ``mSEQ`` (the turn's sequence number)."""
    for d in archive.get("decisions", []):
        d["sources"] = [refs.get(s, s) for s in d["sources"]]
    for t in archive.get("threads", []):
        t["sources"] = [refs.get(s, s) for s in t["sources"]]
    for item in archive.get("artifacts", []) + archive.get("constraints", []):
        if item.get("source") in refs:
            item["source"] = refs[item["source"]]


def _role(turn: Any) -> str:
    return str(getattr(turn.role, "value", turn.role))


def _assemble(conv, engine, ex, model_out, mode, bridged_ids, bridged, registry, verbatim, upto, compressed) -> dict:
    lossless = mode == "lossless"
    truth_d: list[dict] = []
    truth_t: list[dict] = []
    if registry is not None:  # the registry's items of this conversation and those pinned without a
        # turn; what other conversations of the project found stays in the registry (retrieval brings it)
        mine = {t.id for t in compressed}
        ours = lambda x: not x.get("sources") or bool(mine & set(x["sources"]))  # noqa: E731
        truth_d = [d for d in map(assemble.as_dict, registry.active_decisions(conv.project)) if ours(d)]
        truth_t = [t for t in map(assemble.as_dict, registry.threads(conv.project)) if ours(t)]
    inh_d = [d for a in bridged for d in a.get("decisions", [])]
    inh_t = [t for a in bridged for t in a.get("threads", [])]
    vocab = source_vocabulary(compressed)
    decisions = assemble.merge_decisions(ex.decisions, model_out.get("decisions") or [], lossless=lossless,
                                         ground_truth=truth_d, inherited=inh_d, vocabulary=vocab)
    threads = assemble.merge_threads(ex.threads, model_out.get("threads") or [], lossless=lossless,
                                     ground_truth=truth_t, inherited=inh_t, vocabulary=vocab)
    artifacts = [dict(a) for a in ex.artifacts]
    if not lossless:  # in a budget the name is what matters: a short summary, no body
        for a in artifacts:
            a.pop("content", None)
            a["summary"] = _brief(a.get("summary") or a["kind"], ARTIFACT_SUMMARY_CHARS)
    artifacts = assemble.merge_simple(artifacts, [a for b in bridged for a in b.get("artifacts", [])], "name")
    constraints = assemble.merge_simple(list(ex.constraints), [c for b in bridged for c in b.get("constraints", [])],
                                        "quote")
    created = utcnow().isoformat(timespec="seconds")
    header: dict[str, Any] = {
        "archive_id": entity_id(conv.project, "archive", f"{conv.id}:{mode}:{upto or ''}", created),
        "source_conversations": [conv.id],
        "project": conv.project,
        "created_at": created,
        "model": engine.model_name if engine is not None else RULES_ONLY,
        "engine": engine.kind if engine is not None else "rules",
        "mode": mode,
        "tokens": {"source": 0, "archive": 0},
    }
    if bridged_ids:
        header["bridged_from"] = bridged_ids
    if upto:
        header["partial_upto"] = compressed[-1].id
    archive: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "header": header,
        "decisions": decisions,
        "threads": threads,
        "artifacts": artifacts,
        "constraints": constraints,
        "continuation_prompt": str(model_out.get("continuation_prompt") or "")  # vetted by vet_model_briefing
        or continuation_prose(conv.title or "", decisions, threads, constraints, compact=True),
    }
    if verbatim:
        archive["verbatim_turns"] = [{"role": _role(t), "content": t.content, "source": t.id} for t in verbatim]
    return archive


def source_vocabulary(turns: list) -> set[str]:
    """The significant words of the compressed turns: what the model's wording must be grounded in."""
    return set().union(*(words(t.content) for t in turns))


def vet_model_briefing(model_out: dict, ex: Extraction, compressed: list) -> str:
    """Keep the model's continuation prompt in ``model_out`` only when it is a briefing (cut to
    whole sentences); returns why it was not used ("" when it was, or when there was none)."""
    if "continuation_prompt" not in model_out:
        return ""
    anchors = [c.text for c in ex.decisions if c.status == "active"] + [
        c.title or c.text for c in ex.threads if c.status == "OPEN"]
    text, why = vet_briefing(str(model_out.get("continuation_prompt") or ""), source_vocabulary(compressed),
                             anchors, _transcript(compressed))
    model_out["continuation_prompt"] = text
    return why
