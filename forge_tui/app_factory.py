"""Composition root for the full-screen app: builds the controller, the turn
pipeline and its steps, and the Textual app. The only module (with ``cli`` and
``services``) that knows every concrete class."""

from __future__ import annotations

import logging
from typing import Callable

from forge_tui.domain.models import Conversation, Turn
from forge_tui.services import Services
from forge_tui.session.controller import SessionController
from forge_tui.session.events import Event, FeatureEvent
from forge_tui.session.pipeline import TurnPipeline

log = logging.getLogger(__name__)


def build_steps(services: Services) -> tuple[list, Callable[[], None] | None, list]:
    """The pipeline steps every persisted turn goes through, an idle task, and the
    background loads to start once the app is up (importing torch takes seconds)."""
    from forge_tui.knowledge.classifier import classify

    def label(turn: Turn, conv: Conversation) -> FeatureEvent | None:
        if not turn.content:
            return None
        labels = classify(turn.content, turn.role.value)
        if labels != turn.labels:
            services.store().messages.update_one({"_id": turn.id}, {"$set": {"labels": labels}})
            turn.labels = labels
        return None

    steps = [label]
    idle = None
    starters: list = []
    settings = services.settings()
    if settings.embed_on_write:
        from forge_tui.search.pipeline import EmbeddingPipeline

        embedder = services.embedder()
        starters.append(embedder.start_loading)
        holder: dict = {}

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
        idle = catch_up
    return steps, idle, starters


def build_controller(services: Services, emit: Callable[[Event], None], model: str | None = None,
                     project: str | None = None) -> SessionController:
    settings = services.settings()
    if project:
        settings.project = project
    models = services.models()
    if model:
        models.get(model)  # a clear ConfigError for an unknown name
    steps, idle, starters = build_steps(services)
    holder: dict = {}
    pipeline = TurnPipeline(steps, emit=emit, idle=idle,
                            yield_to=lambda: bool(holder.get("c") and holder["c"].busy)).start()
    controller = SessionController(
        store_factory=services.store, engine_factory=services.engine, models=models,
        settings=settings, emit=emit, hooks=[pipeline],
    )
    controller.after_start.extend(starters)
    if model:
        controller.model_name = model
    holder["c"] = controller
    controller.pipeline = pipeline
    return controller


def build_app(services: Services, model: str | None = None, project: str | None = None):
    from forge_tui.ui.app import ForgeApp

    settings = services.settings()
    services.models()  # fail fast, with the file and line, on a broken models.toml
    return ForgeApp(
        controller_factory=lambda emit: build_controller(services, emit, model, project),
        settings=settings,
        themes_dirs=services.paths.themes_dirs(),
        models_file=services.paths.models_file(),
    )
