"""Generate a llama.cpp GBNF grammar from an ``ObjectSpec``.

The grammar only admits YAML that ``yaml.safe_load`` parses into a document of
the spec's shape:

* mappings in block style with a fixed key order (required fields first), two
  spaces per level; lists of objects as ``- `` items, an empty list as ``[]``;
* every string double-quoted, with ``\\"``, ``\\\\`` and ``\\t`` escapes (``\\n``
  in ``text`` fields) and no raw control or YAML line-break characters, so
  no value can be mistaken for a number, a boolean or a new key;
* enums as quoted literals, numbers without leading zeros (``010`` is octal
  in YAML 1.1), ``float01`` as ``0``, ``0.d``…``1.0``.

Bounds: ``x{0,N}`` on a *named* rule. llama.cpp expands a bounded repetition
into N nested rules; repeating a group that itself contains a bounded
repetition multiplies them and overflows its limits, so every repeated thing
here is a rule of its own, shared between fields with the same bound.
Bounds above ``REPEAT_CAP`` become ``*`` (the validator still enforces them);
``pattern`` is likewise left to the validator. Validate the text with
``forge_tui.engine.grammar`` before giving it to llama.cpp: an invalid grammar
crashes the process instead of raising.
"""

from __future__ import annotations

import json
import re

import yaml

from forge_tui.protocol.spec import Field, ObjectSpec

REPEAT_CAP = 1000
#: characters never allowed raw inside a double-quoted YAML string: quote, backslash,
#: C0/C1 controls, and what PyYAML treats as line breaks or rejects (NEL, LS, PS, BOM).
_CHAR_CLASS = r'[^"\\\x00-\x1F\x7F-\x9F\u2028\u2029\uFEFF\uFFFE\uFFFF]'


def gbnf_literal(text: str) -> str:
    """A GBNF string literal for ``text``."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append(f"\\x{ord(ch):02X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _yaml_key(name: str) -> str:
    """Plain key unless YAML 1.1 would read it as something else (``on``, ``no``, ``null``)."""
    return name if yaml.safe_load(f"{name}: 1") == {name: 1} else json.dumps(name)


def int_range(top: int) -> str:
    """GBNF alternatives for exactly the integers 0..top, written without leading zeros."""
    digits = str(top)
    n = len(digits)
    alts = ['"0"', "[1-9]"] if n > 1 else []
    alts += [f"[1-9] [0-9]{{{k - 1}}}" for k in range(2, n)]
    for i, d in enumerate(digits):  # n-digit numbers below top: shared prefix, smaller digit, anything
        lo = 1 if i == 0 else 0
        if int(d) > lo:
            head = [gbnf_literal(digits[:i])] if i else []
            tail = [f"[0-9]{{{n - i - 1}}}"] if n - i - 1 else []
            alts.append(" ".join(head + [f"[{lo}-{int(d) - 1}]"] + tail))
    alts.append(gbnf_literal(digits))
    return " | ".join(alts) if n > 1 else f"[0-{top}]"


class _Builder:
    def __init__(self) -> None:
        self.rules: dict[str, str] = {}

    def add(self, name: str, body: str) -> str:
        name = re.sub(r"[^a-zA-Z0-9-]", "-", name)
        if name in self.rules and self.rules[name] != body:
            n = 2
            while f"{name}-{n}" in self.rules and self.rules[f"{name}-{n}"] != body:
                n += 1
            name = f"{name}-{n}"
        self.rules[name] = body
        return name

    # -- scalars ---------------------------------------------------------
    def string(self, f: Field) -> str:
        multi = f.kind == "text"
        ch = self.add("char-text" if multi else "char", f'{_CHAR_CLASS} | "\\\\" ["\\\\t{"n" if multi else ""}]')
        bound = f.max_len
        rep = "*" if bound is None or bound > REPEAT_CAP else f"{{0,{bound}}}"
        label = "inf" if rep == "*" else str(bound)
        return self.add(f"{'text' if multi else 'str'}-{label}", f'"\\"" {ch}{rep} "\\""')

    def integer(self, f: Field) -> str:
        top = f.max_value
        if top is None:
            return self.add("int", '"0" | [1-9] [0-9]{0,8}')
        if top <= 64:  # small ranges (candidate numbers) as literals: the model sees whole numbers
            return self.add(f"int-0-{top}", " | ".join(gbnf_literal(str(i)) for i in range(top + 1)))
        return self.add(f"int-0-{top}", int_range(top))

    def scalar(self, f: Field) -> str:
        if f.kind in ("str", "text"):
            return self.string(f)
        if f.kind == "float01":
            return self.add("float01", '"0" ("." [0-9] [0-9]?)? | "1" (".0")?')
        if f.kind == "int":
            return self.integer(f)
        if f.kind == "enum":
            alts = " | ".join(gbnf_literal(json.dumps(c)) for c in f.choices)
            return self.add(f"enum-{'-'.join(f.choices)[:40]}", alts)
        raise ValueError(f.kind)

    def str_list(self, f: Field, path: str) -> str:
        item = self.string(Field(f.name, "str", max_len=f.max_len))
        n = f.max_items
        if n == 0:
            return self.add(f"{path}-list", '"[]"')
        more = self.add(f"{path}-more", f'", " {item}')
        rep = "*" if n is None or n > REPEAT_CAP else f"{{0,{n - 1}}}"
        return self.add(f"{path}-list", f'"[" ({item} {more}{rep})? "]"')

    # -- structure -------------------------------------------------------
    def value(self, f: Field, path: str, indent: int) -> str:
        """Rule text for ``key: value`` of field ``f`` with the key at ``indent`` spaces."""
        key = gbnf_literal(_yaml_key(f.name) + ":")
        if f.kind in ("object",):
            assert f.item is not None
            body = self.mapping(f.item, path, indent + 2)
            return f'{key} "\\n" {gbnf_literal(" " * (indent + 2))} {body}'
        if f.kind == "list_object":
            assert f.item is not None
            body = self.mapping(f.item, f"{path}-item", indent + 4)
            line = self.add(f"{path}-line", f'{gbnf_literal(chr(10) + " " * (indent + 2) + "- ")} {body}')
            n = f.max_items
            if n == 0:
                return f'{key} " []"'
            rep = "+" if n is None or n > REPEAT_CAP else f"{{1,{n}}}"
            return f'{key} (" []" | {line}{rep})'
        if f.kind == "list_str":
            return f'{key} " " {self.str_list(f, path)}'
        return f'{key} " " {self.scalar(f)}'

    def mapping(self, spec: ObjectSpec, path: str, indent: int) -> str:
        """Name of a rule for the body of a block mapping whose keys sit at ``indent``.

        The first key's indentation is written by the caller (after ``- `` or a
        newline); later keys start on a new line at ``indent`` spaces.
        """
        ordered = [f for f in spec.fields if f.required] + [f for f in spec.fields if not f.required]
        sep = gbnf_literal("\n" + " " * indent)
        parts = []
        for i, f in enumerate(ordered):
            fpath = f"{path}-{f.name}" if path else f.name
            rule = self.add(f"{fpath}-kv", self.value(f, fpath, indent))
            if i == 0:
                parts.append(rule)
            elif f.required:
                parts.append(f"{sep} {rule}")
            else:
                parts.append(f"({sep} {rule})?")
        return self.add(f"{path or spec.name}-map", " ".join(parts))

    def render(self, root: str) -> str:
        lines = [f"root ::= {root}"]
        lines += [f"{name} ::= {body}" for name, body in self.rules.items()]
        return "\n".join(lines) + "\n"


def yaml_grammar(spec: ObjectSpec) -> str:
    """GBNF text whose sentences are YAML documents matching ``spec`` (root rule ``root``)."""
    b = _Builder()
    body = b.mapping(spec, "", 0)
    return b.render(f'{body} "\\n"')


def max_sentence_chars(spec: ObjectSpec) -> int | None:
    """Length of the longest document ``yaml_grammar(spec)`` admits (None if unbounded).

    A token always emits at least one character of ASCII text, so this is also
    a token budget that grammar-constrained ASCII output cannot overrun: the
    compression retry uses it so the second attempt is not cut off again.
    """
    return _mapping_chars(spec, 0)


def _mapping_chars(spec: ObjectSpec, indent: int) -> int | None:
    total = 0
    for f in spec.fields:
        size = _field_chars(f, indent)
        if size is None:
            return None
        total += size + 1 + indent  # newline + indentation before the key
    return total + 1


def _field_chars(f: Field, indent: int) -> int | None:
    key = len(_yaml_key(f.name)) + 2
    if f.kind in ("str", "text"):
        return None if f.max_len is None else key + 2 + 2 * f.max_len  # every char may be an escape
    if f.kind == "float01":
        return key + 4
    if f.kind == "int":
        return key + (len(str(f.max_value)) if f.max_value is not None else 9)
    if f.kind == "enum":
        return key + max(len(json.dumps(c)) for c in f.choices)
    if f.kind == "list_str":
        if f.max_items is None or f.max_len is None:
            return None
        return key + 2 + f.max_items * (2 + 2 + 2 * f.max_len)
    assert f.item is not None, "object and list_object fields have an item spec"
    if f.kind == "object":
        inner = _mapping_chars(f.item, indent + 2)
        return None if inner is None else key + inner
    if f.max_items is None:  # list_object
        return None
    inner = _mapping_chars(f.item, indent + 4)
    return None if inner is None else key + 3 + f.max_items * (indent + 5 + inner)
