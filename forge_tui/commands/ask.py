"""`forge ask "…"`: one prompt from the shell, streamed to stdout and stored like a TUI turn.

The same SessionController as the app does the work, so the turns are written
the same way (user turn first, the reply as it streams, a final status) and
are searchable and compressible afterwards. Piped stdin is appended to the
prompt (`git diff | forge ask "review this"`). Any failure is one line on
stderr and exit 2; Ctrl-C cancels the reply (kept as ``cancelled``), exit 130.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import Any

from forge_tui.commands.sessions import resolve_conversation
from forge_tui.domain.models import TurnStatus
from forge_tui.session import events as ev

#: how long to wait for a model to load (a large GGUF from a cold disk can take a while)
LOAD_TIMEOUT_S = 600


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("ask", help="one prompt from the shell; the reply streams to stdout and is stored")
    p.add_argument("prompt", nargs="?", default="", help="the prompt (stdin, when piped, is appended)")
    # SUPPRESS: `forge --model M ask` and `forge ask --model M` both work
    p.add_argument("--model", default=argparse.SUPPRESS, help="model name from models.toml")
    p.add_argument("--project", default=argparse.SUPPRESS, help="project for a new conversation")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--continue", dest="continue_", action="store_true",
                       help="continue the project's most recent conversation")
    where.add_argument("--conversation", help="continue this conversation (id or unique prefix)")
    p.add_argument("--system", help="a system instruction, stored with the conversation")
    p.add_argument("--json", action="store_true", help="print one JSON object at the end instead of streaming")
    p.set_defaults(func=cmd_ask)


def _fail(message: str) -> int:
    print(f"forge ask: {message}", file=sys.stderr)
    return 2


def read_prompt(prompt: str, stdin: Any) -> str:
    """The prompt, with piped stdin appended (a terminal's stdin is left alone)."""
    piped = "" if stdin is None or stdin.isatty() else stdin.read()
    parts = [p for p in (prompt.strip(), piped.strip()) if p]
    return "\n\n".join(parts)


def cmd_ask(args, ctx) -> int:
    from forge_tui.session.controller import SessionController

    text = read_prompt(args.prompt, sys.stdin)
    if not text:
        return _fail('nothing to ask: give a prompt (`forge ask "..."`) or pipe text in.')
    settings, models = ctx.settings(), ctx.models()
    model = getattr(args, "model", None)
    models.get(model)  # an unknown name is a ConfigError: one line, exit 2
    if getattr(args, "project", None):
        settings.project = args.project
    finished: list[ev.ReplyFinished] = []
    failures: list[str] = []
    done = threading.Event()

    printed = [0]  # characters of the reply on stdout: each is printed once it is stored

    def emit(event: ev.Event) -> None:
        if isinstance(event, ev.ReplyChunk) and not args.json:
            sys.stdout.write(event.text)
            sys.stdout.flush()
            printed[0] += len(event.text)
        elif isinstance(event, ev.ReplyFinished):
            if not args.json:
                sys.stdout.write(event.turn.content[printed[0]:])
                sys.stdout.flush()
            finished.append(event)
            done.set()
        elif isinstance(event, ev.StateChanged) and event.state.store_status == "failed":
            failures.append(event.state.store_message or "the database is not reachable.")
        elif isinstance(event, ev.Notice) and event.level == "error":
            failures.append(event.message)
        elif isinstance(event, ev.ContextOverflowed):  # no one to ask here: nothing is written or sent
            fix = ("Compress the conversation (`forge compress ID`) and continue from the archive (`forge continue`)"
                   if event.overflow.drop_turns is not None else "The message alone is too long: shorten it")
            failures.append(f"{event.overflow.explain()} {fix}, or pick a model with a larger n_ctx (--model).")

    controller = SessionController(store_link=ctx.store_link(), engine_factory=ctx.engine, models=models,
                                   settings=settings, emit=emit, model=model)
    try:
        return _run(args, ctx, controller, text, finished, failures, done)
    finally:
        controller.shutdown()


def _run(args, ctx, controller, text: str, finished: list, failures: list[str], done: threading.Event) -> int:
    started = controller.start()
    if started is not None:
        started.result()
    if failures:
        return _fail(failures[0])
    store = ctx.store()
    conv = None
    if args.conversation:
        conv = resolve_conversation(store, args.conversation)
        if conv is None:
            return 2
    elif args.continue_:
        project = controller.state.project
        recent = store.list_conversations(project=project, limit=1)
        if not recent:
            return _fail(f"project '{project}' has no conversation to continue; drop --continue.")
        conv = recent[0]
    assert controller.engine is not None
    try:
        controller.engine.wait_ready(LOAD_TIMEOUT_S)
    except Exception as exc:  # an EngineError names the fix; anything else is shown as it is
        return _fail(f"model '{controller.state.model}' is not usable (nothing was stored): {exc}")
    if conv is not None:
        opened = controller.open_conversation(conv.id)
        if opened is not None:
            opened.result()
    if not controller.send(text, system=args.system):
        return _fail(failures[0] if failures else "the prompt was refused.")
    try:
        while not done.wait(0.1):  # the reply is announced once its final text is stored
            if failures and not controller.busy:
                break
    except KeyboardInterrupt:
        controller.cancel()
        done.wait(10)
    if not finished:
        return _fail(failures[0] if failures else "no reply was produced.")
    return _report(args, controller, finished[-1])


def _report(args, controller, event: ev.ReplyFinished) -> int:
    turn = event.turn
    ok = turn.status in (TurnStatus.COMPLETE, TurnStatus.TRUNCATED)  # truncated: the note goes to stderr
    if args.json:
        print(json.dumps({
            "conversation_id": turn.conversation_id, "turn_id": turn.id, "model": turn.model,
            "engine": turn.engine, "status": turn.status.value, "finish": event.finish, "text": turn.content,
            "usage": turn.usage, "error": event.message,
        }, ensure_ascii=False))
    else:
        if turn.content and not turn.content.endswith("\n"):
            print()
        if event.message:
            print(f"forge ask: {event.message}", file=sys.stderr)
    if turn.status is TurnStatus.CANCELLED:
        return 130
    return 0 if ok and event.finish != "context" else 2
