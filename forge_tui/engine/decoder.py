"""A lean llama.cpp decode loop: prefix reuse, cancellation, streaming text, fast grammar.

``Decoder(llm).stream(prompt_tokens, ...)`` yields text pieces and leaves
``decoder.last`` (``DecodeStats``) behind. One ``Decoder`` per ``Llama``, used
from the one thread that owns that ``Llama``.

Why not ``Llama.generate``: it cannot abort prompt processing, the high-level
API re-detokenizes the whole completion per token, and its grammar path applies
the grammar to the whole vocabulary every token (SmolLM2 0.66x, Gemma 3 0.37x of
unconstrained speed). Here the grammar checks only the token the normal chain
sampled and, when it is rejected, the best-ranked candidates before ever
falling back to the whole vocabulary (``grammar.GrammarSampling``).

Finish reasons: "stop" (end-of-generation token or a stop string), "length"
(``max_tokens``), "cancelled" (the Event, or the consumer closed the iterator),
"context" (the next token would not fit in ``n_ctx``; nothing is overrun).

The ``Llama`` object's own bookkeeping (``n_tokens``, ``input_ids``) is kept in
step with the KV cache, so ``Llama`` methods and this decoder can be mixed.
"""

from __future__ import annotations

import codecs
import ctypes
import functools
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import llama_cpp
import numpy as np

from forge_tui.engine.grammar import GrammarSampling, init_grammar_sampler, validate_grammar
from forge_tui.engine.stop_strings import StopMatcher

FINISH_STOP, FINISH_LENGTH, FINISH_CANCELLED, FINISH_CONTEXT = "stop", "length", "cancelled", "context"
_DECODE_ABORTED = 2
_CANCEL_POLL_S = 0.02
_NO_ABORT = ctypes.cast(None, llama_cpp.ggml_abort_callback)  # type: ignore[arg-type]  # NULL


@functools.cache
def _strlen_callback():
    """libc's ``strlen`` typed as a ggml abort callback (see ``Decoder._arm_abort``), or None."""
    try:
        address = ctypes.cast(ctypes.CDLL(None).strlen, ctypes.c_void_p).value
    except (OSError, AttributeError):
        return None
    return llama_cpp.ggml_abort_callback(address) if address else None


@dataclass(frozen=True)
class DecodeStats:
    tokens: int  # generated tokens (EOG not counted)
    prompt_tokens: int  # length of the prompt
    finish: str  # "stop" | "length" | "cancelled" | "context"
    prompt_s: float
    gen_s: float
    prompt_evaluated: int = 0  # prompt tokens actually decoded (the rest came from the KV cache)
    grammar_rejections: int = 0  # sampled tokens the grammar refused (resampled from the best candidates)
    grammar_full_passes: int = 0  # rejections that needed the grammar over the whole vocabulary

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.gen_s if self.gen_s > 0 else 0.0


class Decoder:
    """Streams completions from one ``llama_cpp.Llama``; see the module docstring."""

    def __init__(self, llm: llama_cpp.Llama):
        self.llm = llm
        self._ctx = llm.ctx
        self._vocab = llama_cpp.llama_model_get_vocab(llm.model)
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(self._vocab)
        self._n_ctx = llama_cpp.llama_n_ctx(self._ctx)
        self._n_batch = max(1, min(llm.n_batch, self._n_ctx))
        self._n_swa = llama_cpp.llama_model_n_swa(llm.model)
        self._mem = llama_cpp.llama_get_memory(self._ctx)
        self._pieces: dict[int, bytes] = {}
        self._eog: list[int] | None = None
        self._piece_buf = ctypes.create_string_buffer(256)
        self._batch = llama_cpp.llama_batch_init(self._n_batch, 0, 1)
        self._batch_token = np.ctypeslib.as_array(self._batch.token, shape=(self._n_batch,))
        self._batch_pos = np.ctypeslib.as_array(self._batch.pos, shape=(self._n_batch,))
        self._batch_logits = np.ctypeslib.as_array(self._batch.logits, shape=(self._n_batch,))
        np.ctypeslib.as_array(self._batch.n_seq_id, shape=(self._n_batch,))[:] = 1
        for i in range(self._n_batch):
            self._batch.seq_id[i][0] = 0
        # Cancellation during prompt processing (see _arm_abort); what llama.cpp points at
        # must outlive the decode, hence attributes.
        self._abort_cb: Any = None
        self._abort_flag: Any = None
        self._grammar_sampling = GrammarSampling(self._ctx, self._n_vocab)  # buffers allocated once
        self.prompt_evaluated_total = 0  # prompt tokens decoded over this decoder's life
        self.last: DecodeStats | None = None

    # ---- public ---------------------------------------------------------------------------

    def stream(
        self,
        prompt_tokens: list[int],
        *,
        max_tokens: int,
        temperature: float = 0.7,
        top_k: int = 40,
        top_p: float = 0.95,
        min_p: float = 0.05,
        repeat_penalty: float = 1.0,
        seed: int | None = None,
        grammar: str | None = None,
        cancel: threading.Event | None = None,
        stop: Sequence[str] = (),
        ignore_eog: bool = False,
    ) -> Iterator[str]:
        """Yield text pieces of the completion of ``prompt_tokens``; see ``DecodeStats`` in ``last``.

        ``ignore_eog`` (benchmarks: fixed-length runs, like llama.cpp's ``--ignore-eos``) bans
        end-of-generation tokens; not allowed with a grammar, which decides when output ends.
        """
        prompt = self._check_prompt(prompt_tokens, max_tokens)
        if grammar is not None:  # raises GrammarError now, before anything touches the KV cache
            if ignore_eog:
                raise ValueError("ignore_eog cannot be combined with a grammar (the grammar decides the end)")
            validate_grammar(self.llm, grammar)
        sampling = (temperature, top_k, top_p, min_p, repeat_penalty, seed, ignore_eog)
        return self._run(prompt, max_tokens, sampling, grammar, cancel, stop)

    def close(self) -> None:
        self._grammar_sampling.close()
        if self._batch is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None

    def __del__(self) -> None:
        self.close()

    # ---- setup ----------------------------------------------------------------------------

    def _check_prompt(self, prompt_tokens: Sequence[int], max_tokens: int) -> np.ndarray:
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
        prompt = np.asarray(prompt_tokens, dtype=np.intc)
        if prompt.ndim != 1 or prompt.size == 0:
            raise ValueError("prompt_tokens must be a non-empty list of token ids")
        if prompt.min() < 0 or prompt.max() >= self._n_vocab:
            raise ValueError(f"prompt_tokens has ids outside this model's vocabulary [0, {self._n_vocab})")
        return prompt

    def _build_chain(self, temperature, top_k, top_p, min_p, repeat_penalty, seed, ignore_eog):
        params = llama_cpp.llama_sampler_chain_default_params()
        params.no_perf = True
        chain = llama_cpp.llama_sampler_chain_init(params)
        add = lambda s: llama_cpp.llama_sampler_chain_add(chain, s)  # noqa: E731
        if ignore_eog:
            eog = self._eog_tokens()
            bias = (llama_cpp.llama_logit_bias * len(eog))(*[llama_cpp.llama_logit_bias(t, float("-inf")) for t in eog])
            add(llama_cpp.llama_sampler_init_logit_bias(self._n_vocab, len(eog), bias))
        if repeat_penalty != 1.0:
            add(llama_cpp.llama_sampler_init_penalties(self._n_vocab, 64, repeat_penalty, 0.0, 0.0))
        if temperature <= 0:
            add(llama_cpp.llama_sampler_init_greedy())
        else:
            if top_k > 0:
                add(llama_cpp.llama_sampler_init_top_k(top_k))
            if top_p < 1.0:
                add(llama_cpp.llama_sampler_init_top_p(top_p, 1))
            if min_p > 0.0:
                add(llama_cpp.llama_sampler_init_min_p(min_p, 1))
            add(llama_cpp.llama_sampler_init_temp(temperature))
            add(llama_cpp.llama_sampler_init_dist(llama_cpp.LLAMA_DEFAULT_SEED if seed is None else seed & 0xFFFFFFFF))
        return chain

    # ---- the loop -------------------------------------------------------------------------

    def _run(self, prompt, max_tokens, sampling, grammar, cancel, stop) -> Iterator[str]:
        llm = self.llm
        n_prompt = int(prompt.size)
        finish, n_gen, evaluated, rejections, stop_hit = "error", 0, 0, 0, False
        t0 = time.perf_counter()
        t_gen = t0
        text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        stopper = StopMatcher(stop)
        chain = self._build_chain(*sampling)
        # Only penalties remember accepted tokens; without them the chain may sample-and-accept in C.
        chain_has_state = sampling[4] != 1.0
        top_k = sampling[1] if sampling[0] > 0 else 1  # greedy: the best allowed token is enough
        grammar_sampler = None
        full_passes0 = self._grammar_sampling.full_passes
        try:
            if grammar is not None:
                grammar_sampler = init_grammar_sampler(self._vocab, grammar)
            if n_prompt > self._n_ctx:
                finish = FINISH_CONTEXT
                return
            if cancel is not None and cancel.is_set():
                finish = FINISH_CANCELLED
                return
            evaluated = self._eval_prompt(prompt, cancel)
            t_gen = time.perf_counter()
            if evaluated < 0:
                evaluated = -evaluated - 1
                finish = FINISH_CANCELLED
                return
            while True:
                if cancel is not None and cancel.is_set():
                    finish = FINISH_CANCELLED
                    break
                if grammar_sampler is None:
                    token = llama_cpp.llama_sampler_sample(chain, self._ctx, -1)
                else:
                    token, rejected = self._grammar_sampling.sample(chain, grammar_sampler, chain_has_state, top_k)
                    rejections += rejected
                if llama_cpp.llama_vocab_is_eog(self._vocab, token):
                    finish = FINISH_STOP
                    break
                if grammar_sampler is not None:
                    llama_cpp.llama_sampler_accept(grammar_sampler, token)
                n_gen += 1
                piece, stopped = stopper.feed(text.decode(self._piece(token)))
                if piece:
                    yield piece
                if stopped:
                    finish, stop_hit = FINISH_STOP, True
                    break
                if n_gen >= max_tokens:
                    finish = FINISH_LENGTH
                    break
                if llm.n_tokens >= self._n_ctx:
                    finish = FINISH_CONTEXT
                    break
                self._decode_one(token)
            if not stop_hit:
                tail = stopper.flush() + text.decode(b"", final=True)
                if tail:
                    yield tail
        except GeneratorExit:  # the consumer stopped iterating: same as a cancel
            finish = FINISH_CANCELLED
            raise
        finally:
            now = time.perf_counter()
            llama_cpp.llama_sampler_free(chain)
            if grammar_sampler is not None:
                llama_cpp.llama_sampler_free(grammar_sampler)
            self.prompt_evaluated_total += evaluated
            self.last = DecodeStats(
                tokens=n_gen,
                prompt_tokens=n_prompt,
                finish=finish,
                prompt_s=t_gen - t0,
                gen_s=now - t_gen,
                prompt_evaluated=evaluated,
                grammar_rejections=rejections,
                grammar_full_passes=self._grammar_sampling.full_passes - full_passes0,
            )

    # ---- prompt ---------------------------------------------------------------------------

    def _reuse_prefix(self, prompt: np.ndarray) -> int:
        """Trim the KV cache to the longest prefix shared with ``prompt``; return its length."""
        llm = self.llm
        cached = llm.input_ids[: llm.n_tokens]
        m = min(cached.size, prompt.size)
        differ = np.flatnonzero(cached[:m] != prompt[:m])
        common = int(differ[0]) if differ.size else m
        keep = min(common, prompt.size - 1)  # always decode at least one token: fresh logits
        if keep > 0 and self._n_swa > 0:
            # a sliding-window cache may have dropped positions the prefix still needs
            pos_min = llama_cpp.llama_memory_seq_pos_min(self._mem, 0)
            if pos_min > max(0, keep - self._n_swa):
                keep = 0
        if keep > 0 and not llama_cpp.llama_memory_seq_rm(self._mem, 0, keep, -1):
            keep = 0  # recurrent/hybrid memory cannot be trimmed partially
        if keep == 0:
            llama_cpp.llama_memory_clear(self._mem, True)
        self._set_n_tokens(keep)
        return keep

    def _eval_prompt(self, prompt: np.ndarray, cancel: threading.Event | None) -> int:
        """Decode the uncached part of the prompt; the count, or ``-(count + 1)`` if cancelled."""
        start = self._reuse_prefix(prompt)
        disarm = self._arm_abort(cancel) if cancel is not None else None
        try:
            for i in range(start, prompt.size, self._n_batch):
                chunk = prompt[i : i + self._n_batch]
                if cancel is not None and cancel.is_set():
                    return -(i - start) - 1
                if self._decode(chunk) == _DECODE_ABORTED:
                    return -(i - start) - 1
        finally:
            if disarm is not None:
                disarm()
        return int(prompt.size - start)

    def _arm_abort(self, cancel: threading.Event):
        """Let llama.cpp abort ``llama_decode`` when ``cancel`` is set; returns the disarm function.

        llama.cpp polls the abort callback after every graph node (hundreds per batch). A
        Python callback takes the GIL each time, and with another Python thread busy (the UI)
        each poll waited for the GIL switch interval (~5 ms; prompt processing measured ~20%
        slower). So the callback is libc's ``strlen`` on a fresh 2-byte buffer: empty -> 0
        (go on), one byte -> 1 (abort), no GIL involved; a watcher thread copies the Event
        into that byte. Without a usable libc ``strlen``: a Python callback.
        """
        strlen = _strlen_callback()
        if strlen is None:
            self._abort_cb = llama_cpp.ggml_abort_callback(lambda _data: cancel.is_set())
            llama_cpp.llama_set_abort_callback(self._ctx, self._abort_cb, None)
            return lambda: llama_cpp.llama_set_abort_callback(self._ctx, _NO_ABORT, None)
        flag = ctypes.create_string_buffer(2)  # per call: a late watcher can only touch its own byte
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                if cancel.wait(_CANCEL_POLL_S):
                    flag[0] = b"\x01"
                    return

        self._abort_flag = flag  # llama.cpp holds its address until disarmed
        llama_cpp.llama_set_abort_callback(self._ctx, strlen, ctypes.cast(flag, ctypes.c_void_p))
        threading.Thread(target=watch, name="forge-decode-cancel", daemon=True).start()

        def disarm() -> None:
            done.set()
            llama_cpp.llama_set_abort_callback(self._ctx, _NO_ABORT, None)

        return disarm

    # ---- decoding -------------------------------------------------------------------------

    def _decode(self, tokens: np.ndarray) -> int:
        """Decode ``tokens`` after ``llm.n_tokens``; on success record them, else trim the cache."""
        llm = self.llm
        n, n_past = int(tokens.size), llm.n_tokens
        self._batch.n_tokens = n
        self._batch_token[:n] = tokens
        self._batch_pos[:n] = np.arange(n_past, n_past + n, dtype=np.int32)
        self._batch_logits[:n] = 0
        self._batch_logits[n - 1] = 1
        rc = llama_cpp.llama_decode(self._ctx, self._batch)
        if rc == 0:
            llm.input_ids[n_past : n_past + n] = tokens
            self._set_n_tokens(n_past + n, fresh_logits=True)
            return 0
        # an aborted or failed decode may leave part of the batch in the cache
        if not llama_cpp.llama_memory_seq_rm(self._mem, 0, n_past, -1):
            llama_cpp.llama_memory_clear(self._mem, True)
            n_past = 0
        self._set_n_tokens(n_past)
        if rc == _DECODE_ABORTED:
            return rc
        raise RuntimeError(f"llama_decode failed with code {rc} at position {n_past}")

    def _decode_one(self, token: int) -> None:
        llm = self.llm
        n_past = llm.n_tokens
        self._batch.n_tokens = 1
        self._batch_token[0] = token
        self._batch_pos[0] = n_past
        self._batch_logits[0] = 1
        rc = llama_cpp.llama_decode(self._ctx, self._batch)
        if rc != 0:
            llama_cpp.llama_memory_seq_rm(self._mem, 0, n_past, -1)
            raise RuntimeError(f"llama_decode failed with code {rc} at position {n_past}")
        llm.input_ids[n_past] = token
        llm.n_tokens = n_past + 1

    def _set_n_tokens(self, n: int, fresh_logits: bool = False) -> None:
        self.llm.n_tokens = n
        if hasattr(self.llm, "_requires_eval"):
            self.llm._requires_eval = not fresh_logits

    def _eog_tokens(self) -> list[int]:
        if self._eog is None:
            self._eog = [t for t in range(self._n_vocab) if llama_cpp.llama_vocab_is_eog(self._vocab, t)]
        return self._eog

    def _piece(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            n = llama_cpp.llama_token_to_piece(self._vocab, token, self._piece_buf, len(self._piece_buf), 0, False)
            if n < 0:
                buf = ctypes.create_string_buffer(-n)
                n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, False)
                piece = buf.raw[:n]
            else:
                piece = self._piece_buf.raw[:n]
            self._pieces[token] = piece
        return piece
