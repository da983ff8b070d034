"""Composition root for the full-screen app: builds the controller, the turn
pipeline and its steps, and the Textual app. The only module (with ``cli`` and
``services``) that knows every concrete class."""

from __future__ import annotations

import logging
import threading
from typing import Callable

from forge_tui.config import ModelsConfig, Settings
from forge_tui.engine.base import CurrentEngine
from forge_tui.knowledge.decide import Decider
from forge_tui.domain.models import Conversation, Turn
from forge_tui.services import Services
from forge_tui.session.controller import SessionController
from forge_tui.session.events import Event, FeatureEvent
from forge_tui.session.pipeline import TurnPipeline

log = logging.getLogger(__name__)


def build_steps(services: Services, knowledge, settings: Settings,
                decider: Decider | None = None) -> tuple[list, Callable[[], None] | None, list]:
    """The pipeline steps every persisted turn goes through, an idle task, and the
    background loads to start once the app is up (importing torch takes seconds)."""
    from forge_tui.knowledge.extraction import Extractor

    holder: dict = {}

    def extractor() -> Extractor:
        if "x" not in holder:
            engine = CurrentEngine(lambda: knowledge.c.engine) if settings.extraction else None
            holder["x"] = Extractor(knowledge.registry, engine, settings, decider=decider if engine else None)
        return holder["x"]

    def extract(turn: Turn, conv: Conversation) -> FeatureEvent | None:
        outcome = extractor().process_turn(turn, conv)
        if outcome.changed and conv.project == knowledge.c.project:
            return knowledge.view_event(conv.project)
        return None

    def link_archives(turn: Turn, conv: Conversation) -> FeatureEvent | None:
        """An archive pasted into a user turn is stored and linked in real time."""
        if turn.role.value != "user" or "decisions" not in turn.content:
            return None
        from forge_tui.compression.pasted import link_pasted_archives

        links = link_pasted_archives(services.store(), conv.id, turn.content, turn.id)
        if links.linked or links.invalid:
            return FeatureEvent("archive_pasted", {"linked": links.linked, "invalid": links.invalid,
                                                   "conversation_id": conv.id})
        return None

    steps = [link_archives, extract]
    idle_tasks: list[Callable[[], None]] = [lambda: extractor().retry_failed()]
    embedder = services.embedder()
    starters: list = [embedder.start_loading]  # search and retrieval want it even without embed_on_write
    if settings.embed_on_write:
        from forge_tui.search.pipeline import EmbeddingPipeline

        def embedding() -> EmbeddingPipeline:
            if "p" not in holder:
                holder["p"] = EmbeddingPipeline(services.store(), embedder)
            return holder["p"]

        def embed(turn: Turn, conv: Conversation) -> FeatureEvent | None:
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


def build_controller(services: Services, emit: Callable[[Event], None], model: str | None = None,
                     project: str | None = None, settings: Settings | None = None,
                     models: ModelsConfig | None = None) -> SessionController:
    """``settings``/``models`` already loaded by the caller are reused (one read of each file)."""
    settings = settings or services.settings()
    if project:
        settings.project = project
    models = models or services.models()
    if model:
        models.get(model)  # a clear ConfigError for an unknown name
    controller = SessionController(
        store_factory=services.store,
        engine_factory=services.engine,
        models=models, settings=settings, emit=emit,
    )
    from forge_tui.session.archive_actions import ArchiveActions
    from forge_tui.session.knowledge_actions import KnowledgeActions

    registry = services.registry
    controller.knowledge_actions = KnowledgeActions(controller, registry)
    from forge_tui.session.routing import EnginePool, Router, routed_decider

    pool = EnginePool(lambda name: services.engine(name, models),
                      current=lambda: (controller.model_name, controller.engine))
    router = Router(models, pool, settings.cloud_allowed)
    controller.archive_actions = ArchiveActions(controller, registry_factory=registry, router=router)
    decider = routed_decider(router, lambda: controller.model_name)
    steps, idle, starters = build_steps(services, controller.knowledge_actions, settings, decider)
    from forge_tui.search.hybrid import SearchService
    from forge_tui.session.search_actions import SearchActions

    embedder = services.embedder()
    search_holder: dict = {}

    def search_service() -> SearchService:
        if "s" not in search_holder:
            search_holder["s"] = SearchService(services.store(), embedder)
        return search_holder["s"]

    controller.search_actions = SearchActions(controller, search_service, embedder, registry)
    from forge_tui.session.training import TrainingRunner

    controller.training = TrainingRunner(train_in_background(services), emit)
    controller.after_start.append(lambda: watch_store(services.store().db, controller, search_service))
    # build the keyword and vector indexes in the background, so the first search is quick
    controller.after_start.append(
        lambda: threading.Thread(target=search_service().warm_up, name="search-warm-up", daemon=True).start())
    pipeline = TurnPipeline(steps, emit=emit, idle=idle, yield_to=lambda: controller.busy).start()
    controller.hooks.append(pipeline)
    controller.after_start.extend(starters)
    if model:
        controller.model_name = model
    controller.pipeline = pipeline
    return controller


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


def watch_store(db, controller: SessionController, search_service: Callable):
    """Conversations another process writes (``forge import`` while the app runs) appear in the
    sidebar and in search within seconds: a change stream (or polling) on the store."""
    from forge_tui.search.live_feed import StoreChanged, StoreWatcher

    def changed(event: StoreChanged) -> None:
        current = controller.conversation.id if controller.conversation else None
        others = [cid for cid in event.conversation_ids if cid != current]
        if event.conversation_ids and not others:
            return  # our own writes to the open conversation: the session shows them already
        controller.refresh_list()
        if others:
            search_service().refresh_conversations(others)
        else:
            search_service().refresh(full=True)

    # a daemon thread: it ends with the process, or when the store's client is closed
    return StoreWatcher(db, changed).start()


def build_app(services: Services, model: str | None = None, project: str | None = None):
    from forge_tui.ui.app import ForgeApp

    settings = services.settings()
    models = services.models()  # fail fast, with the file and line, on a broken models.toml
    return ForgeApp(
        controller_factory=lambda emit: build_controller(services, emit, model, project, settings, models),
        settings=settings,
        themes_dirs=services.paths.themes_dirs(),
        models_file=services.paths.models_file(),
        keymap=settings.keymap,
        model_finder=LocalModelFinder(services),
    )
