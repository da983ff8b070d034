"""The extraction's state scores over train+dev, fully held out: the numbers to compare with TEST.

    python bench/extraction_cv.py

Every train+dev conversation is run with a sentence classifier, a resolution linker and a revision
linker that were all fitted without its fold (the four folds of ``train.held_out_classifiers``), at the
shipped regularisation, class weighting and thresholds. In-sample numbers (the shipped weights on the
conversations they were fitted on) say little; this is the larger sample next to TEST's 12
conversations. The test split is never read. Takes about a minute.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forge_tui.knowledge.pipeline import resolve, revise, shipped_model, train_resolve, train_revise  # noqa: E402
from forge_tui.knowledge.pipeline.corpus import load  # noqa: E402
from forge_tui.knowledge.pipeline.pair_training import held_out_weights  # noqa: E402
from forge_tui.knowledge.pipeline.pairs import PairModel  # noqa: E402
from forge_tui.knowledge.pipeline.scoring import Scores, score  # noqa: E402
from forge_tui.knowledge.pipeline.state import extract_state  # noqa: E402
from forge_tui.knowledge.pipeline.train import DEFAULT_CORPUS, HELD_OUT_FOLDS, held_out_classifiers  # noqa: E402


def setting(model: PairModel) -> tuple[float, float]:
    """The (l2, class-weight power) a shipped linker was fitted with, from its provenance line."""
    found = re.search(r"l2 ([\d.e-]+), power ([\d.]+)", model.info)
    if not found:
        raise SystemExit(f"the linker's provenance line names no setting ({model.info!r}); retrain it")
    return float(found.group(1)), float(found.group(2))


def main() -> int:
    convs = load(DEFAULT_CORPUS, ("train", "dev"))
    classifiers = held_out_classifiers(convs, shipped_model(), log=lambda *_: None)
    linker, reviser = resolve.shipped_linker(), revise.shipped_reviser()
    linkers = held_out_weights(train_resolve.pairs(convs, classifiers), *setting(linker))
    revisers = held_out_weights(train_revise.pairs(convs, classifiers), *setting(reviser))
    s = Scores()
    for conv in convs:
        state = extract_state(conv.dict_turns(), classifiers[conv.id],
                              resolve.Linker(linkers(conv.id), linker.thresholds),
                              reviser=revise.Reviser(revisers(conv.id), reviser.thresholds))
        score(conv, state, s)
    r, p = s.decision_recall, s.decision_precision
    print(f"train+dev, {len(convs)} conversations, classifier and both linkers held out ({HELD_OUT_FOLDS} folds)")
    print(f"decisions found: recall {r:.3f} ({s.decisions_found}/{s.decisions_expected}), precision {p:.3f} "
          f"({s.decisions_correct}/{s.decisions_predicted}), F1 {2 * r * p / (r + p) if r + p else 0:.3f}")
    print(f"decisions with the right status: {s.decision_status_right}/{s.decisions_expected}")
    print(f"questions with the right OPEN/RESOLVED status: {s.question_status:.3f} "
          f"({s.questions_status_right}/{s.questions_expected}); question precision {s.question_precision:.3f}")
    print(f"superseded values presented as current: {s.stale_current} (of {s.stale_total})")
    print("sentence F1: " + ", ".join(f"{label} {s.prf(label)[2]:.3f}"
                                       for label in ("decision", "question", "resolution", "constraint", "request")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
