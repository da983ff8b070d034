"""Conversations imported by `forge import` (another process) while the app runs show up in the
sidebar and in search within seconds, through a change stream on the store (polling without one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from forge_tui.app_factory import watch_store
from forge_tui.config import REPO_ROOT, Settings, load_models
from forge_tui.store.watcher import StoreChanged, StoreWatcher
from forge_tui.session.controller import SessionController
from forge_tui.session.state import SessionView
from forge_tui.ui.app import ForgeApp

from .conftest import SIZE
from .fakes import FakeEngine, StoreLinkTo
from .features import wire_features
from .helpers import wait_connected, wait_until

TRANSCRIPT = {
    "title": "Kiln firing schedule",
    "project": "pottery",
    "messages": [
        {"role": "user", "content": "What cone should the glaze firing reach for the celadon pots?"},
        {"role": "assistant", "content": "Fire the celadon glaze to cone 10 in reduction, with a slow cool."},
    ],
}


def _import_in_another_process(tmp_path, mongo_uri: str, db_name: str) -> None:
    path = tmp_path / "kiln.json"
    path.write_text(json.dumps(TRANSCRIPT), encoding="utf-8")
    env = {**os.environ, "FORGE_DB": db_name, "FORGE_DATA_DIR": str(tmp_path / "cli-data"),
           "PYTHONPATH": str(REPO_ROOT)}
    run = subprocess.run([sys.executable, "-m", "forge_tui", "--mongo-uri", mongo_uri, "import", "transcript",
                          str(path), "--no-pipeline"], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "Imported 1 new conversation" in run.stdout


@pytest.fixture
def live_app(store, models_file):
    from forge_tui.search.hybrid import SearchService

    models = load_models(models_file)
    settings = Settings()
    watchers: list[StoreWatcher] = []
    service = SearchService(store, None)
    view = SessionView()

    def controller_factory(emit):
        return SessionController(
            store_link=StoreLinkTo(lambda: store),
            engine_factory=lambda name: FakeEngine(model_name=name, n_ctx=4096, delay_s=0.005),
            models=models, settings=settings, emit=emit, features=wire_features(store, settings, service),
            view=view,
            watch_store=lambda refresh_list: watchers.append(watch_store(store, view, refresh_list, lambda: service)),
        )

    app = ForgeApp(controller_factory=controller_factory, settings=settings, themes_dirs=[REPO_ROOT / "themes"],
                   models_file=models_file, watch_files=False)
    yield app, service
    for watcher in watchers:
        watcher.stop()


async def test_a_cli_import_appears_in_the_sidebar_and_in_search(live_app, store, mongo_uri, tmp_path):
    app, search = live_app
    async with app.run_test(size=SIZE) as pilot:
        await wait_connected(pilot)
        assert search.search("celadon cone") == []  # nothing there yet (and the index is built)
        _import_in_another_process(tmp_path, mongo_uri, store.db.name)
        started = time.monotonic()
        screen = app.main_screen

        def listed() -> bool:
            """the imported conversation is in the sidebar"""
            return any(c.title == "Kiln firing schedule" for c in screen.conversation_list.conversations)

        await wait_until(pilot, listed, timeout=10)
        assert time.monotonic() - started < 10
        hits = search.search("celadon cone")
        assert hits and hits[0].project == "pottery"


def test_polling_reports_writes_where_there_are_no_change_streams(store):
    seen: list[StoreChanged] = []
    watcher = StoreWatcher(store, seen.append, poll_s=0.2, change_streams=False).start()
    try:
        assert watcher.started.wait(10) and watcher.mode == "polling"
        store.db.conversations.insert_one({"_id": "c1", "project": "p", "title": "t"})
        deadline = time.monotonic() + 10
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seen and seen[0].via == "polling"
    finally:
        watcher.stop()


def test_a_burst_of_writes_is_one_change_stream_event(store):
    seen: list[StoreChanged] = []
    watcher = StoreWatcher(store, seen.append, settle_s=0.5).start()
    try:
        assert watcher.started.wait(10) and watcher.mode == "change stream"
        store.db.conversations.insert_many([{"_id": f"c{i}", "project": "p", "title": "t"} for i in range(20)])
        deadline = time.monotonic() + 10
        while sum(len(e.conversation_ids) for e in seen) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert {cid for e in seen for cid in e.conversation_ids} == {f"c{i}" for i in range(20)}
        assert len(seen) <= 3 and all(e.via == "change stream" for e in seen)
    finally:
        watcher.stop()
