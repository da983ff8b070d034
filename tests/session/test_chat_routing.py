"""Chat along ``[routing].chat`` on scripted engines and the real SecantusDB: a backend that is
down or a prompt too long for a model passes the reply to the next model of the chain; the turn
records who answered; cloud engines stay off for a local-only project; without a chain, the picked
model answers as always."""

from __future__ import annotations

from forge_tui.config import Settings, parse_models
from forge_tui.domain.models import DEFAULT_PROJECT, Role, TurnStatus
from forge_tui.engine.base import GenerationResult
from forge_tui.session import events as ev
from forge_tui.session.controller import SessionController
from forge_tui.session.routing import EnginePool, Router
from session.test_controller_fast import Recorder, finished
from ui.fakes import FakeEngine, StoreLinkTo

MODELS = ('[models.down]\npath = "d.gguf"\n[models.tiny]\npath = "t.gguf"\n[models.big]\npath = "b.gguf"\n'
          '[models.claude]\nkind = "anthropic"\nmodel = "c"\n')


class Scripted(FakeEngine):
    """``down`` reports its backend unreachable; every model refuses a prompt over its context."""

    def generate(self, request, on_piece, cancel):
        if self.model_name == "down":
            return GenerationResult("", 0, 0, "error", error="Cannot reach http://127.0.0.1:9/v1 (connection "
                                    "refused). Start the server.", backend_failed=True)
        prompt = self.count_tokens(request.messages)
        if prompt > self.n_ctx:
            return GenerationResult("", 0, prompt, "context", error=f"The conversation ({prompt} tokens) fills "
                                    f"this model's context (n_ctx {self.n_ctx}).")
        return super().generate(request, on_piece, cancel)


def session(store, routing: str, settings: Settings | None = None):
    models = parse_models(MODELS + routing)
    settings = settings or Settings()
    built: dict[str, Scripted] = {}
    refs: dict[str, SessionController] = {}

    def build(name: str) -> Scripted:
        built[name] = Scripted(model_name=name, n_ctx=40 if name == "tiny" else 4096,
                               reply=f"answer from {name}", delay_s=0.001)
        return built[name]

    pool = EnginePool(build, current=lambda: (refs["c"].state.model, refs["c"].engine))
    rec = Recorder()
    controller = SessionController(store_link=StoreLinkTo(lambda: store), engine_factory=build, models=models,
                                   settings=settings, emit=rec, model="down",
                                   router=Router(models, pool, settings.cloud_allowed))
    refs["c"] = controller
    controller.start().result(20)
    rec.wait_for(lambda e: isinstance(e, ev.StateChanged) and e.state.model_status == "ready")
    return controller, rec, built


def reply_to(controller, rec, text):
    controller.send(text)
    return rec.wait_for(finished).turn


def test_down_backend_and_overlong_prompt_escalate_along_the_chain(store):
    controller, rec, built = session(store, '[routing]\nchat = ["down", "tiny", "big"]\n')
    first = reply_to(controller, rec, "hello")  # down is picked and first: its backend is unreachable
    assert (first.content, first.model, first.engine, first.status) == \
        ("answer from tiny", "tiny", "llama", TurnStatus.COMPLETE)
    stored = store.get_turn(first.id)
    assert (stored.model, stored.engine, stored.content) == ("tiny", "llama", "answer from tiny")
    assert any(isinstance(e, ev.Notice) and "down (Cannot reach" in e.message for e in rec.events)

    second = reply_to(controller, rec, "a long question " * 20)  # over tiny's 40-token context
    assert (second.content, second.model) == ("answer from big", "big")
    assert store.get_turn(second.id).model == "big"
    turns = store.turns(controller.state.conversation_id)
    assert [(t.role, t.status) for t in turns] == [(Role.USER, TurnStatus.COMPLETE),
                                                   (Role.ASSISTANT, TurnStatus.COMPLETE)] * 2
    assert len(built["big"].requests) == len(built["tiny"].requests) == 1  # each answered once, nothing retried
    controller.shutdown()


def test_a_local_only_project_skips_cloud_and_an_exhausted_chain_keeps_the_users_turn(store):
    local = Settings(project_cloud={DEFAULT_PROJECT: False})
    controller, rec, built = session(store, '[routing]\nchat = ["down", "claude"]\n', local)
    reply = reply_to(controller, rec, "keep this local")
    assert reply.status is TurnStatus.ERROR and reply.content == ""
    assert "down: Cannot reach" in reply.error and "keeps its text off cloud engines" in reply.error
    assert "claude" not in built  # never even built
    user, stored = store.turns(controller.state.conversation_id)
    assert (user.content, stored.status) == ("keep this local", TurnStatus.ERROR)
    controller.shutdown()


def test_without_a_chat_chain_the_picked_model_answers(store):
    controller, rec, _ = session(store, '[routing]\ndecide = ["tiny", "big"]\n')
    reply = reply_to(controller, rec, "hello")
    assert (reply.model, reply.status) == ("down", TurnStatus.ERROR)
    assert "Cannot reach" in reply.error
    controller.shutdown()


def test_the_first_reply_of_a_continued_conversation_follows_the_continue_chain(store):
    from forge_tui.domain.ids import conversation_id
    from forge_tui.domain.models import Conversation, utcnow

    now, conv_id = utcnow(), conversation_id(DEFAULT_PROJECT, "test", "continued")
    store.create_conversation(Conversation(id=conv_id, project=DEFAULT_PROJECT, title="Continued",
                                           created_at=now, updated_at=now, archive_context="an-archive"))
    controller, rec, _ = session(store, '[routing]\ncontinue = ["big"]\nchat = ["tiny", "big"]\n')
    controller.open_conversation(conv_id)
    assert reply_to(controller, rec, "where were we?").model == "big"
    assert reply_to(controller, rec, "go on").model == "tiny"
    controller.shutdown()
