"""Grammar generation from specs: llama.cpp accepts every generated grammar, and
every sentence the grammar admits is YAML that parses and matches the spec.

Sentences are drawn by a small independent GBNF sampler below (it reads the
grammar *text*, not the spec), so the test checks the generator's output, not
its intent.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import textwrap

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forge_tui.protocol.gbnf import gbnf_literal, max_sentence_chars, yaml_grammar
from forge_tui.protocol.spec import ARCHIVE_SPEC, Field, ObjectSpec, compression_model_spec
from forge_tui.protocol.validate import validate

# -- llama.cpp validation (in a subprocess: a bad grammar may crash the process) --------

_CHECKER = textwrap.dedent(
    """
    import json, sys, llama_cpp
    from forge_tui.engine.model_files import smollm2_path
    llama_cpp.llama_backend_init()
    mp = llama_cpp.llama_model_default_params(); mp.vocab_only = True
    model = llama_cpp.llama_model_load_from_file(str(smollm2_path()).encode(), mp)
    vocab = llama_cpp.llama_model_get_vocab(model)
    try:  # the engine's crash-safe checker (pre-checks, then llama.cpp)
        from forge_tui.engine.grammar import GrammarError, validate_grammar
    except ImportError:
        validate_grammar = None
    out = []
    for g in json.load(sys.stdin):
        if validate_grammar is not None:
            try:
                validate_grammar(vocab, g)
                out.append(True)
            except GrammarError:
                out.append(False)
            continue
        s = llama_cpp.llama_sampler_init_grammar(vocab, g.encode(), b"root")
        out.append(bool(s))
        if s:
            llama_cpp.llama_sampler_free(s)
    print(json.dumps(out))
    """
)


def llama_accepts(grammars: list[str]) -> list[bool]:
    proc = subprocess.run(
        [sys.executable, "-c", _CHECKER], input=json.dumps(grammars), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- a tiny GBNF sampler (the subset yaml_grammar writes) ---------------------------

_TOKEN = re.compile(
    r'\s*(?:(?P<lit>"(?:[^"\\]|\\.)*")|(?P<cls>\[(?:[^\]\\]|\\.)*\])|(?P<name>[a-zA-Z0-9-]+)'
    r"|(?P<rep>\{\d+(?:,\d*)?\}|[*+?])|(?P<op>[|()]))"
)
_ALPHABET = list('ab Z0123456789"\\\t:#-[]{}&*!|>\'%@`,?') + ["é", "→", "\u2028", "\x85", "\x7f", "\n", "\ufeff", "字"]


def _unescape(body: str) -> str:
    return body.encode("latin-1", "backslashreplace").decode("unicode_escape") if "\\" in body else body


def _parse_seq(tokens: list, i: int):
    seqs, cur = [], []
    while i < len(tokens):
        kind, val = tokens[i]
        if kind == "op" and val == "|":
            seqs.append(cur)
            cur = []
            i += 1
        elif kind == "op" and val == ")":
            break
        elif kind == "op" and val == "(":
            node, i = _parse_seq(tokens, i + 1)
            cur.append(node)
            i += 1  # ')'
        elif kind == "rep":
            cur[-1] = ("rep", cur[-1], val)
            i += 1
        else:
            cur.append((kind, val))
            i += 1
    seqs.append(cur)
    return ("alt", seqs), i


def parse_gbnf(text: str) -> dict:
    rules = {}
    for line in text.strip().splitlines():
        name, body = line.split(" ::= ", 1)
        tokens = [(m.lastgroup, m.group(m.lastgroup)) for m in _TOKEN.finditer(body)]
        rules[name], _ = _parse_seq(tokens, 0)
    return rules


def _char_from(cls: str, rnd: random.Random) -> str:
    pattern = re.compile(cls)  # GBNF class escapes (\\, \xNN, \uNNNN) read the same in Python re
    choices = [c for c in _ALPHABET if pattern.fullmatch(c)]
    return rnd.choice(choices)


def sample(rules: dict, node, rnd: random.Random, out: list[str]) -> None:
    kind = node[0]
    if kind == "alt":
        for part in rnd.choice(node[1]):
            sample(rules, part, rnd, out)
    elif kind == "lit":
        out.append(json.loads(node[1]) if "\\x" not in node[1] else _unescape(node[1][1:-1]))
    elif kind == "cls":
        out.append(_char_from(node[1], rnd))
    elif kind == "name":
        sample(rules, rules[node[1]], rnd, out)
    elif kind == "rep":
        q = node[2]
        lo, hi = {"*": (0, 3), "+": (1, 3), "?": (0, 1)}.get(q, (None, None))
        if lo is None:
            a, _, b = q[1:-1].partition(",")
            lo = int(a)
            hi = int(b) if b else (lo if "," not in q else lo + 3)
        for _ in range(rnd.randint(lo, min(hi, lo + 6))):
            sample(rules, node[1], rnd, out)


def sentence(grammar: str, seed: int) -> str:
    rules = parse_gbnf(grammar)
    out: list[str] = []
    sample(rules, rules["root"], random.Random(seed), out)
    return "".join(out)


# -- random specs ------------------------------------------------------------------

_NAMES = st.sampled_from(["a", "name", "on", "no", "null", "y", "true", "from", "x_1", "tier", "id", "off", "yes"])


def _scalar_fields():
    return st.one_of(
        st.builds(lambda n, r, l: Field(n, "str", required=r, max_len=l), _NAMES, st.booleans(), st.integers(0, 12)),
        st.builds(lambda n, r, l: Field(n, "text", required=r, max_len=l), _NAMES, st.booleans(), st.integers(0, 12)),
        st.builds(lambda n, r: Field(n, "float01", required=r), _NAMES, st.booleans()),
        st.builds(lambda n, r, m: Field(n, "int", required=r, max_value=m), _NAMES, st.booleans(),
                  st.one_of(st.none(), st.integers(0, 200))),
        st.builds(lambda n, r, c: Field(n, "enum", required=r, choices=tuple(c)), _NAMES, st.booleans(),
                  st.lists(st.sampled_from(["high", "low", "OPEN", "yes", "1.5", 'q"t', "null", "a b"]),
                           min_size=1, max_size=4, unique=True)),
        st.builds(lambda n, r, k, l: Field(n, "list_str", required=r, max_items=k, max_len=l), _NAMES,
                  st.booleans(), st.integers(0, 4), st.integers(0, 6)),
    )


def _objects(fields_strategy):
    @st.composite
    def build(draw):
        fields = draw(st.lists(fields_strategy, min_size=1, max_size=5, unique_by=lambda f: f.name))
        if not any(f.required for f in fields):
            fields[0] = Field(fields[0].name, "str", max_len=5)
        return ObjectSpec("obj", tuple(fields))

    return build()


def _nested_fields(inner):
    return st.one_of(
        _scalar_fields(),
        st.builds(lambda n, r, o: Field(n, "object", required=r, item=o), _NAMES, st.booleans(), inner),
        st.builds(lambda n, r, k, o: Field(n, "list_object", required=r, max_items=k, item=o), _NAMES,
                  st.booleans(), st.integers(0, 3), inner),
    )


random_specs = _objects(_nested_fields(_objects(_nested_fields(_objects(_scalar_fields())))))


# -- tests -------------------------------------------------------------------------


def test_literal_escaping():
    assert gbnf_literal('a"b\\c\n') == '"a\\"b\\\\c\\n"'


def test_model_facing_grammar_has_no_ids_or_sources():
    g = yaml_grammar(compression_model_spec(5, 3))
    for word in ('"id:"', "sources", "supersedes", "conflicts_with", "archive_id", "D00"):
        assert word not in g
    assert '"from:"' in g


def test_archive_and_model_grammars_sample_to_valid_documents():
    spec = compression_model_spec(4, 2)
    g = yaml_grammar(spec)
    for seed in range(40):
        text = sentence(g, seed)
        data = yaml.safe_load(text)
        assert validate(spec, data) == [], text


def test_real_grammars_are_accepted_by_llama_cpp():
    bad = "root ::= missing-rule\n"
    assert llama_accepts([yaml_grammar(compression_model_spec(9, 9)), yaml_grammar(ARCHIVE_SPEC), bad]) == [
        True, True, False,
    ]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_specs, st.integers(0, 10**6))
def test_random_grammar_sentences_parse_and_validate(spec, seed):
    g = yaml_grammar(spec)
    for k in range(3):
        text = sentence(g, seed + k)
        data = yaml.safe_load(text)
        assert validate(spec, data) == [], (text, g)
        bound = max_sentence_chars(spec)
        assert bound is None or len(text) <= bound


_COLLECTED: list[str] = []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_specs)
def test_collect_random_grammars(spec):
    _COLLECTED.append(yaml_grammar(spec))


def test_random_grammars_are_accepted_by_llama_cpp():
    if not _COLLECTED:
        pytest.skip("run together with test_collect_random_grammars")
    assert all(llama_accepts(_COLLECTED))
