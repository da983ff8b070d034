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

from forge_tui.compression.archive_store import (
    CONTEXT_PREAMBLE,
    archive_context_messages,
    archive_document,
    continue_from,
    import_archive,
    list_archives,
    load_archive,
)
from forge_tui.compression.build import RULES_ONLY, finish_archive, vet_model_briefing
from forge_tui.compression.errors import CompressionError
from forge_tui.compression.prompt import build_messages
from forge_tui.domain.models import Task, TurnStatus
from forge_tui.engine.base import GenerationRequest, GenerationResult, KnowledgeEngine
from forge_tui.knowledge.pipeline import Extraction, Tracker, default_classifier, to_extraction
from forge_tui.protocol.gbnf import max_sentence_chars
from forge_tui.protocol.json_schema import constraint
from forge_tui.protocol.render import dump_archive
from forge_tui.protocol.spec import ObjectSpec, briefing_model_spec, compression_model_spec
from forge_tui.protocol.validate import ArchiveError, safe_yaml, validate, validate_archive

__all__ = [
    "CONTEXT_PREAMBLE", "CompressionError", "CompressionResult", "RULES_ONLY", "archive_context_messages",
    "archive_document", "compress", "continue_from", "import_archive", "list_archives", "load_archive",
]  # the archive store's functions stay importable from here, where callers found them

MODES = ("default", "lossless", "partial")
#: tokens the model may write by default: the briefing alone, a few seconds with the 135M default
#: on two cores (``python bench/compress_speed.py``); a capable model is given more
#: (``compress_wording_tokens`` in the settings) and then also restates decisions and questions
DEFAULT_MAX_TOKENS = 80
#: below this many tokens the model writes only the continuation prompt
SLOTS_MIN_TOKENS = 200
#: the model re-reads at most this many prompt tokens per token it may write, so the time the
#: wording takes follows the one setting (prompt processing dominates on a CPU)
PROMPT_PER_OUTPUT_TOKEN = 7
#: ...and never fewer than this (the candidates and the last turn)
MIN_PROMPT_TOKENS = 256
RETRY_FACTOR = 2
MAX_RETRY_TOKENS = 2048
MAX_MODEL_DECISIONS = 4
MAX_MODEL_THREADS = 3


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

    Below ``SLOTS_MIN_TOKENS`` only the briefing (about 3 characters a token); above it,
    roughly 100 tokens per decision slot and 150 per thread slot; a small
    model writes short strings, a larger budget allows longer ones.
    """
    if max_tokens < SLOTS_MIN_TOKENS:
        return briefing_model_spec(prompt_len=max(60, int(max_tokens * 3)))
    return compression_model_spec(
        n_decisions, n_threads,
        max_decisions=max(1, min(MAX_MODEL_DECISIONS, n_decisions + 1, max_tokens // 100)),
        max_threads=max(1, min(MAX_MODEL_THREADS, n_threads + 1, max_tokens // 150)),
        text_len=100 if max_tokens >= 256 else 60,
        prompt_len=max(120, min(600, int(max_tokens * 1.5))),
    )


def briefing_only(spec: ObjectSpec) -> bool:
    """Whether ``spec`` asks the model for the continuation prompt alone (``briefing_model_spec``)."""
    return [f.name for f in spec.fields] == ["continuation_prompt"]


def retry_budget(spec: Any, max_tokens: int) -> int:
    """Tokens for the one retry: the grammar's longest answer, so a looping model still finishes.
    A briefing-only answer gets none (its time stays bounded; the rule-based briefing stands)."""
    if briefing_only(spec):
        return max_tokens
    worst = max_sentence_chars(spec) or max_tokens * RETRY_FACTOR
    return max(max_tokens * RETRY_FACTOR, min(worst, MAX_RETRY_TOKENS))


def _noop(_: str) -> None:
    return None


def _text_tokens(engine: KnowledgeEngine, text: str) -> int:
    return int(engine.count_text_tokens(text))


def _usable_turns(store: Any, conversation_id: str) -> list:
    return [
        t for t in store.active_turns(conversation_id)  # the branch on show
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
    for budget in (max_tokens, retry_tokens) if retry_tokens > max_tokens else (max_tokens,):
        attempts += 1
        request = GenerationRequest(messages=messages, grammar=grammar, json_schema=schema, temperature=0.0,
                                    max_tokens=budget, task=Task.COMPRESSION)
        result = engine.generate(request, on_piece, cancel)
        if result.finish != "length":
            break
        if attempts == 1 and retry_tokens > max_tokens:
            on_piece("\n")  # the preview restarts with the retry
    assert result is not None
    if result.finish == "length" and attempts == 1:
        raise CompressionError(f"the model's answer was cut off at {max_tokens} tokens; raise "
                               "compress_wording_tokens or use a larger model", result.text)
    if result.finish == "length":
        raise CompressionError(
            f"the model's archive was cut off twice (at {max_tokens} and {retry_tokens} tokens); "
            "raise the token budget or use a larger model. The partial output is kept.", result.text)
    if result.finish == "cancelled":
        raise CompressionError("compression cancelled", result.text)
    if result.finish not in ("stop",):
        raise CompressionError(result.error or f"generation ended with '{result.finish}'", result.text)
    return result, attempts


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
    on_draft: Callable[[str], None] | None = None,
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
    validates. ``on_draft`` receives the rule-based archive's YAML before the model pass (so a
    pane can show a valid archive at once). ``embedder`` (optional) lets the sentence classifier
    use embeddings.
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
    system_prompt = store.system_prompt_for(conv)
    bridged_ids, bridged = _inherited(store, context_archives)
    ex = _extract_in_chunks(compressed, progress, cancel, embedder)
    refs = {t.id: f"m{t.seq}" for t in compressed}

    model_out: dict = {}
    raw_output, attempts, note, adapter = "", 0, "", None
    if engine is not None and on_draft is not None:
        draft, _, _ = finish_archive(conv, None, ex, {}, mode, bridged_ids, bridged, registry, verbatim, upto_message_id,
                              compressed, refs, count_text, budget_tokens, system_prompt=system_prompt)
        on_draft(dump_archive(draft))
    if engine is not None:
        progress("wording", 0, 1)
        try:
            model_out, generated, attempts = _model_wording(engine, compressed, ex, bridged, max_tokens,
                                                            retry_tokens, on_piece, cancel)
            raw_output, adapter = generated.text, generated.adapter
            unused = vet_model_briefing(model_out, ex, compressed)
            if unused and require_model:  # a router tries the next model
                raise CompressionError(f"the model's answer was unusable: {unused}", raw_output)
            note = unused  # the callers add that the rule-based briefing stands
        except CompressionError as exc:
            if cancel.is_set() or require_model:
                raise
            note, raw_output = str(exc), exc.partial
        progress("wording", 1, 1)

    archive, tokens_source, dropped = finish_archive(conv, engine, ex, model_out, mode, bridged_ids, bridged, registry,
                                             verbatim, upto_message_id, compressed, refs, count_text,
                                             budget_tokens, adapter, system_prompt=system_prompt)
    if cancel.is_set():
        raise CompressionError("compression cancelled", raw_output)
    yaml_text = dump_archive(archive)
    archive["header"]["tokens"]["archive"] = count_text(yaml_text)
    yaml_text = dump_archive(archive)
    issues = validate_archive(archive)
    if issues:
        raise CompressionError(f"assembled archive failed validation (a Forge bug): {issues[0]}", raw_output)

    archive_id = archive["header"]["archive_id"]
    store.save_archive(archive_document(archive, yaml_text))
    store.add_edge(conv.id, archive_id, "compressed_into", mode=mode)
    for bid in bridged_ids:
        store.add_edge(archive_id, bid, "bridged_from")
    return CompressionResult(
        archive=archive, yaml_text=yaml_text, archive_id=archive_id, tokens_source=tokens_source,
        tokens_archive=archive["header"]["tokens"]["archive"], raw_output=raw_output, dropped=dropped,
        attempts=attempts, model_note=note,
    )


ProgressFn = Callable[[str, int, int], None]
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


def _model_wording(engine: KnowledgeEngine, compressed: list, ex: Any, bridged: list[dict], max_tokens: int,
                   retry_tokens: int | None, on_piece: Callable[[str], None],
                   cancel: threading.Event) -> tuple[dict, GenerationResult, int]:
    """The model's answer under the grammar: wording for the candidates and a continuation prompt."""
    spec = model_spec_for(len(ex.decisions), len(ex.threads), max_tokens)
    retry_tokens = retry_tokens or retry_budget(spec, max_tokens)
    room = min(engine.n_ctx - retry_tokens - 32, max(MIN_PROMPT_TOKENS, PROMPT_PER_OUTPUT_TOKEN * max_tokens))
    if room < 64:
        raise CompressionError(f"the model's context ({engine.n_ctx} tokens) leaves no room for the "
                               f"compression prompt; use a model with a larger n_ctx")
    messages = build_messages(
        compressed, ex.decisions, ex.threads, _inherited_summary(bridged),
        fits=lambda m: engine.count_tokens(m) <= room, room_chars=room * 3, briefing=briefing_only(spec),
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


