"""The router: tier order, escalation on rejection / backend failure / context, cloud skipped
for local-only projects, cancel stops the chain, and what is recorded."""

from __future__ import annotations

import threading

import pytest

from forge_tui.config import parse_models
from forge_tui.engine.base import EngineError
from forge_tui.session.routing import EnginePool, Router, RoutingExhausted

MODELS = parse_models(
    '[models.small]\npath = "s.gguf"\n[models.large]\npath = "l.gguf"\n'
    '[models.claude]\nkind = "anthropic"\nmodel = "c"\n'
    '[routing]\ndecide = ["rules", "small", "large", "claude"]\ncompress = ["small", "claude"]\n')


class Named:
    def __init__(self, name: str, fail_load: bool = False):
        self.model_name, self.kind, self.fail_load = name, "anthropic" if name == "claude" else "llama", fail_load
        self.loads = 0

    def start_loading(self):
        self.loads += 1

    def wait_ready(self, timeout=None):
        if self.fail_load:
            raise EngineError(f"{self.model_name} is down")

    def close(self):
        pass


class Rejected(Exception):
    pass


def router(cloud: bool = True, down: tuple[str, ...] = ()) -> Router:
    return Router(MODELS, lambda name: Named(name, name in down), lambda project: cloud)


def test_rules_answer_first_when_they_can():
    routed = router().run("decide", "p", lambda e: "model", rules=lambda: "draft")
    assert (routed.value, routed.model, routed.engine) == ("draft", "rules", "rules")


def test_escalates_on_rejection_and_down_backends_and_records_why():
    def attempt(engine):
        if engine.model_name == "small":
            raise Rejected("failed validation")
        return f"answer from {engine.model_name}"

    routed = router(down=("large",)).run("decide", "p", attempt, escalate_on=(Rejected,), rules=lambda: None)
    assert routed.value == "answer from claude" and routed.engine == "anthropic"
    assert [(a.model, a.outcome) for a in routed.attempts] == [
        ("rules", "no-answer"), ("small", "rejected"), ("large", "rejected"), ("claude", "answered")]
    assert "failed validation" in routed.attempts[1].reason and "down" in routed.attempts[2].reason


def test_local_only_projects_never_reach_cloud_engines():
    with pytest.raises(RoutingExhausted) as err:
        router(cloud=False).run("compress", "secret", lambda e: (_ for _ in ()).throw(Rejected("bad")),
                                escalate_on=(Rejected,))
    outcomes = [(a.model, a.outcome) for a in err.value.attempts]
    assert outcomes == [("small", "rejected"), ("claude", "skipped")]
    assert "keeps its text off cloud engines" in str(err.value)


def test_without_a_chain_the_current_model_is_used_and_its_error_is_the_message():
    assert router().run("chat", "p", lambda e: e.model_name, current="large").model == "large"
    with pytest.raises(RoutingExhausted, match="^small is down$"):
        router(down=("small",)).run("extract", "p", lambda e: 1, current="small")


def test_cancel_stops_the_chain():
    cancel = threading.Event()

    def attempt(engine):
        cancel.set()
        raise Rejected("cancelled")

    with pytest.raises(Rejected):
        router().run("compress", "p", attempt, escalate_on=(Rejected,), cancel=cancel)


def test_engine_pool_reuses_the_current_engine_and_builds_others_once():
    current = Named("small")
    built: list[str] = []
    pool = EnginePool(lambda name: built.append(name) or Named(name), current=lambda: ("small", current))
    assert pool("small") is current and pool("large") is pool("large") and built == ["large"]


def test_engine_pool_never_loads_a_second_copy_of_the_model_in_use():
    pool = EnginePool(lambda name: Named(name), current=lambda: ("small", None))
    with pytest.raises(EngineError, match="not loaded yet"):
        pool("small")


def test_routed_decider_escalates_and_falls_back_to_the_draft():
    from forge_tui.knowledge.decide import DECISION_OPTIONS, DecideError
    from forge_tui.session.routing import routed_decider

    class Answers(Named):
        structured = "grammar"

        def generate(self, request, on_piece, cancel):
            from forge_tui.engine.base import GenerationResult

            text = 'text: "Use Redis"\nrationale: ""\ntier: 1.0\npriority: "high"\n'
            if self.model_name == "small":
                text = "not: valid"
            return GenerationResult(text, 5, 5, "stop")

    routed = Router(MODELS, lambda name: Answers(name), lambda project: False)
    decider = routed_decider(routed, lambda: "small")
    assert decider("p", "ctx", DECISION_OPTIONS, threading.Event())["text"] == "Use Redis"  # small → large
    failing = Router(MODELS, lambda name: Answers("small"), lambda project: False)
    with pytest.raises(DecideError, match="no model could do 'decide'"):
        routed_decider(failing, lambda: "small")("p", "ctx", DECISION_OPTIONS, threading.Event())


def test_the_extractors_decider_follows_extract_then_decide():
    from forge_tui.knowledge.decide import DECISION_OPTIONS
    from forge_tui.session.routing import routed_decider

    asked: list[str] = []

    class Answers(Named):
        structured = "grammar"

        def generate(self, request, on_piece, cancel):
            from forge_tui.engine.base import GenerationResult

            asked.append(self.model_name)
            return GenerationResult('text: "Use Redis"\nrationale: ""\ntier: 1.0\npriority: "high"\n', 5, 5, "stop")

    with_extract = parse_models('[models.small]\npath = "s.gguf"\n[models.large]\npath = "l.gguf"\n'
                                '[routing]\ndecide = ["small"]\nextract = ["large"]\n')
    for models, expected in ((with_extract, "large"), (MODELS, "small")):
        decider = routed_decider(Router(models, Answers, lambda project: True), lambda: "small", task="extract")
        decider("p", "ctx", DECISION_OPTIONS, threading.Event())
        assert asked.pop() == expected
