"""GBNF validation: bad grammars raise GrammarError and never crash the process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from forge_tui.engine import grammar as grammar_mod
from forge_tui.engine.grammar import GrammarError, precheck, validate_grammar

REPO = Path(__file__).resolve().parents[2]


# ---- pure-Python pre-check (no model) -----------------------------------------------------


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("   \n  ", "empty"),
        ('item ::= "a"', "no `root ::="),
        ('root ::= "a\x00"', "NUL"),
        ('root ::= "abc', "unterminated string"),
        ("root ::= [a-z", "unterminated character class"),
        ("root ::= " + "(" * 300 + '"a"' + ")" * 300, "nests parentheses 300 deep"),
        ('root ::= "a"{5,2}', "maximum below its minimum"),  # loops forever inside llama.cpp
        ('root ::= "a"{99999}', "limit of 2000"),
        ('root ::= "a"{1,x}', "malformed repetition"),
        ('root ::= "a"{3', "unterminated repetition"),
    ],
)
def test_precheck_rejects_obviously_broken_text(text, fragment):
    with pytest.raises(GrammarError, match=fragment):
        precheck(text)


def test_precheck_ignores_brackets_inside_literals_and_comments():
    text = 'root ::= "((((" [()] "\\"(" # ((((((\n'
    precheck(text)  # no error: none of these parentheses nest


def test_precheck_rejects_non_string():
    with pytest.raises(GrammarError, match="str"):
        precheck(b'root ::= "a"')  # type: ignore[arg-type]


def test_precheck_custom_root_name():
    precheck('doc ::= "a"', root="doc")
    with pytest.raises(GrammarError, match="`root ::="):
        precheck('doc ::= "a"')


# ---- against the real vocabulary (SmolLM2) ------------------------------------------------


@pytest.fixture(scope="module")
def vocab_llm(smollm2_path):
    import llama_cpp

    llm = llama_cpp.Llama(str(smollm2_path), vocab_only=True, verbose=False)
    yield llm
    llm.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    "text",
    [
        "root ::= x",  # undefined rule
        "root ::= root \"a\"",  # left recursion
        'root ::= ("a"{0,100}){0,100}',  # repetition explosion
        'root ::= "\\x"',  # bad escape
        "root ::= <[99999999]>",  # parses, but allows no token of this vocabulary
    ],
)
def test_invalid_grammars_raise(vocab_llm, text):
    with pytest.raises(GrammarError):
        validate_grammar(vocab_llm, text)


@pytest.mark.slow
def test_valid_grammar_passes_and_is_cached(vocab_llm, monkeypatch):
    text = 'root ::= "name: " [a-z]+ "\\n"   # cache-test\n'
    validate_grammar(vocab_llm, text)
    calls = []
    monkeypatch.setattr(grammar_mod, "_check_in_llama", lambda *a: calls.append(a))
    validate_grammar(vocab_llm, text)
    assert calls == []  # answered from the cache


@pytest.mark.slow
def test_cached_failure_still_raises(vocab_llm):
    text = "root ::= undefined-rule-for-cache-test"
    for _ in range(2):
        with pytest.raises(GrammarError, match="could not parse"):
            validate_grammar(vocab_llm, text)


@pytest.mark.slow
def test_grammar_that_hangs_llama_cpp_times_out_in_the_child(vocab_llm):
    text = "root ::= x{0,2000}\nx ::= [a-z]{0,2000}"  # llama.cpp never finishes with this one
    with pytest.raises(GrammarError, match="did not finish"):
        validate_grammar(vocab_llm, text, timeout_s=3)


@pytest.mark.slow
def test_accepts_a_raw_vocab_pointer(vocab_llm):
    import llama_cpp

    vocab = llama_cpp.llama_model_get_vocab(vocab_llm.model)
    validate_grammar(vocab, 'root ::= "yes" | "no"')


def _run_child(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_deep_nesting_would_crash_llama_cpp_but_validation_refuses_it():
    """The reason for the pre-check: 20,000 nested parentheses segfault llama.cpp's parser."""
    code = """
        import llama_cpp
        from forge_tui.engine.model_files import smollm2_path
        from forge_tui.engine.grammar import GrammarError, validate_grammar
        llm = llama_cpp.Llama(str(smollm2_path()), vocab_only=True, verbose=False)
        text = "root ::= " + "(" * 20000 + '"a"' + ")" * 20000
        try:
            validate_grammar(llm, text)
        except GrammarError as exc:
            print("REFUSED", exc)
        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        print("RAW", flush=True)
        llama_cpp.llama_sampler_init_grammar(vocab, text.encode(), b"root")
        print("SURVIVED")
    """
    proc = _run_child(code)
    assert "REFUSED" in proc.stdout and "nests parentheses" in proc.stdout
    assert "RAW" in proc.stdout
    # the unguarded call dies with SIGSEGV (a stack overflow), as measured with 0.3.36
    assert proc.returncode != 0 and "SURVIVED" not in proc.stdout


@pytest.mark.slow
def test_battery_of_broken_grammars_never_crashes_in_process():
    """The in-process path (bare vocabulary pointer), run in a child so a crash fails the test."""
    code = r'''
        import llama_cpp
        from forge_tui.engine.model_files import smollm2_path
        from forge_tui.engine.grammar import GrammarError, validate_grammar
        llm = llama_cpp.Llama(str(smollm2_path()), vocab_only=True, verbose=False)
        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        cases = ["", "root", "root ::=", "root ::= [", "root ::= (", "root ::= )", "root ::= \"a\" ::= b",
                 "root ::= [z-a]", "root ::= x*\nx ::= \"\"", "root ::= (\"\")*", "root ::= <",
                 "root ::= " + "(" * 5000 + "\"a\"", "root ::= \"a\"{5,2}", "root ::= \"a\"{99999}",
                 "root ::= [^]", "root ::= " + "\"a\" " * 20000]
        for i, text in enumerate(cases):
            try:
                validate_grammar(vocab, text)
                print(i, "ok")
            except GrammarError:
                print(i, "error")
        print("DONE")
    '''
    proc = _run_child(code)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "DONE" in proc.stdout
    results = dict(line.split() for line in proc.stdout.splitlines() if line[:1].isdigit())
    assert results["0"] == "error" and results["3"] == "error" and results["11"] == "error"
    assert results["12"] == "error" and results["13"] == "error"
