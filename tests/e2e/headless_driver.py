"""A real Forge session without a screen: the composition root's Services, the
SessionController and the llama.cpp engine. Prints each event as a JSON line so
a test can watch what a user would have seen, then SIGKILL the process."""

import json
import sys
import threading

from forge_tui.services import Services
from forge_tui.session import events as ev
from forge_tui.session.controller import SessionController


def main(data_dir: str, prompt: str) -> None:
    services = Services.from_args(data_dir)
    settings = services.settings()
    settings.max_reply_tokens = 4000
    done = threading.Event()

    def emit(event):
        if isinstance(event, ev.ReplyChunk):
            print(json.dumps({"event": "chunk", "text": event.text}), flush=True)
        elif isinstance(event, ev.TurnPersisted):
            print(json.dumps({"event": "user", "id": event.turn.id}), flush=True)
        elif isinstance(event, ev.ReplyStarted):
            print(json.dumps({"event": "reply", "id": event.turn.id}), flush=True)
        elif isinstance(event, ev.ReplyFinished):
            print(json.dumps({"event": "finished"}), flush=True)
            done.set()
        elif isinstance(event, ev.StateChanged) and "failed" in (event.state.model_status, event.state.store_status):
            message = event.state.model_message or event.state.store_message
            print(json.dumps({"event": "error", "message": message}), flush=True)
            done.set()

    controller = SessionController(
        store_link=services.store_link(), engine_factory=services.engine, models=services.models(),
        settings=settings, emit=emit,
    )
    controller.start().result()
    engine = controller.engine
    assert engine is not None
    engine.wait_ready()
    controller.send(prompt)
    done.wait()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
