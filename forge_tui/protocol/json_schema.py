"""The same document specs as JSON Schema, for servers that constrain output by schema.

``yaml_grammar(spec)`` gives llama.cpp (and llama-server) a GBNF grammar;
servers without GBNF (vLLM, Ollama, LM Studio, OpenAI) take this schema
instead. Both are generated from one ``ObjectSpec``, and whatever comes back is
checked by ``validate(spec, ...)`` either way: JSON is read with the same
``safe_yaml`` loader (JSON is YAML), so the answer's path is identical after parsing.
"""

from __future__ import annotations

import functools
from typing import Any

from forge_tui.protocol.gbnf import yaml_grammar
from forge_tui.protocol.spec import Field, ObjectSpec


@functools.lru_cache(maxsize=32)
def constraint(spec: ObjectSpec, structured: str) -> tuple[str | None, dict[str, Any] | None]:
    """``(grammar, json_schema)`` for a request shaped by ``spec``: the YAML GBNF for an engine
    that takes grammars (``structured == "grammar"``), else the JSON Schema. Exactly one is set."""
    if structured == "grammar":
        return yaml_grammar(spec), None
    return None, json_schema(spec)


def json_schema(spec: ObjectSpec) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12 subset every structured-output server accepts) for ``spec``."""
    return {
        "type": "object",
        "properties": {f.name: _field(f) for f in spec.fields},
        "required": [f.name for f in spec.fields if f.required],
        "additionalProperties": False,
    }


def _string(f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "string"}
    if f.max_len is not None:
        out["maxLength"] = f.max_len
    if f.pattern is not None:
        out["pattern"] = f"^(?:{f.pattern})$"
    return out


def _field(f: Field) -> dict[str, Any]:
    out: dict[str, Any]
    if f.kind in ("str", "text"):
        out = _string(f)
    elif f.kind == "float01":
        out = {"type": "number", "minimum": 0.0, "maximum": 1.0}
    elif f.kind == "int":
        out = {"type": "integer", "minimum": 0}
        if f.max_value is not None:
            out["maximum"] = f.max_value
    elif f.kind == "enum":
        out = {"type": "string", "enum": list(f.choices)}
    elif f.kind == "object":
        assert f.item is not None
        out = json_schema(f.item)
    else:  # list_object / list_str
        items = json_schema(f.item) if f.kind == "list_object" and f.item is not None else _string(f)
        out = {"type": "array", "items": items}
        if f.max_items is not None:
            out["maxItems"] = f.max_items
    if f.doc:
        out["description"] = f.doc
    return out
