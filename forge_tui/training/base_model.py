"""The base model of a training run: its GGUF file, llama.cpp's tokenizer and chat template,
and the same weights in transformers (dequantised from the GGUF) for peft to train on.

Examples are tokenized by llama.cpp with the model's own template — exactly the tokens the
engine will feed at inference — so the adapter learns the prompt format it will see.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from forge_tui.config import ModelSpec
from forge_tui.engine.adapters import file_sha256
from forge_tui.engine.chat_template import ChatTemplateError, Formatter, make_formatter, tokenize_prompt
from forge_tui.engine.model_files import ModelFileError, resolve_model_path
from forge_tui.training.adapter_gguf import BaseInfo
from forge_tui.training.errors import TrainingError

IGNORE = -100  # label of tokens the loss skips (the prompt and the padding)
KEEP_PROMPT_HEAD = 16  # when a prompt is too long, keep its start (system prompt) and its end


@dataclass
class Base:
    spec: ModelSpec
    info: BaseInfo
    vocab: Any  # llama_cpp.Llama loaded vocab-only: tokenizer, template, metadata
    fmt: Formatter

    @property
    def path(self) -> Path:
        return self.info.path

    def encode(self, messages: Sequence[dict], max_len: int) -> tuple[list[int], list[int]]:
        """(input ids, labels) for one chat example: the loss covers the last assistant reply and EOS."""
        *context, answer = messages
        prompt, _ = self.fmt(list(context))
        p_ids = tokenize_prompt(self.vocab, prompt)
        a_ids = self.vocab.tokenize(answer["content"].encode("utf-8"), add_bos=False, special=False)
        a_ids = a_ids + [self.vocab.token_eos()]
        a_ids = a_ids[: max_len - min(len(p_ids), max_len // 2)]
        room = max_len - len(a_ids)
        if len(p_ids) > room:
            p_ids = p_ids[:KEEP_PROMPT_HEAD] + p_ids[len(p_ids) - (room - KEEP_PROMPT_HEAD):]
        return p_ids + a_ids, [IGNORE] * len(p_ids) + a_ids

    def prompt_ids(self, messages: Sequence[dict]) -> list[int]:
        prompt, _ = self.fmt(list(messages))
        return tokenize_prompt(self.vocab, prompt)

    def close(self) -> None:
        self.vocab.close()


def supported_architectures() -> list[str]:
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    return sorted(GGUF_SUPPORTED_ARCHITECTURES)


def open_base(spec: ModelSpec, cache_dir: Path, base_dir: Path | None = None) -> Base:
    """Resolve, hash and read the base GGUF; refuse architectures transformers cannot load."""
    import llama_cpp

    try:
        path = resolve_model_path(spec.path, cache_dir, base_dir)
    except ModelFileError as exc:
        raise TrainingError(str(exc)) from None
    try:
        vocab = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    except (ValueError, RuntimeError, OSError) as exc:
        raise TrainingError(f"llama.cpp cannot read {path.name}: {exc}.") from None
    arch = vocab.metadata.get("general.architecture", "?")
    supported = supported_architectures()
    if arch not in supported:
        vocab.close()
        raise TrainingError(
            f"model '{spec.name}' is a '{arch}' GGUF, which transformers cannot load for training. "
            f"Supported architectures: {', '.join(supported)}. Pick one with --base."
        )
    try:
        fmt = make_formatter(vocab, spec.chat_format)
    except ChatTemplateError as exc:
        vocab.close()
        raise TrainingError(f"[models.{spec.name}]: {exc}") from None
    info = BaseInfo.from_metadata(path, vocab.metadata, file_sha256(path, cache_dir))
    return Base(spec=spec, info=info, vocab=vocab, fmt=fmt)


def load_hf_model(base: Base, device: str):
    """The base weights in transformers, dequantised to float32 (the slow part: ~20 s for 135M)."""
    import torch
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(
            str(base.path.parent), gguf_file=base.path.name, dtype=torch.float32
        )
    except (ValueError, OSError, RuntimeError, KeyError) as exc:
        raise TrainingError(
            f"transformers could not load {base.path.name} ({base.info.arch}): {exc}. "
            f"Supported architectures: {', '.join(supported_architectures())}."
        ) from None
    return model.to(device)


def pick_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
