"""Compress a conversation into an archive, and continue from one.

Never destructive: an archive is a new document in ``archives``; the turns it
came from stay where they are, linked by lineage edges
(conversation ``compressed_into`` archive, archive ``bridged_from`` archive,
new conversation ``continued_from`` archive).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from forge_tui.compression import assemble
from forge_tui.compression.facts import key_statements
from forge_tui.compression.prompt import build_messages
from forge_tui.domain.ids import conversation_id as make_conversation_id
from forge_tui.domain.ids import entity_id
from forge_tui.domain.models import Conversation, Task, TurnStatus, utcnow
from forge_tui.engine.base import GenerationRequest, GenerationResult, KnowledgeEngine
from forge_tui.knowledge.pipeline import Extraction, Tracker, default_classifier, to_extraction
from forge_tui.knowledge.pipeline.text import words
from forge_tui.protocol.gbnf import max_sentence_chars
from forge_tui.protocol.json_schema import constraint
from forge_tui.protocol.render import dump_archive, dump_yaml
from forge_tui.protocol.spec import ARCHIVE_SPEC, SCHEMA_VERSION, ObjectSpec, compression_model_spec
from forge_tui.protocol.validate import ArchiveError, safe_yaml, validate, validate_archive

MODES = ("default", "lossless", "partial")
DEFAULT_MAX_TOKENS = 384
RETRY_FACTOR = 2
MAX_RETRY_TOKENS = 2048
MAX_MODEL_DECISIONS = 4
MAX_MODEL_THREADS = 3


class CompressionError(Exception):
    """Compression failed; ``partial`` keeps whatever the model wrote, for inspection."""

    def __init__(self, message: str, partial: str = ""):
        super().__init__(message)
        self.partial = partial


@dataclass
class CompressionResult:
    archive: dict
    yaml_text: str
    archive_id: str
    tokens_source: int
    tokens_archive: int
    raw_output: str
    dropped: list[str] = field(default_factory=list)  # items left out to fit the budget
    attempts: int = 1
    model_note: str = ""  # why the model's wording was not used ("" when it was, or no model ran)


def model_spec_for(n_decisions: int, n_threads: int, max_tokens: int):
    """The model-facing spec, sized so a typical answer fits in ``max_tokens``.

    Roughly 100 tokens per decision slot and 150 per thread slot; a small
    model writes short strings, a larger budget allows longer ones.
    """
    return compression_model_spec(
        n_decisions, n_threads,
        max_decisions=max(1, min(MAX_MODEL_DECISIONS, n_decisions + 1, max_tokens // 100)),
        max_threads=max(1, min(MAX_MODEL_THREADS, n_threads + 1, max_tokens // 150)),
        text_len=100 if max_tokens >= 256 else 60,
        prompt_len=max(120, min(600, int(max_tokens * 1.5))),
    )


def retry_budget(spec: Any, max_tokens: int) -> int:
    """Tokens for the one retry: the grammar's longest answer, so a looping model still finishes."""
    worst = max_sentence_chars(spec) or max_tokens * RETRY_FACTOR
    return max(max_tokens * RETRY_FACTOR, min(worst, MAX_RETRY_TOKENS))


def _noop(_: str) -> None:
    return None


def _text_tokens(engine: KnowledgeEngine, text: str) -> int:
    return int(engine.count_text_tokens(text))


def load_archive(store: Any, archive_id: str) -> dict:
    """The stored archive dict for ``archive_id`` (a full id or a unique prefix)."""
    doc = store.archives.find_one({"_id": archive_id})
    if doc is None and archive_id:
        matches = list(store.archives.find({"_id": {"$regex": "^" + _re_escape(archive_id)}}).limit(2))
        if len(matches) == 1:
            doc = matches[0]
        elif len(matches) > 1:
            raise CompressionError(f"archive id prefix '{archive_id}' is ambiguous; give more characters")
    if doc is None:
        raise CompressionError(f"no archive '{archive_id}' in the store; `forge archive show` lists ids by prefix")
    return doc["archive"]


def _re_escape(text: str) -> str:
    import re

    return re.escape(text)


def _usable_turns(store: Any, conversation_id: str) -> list:
    return [
        t for t in store.turns(conversation_id)
        if t.content and t.content.strip() and t.status not in (TurnStatus.ERROR, TurnStatus.STREAMING)
    ]


def _split_partial(turns: list, mode: str, upto: str | None) -> tuple[list, list]:
    if mode != "partial":
        if upto is not None:
            raise CompressionError("upto_message_id is only for mode='partial'")
        return turns, []
    if not upto:
        raise CompressionError("partial mode needs the message to compress up to (upto_message_id)")
    for i, t in enumerate(turns):
        if t.id == upto or t.id.startswith(upto):
            return turns[: i + 1], turns[i + 1:]
    raise CompressionError(f"message '{upto}' is not in this conversation; pick one of its message ids")


def _inherited(store: Any, context_archives: Iterable[Any]) -> tuple[list[str], list[dict]]:
    ids: list[str] = []
    archives: list[dict] = []
    for ref in context_archives:
        arch = ref if isinstance(ref, dict) else load_archive(store, str(ref))
        issues = validate_archive(arch)
        if issues:
            raise CompressionError(f"context archive is invalid: {issues[0]}")
        ids.append(arch["header"]["archive_id"])
        archives.append(arch)
    return ids, archives


def _inherited_summary(archives: list[dict]) -> str:
    rows = []
    for a in archives:
        rows += [f"- decided: {d['text']}" for d in a.get("decisions", []) if d.get("status") == "active"][:6]
        rows += [f"- open: {t['title']}" for t in a.get("threads", []) if t.get("status") == "OPEN"][:4]
    return "\n".join(rows)


def _generate(engine: KnowledgeEngine, messages: list[dict], spec: ObjectSpec, max_tokens: int, retry_tokens: int,
              on_piece: Callable[[str], None], cancel: threading.Event) -> tuple[GenerationResult, int]:
    """Generate under the spec (GBNF, or JSON Schema where the engine takes that); one retry
    with a larger budget when cut off."""
    attempts = 0
    result = None
    grammar, schema = constraint(spec, engine.structured)
    for budget in (max_tokens, retry_tokens):
        attempts += 1
        request = GenerationRequest(messages=messages, grammar=grammar, json_schema=schema, temperature=0.2,
                                    max_tokens=budget, task=Task.COMPRESSION)
        result = engine.generate(request, on_piece, cancel)
        if result.finish != "length":
            break
        if attempts == 1:
            on_piece("\n")  # the preview restarts with the retry
    assert result is not None
    if result.finish == "length":
        raise CompressionError(
            f"the model's archive was cut off twice (at {max_tokens} and {retry_tokens} tokens); "
            "raise the token budget or use a larger model. The partial output is kept.", result.text)
    if result.finish == "cancelled":
        raise CompressionError("compression cancelled", result.text)
    if result.finish not in ("stop",):
        raise CompressionError(result.error or f"generation ended with '{result.finish}'", result.text)
    return result, attempts


#: a default archive's artifact summaries are cut to this many characters
ARTIFACT_SUMMARY_CHARS = 60
#: the header's model when an archive was made without one
RULES_ONLY = "none (rules only)"
ProgressFn = Callable[[str, int, int], None]
#: a default archive is at most this share of its source (and never above the token budget)
SOURCE_SHARE = 0.5


#: below this many tokens a session is "short": half of it would not even hold the header, so the
#: archive may use up to the whole source size (never more) to keep its statements
SHORT_SESSION = 300


def archive_budget(budget_tokens: int, tokens_source: int) -> int:
    """Tokens a default archive may use: ``min(budget, ~half the source)``, and for a short
    session up to ``SHORT_SESSION`` tokens but never more than the source itself."""
    return max(1, min(budget_tokens, max(int(tokens_source * SOURCE_SHARE), min(tokens_source, SHORT_SESSION))))


def approx_tokens(text: str) -> int:
    """Token estimate when no tokenizer is at hand (about four characters a token)."""
    return max(1, (len(text) + 3) // 4)


def _counter(engine: KnowledgeEngine | None, counter: Callable[[str], int] | None) -> Callable[[str], int]:
    if counter is not None:
        return counter
    if engine is not None:
        return lambda text: _text_tokens(engine, text)
    return approx_tokens


def compress(
    store: Any,
    engine: KnowledgeEngine | None,
    conversation_id: str,
    *,
    mode: str = "default",
    upto_message_id: str | None = None,
    budget_tokens: int = 1200,
    context_archives: Sequence[Any] = (),
    registry: Any = None,
    on_piece: Callable[[str], None] | None = None,
    on_progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    retry_tokens: int | None = None,
    counter: Callable[[str], int] | None = None,
    embedder: Any = None,
    require_model: bool = False,
) -> CompressionResult:
    """Compress a stored conversation into a validated archive, store it, write lineage.

    Two passes. The deterministic pass extracts decisions, threads, constraints, artifacts and
    key statements from the whole conversation — however long, no model needed — and assembles
    a valid archive. The model pass (when ``engine`` is given) then adds wording and the
    continuation prompt under the grammar, from the candidates plus as much of the end of the
    conversation as fits its context; if the model's answer cannot be used, the deterministic
    archive stands and ``model_note`` says why (with ``require_model``, it raises instead, so a
    router can escalate to another model). A default archive is at most
    ``min(budget_tokens, SOURCE_SHARE × source)`` tokens. Nothing is written unless the archive
    validates. ``embedder`` (optional) lets the sentence classifier use embeddings.
    Raises ``CompressionError`` (also when cancelled).
    """
    if mode not in MODES:
        raise CompressionError(f"unknown mode '{mode}'; use one of {', '.join(MODES)}")
    conv = store.get_conversation(conversation_id)
    if conv is None:
        raise CompressionError(f"no conversation '{conversation_id}' in the store")
    on_piece = on_piece or _noop
    progress = on_progress or (lambda stage, done, total: None)
    cancel = cancel or threading.Event()
    count_text = _counter(engine, counter)
    turns = _usable_turns(store, conv.id)
    if not turns:
        raise CompressionError("the conversation has no messages to compress")
    compressed, verbatim = _split_partial(turns, mode, upto_message_id)
    bridged_ids, bridged = _inherited(store, context_archives)
    ex = _extract_in_chunks(compressed, progress, cancel, embedder)
    refs = {t.id: f"m{t.seq}" for t in compressed}

    model_out: dict = {}
    raw_output, attempts, note, adapter = "", 0, "", None
    if engine is not None:
        progress("wording", 0, 1)
        try:
            model_out, generated, attempts = _model_wording(engine, compressed, ex, bridged, max_tokens,
                                                            retry_tokens, on_piece, cancel)
            raw_output, adapter = generated.text, generated.adapter
        except CompressionError as exc:
            if cancel.is_set() or require_model:
                raise
            note, raw_output = str(exc), exc.partial
        progress("wording", 1, 1)

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
    if mode == "lossless":  # every statement with a value, once; code stays whole in its snippet
        facts = key_statements(compressed, _covered_texts(archive), source_of=lambda t: refs.get(t.id, ""))
        kept = [{"text": f.text, "source": f.source} for f in facts if not f.code]
        if kept:
            archive["facts"] = sorted(kept, key=lambda f: int(f["source"][1:]) if f["source"][1:].isdigit() else 0)
    else:
        budget = archive_budget(budget_tokens, tokens_source)
        if tokens_source < SHORT_SESSION:
            # the header (ids, times, counts: ~100 tokens) would leave a short session's archive
            # empty; its body may be as large as the source instead, never larger
            budget = tokens_source + count_text(dump_yaml(ARCHIVE_SPEC, {"schema": archive["schema"],
                                                                          "header": archive["header"]}))
            archive["continuation_prompt"] = (f"A short session on \"{_brief(conv.title or 'this work', 60)}\"; "
                                              "what was said is kept below as it was said.")
        covered = _covered_texts(archive)
        facts = key_statements(compressed, covered, source_of=lambda t: refs.get(t.id, ""))
        dropped = assemble.fit_to_budget(archive, budget, measure, facts=facts, count_text=count_text)
    if cancel.is_set():
        raise CompressionError("compression cancelled", raw_output)
    yaml_text = dump_archive(archive)
    archive["header"]["tokens"]["archive"] = count_text(yaml_text)
    yaml_text = dump_archive(archive)
    issues = validate_archive(archive)
    if issues:
        raise CompressionError(f"assembled archive failed validation (a Forge bug): {issues[0]}", raw_output)

    archive_id = archive["header"]["archive_id"]
    store.archives.replace_one({"_id": archive_id}, archive_document(archive, yaml_text), upsert=True)
    store.add_edge(conv.id, archive_id, "compressed_into", mode=mode)
    for bid in bridged_ids:
        store.add_edge(archive_id, bid, "bridged_from")
    return CompressionResult(
        archive=archive, yaml_text=yaml_text, archive_id=archive_id, tokens_source=tokens_source,
        tokens_archive=archive["header"]["tokens"]["archive"], raw_output=raw_output, dropped=dropped,
        attempts=attempts, model_note=note,
    )


#: turns per extraction step: progress and cancellation between steps on long sessions
EXTRACT_CHUNK = 200


def _extract_in_chunks(turns: list, progress: ProgressFn, cancel: threading.Event, embedder: Any = None) -> Extraction:
    """The extraction over every turn; reports progress and checks ``cancel`` as it goes.

    One tracker reads the turns in order (a revision needs what came before), so the steps
    only pace it; the result is the same as one pass over the whole conversation.
    """
    tracker = Tracker(default_classifier(embedder))
    total = len(turns)
    for start in range(0, total, EXTRACT_CHUNK):
        if cancel.is_set():
            raise CompressionError("compression cancelled")
        if total > EXTRACT_CHUNK:
            progress("extract", start, total)
        tracker.add_all(turns[start:start + EXTRACT_CHUNK])
    if total > EXTRACT_CHUNK:
        progress("extract", total, total)
    return to_extraction(tracker.state)


def _transcript(turns: list) -> str:
    return "\n\n".join(f"{_role(t)}: {t.content}" for t in turns)


def _covered_texts(archive: dict) -> list[str]:
    texts = [d["text"] for d in archive.get("decisions", [])]
    texts += [t["title"] for t in archive.get("threads", [])] + [t.get("resolution", "") for t in archive.get("threads", [])]
    return texts + [c["quote"] for c in archive.get("constraints", [])]


def _short_sources(archive: dict, refs: dict[str, str]) -> None:
    """Message ids of the compressed conversation become ``mSEQ`` (the turn's sequence number)."""
    for d in archive.get("decisions", []):
        d["sources"] = [refs.get(s, s) for s in d["sources"]]
    for t in archive.get("threads", []):
        t["sources"] = [refs.get(s, s) for s in t["sources"]]
    for item in archive.get("artifacts", []) + archive.get("constraints", []):
        if item.get("source") in refs:
            item["source"] = refs[item["source"]]


def _model_wording(engine: KnowledgeEngine, compressed: list, ex: Any, bridged: list[dict], max_tokens: int,
                   retry_tokens: int | None, on_piece: Callable[[str], None],
                   cancel: threading.Event) -> tuple[dict, GenerationResult, int]:
    """The model's answer under the grammar: wording for the candidates and a continuation prompt."""
    spec = model_spec_for(len(ex.decisions), len(ex.threads), max_tokens)
    retry_tokens = retry_tokens or retry_budget(spec, max_tokens)
    room = engine.n_ctx - retry_tokens - 32
    if room < 64:
        raise CompressionError(f"the model's context ({engine.n_ctx} tokens) leaves no room for the "
                               f"compression prompt; use a model with a larger n_ctx")
    messages = build_messages(
        compressed, ex.decisions, ex.threads, _inherited_summary(bridged),
        fits=lambda m: engine.count_tokens(m) <= room, room_chars=room * 3,
    )
    result, attempts = _generate(engine, messages, spec, max_tokens, retry_tokens, on_piece, cancel)
    try:
        model_out = safe_yaml(result.text)
    except ArchiveError as exc:
        raise CompressionError(f"the model's output is not valid YAML ({exc})", result.text) from None
    problems = validate(spec, model_out)
    if problems:
        raise CompressionError(f"the model's output does not match the grammar's schema: {problems[0]}", result.text)
    return model_out, result, attempts


def _role(turn: Any) -> str:
    return str(getattr(turn.role, "value", turn.role))


def _assemble(conv, engine, ex, model_out, mode, bridged_ids, bridged, registry, verbatim, upto, compressed) -> dict:
    lossless = mode == "lossless"
    truth_d: list[dict] = []
    truth_t: list[dict] = []
    if registry is not None:
        truth_d = [assemble.as_dict(d) for d in registry.active_decisions(conv.project)]
        truth_t = [assemble.as_dict(t) for t in registry.threads(conv.project)]
    inh_d = [d for a in bridged for d in a.get("decisions", [])]
    inh_t = [t for a in bridged for t in a.get("threads", [])]
    vocab = set().union(*(words(t.content) for t in compressed))
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
    created = utcnow().isoformat()
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
        "continuation_prompt": _continuation(str(model_out.get("continuation_prompt") or ""), vocab,
                                             conv.title or "", decisions, threads, constraints),
    }
    if verbatim:
        archive["verbatim_turns"] = [{"role": _role(t), "content": t.content, "source": t.id} for t in verbatim]
    return archive


def _continuation(model_text: str, vocab: set[str], title: str, decisions: list[dict], threads: list[dict],
                  constraints: list[dict]) -> str:
    """The model's continuation prompt when it is grounded in the conversation, else a built one."""
    text = model_text.strip()
    built = continuation_prose(title, decisions, threads, constraints)
    if text and assemble.grounded(text, vocab, 0.6) and len(words(text)) >= 6:
        return text
    return built


def _brief(text: str, limit: int = 90) -> str:
    text = " ".join(text.split()).rstrip(".;:,")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def continuation_prose(title: str, decisions: list[dict], threads: list[dict], constraints: list[dict]) -> str:
    """Readable prose for the next session: what we are doing, what is decided (current values
    only), what is still open, what must not be done."""
    live = [_brief(d["text"], 60) for d in decisions if d["status"] == "active"][-3:]
    open_ = [_brief(t["title"], 60) for t in threads if t["status"] == "OPEN"][:3]
    rules = [_brief(c["quote"], 70) for c in constraints][:2]
    parts = [f"We are continuing the work on \"{_brief(title, 80)}\"." if title else "We are continuing earlier work."]
    for label, items in (("Settled so far", live), ("Still open", open_), ("Rules that hold", rules)):
        if items:
            text = f"{label}: " + "; ".join(items)
            parts.append(text if text.endswith(("?", "!", "…")) else text + ".")
    if not (live or open_ or rules):
        parts.append("Nothing was decided or left open; the facts below are what was said.")
    return " ".join(parts)


def archive_document(archive: dict, yaml_text: str) -> dict:
    """The MongoDB document for an archive (top-level fields for indexes and listing)."""
    h = archive["header"]
    return {
        "_id": h["archive_id"], "project": h["project"], "created_at": h["created_at"],
        "source_conversations": list(h["source_conversations"]), "mode": h["mode"], "model": h["model"],
        "engine": h.get("engine"),
        "tokens_source": h["tokens"]["source"], "tokens_archive": h["tokens"]["archive"],
        "bridged_from": list(h.get("bridged_from", [])), "adapter": h.get("adapter"), "yaml": yaml_text,
        "archive": archive,
    }


def list_archives(store: Any, *, project: str | None = None, conversation_id: str | None = None,
                  limit: int = 50) -> list[dict]:
    """Archive summaries (no body), newest first: id, project, created_at, mode, model, token counts."""
    query: dict[str, Any] = {}
    if project is not None:
        query["project"] = project
    if conversation_id is not None:
        query["source_conversations"] = conversation_id
    fields = {"archive": 0, "yaml": 0}
    return list(store.archives.find(query, fields).sort("created_at", -1).limit(limit))


def import_archive(store: Any, archive: dict, yaml_text: str | None = None) -> str:
    """Store a validated archive read from a file (idempotent); returns its id."""
    issues = validate_archive(archive)
    if issues:
        raise ArchiveError(f"invalid archive: {issues[0]}", issues[0].path, issues)
    archive_id = archive["header"]["archive_id"]
    if store.archives.find_one({"_id": archive_id}, {"_id": 1}) is None:
        store.archives.insert_one(archive_document(archive, yaml_text or dump_archive(archive)))
    for cid in archive["header"]["source_conversations"]:
        if store.get_conversation(cid) is not None:
            store.add_edge(cid, archive_id, "compressed_into", mode=archive["header"]["mode"])
    return archive_id


def continue_from(store: Any, archive_id: str, *, title: str | None = None) -> Conversation:
    """Start a new conversation (same project) whose context is the archive."""
    archive = load_archive(store, archive_id)
    header = archive["header"]
    archive_id = header["archive_id"]
    now = utcnow()
    source_title = None
    for cid in header["source_conversations"]:
        src = store.get_conversation(cid)
        if src is not None:
            source_title = src.title
            break
    conv = Conversation(
        id=make_conversation_id(header["project"], f"continued:{archive_id}", now),
        project=header["project"],
        title=title or f"{source_title or 'Session'} (continued)",
        created_at=now, updated_at=now, model=header.get("model"), archive_context=archive_id,
    )
    store.create_conversation(conv)
    store.add_edge(conv.id, archive_id, "continued_from")
    return conv


CONTEXT_PREAMBLE = (
    "You are continuing an earlier work session. Its archive follows. Treat active decisions as settled, "
    "constraints as the user's own rules (quoted verbatim), and OPEN threads as pending work. "
    "Start from the continuation prompt."
)


def archive_context_messages(archive: dict) -> list[dict]:
    """The archive as the new session's context: one system message, then any verbatim turns."""
    body = {k: v for k, v in archive.items() if k != "verbatim_turns"}
    text = f"{CONTEXT_PREAMBLE}\n\n```yaml\n{dump_archive(body)}```"
    messages = [{"role": "system", "content": text}]
    for t in archive.get("verbatim_turns", []):
        messages.append({"role": t["role"], "content": t["content"]})
    return messages
