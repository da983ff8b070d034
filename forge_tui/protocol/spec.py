"""Declarative document specs: the one source of truth for archive YAML.

A spec is a tree of ``ObjectSpec`` nodes whose ``Field``s have a *kind*:

============  =====================================================
kind          YAML value
============  =====================================================
``str``       one-line string (``max_len`` characters)
``text``      string that may contain newlines (``max_len``)
``float01``   number in [0.0, 1.0]
``int``       integer in [0, ``max_value``]
``enum``      one of ``choices`` (always written as a quoted string)
``object``    nested mapping described by ``item``
``list_object``  list (``max_items``) of mappings described by ``item``
``list_str``  list (``max_items``) of one-line strings (``pattern`` per item)
============  =====================================================

The validator (``validate.py``) and the GBNF generator (``gbnf.py``) both read
these specs, so the grammar a model decodes under and the checks a document
must pass cannot drift apart. Fields marked ``program=True`` are filled in by
Forge after decoding (IDs, source references, header data): ``model_view``
drops them, so the model-facing grammar never lets a model write an ID.

The module is generic on purpose: other features (the knowledge graph's
``decide()`` output) declare their own ``ObjectSpec`` and reuse both tools.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

SCALAR_KINDS = frozenset({"str", "text", "float01", "int", "enum"})
ALL_KINDS = SCALAR_KINDS | {"object", "list_object", "list_str"}
_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


class SpecError(ValueError):
    """A spec that cannot describe a document (a programming error, not user input)."""


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    required: bool = True
    choices: tuple[str, ...] = ()
    max_items: int | None = None
    max_len: int | None = None
    max_value: int | None = None
    pattern: str | None = None  # regex a str (or each list_str item) must fully match
    item: "ObjectSpec | None" = None
    program: bool = False  # filled by the program after decoding, never by a model
    doc: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ALL_KINDS:
            raise SpecError(f"field {self.name!r}: unknown kind {self.kind!r}; use one of {sorted(ALL_KINDS)}")
        if not self.name or not set(self.name) <= _KEY_CHARS or self.name[0].isdigit():
            raise SpecError(f"field name {self.name!r} must be lower-case letters, digits and '_'")
        if self.kind == "enum" and not self.choices:
            raise SpecError(f"enum field {self.name!r} needs choices")
        if self.kind in ("object", "list_object") and self.item is None:
            raise SpecError(f"{self.kind} field {self.name!r} needs an item spec")
        for bound in (self.max_items, self.max_len, self.max_value):
            if bound is not None and bound < 0:
                raise SpecError(f"field {self.name!r}: bounds must be >= 0")


@dataclass(frozen=True)
class ObjectSpec:
    name: str
    fields: tuple[Field, ...]
    doc: str = ""

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise SpecError(f"spec {self.name!r}: duplicate field names")
        if not any(f.required for f in self.fields):
            # A block mapping with only optional keys could be empty, which YAML
            # cannot write as a block; require one key so every item has a first line.
            raise SpecError(f"spec {self.name!r}: needs at least one required field")

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def model_view(spec: ObjectSpec, extra: Iterable[Field] = (), name: str | None = None) -> ObjectSpec:
    """The part of ``spec`` a model may write: program-owned fields dropped, recursively.

    ``extra`` fields are prepended (e.g. ``from``: an index into the numbered
    candidate list the prompt showed), so the model points at evidence instead
    of writing IDs or source references.
    """
    kept: list[Field] = list(extra)
    for f in spec.fields:
        if f.program:
            continue
        if f.item is not None:
            f = replace(f, item=model_view(f.item))
        kept.append(f)
    return ObjectSpec(name or spec.name, tuple(kept), spec.doc)


# -- the Forge archive ---------------------------------------------------------

SCHEMA_VERSION = "forge-archive/1"
PRIORITIES = ("critical", "high", "medium", "low")
PRIORITY_RANK = {p: i for i, p in enumerate(PRIORITIES)}
MODES = ("lossless", "default", "partial")
THREAD_STATUSES = ("OPEN", "RESOLVED", "ABANDONED")
DECISION_STATUSES = ("active", "superseded")
ARTIFACT_KINDS = ("file", "command", "url", "snippet", "other")
SYSTEM_PROMPT_LEVELS = ("conversation", "project")
DECISION_ID = r"D\d{3,}"
THREAD_ID = r"T\d{3,}"
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
SOURCE_RE = r"[0-9A-Za-z_.:-]{1,80}"

TOKENS_SPEC = ObjectSpec(
    "tokens",
    (
        Field("source", "int", program=True, doc="tokens in the compressed turns"),
        Field("archive", "int", program=True, doc="tokens in this archive's YAML"),
    ),
)

HEADER_SPEC = ObjectSpec(
    "header",
    (
        Field("archive_id", "str", pattern=UUID_RE, program=True, doc="UUIDv8"),
        Field("source_conversations", "list_str", max_items=50, pattern=UUID_RE, program=True),
        Field("project", "str", max_len=200, program=True),
        Field("created_at", "str", max_len=40, program=True, doc="ISO 8601, UTC"),
        Field("model", "str", max_len=200, program=True),
        Field("engine", "str", required=False, max_len=40, program=True,
              doc="the engine kind that wrote it: llama, openai, anthropic, or rules"),
        Field("mode", "enum", choices=MODES, program=True),
        Field("tokens", "object", item=TOKENS_SPEC, program=True),
        Field("bridged_from", "list_str", required=False, max_items=20, pattern=UUID_RE, program=True),
        Field("partial_upto", "str", required=False, max_len=80, program=True,
              doc="partial mode: last compressed message id"),
        Field("adapter", "str", required=False, max_len=200, program=True,
              doc="the LoRA adapter that wrote the archive (none: the base model)"),
        Field("system_prompt", "text", required=False, max_len=20000, program=True,
              doc="the system prompt the source conversation ran under (a continued session keeps it)"),
        Field("system_prompt_from", "enum", required=False, choices=SYSTEM_PROMPT_LEVELS, program=True,
              doc="where it came from: the conversation's own, or its project's default"),
    ),
)

DECISION_SPEC = ObjectSpec(
    "decision",
    (
        Field("id", "str", pattern=DECISION_ID, program=True),
        Field("text", "str", max_len=400, doc="what was decided"),
        Field("rationale", "str", max_len=400, doc="why"),
        Field("tier", "float01", doc="epistemic confidence: 1.0 stated outright, lower when inferred"),
        Field("priority", "enum", choices=PRIORITIES),
        Field("status", "enum", choices=DECISION_STATUSES, program=True),
        Field("supersedes", "list_str", required=False, max_items=20, pattern=DECISION_ID, program=True,
              doc="omitted when empty"),
        Field("conflicts_with", "list_str", required=False, max_items=20, pattern=DECISION_ID, program=True,
              doc="omitted when empty"),
        Field("sources", "list_str", max_items=20, pattern=SOURCE_RE, program=True),
    ),
)

THREAD_SPEC = ObjectSpec(
    "thread",
    (
        Field("id", "str", pattern=THREAD_ID, program=True),
        Field("title", "str", max_len=300),
        Field("status", "enum", choices=THREAD_STATUSES),
        Field("priority", "enum", choices=PRIORITIES),
        Field("sources", "list_str", max_items=20, pattern=SOURCE_RE, program=True),
        Field("resolution", "str", required=False, max_len=400, program=True,
              doc="RESOLVED: the answer, in the words of the turn that settled it"),
    ),
)

FACT_SPEC = ObjectSpec(
    "fact",
    (
        Field("text", "str", max_len=400, program=True, doc="a statement with values, names or paths, verbatim"),
        Field("source", "str", required=False, pattern=SOURCE_RE, program=True),
    ),
)

ARTIFACT_SPEC = ObjectSpec(
    "artifact",
    (
        Field("name", "str", max_len=400, program=True, doc="path, command, URL or snippet label"),
        Field("kind", "enum", choices=ARTIFACT_KINDS, program=True),
        Field("summary", "str", max_len=300, program=True),
        Field("source", "str", required=False, pattern=SOURCE_RE, program=True),
        Field("content", "text", required=False, max_len=20000, program=True, doc="snippet body (lossless)"),
    ),
)

CONSTRAINT_SPEC = ObjectSpec(
    "constraint",
    (
        Field("quote", "str", max_len=1000, program=True, doc="the user's words, verbatim"),
        Field("priority", "enum", choices=PRIORITIES, program=True),
        Field("scope", "str", required=False, max_len=200, program=True, doc="omitted for the whole project"),
        Field("source", "str", required=False, pattern=SOURCE_RE, program=True),
    ),
)

VERBATIM_TURN_SPEC = ObjectSpec(
    "verbatim_turn",
    (
        Field("role", "enum", choices=("user", "assistant", "system"), program=True),
        Field("content", "text", max_len=100000, program=True),
        Field("source", "str", required=False, pattern=SOURCE_RE, program=True),
    ),
)

ARCHIVE_SPEC = ObjectSpec(
    "archive",
    (
        Field("schema", "enum", choices=(SCHEMA_VERSION,), program=True),
        Field("header", "object", item=HEADER_SPEC, program=True),
        Field("decisions", "list_object", item=DECISION_SPEC, max_items=500),
        Field("threads", "list_object", item=THREAD_SPEC, max_items=500),
        Field("artifacts", "list_object", item=ARTIFACT_SPEC, max_items=500, program=True),
        Field("constraints", "list_object", item=CONSTRAINT_SPEC, max_items=500, program=True),
        Field("facts", "list_object", item=FACT_SPEC, required=False, max_items=500, program=True,
              doc="key statements (values, names, paths) the items above do not hold, most salient first"),
        Field("continuation_prompt", "text", max_len=8000, doc="what the next session needs to carry on"),
        Field("turns", "list_object", item=VERBATIM_TURN_SPEC, required=False, max_items=100000, program=True,
              doc="the compressed turns verbatim: every one in a lossless archive (the items above point "
                  "into them); the most recent that fit in a default archive (a long one keeps its end)"),
        Field("verbatim_turns", "list_object", item=VERBATIM_TURN_SPEC, required=False, max_items=10000,
              program=True, doc="partial mode: turns after partial_upto, kept as they were"),
    ),
    doc="A Forge compression archive",
)


def compression_model_spec(
    decision_candidates: int,
    thread_candidates: int,
    max_decisions: int = 8,
    max_threads: int = 6,
    text_len: int = 160,
    prompt_len: int = 600,
) -> ObjectSpec:
    """What the model writes during compression, derived from ``ARCHIVE_SPEC``.

    Program fields are dropped; each decision/thread gets ``from``: the number of
    the candidate it restates (1..N from the prompt's numbered list, 0 = none).
    String bounds are tightened so a small model cannot ramble past its budget.
    """

    def tighten(spec: ObjectSpec, from_max: int) -> ObjectSpec:
        view = model_view(spec, extra=(Field("from", "int", max_value=from_max, doc="candidate number, 0 = new"),))
        fields = tuple(
            replace(f, max_len=min(f.max_len or text_len, text_len)) if f.kind in ("str", "text") else f
            for f in view.fields
        )
        return ObjectSpec(spec.name, fields, spec.doc)

    decision = tighten(DECISION_SPEC, decision_candidates)
    thread = tighten(THREAD_SPEC, thread_candidates)
    return ObjectSpec(
        "compression",
        (
            Field("decisions", "list_object", item=decision, max_items=max_decisions),
            Field("threads", "list_object", item=thread, max_items=max_threads),
            Field("continuation_prompt", "text", max_len=prompt_len),
        ),
    )


def briefing_model_spec(prompt_len: int = 240) -> ObjectSpec:
    """What a small model writes during compression: the continuation prompt alone.

    Restating decisions and questions is beyond a ~100M-parameter model (it fills the slots
    with empty strings) and costs seconds of grammar-constrained decoding on a CPU; the
    extraction already holds them, so a small model only words the briefing.
    """
    return ObjectSpec("compression", (Field("continuation_prompt", "text", max_len=prompt_len),))
