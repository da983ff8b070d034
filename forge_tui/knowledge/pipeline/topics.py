"""Message topics: which kinds of knowledge a message carries (code, fixes, speed-ups, routing).

Topics are rules (code and tracebacks are what rules see well); whether a
message carries a *decision* is the sentence classifier's call, so the topic
labels and the registry never disagree about it. A message may carry several
labels or none; ``bench/classifier_report.py`` measures them against
``tests/fixtures/classifier_set.jsonl``.
"""

from __future__ import annotations

import re
from typing import Sequence

from forge_tui.knowledge.pipeline import default_classifier
from forge_tui.knowledge.pipeline.classify import Labelled

LABELS = ("code_pattern", "decision", "solution", "error_recovery", "optimization", "routing")

_I = re.IGNORECASE | re.MULTILINE

_CODE = [
    re.compile(r"```"),
    re.compile(r"^\s*(def|class|async def)\s+\w+\s*[(:]", re.MULTILINE),
    re.compile(r"^\s*(from\s+[\w.]+\s+)?import\s+[\w.]+", re.MULTILINE),
    re.compile(r"^\s*(function\s+\w+\s*\(|const\s+\w+\s*=|let\s+\w+\s*=|fn\s+\w+\s*\()", re.MULTILINE),
    re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE)\s.+\b(FROM|INTO|SET)\b", re.MULTILINE),
    re.compile(r"^(    |\t)\S.*[;:)\]}]\s*$(\n^(    |\t).*$){1,}", re.MULTILINE),
]

_SOLUTION = [
    re.compile(r"\b(the|a|one)\s+(fix|solution|workaround|answer)\s+(is|was|here)\b", _I),
    re.compile(r"\b(fixed|solved|resolved)\s+(it|this|that|the\b)", _I),
    re.compile(r"\b(to fix|to solve|to resolve)\s+(this|that|it|the)\b", _I),
    re.compile(r"\b(that|this)\s+(fixed|solved|resolved|works now|did the trick)\b", _I),
    re.compile(r"\b(and|then|now) (it|that) (worked|went through)\b", _I),
    re.compile(r"\b(works now|now it works|problem (is )?gone|no longer (fails|crashes|errors))\b", _I),
    re.compile(r"\bhere'?s how (to|you)\b", _I),
    re.compile(r"\b(you can|you need to|you should)\s+(fix|solve|resolve|work around)\b", _I),
]

_ERROR = [
    re.compile(r"\bTraceback \(most recent call last\)", re.MULTILINE),
    re.compile(r"\b\w*(Error|Exception):\s", re.MULTILINE),
    re.compile(r"\b(segfault|segmentation fault|stack trace|core dumped|panicked at)\b", _I),
    # anchored at the start: unanchored, every position's ``.*`` rescans the rest (quadratic on long text)
    re.compile(
        r"\A(?=.*\b(errors?|fail\w*|crash\w*|time[d ]?outs?|exceptions?|broke\w*|out of memory)\b)"
        r"(?=.*\b(retr(y|ies|ied)|fall ?back|roll(ed|s)? ?back|recover\w*|restart\w*|revert\w*|backoff)\b)",
        re.IGNORECASE | re.DOTALL,
    ),
    re.compile(r"\b(exit code|returned|status)\s+[1-9]\d*\b", _I),
]

_OPTIMIZATION = [
    re.compile(r"\b(optimi[sz](e|ed|es|ing|ation)|speed(s|ed)? ?up|faster|slower|bottleneck|profil(e|ed|er|ing))\b", _I),
    re.compile(r"\b(latency|throughput|memory (usage|footprint)|cpu (time|usage)|p9[59]|tokens? per second|t/s)\b", _I),
    re.compile(r"\b(cach(e|ing)\s+(the|it|them|results?|embeddings?|responses?)|cached|memoi[sz]e?|vectori[sz]\w*|batch(ed|ing)|paralleli[sz]\w*|index(ed)? (on|the))\b", _I),
    re.compile(r"\b(out of memory|OOM|save (time|memory|tokens)|too slow)\b", _I),
    re.compile(r"\b\d+(\.\d+)?\s*(x|×)\s*(faster|speed ?up|less|fewer)\b", _I),
    re.compile(r"\b(from|cut|down from)\s+\d+(\.\d+)?\s*(ms|s|mb|gb|%)\s+(to|down to)\s+\d", _I),
    re.compile(r"\bO\((n|1|log n|n log n|n\^?2)\)", re.MULTILINE),
]

_ROUTING = [
    re.compile(r"\b(route[sd]?|dispatch\w*|delegat\w*|(?<!going )forward(s|ed)?|escalat\w*|hand(ed|s)? (it |this )?off)\b[^.?!\n]{0,60}?\bto\b", _I),
    re.compile(
        r"\b(send|sends|pass|fall ?back)\b[^.?!\n]{0,40}?\bto\s+(the\s+)?[\w-]+\s+"
        r"(model|agent|team|queue|worker|service|tool|engineer)s?\b",
        _I,
    ),
    re.compile(r"\b(use|switch to|ask)\s+(the\s+)?[\w-]+\s+(model|agent)\s+(for|to handle|when)\b", _I),
    re.compile(r"\b(which|what)\s+(model|agent|tool|team)\s+(should|will|can)\s+(handle|take|answer|do)\b", _I),
    re.compile(r"\brouter\b|\brouting\b", _I),
]

_RULES: dict[str, list[re.Pattern[str]]] = {
    "code_pattern": _CODE,
    "solution": _SOLUTION,
    "error_recovery": _ERROR,
    "optimization": _OPTIMIZATION,
    "routing": _ROUTING,
}

_TRACEBACK = re.compile(r"Traceback \(most recent call last\)")

def classify(text: str, role: str = "user", labelled: Sequence[Labelled] | None = None) -> list[str]:
    """Labels for one message, in the order of ``LABELS``. ``role`` is a Role or its value.

    ``decision`` comes from the extraction pipeline (``labelled``: the message's
    labelled sentences; when not given, the message is labelled alone).
    """
    if not text or not text.strip():
        return []
    role_value = str(getattr(role, "value", role))
    labels = [name for name, rules in _RULES.items() if any(r.search(text) for r in rules)]
    if "code_pattern" in labels and "```" not in text and _TRACEBACK.search(text):
        labels.remove("code_pattern")  # an indented traceback is not code worth keeping
    if role_value != "system":  # system prompts carry instructions, not decisions made in the conversation
        if labelled is None:  # alone: read it as a turn in the middle of a conversation, after the other speaker
            other = {"role": "assistant" if role_value == "user" else "user", "content": ""}
            labelled = default_classifier().label([other, {"role": role_value, "content": text}], only=[1], offset=3)
        if any(item.label == "decision" for item in labelled):
            labels.append("decision")
    return [name for name in LABELS if name in labels]


def code_blocks(text: str) -> list[str]:
    """Fenced code blocks; if there are none but the message is code-like, the whole text."""
    blocks = [m.group(1) for m in re.finditer(r"```[\w+-]*\n?(.*?)```", text, flags=re.DOTALL)]
    if blocks:
        return [b for b in blocks if b.strip()]
    return [text] if any(r.search(text) for r in _CODE) else []
