"""GBNF grammar validation that never lets llama.cpp crash the process.

Two failure modes were measured with llama-cpp-python 0.3.36 (each probed in a
subprocess):

* Text that llama.cpp's parser rejects: ``llama_sampler_init_grammar`` returns
  NULL (it catches its own parse errors). Using such a grammar through the
  high-level API segfaults, so we check for NULL and raise ``GrammarError``.
* Text that crashes or hangs the parser itself: it is a recursive-descent parser,
  and ~20,000 nested parentheses overflow the C stack (SIGSEGV inside
  ``llama_sampler_init_grammar``; 10,000 still parse); a repetition ``x{5,2}``
  (maximum below minimum) makes it loop forever. A pure-Python pre-check
  (nesting depth, repetition bounds, size, rule count, NUL bytes) rejects such
  text before it reaches C.

* Text that parses but makes llama.cpp work (practically) forever, e.g.
  ``root ::= x{0,2000}`` with ``x ::= [a-z]{0,2000}``: no cheap rule spots all
  of these, so given a ``Llama`` the llama.cpp check runs in a child process
  (vocabulary-only model load, ~0.8 s) that is killed after a timeout.

A grammar that parses but admits no first token at all (e.g. a token reference
``<[99999999]>`` beyond the vocabulary) would make the sampler pick a rejected
token, which aborts llama.cpp on accept; validation applies the fresh grammar
to the whole vocabulary once and refuses it when nothing is allowed.

Results are cached per (grammar text hash, root, vocabulary size), so each
distinct grammar pays for the check once per process.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np

MAX_GRAMMAR_BYTES = 512 * 1024
MAX_NESTING = 256  # far below the ~20,000 that overflows the C parser's stack
MAX_RULES = 5000

TOKEN_DATA_DTYPE = np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True)
assert TOKEN_DATA_DTYPE.itemsize == ctypes.sizeof(llama_cpp.llama_token_data)

_RULE_RE = re.compile(r"^[ \t]*([a-zA-Z0-9_-]+)[ \t]*::=", re.MULTILINE)
_REPEAT_RE = re.compile(r"\s*(\d+)\s*(,\s*(\d*)\s*)?")
MAX_REPETITION = 2000  # llama.cpp's MAX_REPETITION_THRESHOLD

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
    depth, repetitions = _scan(gbnf)
    if depth > MAX_NESTING:
        raise GrammarError(
            f"grammar nests parentheses {depth} deep; the limit is {MAX_NESTING} "
            "(deep nesting crashes llama.cpp's parser) — move inner groups into named rules"
        )
    for body in repetitions:
        _check_repetition(body)


def _scan(text: str) -> tuple[int, list[str]]:
    """Parenthesis depth and ``{...}`` repetition bodies, outside literals, classes and comments."""
    depth = deepest = 0
    repetitions: list[str] = []
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
        elif c == "{":
            end = text.find("}", i)
            if end < 0:
                raise GrammarError("grammar has an unterminated repetition `{`; close it with }")
            repetitions.append(text[i + 1 : end])
            i = end
        i += 1
    return deepest, repetitions


def _check_repetition(body: str) -> None:
    """``{m}``, ``{m,}``, ``{m,n}``; llama.cpp loops forever on n < m (measured), so refuse it here."""
    match = _REPEAT_RE.fullmatch(body)
    if match is None:
        raise GrammarError(f"grammar has a malformed repetition {{{body}}}; write {{m}}, {{m,}} or {{m,n}}")
    low = int(match.group(1))
    high = low if match.group(2) is None else (int(match.group(3)) if match.group(3) else None)
    if high is not None and high < low:
        raise GrammarError(f"grammar repetition {{{body}}} has its maximum below its minimum")
    if max(low, high or 0) > MAX_REPETITION:
        raise GrammarError(f"grammar repetition {{{body}}} exceeds llama.cpp's limit of {MAX_REPETITION}")


def _digest(gbnf: str) -> str:
    return hashlib.sha256(gbnf.encode("utf-8", "surrogatepass")).hexdigest()


def validate_grammar(vocab_ptr_or_llama, gbnf: str, root: str = "root", *, timeout_s: float = 30.0) -> None:
    """Raise ``GrammarError`` unless llama.cpp can safely use ``gbnf``; cached per text.

    Given a ``Llama`` (it knows its model file), llama.cpp's own check runs in a child
    process, so a grammar that crashes or hangs the parser costs a ``GrammarError`` after at
    most ``timeout_s`` instead of the whole application. Given a bare vocabulary pointer,
    it runs in this process after the Python pre-check.
    """
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
    model_path = getattr(vocab_ptr_or_llama, "model_path", None)
    if model_path:
        error = _check_in_child(str(model_path), gbnf, root, timeout_s)
    else:
        error = _check_in_llama(vocab, n_vocab, gbnf, root)
    with _cache_lock:
        _cache[key] = error
    if error is not None:
        raise GrammarError(error)


_CHILD = """
import json, sys
import llama_cpp
from forge_tui.engine.grammar import _check_in_llama
path, root = sys.argv[1], sys.argv[2]
llm = llama_cpp.Llama(path, vocab_only=True, verbose=False)
vocab = llama_cpp.llama_model_get_vocab(llm.model)
error = _check_in_llama(vocab, llama_cpp.llama_vocab_n_tokens(vocab), sys.stdin.read(), root)
print("FORGE-GRAMMAR-RESULT " + json.dumps(error))
"""


def _check_in_child(model_path: str, gbnf: str, root: str, timeout_s: float) -> str | None:
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = package_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, model_path, root],
            input=gbnf,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return (
            f"llama.cpp did not finish checking the grammar within {timeout_s:.0f} s (too complex: "
            "typically a repetition of something that can be empty, like x{0,N} with x ::= y{0,M}) — simplify it"
        )
    for line in proc.stdout.splitlines():
        if line.startswith("FORGE-GRAMMAR-RESULT "):
            return json.loads(line.split(" ", 1)[1])
    if proc.returncode < 0:
        return f"llama.cpp crashed (signal {-proc.returncode}) while parsing the grammar — simplify it"
    tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
    raise GrammarError(f"could not check the grammar: the checker process failed ({tail[0]})")


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


class GrammarDeadEnd(GrammarError):
    """The grammar allows no next token from this vocabulary: the text so far cannot be continued."""


class GrammarSampling:
    """Grammar-constrained sampling that rarely pays for a full-vocabulary grammar pass.

    A full pass costs 20-60 ms per token on Gemma 3's 262k vocabulary (llama.cpp decodes
    every candidate's text), so:

    1. Sample from the normal chain; check only that token against the grammar (a
       one-element candidate array, ~6 µs). Accepted: done (the common case).
    2. Rejected: fill the pre-allocated candidate buffer from the logits (one copy), sort
       the best 4096 candidates (llama.cpp's own top-k) and apply the grammar to the best
       256, then 4096, then (after a second sort) 32768, until the survivors decide:
       * at least ``top_k`` allowed tokens: the chain's top-k then keeps exactly the tokens
         it would keep after a full pass (exact; greedy needs one);
       * or the allowed tokens the full pass could add (at most ``top_k - allowed``, each
         ranked below the examined prefix) carry at most ``TAIL_MASS`` of the probability
         relative to the best allowed token (so the distribution differs by < 0.1%).
    3. Otherwise: the grammar over the whole vocabulary, then the chain (the stock way).
    """

    STAGES = ((256, 4096), (32768,))
    TAIL_MASS = 1e-3

    def __init__(self, ctx, n_vocab: int):
        self._ctx = ctx
        self._n_vocab = n_vocab
        self._cand: Any = None  # a TOKEN_DATA_DTYPE array, allocated on first rejection
        self._template: Any = None
        self._array: Any = llama_cpp.llama_token_data_array()
        self._stage: Any = llama_cpp.llama_token_data_array()
        self._one: Any = llama_cpp.llama_token_data()
        self._one_array: Any = llama_cpp.llama_token_data_array(
            data=ctypes.pointer(self._one), size=1, selected=-1, sorted=False
        )
        # (sorter, prefix ends): one llama.cpp top-k sort per group, the grammar per prefix.
        # A second, deeper sort is cheaper than sorting deep on every rejection.
        self._plan = [
            (llama_cpp.llama_sampler_init_top_k(ends[-1]), ends)
            for ends in (tuple(e for e in group if e < n_vocab) for group in self.STAGES)
            if ends
        ]
        self.full_passes = 0  # rejections that needed the whole vocabulary
        self.stage_hits: dict[int, int] = {}  # rejections settled by the best N candidates

    def close(self) -> None:
        while self._plan:
            llama_cpp.llama_sampler_free(self._plan.pop()[0])

    def __del__(self) -> None:
        self.close()

    def sample(self, chain, grammar, chain_has_state: bool, top_k: int) -> tuple[int, int]:
        """Return (token, 1 if the chain's first pick was rejected else 0); the chain has accepted it.

        ``chain_has_state``: the chain remembers accepted tokens (penalties), so a rejected
        pick must not be accepted into it. ``top_k``: the chain's top-k (1 when greedy, 0 if none).
        """
        if chain_has_state:
            token = self._apply(chain)
        else:  # sample-and-accept in C; accepting a rejected pick is harmless without state
            token = llama_cpp.llama_sampler_sample(chain, self._ctx, -1)
        one = self._one
        one.id, one.logit, one.p = token, 1.0, 0.0
        self._one_array.size, self._one_array.selected, self._one_array.sorted = 1, -1, False
        llama_cpp.llama_sampler_apply(grammar, ctypes.byref(self._one_array))
        if one.logit != -np.inf:
            if chain_has_state:
                llama_cpp.llama_sampler_accept(chain, token)
            return token, 0
        token = self._resample(chain, grammar, top_k)
        llama_cpp.llama_sampler_accept(chain, token)
        return token, 1

    def _fill(self) -> ctypes.Structure:
        if self._cand is None:
            self._cand = np.zeros(self._n_vocab, dtype=TOKEN_DATA_DTYPE)
            self._cand["id"] = np.arange(self._n_vocab, dtype=np.intc)
            self._template = self._cand.copy()
        np.copyto(self._cand, self._template)
        logits = llama_cpp.llama_get_logits_ith(self._ctx, -1)
        self._cand["logit"] = np.ctypeslib.as_array(logits, shape=(self._n_vocab,))
        arr = self._array
        arr.data = self._cand.ctypes.data_as(llama_cpp.llama_token_data_p)
        arr.size, arr.selected, arr.sorted = self._n_vocab, -1, False
        return arr

    def _select(self, chain, arr) -> int:
        llama_cpp.llama_sampler_apply(chain, ctypes.byref(arr))
        if not 0 <= arr.selected < arr.size:
            raise RuntimeError("the sampler chain selected no token")
        return int(arr.data[arr.selected].id)

    def _apply(self, chain) -> int:
        return self._select(chain, self._fill())

    def _resample(self, chain, grammar, top_k: int) -> int:
        for sorter, ends in self._plan:
            arr = self._fill()
            llama_cpp.llama_sampler_apply(sorter, ctypes.byref(arr))  # sorts the best N in place
            logits = self._cand["logit"]
            done = 0
            for end in ends:
                boundary = float(logits[end - 1])  # read before the grammar may set it to -inf
                self._stage.data = ctypes.cast(
                    self._cand.ctypes.data + done * TOKEN_DATA_DTYPE.itemsize, llama_cpp.llama_token_data_p
                )
                self._stage.size, self._stage.selected, self._stage.sorted = end - done, -1, True
                llama_cpp.llama_sampler_apply(grammar, ctypes.byref(self._stage))
                done = end
                allowed = logits[:end][np.isfinite(logits[:end])]
                if allowed.size == 0:
                    continue
                unseen = (top_k - allowed.size) if top_k > 0 else (self._n_vocab - end)
                if unseen <= 0 or unseen * np.exp(boundary - float(allowed.max())) <= self.TAIL_MASS:
                    self.stage_hits[end] = self.stage_hits.get(end, 0) + 1
                    arr.size, arr.sorted = end, False  # the grammar broke the order
                    return self._select(chain, arr)
        arr = self._fill()
        self.full_passes += 1
        llama_cpp.llama_sampler_apply(grammar, ctypes.byref(arr))
        if not np.isfinite(self._cand["logit"]).any():
            raise GrammarDeadEnd("the grammar allows no next token here; the output so far cannot be continued")
        return self._select(chain, arr)
