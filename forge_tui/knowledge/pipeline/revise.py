"""Which active decision a new one replaces: a small learned pair scorer.

"bump to 16k" after "8k per arm", "fine, $4.99 monthly and $34.99 yearly" after
"premium $5.99/mo, $39.99/yr", "scrap pest, we move to hand-written descent":
a revision names the same subject (shared words or word stems, a quantity with the
same unit or the same key beside a new number, the old value named to be dropped)
and often says so ("actually", "instead", "bump", "switch"). Each (new decision,
active decision) pair gets features, including what the word rule
(``link.revised``) says, and a logistic model trained on the corpus's train+dev split
(``python -m forge_tui.knowledge.pipeline.train_revise``; settings and threshold chosen held out)
scores it; the best pair above the threshold is superseded. The archive's
``state.Tracker`` and the registry's ``knowledge.fold`` ask the same model.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from forge_tui.knowledge.pipeline import cues, link
from forge_tui.knowledge.pipeline.pairs import PairModel
from forge_tui.knowledge.pipeline.text import STOPWORDS, content_words, tokens

WEIGHTS_FILE = "revision_model.json"
TRAINER = "forge_tui.knowledge.pipeline.train_revise"
FAR = 12  # the turn distance given to a decision of another conversation (the registry's project)


@dataclass(frozen=True)
class Stated:
    """A decision as the linker sees it: its statement, value and the turn it was last stated in."""

    key: str
    text: str
    value: str
    turn: int | None
    tentative: bool = False
    spans: tuple[tuple[int, int, int], ...] = ()


FEATURE_NAMES = (
    "bias", "cue", "reversal", "share", "stem_share", "same_value", "old_value_named", "units_shared",
    "both_numbers", "keyed_number", "distance", "far", "old_tentative", "rule_says", "cue_x_share", "new_short",
    "takes_back",
)  # fmt: skip

_NUMBER = re.compile(r"^\$?€?£?\d[\d,.]*[a-z%]*$")
_TAKES_BACK = re.compile(r"\b(not|no longer|instead of|rather than|scrap|drop|ditch|forget|statt|stays?)\b", re.I)


def _stems(words) -> set[str]:
    return {w[:5] for w in words if len(w) >= 4}


def _keyed_numbers(text: str) -> dict[str, str]:
    """Words right beside a number, with that number ("accum 4" -> {"accum": "4"})."""
    toks = tokens(text)
    out: dict[str, str] = {}
    for i, t in enumerate(toks):
        if not _NUMBER.match(t):
            continue
        for j in (i - 1, i + 1):
            if 0 <= j < len(toks) and not _NUMBER.match(toks[j]) and toks[j] not in STOPWORDS and len(toks[j]) > 2:
                out.setdefault(toks[j], t)
    return out


def features(new: Stated, old: Stated, rank: int, rule: bool) -> np.ndarray:
    mine, mine_v = content_words(new.text), content_words(new.value)
    theirs = content_words(old.text) | content_words(old.value)
    theirs_v = content_words(old.value or old.text)
    share = len(mine & theirs) / min(len(mine), len(theirs)) if mine and theirs else 0.0
    st_m, st_t = _stems(mine), _stems(theirs)
    stem_share = len(st_m & st_t) / min(len(st_m), len(st_t)) if st_m and st_t else 0.0
    same_value = len(mine_v & theirs_v) / min(len(mine_v), len(theirs_v)) if mine_v and theirs_v else 0.0
    named = len(theirs_v & mine) / len(theirs_v) if theirs_v else 0.0
    k_new, k_old = _keyed_numbers(new.text), _keyed_numbers(old.text)
    keyed = any(k_new[w] != k_old[w] for w in k_new.keys() & k_old.keys())
    distance = (new.turn - old.turn) if new.turn is not None and old.turn is not None else FAR
    cue = float(link.is_revision_cue(new.text))
    has_num = any(c.isdigit() for c in new.text) and any(c.isdigit() for c in old.text)
    values = [
        1.0, cue, float(link.is_reversal(new.text)), share, stem_share, float(same_value >= link.SAME_VALUE), named,
        float(bool(link.units(new.value or new.text) & link.units(old.value or old.text))), float(has_num),
        float(keyed), math.log1p(max(0, distance)) / 2.0, float(distance == FAR), float(old.tentative), float(rule),
        cue * share, float(len(new.text.split()) <= 6), float(bool(_TAKES_BACK.search(new.text[:cues.CUE_CHARS]))),
    ]  # fmt: skip
    return np.asarray(values, dtype=np.float32)


def pair_rows(new: Stated, active: Sequence[Stated]) -> np.ndarray:
    """Feature rows for each active decision (in the order given; the last is the latest)."""
    known = [link.Known(k.key, k.text, k.value, k.turn) for k in active]
    rule = link.revised(new.text, new.value, known, new.turn)
    order = sorted(range(len(active)), key=lambda i: -(active[i].turn if active[i].turn is not None else -FAR))
    rank = {i: r for r, i in enumerate(order)}
    return np.vstack([features(new, k, rank[i], k.key == rule) for i, k in enumerate(active)])


class Reviser(PairModel):
    def choose(self, new: Stated, active: Sequence[Stated]) -> Stated | None:
        """The active decision ``new`` replaces, or None."""
        if not active:
            return None
        p = self.proba(pair_rows(new, active))
        best = int(np.argmax(p))
        return active[best] if p[best] >= self.thresholds.get("decision", 1.0) else None

    @classmethod
    def load(cls, path: Path | None = None) -> "Reviser":
        return cls(**PairModel.read(WEIGHTS_FILE, FEATURE_NAMES, TRAINER, path))


_lock = threading.Lock()
_shipped: Reviser | None = None


def shipped_reviser() -> Reviser:
    """The packaged reviser, read once per process (on first use)."""
    global _shipped
    with _lock:
        if _shipped is None:
            _shipped = Reviser.load()
        return _shipped
