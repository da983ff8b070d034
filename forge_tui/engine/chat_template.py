"""Render chat messages into a model prompt: the GGUF's own template by default,
or a named llama-cpp-python format (``chat_format`` in models.toml)."""

from __future__ import annotations

from typing import Callable, Sequence

from llama_cpp import llama_chat_format

Formatter = Callable[[Sequence[dict]], tuple[str, list[str]]]


class ChatTemplateError(Exception):
    pass


def _normalise_roles(messages: Sequence[dict]) -> list[dict]:
    """Merge consecutive same-role turns: several templates (Gemma) require alternation."""
    out: list[dict] = []
    for m in messages:
        if out and out[-1]["role"] == m["role"] and m["role"] != "system":
            out[-1] = {"role": m["role"], "content": out[-1]["content"] + "\n\n" + m["content"]}
        else:
            out.append({"role": m["role"], "content": m["content"]})
    return out


def make_formatter(llm, chat_format: str | None) -> Formatter:
    if chat_format:
        fn = getattr(llama_chat_format, "format_" + chat_format.replace("-", "_"), None)
        if fn is None:
            known = sorted(n[7:] for n in dir(llama_chat_format) if n.startswith("format_"))
            raise ChatTemplateError(f"Unknown chat_format '{chat_format}'. Known: {', '.join(known)}.")

        def named(messages: Sequence[dict]) -> tuple[str, list[str]]:
            r = fn(messages=_normalise_roles(messages))
            stop = r.stop if isinstance(r.stop, list) else ([r.stop] if r.stop else [])
            return r.prompt, stop

        return named
    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        return make_formatter(llm, "chatml")
    vocab_eos = llm.token_eos()
    vocab_bos = llm.token_bos()
    eos = llm._model.token_get_text(vocab_eos) if vocab_eos >= 0 else ""
    bos = llm._model.token_get_text(vocab_bos) if vocab_bos >= 0 else ""
    jinja = llama_chat_format.Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)

    def fmt(messages: Sequence[dict]) -> tuple[str, list[str]]:
        r = jinja(messages=_normalise_roles(messages))  # type: ignore[arg-type]  # plain role/content dicts
        stop = r.stop if isinstance(r.stop, list) else ([r.stop] if r.stop else [])
        return r.prompt, stop

    return fmt


def tokenize_prompt(llm, prompt: str) -> list[int]:
    """Tokens of a rendered prompt; BOS is added unless the template already wrote it."""
    bos = llm.token_bos()
    bos_text = llm._model.token_get_text(bos) if bos >= 0 else ""
    add_bos = not (bos_text and prompt.startswith(bos_text))
    return llm.tokenize(prompt.encode("utf-8"), add_bos=add_bos, special=True)
