"""``decide(engine, context, options)``: one grammar-constrained model answer.

The output shape is an ``ObjectSpec`` from the compression protocol, decoded
under the GBNF that ``forge_tui.protocol.gbnf.yaml_grammar`` generates from it
(or, for an engine that takes JSON Schema, the schema ``protocol.json_schema`` generates)
and checked with ``forge_tui.protocol.validate`` — the same machinery as the
archives, so the grammar and the checks cannot drift apart. The model writes
text, rationale, tier and priority; it never writes an id (the specs' program
fields are dropped by ``model_view``).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, replace
from typing import Protocol

from forge_tui.domain.models import Task
from forge_tui.engine.base import GenerationRequest, KnowledgeEngine
from forge_tui.knowledge.errors import KnowledgeError
from forge_tui.protocol.json_schema import constraint
from forge_tui.protocol.spec import DECISION_SPEC, THREAD_SPEC, ObjectSpec, model_view
from forge_tui.protocol.validate import ArchiveError, safe_yaml, validate

TEXT_LEN = 120  # characters per string: keeps a small model's answer to ~80 tokens


def _tight(spec: ObjectSpec, drop: tuple[str, ...] = ()) -> ObjectSpec:
    view = model_view(spec)
    fields = tuple(
        replace(f, max_len=min(f.max_len or TEXT_LEN, TEXT_LEN)) if f.kind in ("str", "text") else f
        for f in view.fields
        if f.name not in drop
    )
    return ObjectSpec(spec.name, fields, spec.doc)


def answer_yaml(data: dict) -> str:
    """An answer written the way the grammar writes it (quoted strings), for few-shot examples."""
    return "\n".join(f"{k}: {json.dumps(v) if isinstance(v, str) else v}" for k, v in data.items()) + "\n"


#: what a model writes for one decision candidate: text, rationale, tier, priority
DECISION_ANSWER = _tight(DECISION_SPEC)
#: what a model writes for one open-question candidate: title, priority (status is the program's)
THREAD_ANSWER = _tight(THREAD_SPEC, drop=("status",))

DECISION_INSTRUCTION = (
    "Record the decision in the candidate sentence. text: the decision in a few words. "
    "rationale: why, or \"\" if no reason is given. tier: 1.0 if stated outright, lower if tentative. "
    "priority: critical, high, medium or low."
)
THREAD_INSTRUCTION = "Name the open question in the candidate sentence as a short title, with a priority."
DECISION_EXAMPLES = (
    (
        "Message (user): The cache is slow. Let's use Redis for the session cache since we already run it.\n"
        "Candidate: Let's use Redis for the session cache since we already run it.",
        answer_yaml({"text": "Use Redis for the session cache", "rationale": "already running",
                     "tier": 1.0, "priority": "high"}),
    ),
    (
        "Message (assistant): I think we could keep the logs for 30 days.\n"
        "Candidate: I think we could keep the logs for 30 days.",
        answer_yaml({"text": "Keep logs for 30 days", "rationale": "", "tier": 0.6, "priority": "low"}),
    ),
)  # fmt: skip
THREAD_EXAMPLES = (
    (
        "Message (user): Open question: which message queue should we use for the events?\n"
        "Candidate: Open question: which message queue should we use for the events?",
        answer_yaml({"title": "Choose a message queue for events", "priority": "medium"}),
    ),
)


CONTEXT_CHARS = 600  # of the message around a candidate


def candidate_context(role: str, message: str, sentence: str) -> str:
    """The user turn of a decide() request: the message (cut at ``CONTEXT_CHARS``) and the candidate."""
    body = " ".join(message.split())
    if len(body) > CONTEXT_CHARS:
        body = body[:CONTEXT_CHARS] + " …"
    return f"Message ({role}): {body}\nCandidate: {sentence}"


class DecideError(KnowledgeError):
    """The model's answer could not be used (failed generation, YAML or validation)."""


@dataclass(frozen=True)
class DecideOptions:
    spec: ObjectSpec
    instruction: str
    examples: tuple[tuple[str, str], ...] = ()  # (context, answer YAML) pairs shown before the real one
    max_tokens: int = 160
    temperature: float = 0.2

    def messages(self, context: str) -> list[dict]:
        out = [{"role": "system", "content": self.instruction}]
        for example, answer in self.examples:
            out += [{"role": "user", "content": example}, {"role": "assistant", "content": answer}]
        return out + [{"role": "user", "content": context}]


class Decider(Protocol):
    """Answers one decide() request for a project (the root routes it along ``[routing].decide``);
    raises ``DecideError`` when no usable answer came back."""

    def __call__(self, project: str, context: str, options: DecideOptions, cancel: threading.Event) -> dict: ...


DECISION_OPTIONS = DecideOptions(DECISION_ANSWER, DECISION_INSTRUCTION, DECISION_EXAMPLES)
THREAD_OPTIONS = DecideOptions(THREAD_ANSWER, THREAD_INSTRUCTION, THREAD_EXAMPLES, max_tokens=80)


def decide(
    engine: KnowledgeEngine, context: str, options: DecideOptions, cancel: threading.Event | None = None
) -> dict:
    """Ask ``engine`` for one answer shaped like ``options.spec``; raise ``DecideError`` if unusable."""
    grammar, schema = constraint(options.spec, engine.structured)
    request = GenerationRequest(
        messages=options.messages(context),
        max_tokens=options.max_tokens,
        temperature=options.temperature,
        grammar=grammar,
        json_schema=schema,
        task=Task.DECISIONS,
    )
    result = engine.generate(request, lambda _piece: None, cancel or threading.Event())
    if result.error or result.finish != "stop":
        raise DecideError(f"decide() generation ended with '{result.finish}': {result.error or 'no complete answer'}")
    try:
        data = safe_yaml(result.text)
    except ArchiveError as exc:
        raise DecideError(f"decide() output is not YAML: {exc}") from None
    issues = validate(options.spec, data)
    if issues:
        raise DecideError(f"decide() output failed validation: {issues[0]}")
    return data


_WORD = re.compile(r"[a-z0-9][a-z0-9_%+-]*(?:\.[a-z0-9]+)*")


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2 or any(c.isdigit() for c in w)}


def grounded(answer_text: str, candidate: str) -> bool:
    """The model's restatement is built from the candidate's words, not invented.

    Half of its words must come from the candidate, and it must keep at least two
    of them (one when the candidate is that short): "JSONB" is not a restatement
    of "Let's go with PostgreSQL for the main database because we need JSONB".
    """
    mine, theirs = content_words(answer_text), content_words(candidate)
    if not theirs:
        return True
    shared = mine & theirs
    return bool(mine) and len(shared) >= min(2, len(theirs)) and len(shared) * 2 >= len(mine)
