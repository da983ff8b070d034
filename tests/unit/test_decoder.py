"""Decoder: streaming, grammar, cancellation, context limits, stop strings, UTF-8, prefix reuse.

Uses the real SmolLM2 through llama.cpp with a small context and one thread (two threads on
this shared 2-core machine make llama.cpp's spinning OpenMP workers wait on each other).
"""

from __future__ import annotations

import re
import threading

import pytest

from forge_tui.engine.decoder import Decoder
from forge_tui.engine.stop_strings import StopMatcher
from forge_tui.engine.grammar import GrammarError

N_CTX = 512


# ---- stop-string matcher (pure Python) ----------------------------------------------------


def test_stop_matcher_holds_back_partial_matches_across_pieces():
    m = StopMatcher(["</end>"])
    assert m.feed("hello </") == ("hello ", False)
    assert m.feed("en") == ("", False)
    assert m.feed("d> tail") == ("", True)


def test_stop_matcher_releases_false_alarms_and_flushes():
    m = StopMatcher(["STOP", "\n\n"])
    assert m.feed("ST") == ("", False)
    assert m.feed("ART\n") == ("START", False)
    assert m.flush() == "\n"


def test_stop_matcher_picks_the_earliest_stop():
    m = StopMatcher(["b", "a"])
    assert m.feed("xxab") == ("xx", True)


def test_stop_matcher_without_stops_passes_through():
    m = StopMatcher(["", ""])
    assert m.feed("abc") == ("abc", False)


# ---- with the model ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def llm(smollm2_path):
    import llama_cpp

    model = llama_cpp.Llama(
        str(smollm2_path), n_ctx=N_CTX, n_batch=N_CTX, n_threads=1, n_threads_batch=1, verbose=False
    )
    yield model
    model.close()


@pytest.fixture
def decoder(llm):
    d = Decoder(llm)
    yield d
    d.close()


def chat(llm, *turns: str) -> list[int]:
    """ChatML (SmolLM2's template): user, assistant, user, ... then the assistant's turn."""
    text = ""
    for i, content in enumerate(turns):
        role = "user" if i % 2 == 0 else "assistant"
        text += f"<|im_start|>{role}\n{content}<|im_end|>\n"
    text += "<|im_start|>assistant\n"
    return llm.tokenize(text.encode(), add_bos=False, special=True)


def kv_consistent(llm) -> bool:
    import llama_cpp

    mem = llama_cpp.llama_get_memory(llm.ctx)
    return llama_cpp.llama_memory_seq_pos_max(mem, 0) == llm.n_tokens - 1


@pytest.mark.slow
def test_plain_streaming(llm, decoder):
    pieces = list(decoder.stream(chat(llm, "Say hello in one short sentence."), max_tokens=24, temperature=0))
    text = "".join(pieces)
    stats = decoder.last
    assert text.strip()
    assert stats.finish in ("stop", "length")
    assert 0 < stats.tokens <= 24
    assert stats.prompt_tokens > 0 and stats.gen_s > 0
    assert kv_consistent(llm)


@pytest.mark.slow
def test_same_seed_same_text(llm, decoder):
    prompt = chat(llm, "Name three fruits.")
    llm.reset()  # both runs decode the whole prompt the same way
    a = "".join(decoder.stream(prompt, max_tokens=16, seed=7, temperature=0.9))
    llm.reset()
    b = "".join(decoder.stream(prompt, max_tokens=16, seed=7, temperature=0.9))
    assert a == b


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_grammar_yaml_key_value_always_matches(llm, decoder, seed):
    gbnf = 'root ::= "name: " [a-z]{1,12} "\\n" "mood: " ("happy" | "sad" | "calm") "\\n"'
    prompt = chat(llm, "Describe a cat as YAML with the keys name and mood.")
    text = "".join(decoder.stream(prompt, max_tokens=40, seed=seed, temperature=1.0, grammar=gbnf))
    assert re.fullmatch(r"name: [a-z]{1,12}\nmood: (happy|sad|calm)\n", text), text
    assert decoder.last.finish == "stop"  # the grammar completed, then only end-of-generation was allowed


@pytest.mark.slow
@pytest.mark.parametrize("temperature, repeat_penalty", [(0.0, 1.0), (0.8, 1.0), (0.8, 1.3)])
def test_grammar_enum(llm, decoder, temperature, repeat_penalty):
    gbnf = 'root ::= "yes" | "no" | "maybe"'
    prompt = chat(llm, "Is the sky green? Answer yes, no or maybe.")
    text = "".join(
        decoder.stream(
            prompt, max_tokens=8, seed=5, temperature=temperature, repeat_penalty=repeat_penalty, grammar=gbnf
        )
    )
    assert text in ("yes", "no", "maybe")
    assert decoder.last.finish == "stop"


@pytest.mark.slow
def test_fast_grammar_path_picks_what_the_full_vocabulary_pass_picks(llm, decoder):
    """Greedy: sample-then-check must equal llama-cpp-python's grammar-over-everything path."""
    import llama_cpp

    gbnf = 'root ::= "items:\\n" ("  - " [a-zA-Z ]{1,20} "\\n"){2,4}'
    prompt = chat(llm, "List some fruits as YAML under the key items.")
    ours = "".join(decoder.stream(prompt, max_tokens=40, temperature=0, grammar=gbnf))
    stock = []
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    grammar = llama_cpp.LlamaGrammar.from_string(gbnf, verbose=False)
    for token in llm.generate(prompt, temp=0.0, grammar=grammar):
        if llama_cpp.llama_vocab_is_eog(vocab, token) or len(stock) >= decoder.last.tokens:
            break
        stock.append(token)
    assert ours == llm.detokenize(stock).decode("utf-8")


@pytest.mark.slow
def test_invalid_grammar_raises_before_touching_the_cache(llm, decoder):
    list(decoder.stream(chat(llm, "Hi"), max_tokens=2, temperature=0))
    before = llm.n_tokens
    with pytest.raises(GrammarError):
        decoder.stream(chat(llm, "Hi"), max_tokens=4, grammar='root ::= "unterminated')
    with pytest.raises(GrammarError):
        decoder.stream(chat(llm, "Hi"), max_tokens=4, grammar="root ::= missing-rule")
    assert llm.n_tokens == before
    assert "".join(decoder.stream(chat(llm, "Hi"), max_tokens=4, temperature=0))


@pytest.mark.slow
def test_bad_arguments_raise_value_error(decoder):
    with pytest.raises(ValueError, match="max_tokens"):
        decoder.stream([1, 2], max_tokens=0)
    with pytest.raises(ValueError, match="non-empty"):
        decoder.stream([], max_tokens=4)
    with pytest.raises(ValueError, match="vocabulary"):
        decoder.stream([10**9], max_tokens=4)


class CancelAfter(threading.Event):
    """An Event that reports itself set from the ``n``-th ``is_set()`` call on."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n
        self.calls = 0

    def is_set(self) -> bool:
        self.calls += 1
        return self.calls >= self.n or super().is_set()


class CancelledOnceDecodeStarts(threading.Event):
    """Not set for the decoder's own checks; set for the watcher that feeds llama.cpp's abort flag.

    The watcher starts right before ``llama_decode``, so the cancel arrives while llama.cpp is
    processing the prompt batch; only the abort callback can stop it there.
    """

    def is_set(self) -> bool:
        return False

    def wait(self, timeout=None) -> bool:
        return True


def assert_next_call_works(llm, decoder):
    text = "".join(decoder.stream(chat(llm, "Say OK."), max_tokens=6, temperature=0))
    assert text.strip() and decoder.last.finish in ("stop", "length")
    assert kv_consistent(llm)


@pytest.mark.slow
def test_cancel_before_prompt_processing(llm, decoder):
    cancel = threading.Event()
    cancel.set()
    assert list(decoder.stream(chat(llm, "Hello"), max_tokens=8, cancel=cancel)) == []
    assert decoder.last.finish == "cancelled" and decoder.last.tokens == 0
    assert_next_call_works(llm, decoder)


@pytest.mark.slow
def test_cancel_while_processing_the_prompt(llm, decoder):
    llm.reset()
    long_prompt = chat(llm, "Summarise: " + "the quick brown fox jumps over the lazy dog. " * 30)
    assert len(long_prompt) < N_CTX  # one batch: only the abort callback can stop it midway
    assert list(decoder.stream(long_prompt, max_tokens=8, cancel=CancelledOnceDecodeStarts())) == []
    assert decoder.last.finish == "cancelled"
    assert decoder.last.prompt_evaluated == 0  # llama_decode was aborted; the batch was not kept
    assert llm.n_tokens == 0 and kv_consistent(llm)
    assert_next_call_works(llm, decoder)


@pytest.mark.slow
def test_cancel_between_prompt_batches(llm, decoder):
    llm.reset()
    cancel = CancelAfter(2)  # the check before the first batch
    assert list(decoder.stream(chat(llm, "Hello there"), max_tokens=8, cancel=cancel)) == []
    assert decoder.last.finish == "cancelled" and decoder.last.prompt_evaluated == 0
    assert_next_call_works(llm, decoder)


@pytest.mark.slow
def test_cancel_mid_generation(llm, decoder):
    cancel = threading.Event()
    pieces = []
    for piece in decoder.stream(chat(llm, "Write a long story about a dragon."), max_tokens=64, cancel=cancel):
        pieces.append(piece)
        if len(pieces) == 3:
            cancel.set()
    assert decoder.last.finish == "cancelled"
    assert 3 <= decoder.last.tokens <= 6
    assert kv_consistent(llm)
    assert_next_call_works(llm, decoder)


@pytest.mark.slow
def test_closing_the_stream_early_counts_as_cancelled(llm, decoder):
    stream = decoder.stream(chat(llm, "Count to twenty."), max_tokens=40, temperature=0)
    next(stream)
    stream.close()
    assert decoder.last.finish == "cancelled"
    assert_next_call_works(llm, decoder)


@pytest.mark.slow
def test_context_overflow_stops_cleanly(llm, decoder):
    prompt = chat(llm, "Repeat after me: " + "la " * 470)
    room = N_CTX - len(prompt)
    assert 0 < room < 60
    text = "".join(decoder.stream(prompt, max_tokens=400, temperature=0.8, seed=1, grammar='root ::= "la "{400}'))
    assert decoder.last.finish == "context"
    assert decoder.last.tokens == room + 1  # the last sampled token needs no KV slot
    assert llm.n_tokens == N_CTX and text.startswith("la la")
    assert_next_call_works(llm, decoder)


@pytest.mark.slow
def test_prompt_longer_than_context(llm, decoder):
    prompt = chat(llm, "word " * (N_CTX + 10))
    assert list(decoder.stream(prompt, max_tokens=4)) == []
    assert decoder.last.finish == "context" and decoder.last.tokens == 0
    assert_next_call_works(llm, decoder)


@pytest.mark.slow
def test_stop_strings_cut_the_output_and_never_leak(llm, decoder):
    gbnf = 'root ::= "alpha beta STOP gamma delta"'
    pieces = list(decoder.stream(chat(llm, "Go"), max_tokens=20, grammar=gbnf, stop=["STOP"]))
    assert "".join(pieces) == "alpha beta "
    assert all("ST" not in p for p in pieces)
    assert decoder.last.finish == "stop"


@pytest.mark.slow
def test_partial_stop_match_is_released_at_the_end(llm, decoder):
    gbnf = 'root ::= "alpha STO"'
    text = "".join(decoder.stream(chat(llm, "Go"), max_tokens=20, grammar=gbnf, stop=["STOP"]))
    assert text == "alpha STO"


@pytest.mark.slow
def test_multibyte_utf8_pieces_are_reassembled(llm, decoder):
    target = "Hi 🎉 ✓ 日本語 ünï 🐍"
    gbnf = f'root ::= "{target}"'
    pieces = list(decoder.stream(chat(llm, "Go"), max_tokens=60, grammar=gbnf))
    assert "".join(pieces) == target
    assert all("\ufffd" not in p for p in pieces)  # no half characters were yielded


@pytest.mark.slow
def test_prefix_reuse_evaluates_only_the_new_part(llm, decoder):
    llm.reset()
    first = chat(llm, "Tell me a fact about owls.")
    reply = "".join(decoder.stream(first, max_tokens=12, temperature=0))
    assert decoder.last.prompt_evaluated == len(first)
    second = chat(llm, "Tell me a fact about owls.", reply, "And one about cats?")
    total_before = decoder.prompt_evaluated_total
    list(decoder.stream(second, max_tokens=4, temperature=0))
    evaluated = decoder.last.prompt_evaluated
    assert evaluated < len(second) - len(first)  # the first turn and most of the reply came from the cache
    assert decoder.prompt_evaluated_total == total_before + evaluated
    # the same prompt again: only its last token is decoded (fresh logits)
    list(decoder.stream(second, max_tokens=4, temperature=0))
    assert decoder.last.prompt_evaluated == 1
