"""Composition root for the full-screen app: builds the controller, the turn
pipeline and its steps, and the Textual app. The only module (with ``cli`` and
``services``) that knows every concrete class."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable

from forge_tui.config import ModelsConfig, Settings
from forge_tui.domain.models import DEFAULT_PROJECT, Conversation, Turn
from forge_tui.engine.base import CurrentEngine, KnowledgeEngine
from forge_tui.knowledge.decide import Decider
from forge_tui.services import Services
from forge_tui.session.archives import ArchiveService
from forge_tui.session.controller import Features, SessionController
from forge_tui.session.events import ArchivePasted, Event
from forge_tui.session.knowledge import KnowledgeService
from forge_tui.session.pipeline import Step, TurnPipeline
from forge_tui.session.search import SearchCommands
from forge_tui.session.state import SessionView
from forge_tui.store.repository import Store

log = logging.getLogger(__name__)


def build_steps(services: Services, knowledge: KnowledgeService, current_project: Callable[[], str],
                engine: KnowledgeEngine | None, settings: Settings,
                decider: Decider | None = None) -> tuple[list[Step], Callable[[], None], list]:
    """The pipeline steps every persisted turn goes through, an idle task, and the
    background loads to start once the app is up (importing torch takes seconds)."""
    from forge_tui.knowledge.extraction import Extractor

    holder: dict = {}

    def extractor() -> Extractor:
        if "x" not in holder:
            chosen = engine if settings.extraction else None
            # the search's embedder (one copy per process): sentence embeddings for the classifier once loaded
            holder["x"] = Extractor(services.registry(), chosen, settings, decider=decider if chosen else None,
                                    embedder=services.embedder())
        return holder["x"]

    def extract(turn: Turn, conv: Conversation) -> Event | None:
        outcome = extractor().process_turn(turn, conv)
        if outcome.changed and conv.project == current_project():
            return knowledge.view(conv.project)
        return None

    def link_archives(turn: Turn, conv: Conversation) -> Event | None:
        """An archive pasted into a user turn is stored and linked in real time."""
        if turn.role.value != "user" or "decisions" not in turn.content:
            return None
        from forge_tui.compression.pasted import link_pasted_archives

        links = link_pasted_archives(services.store(), conv.id, turn.content, turn.id)
        if links.linked or links.invalid:
            return ArchivePasted(conv.id, list(links.linked), list(links.invalid))
        return None

    steps: list[Step] = [link_archives, extract]
    idle_tasks: list[Callable[[], object]] = [lambda: extractor().retry_failed()]
    embedder = services.embedder()
    starters: list = [embedder.start_loading]  # search and retrieval want it even without embed_on_write
    if settings.embed_on_write:
        from forge_tui.search.pipeline import EmbeddingPipeline

        def embedding() -> EmbeddingPipeline:
            if "p" not in holder:
                holder["p"] = EmbeddingPipeline(services.store(), embedder)
            return holder["p"]

        def embed(turn: Turn, conv: Conversation) -> Event | None:
            embedding().on_turn_persisted(turn.id)
            return None

        def catch_up() -> None:
            if embedder.is_ready:
                embedding().embed_pending()

        steps.append(embed)
        idle_tasks.append(catch_up)

    def idle() -> None:
        for task in idle_tasks:
            task()

    return steps, idle, starters


@dataclass
class Session:
    """What the root built for one app: the controller and its background pipeline."""

    controller: SessionController
    pipeline: TurnPipeline

    def shutdown(self) -> None:
        self.pipeline.stop()
        self.controller.shutdown()


def train_in_background(services: Services):
    """The app's LoRA training run: the CLI's service, one core left to chat, a resumable stop."""

    def train(task, on_status, on_step, cancel) -> str:
        from forge_tui.config import physical_cores
        from forge_tui.training.errors import TrainingError, TrainingStopped, require_train_stack
        from forge_tui.training.service import TrainOptions, train_adapter

        require_train_stack()
        import torch

        torch.set_num_threads(max(1, physical_cores() - 1))
        try:
            report = train_adapter(services.store(), services.models(), services.paths, TrainOptions(task=task),
                                   on_status=on_status, on_step=on_step, cancel=cancel)
        except TrainingStopped as stop:
            raise TrainingError(f"stopped at step {stop.step}/{stop.total}; continue with "
                                f"`forge train lora --task {task.value} --resume`") from None
        return (f"adapter {report.name} trained ({report.steps} steps, {report.adapter_bytes / 1e6:.1f} MB) and "
                f"registered for {task.value}; pick the model again (ctrl+m) to load it")

    return train


class LocalModelFinder:
    """Local model discovery and models.toml entries for the model picker."""

    def __init__(self, services: Services):
        self._services = services

    def discover(self) -> list:
        from forge_tui.engine.discovery import discover

        return discover()

    def add(self, found) -> tuple[str, ModelsConfig]:
        from forge_tui.models_file import add_model

        taken = set(self._services.models().models)
        name, n = found.name, 2
        while name in taken:
            name, n = f"{found.name}-{n}", n + 1
        _, models = add_model(self._services.paths, name, found.entry())
        return name, models


def watch_store(store: Store, view: SessionView, refresh_list: Callable[[], object], search_service: Callable):
    """Conversations another process writes (``forge import`` while the app runs) appear in the
    sidebar and in search within seconds: a change stream (or polling) on the store."""
    from forge_tui.store.watcher import StoreChanged, StoreWatcher

    def changed(event: StoreChanged) -> None:
        current = view.state.conversation_id
        others = [cid for cid in event.conversation_ids if cid != current]
        if event.conversation_ids and not others:
            return  # our own writes to the open conversation: the session shows them already
        refresh_list()
        if others:
            search_service().refresh_conversations(others)
        else:
            search_service().refresh(full=True)

    # a daemon thread: it ends with the process, or when the store's client is closed
    return StoreWatcher(store, changed).start()


def build_session(services: Services, emit: Callable[[Event], None], model: str | None = None,
                  project: str | None = None, settings: Settings | None = None,
                  models: ModelsConfig | None = None) -> Session:
    """``settings``/``models`` already loaded by the caller are reused (one read of each file)."""
    settings = settings or services.settings()
    if project:
        settings.project = project
    models = models or services.models()
    if model:
        models.get(model)  # a clear ConfigError for an unknown name
    from forge_tui.search.hybrid import SearchService

    embedder = services.embedder()
    search_holder: dict = {}

    def search_service() -> SearchService:
        if "s" not in search_holder:
            search_holder["s"] = SearchService(services.store(), embedder)
        return search_holder["s"]

    knowledge = KnowledgeService(services.registry, settings)
    # what the pipeline, the router and background extraction read of the session: built first,
    # handed to them and to the controller, which publishes every state change into it
    view = SessionView(settings.project or DEFAULT_PROJECT)
    from forge_tui.session.routing import EnginePool, Router, routed_decider

    pool = EnginePool(lambda name: services.engine(name, models), current=view.model_and_engine)
    router = Router(models, pool, settings.cloud_allowed)
    features = Features(
        archives=ArchiveService(services.store, services.registry, settings.archive_token_budget, router,
                                settings.compress_wording_tokens),
        knowledge=knowledge,
        search=SearchCommands(services.store, search_service, settings, embedder, services.registry),
    )
    engine = CurrentEngine(view.engine)
    decider = routed_decider(router, view.model, task="extract")
    steps, idle, starters = build_steps(services, knowledge, view.project, engine, settings, decider)
    pipeline = TurnPipeline(steps, emit=emit, idle=idle, yield_to=view.busy)

    def warm_search() -> None:
        # build the keyword and vector indexes in the background, so the first search is quick
        threading.Thread(target=search_service().warm_up, name="search-warm-up", daemon=True).start()

    def watch(refresh_list: Callable[[], object]) -> None:
        watch_store(services.store(), view, refresh_list, search_service)

    from forge_tui.session.training import TrainingRunner

    controller = SessionController(
        store_link=services.store_link(), engine_factory=lambda name: services.engine(name, models),
        models=models, settings=settings, emit=emit, features=features, hooks=[pipeline],
        on_connected=[warm_search, *starters], model=model,
        training=TrainingRunner(train_in_background(services), emit), router=router,
        view=view, watch_store=watch,
    )
    pipeline.start()
    return Session(controller, pipeline)


def build_app(services: Services, model: str | None = None, project: str | None = None):
    from forge_tui.ui.app import ForgeApp

    settings = services.settings()
    models = services.models()  # fail fast, with the file and line, on a broken models.toml
    return ForgeApp(
        controller_factory=lambda emit: build_session(services, emit, model, project, settings, models).controller,
        settings=settings,
        themes_dirs=services.paths.themes_dirs(),
        models_file=services.paths.models_file(),
        keymap=settings.keymap,
        model_finder=LocalModelFinder(services),
    )
