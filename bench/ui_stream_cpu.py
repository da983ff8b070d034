"""CPU the UI spends per streamed piece.

    .venv/bin/python bench/ui_stream_cpu.py [WORDS] [DELAY_S]

Streams a scripted reply of WORDS words (a paragraph every 12 words) at one 4-character
piece per DELAY_S through ForgeApp headless, on a throwaway SecantusDB server, and prints
process CPU seconds per piece (the fake engine sleeps, so nearly all CPU is the UI's).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forge_tui.config import REPO_ROOT, Settings, load_models  # noqa: E402
from forge_tui.session.controller import SessionController  # noqa: E402
from forge_tui.store.repository import Store  # noqa: E402
from forge_tui.ui.app import ForgeApp  # noqa: E402
from tests.ui.fakes import FakeEngine, StoreLinkTo  # noqa: E402


async def run(store, words: int, delay: float) -> None:
    models = load_models(REPO_ROOT / "models.toml")
    reply = "".join(f"word{i} " + ("\n\n" if i % 12 == 0 else "") for i in range(words))

    def make(emit):
        return SessionController(store_link=StoreLinkTo(lambda: store), models=models, settings=Settings(), emit=emit,
                                 engine_factory=lambda n: FakeEngine(model_name=n, reply=reply, delay_s=delay))

    app = ForgeApp(controller_factory=make, settings=Settings(), themes_dirs=[REPO_ROOT / "themes"],
                   watch_files=False)
    async with app.run_test(size=(120, 34)) as pilot:
        while app.controller.state.store_status != "connected":
            await pilot.pause(0.05)
        await pilot.pause(0.5)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await pilot.press(*"go", "enter")
        while not app.main_screen.busy:
            await pilot.pause(0.01)
        while app.main_screen.busy:
            await pilot.pause(0.05)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        pieces = max(1, len(app.controller.state.turns[-1].content) // 4)
        print(f"pieces={pieces} wall={wall:.2f}s cpu={cpu:.2f}s cpu_per_piece={cpu / pieces * 1000:.2f}ms")


def main() -> None:
    from secantus import SecantusDBServer

    words = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.02
    with tempfile.TemporaryDirectory() as tmp:
        server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=str(Path(tmp) / "data"))
        server.start()
        try:
            host, port = server.address
            store = Store.connect(f"mongodb://{host}:{port}/?directConnection=true", "bench")
            store.ensure_schema()
            asyncio.run(run(store, words, delay))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
