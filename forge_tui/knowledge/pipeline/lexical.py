"""The words of a sentence as features: hashed unigrams, bigrams and its opening words.

The cue groups (``cues.py``) name a few dozen phrasings by hand; the words
themselves let the classifier learn what those lists miss ("shall", "chosen",
"therefore" in a choice; "ran", "came back", "says" in a report) from the
labelled corpus. Tokens are the pipeline's one tokeniser (``text.tokens``);
each token, each adjacent pair and the first one or two tokens (marked as
openings) is hashed with CRC-32 (stable across processes, unlike ``hash``) into
``SIZE`` buckets. The vector is scaled so a long sentence weighs no more than
a short one.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

from forge_tui.knowledge.pipeline.text import tokens

SIZE = 2048
SCALE = 3.0  # the hashed words next to the binary cues; chosen by cross-validation on train+dev
MAX_TOKENS = 40
_DIGITS = re.compile(r"\d+")  # "4m10s" and "7m40s" are one shape: numbers say little about the label
NAMES: tuple[str, ...] = tuple(f"word_{i}" for i in range(SIZE))


def keys(text: str) -> set[str]:
    """What gets hashed: tokens, adjacent pairs, and the opening one and two tokens."""
    toks = [_DIGITS.sub("0", t) for t in tokens(text[:400])[:MAX_TOKENS]]
    out = set(toks) | {f"{a} {b}" for a, b in zip(toks, toks[1:])}
    if toks:
        out.add("^" + toks[0])
        out.add("^" + " ".join(toks[:2]))
    return out


def features(text: str) -> np.ndarray:
    """``SIZE`` floats: the sentence's hashed words, scaled by 1/sqrt(how many)."""
    found = keys(text)
    vec = np.zeros(SIZE, dtype=np.float32)
    if not found:
        return vec
    for key in found:
        vec[zlib.crc32(key.encode("utf-8")) % SIZE] = 1.0
    return vec * (SCALE / max(1.0, float(np.sqrt(len(found)))))
