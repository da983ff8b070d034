"""GBNF grammar validation that never lets llama.cpp crash the process.

Two failure modes were measured with llama-cpp-python 0.3.36 (each probed in a
subprocess):

* Text that llama.cpp's parser rejects: ``llama_sampler_init_grammar`` returns
  NULL (it catches its own parse errors). Using such a grammar through the
  high-level API segfaults, so we check for NULL and raise ``GrammarError``.
* Text that crashes the parser itself: it is a recursive-descent parser, and
  ~20,000 nested parentheses overflow the C stack (SIGSEGV inside
  ``llama_sampler_init_grammar``; 10,000 still parse). A pure-Python pre-check
  (nesting depth, size, rule count, NUL bytes) rejects such text before it
  reaches C.

A grammar that parses but admits no first token at all (e.g. a token reference
``<[99999999]>`` beyond the vocabulary) would make the sampler pick a rejected
token, which aborts llama.cpp on accept; validation applies the fresh grammar
to the whole vocabulary once and refuses it when nothing is allowed.

Results are cached per (grammar text hash, root, vocabulary size).
"""

from __future__ import annotations

import ctypes
import hashlib
import re
import threading

import llama_cpp
import numpy as np

MAX_GRAMMAR_BYTES = 512 * 1024
MAX_NESTING = 256  # far below the ~20,000 that overflows the C parser's stack
MAX_RULES = 5000

TOKEN_DATA_DTYPE = np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True)
assert TOKEN_DATA_DTYPE.itemsize == ctypes.sizeof(llama_cpp.llama_token_data)

_RULE_RE = re.compile(r"^[ \t]*([a-zA-Z0-9_-]+)[ \t]*::=", re.MULTILINE)

_cache: dict[tuple[str, str, int], str | None] = {}
_cache_lock = threading.Lock()


class GrammarError(Exception):
    """A GBNF grammar that cannot be used; the message names the problem and the fix."""


def vocab_of(vocab_ptr_or_llama) -> object:
    """Accept a ``llama_cpp.Llama`` or a raw ``llama_vocab`` pointer."""
    model = getattr(vocab_ptr_or_llama, "model", None)
    if model is not None:
        return llama_cpp.llama_model_get_vocab(model)
    if not vocab_ptr_or_llama:
        raise GrammarError("no vocabulary given to validate the grammar against (model not loaded?)")
    return vocab_ptr_or_llama


def precheck(gbnf: str, root: str = "root") -> None:
    """Cheap checks in Python, so obviously broken or hostile text never reaches C."""
    if not isinstance(gbnf, str):
        raise GrammarError(f"grammar must be GBNF text (str), got {type(gbnf).__name__}")
    if not gbnf.strip():
        raise GrammarError("grammar is empty; give GBNF text with a `root ::= ...` rule")
    if "\x00" in gbnf:
        raise GrammarError("grammar contains a NUL character; remove it")
    size = len(gbnf.encode("utf-8", "surrogatepass"))
    if size > MAX_GRAMMAR_BYTES:
        raise GrammarError(f"grammar is {size} bytes; the limit is {MAX_GRAMMAR_BYTES} — simplify it")
    rules = _RULE_RE.findall(gbnf)
    if root not in rules:
        raise GrammarError(f"grammar has no `{root} ::= ...` rule; every grammar needs its start rule `{root}`")
    if len(rules) > MAX_RULES:
        raise GrammarError(f"grammar has {len(rules)} rules; the limit is {MAX_RULES}")
    depth = _max_nesting(gbnf)
    if depth > MAX_NESTING:
        raise GrammarError(
            f"grammar nests parentheses {depth} deep; the limit is {MAX_NESTING} "
            "(deep nesting crashes llama.cpp's parser) — move inner groups into named rules"
        )


def _max_nesting(text: str) -> int:
    """Parenthesis depth outside string literals, character classes and comments."""
    depth = deepest = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
        elif c in "\"[":
            close = '"' if c == '"' else "]"
            i += 1
            while i < n and text[i] != close:
                i += 2 if text[i] == "\\" else 1
            if i >= n:
                kind = "string literal" if c == '"' else "character class"
                raise GrammarError(f"grammar has an unterminated {kind}; close it with {close}")
        elif c == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif c == ")":
            depth -= 1
        i += 1
    return deepest


def _digest(gbnf: str) -> str:
    return hashlib.sha256(gbnf.encode("utf-8", "surrogatepass")).hexdigest()


def validate_grammar(vocab_ptr_or_llama, gbnf: str, root: str = "root") -> None:
    """Raise ``GrammarError`` unless llama.cpp can safely use ``gbnf``; cached per text."""
    precheck(gbnf, root)
    vocab = vocab_of(vocab_ptr_or_llama)
    n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
    key = (_digest(gbnf), root, n_vocab)
    with _cache_lock:
        if key in _cache:
            error = _cache[key]
            if error is not None:
                raise GrammarError(error)
            return
    error = _check_in_llama(vocab, n_vocab, gbnf, root)
    with _cache_lock:
        _cache[key] = error
    if error is not None:
        raise GrammarError(error)


def _check_in_llama(vocab, n_vocab: int, gbnf: str, root: str) -> str | None:
    sampler = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode("utf-8"), root.encode("utf-8"))
    if not sampler:
        return (
            "llama.cpp could not parse the grammar (syntax error, undefined rule, left recursion "
            "or too many repetitions; its log on stderr has the details) — fix the GBNF"
        )
    try:
        candidates = np.zeros(n_vocab, dtype=TOKEN_DATA_DTYPE)
        candidates["id"] = np.arange(n_vocab, dtype=np.intc)
        array = llama_cpp.llama_token_data_array(
            data=candidates.ctypes.data_as(llama_cpp.llama_token_data_p), size=n_vocab, selected=-1, sorted=False
        )
        llama_cpp.llama_sampler_apply(sampler, ctypes.byref(array))
        if not np.isfinite(candidates["logit"][: array.size]).any():
            return "the grammar allows no token of this model's vocabulary at its start — fix the GBNF"
    finally:
        llama_cpp.llama_sampler_free(sampler)
    return None


def init_grammar_sampler(vocab_ptr_or_llama, gbnf: str, root: str = "root"):
    """A validated ``llama_sampler`` for ``gbnf``; the caller frees it with ``llama_sampler_free``."""
    validate_grammar(vocab_ptr_or_llama, gbnf, root)
    vocab = vocab_of(vocab_ptr_or_llama)
    sampler = llama_cpp.llama_sampler_init_grammar(vocab, gbnf.encode("utf-8"), root.encode("utf-8"))
    if not sampler:  # cannot happen after validation, but never hand NULL to C
        raise GrammarError("llama.cpp refused a grammar it accepted before")
    return sampler
