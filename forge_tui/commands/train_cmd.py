"""`forge train lora|eval`: LoRA adapters trained on your own history, and how they score.

    forge train lora --task compression [--project P] [--base MODEL] [--steps N | --epochs E]
                     [--rank R] [--out NAME] [--resume]
    forge train eval --task compression [--adapter NAME] [--base MODEL] [--limit N] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading

from forge_tui.domain.models import Task

TASKS = [t.value for t in Task]


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help="fine-tune LoRA adapters on your history and evaluate them")
    kinds = p.add_subparsers(dest="train_kind", metavar="KIND", required=True)
    lora = kinds.add_parser("lora", help="train a LoRA adapter for one task and register it in models.toml")
    lora.add_argument("--task", required=True, choices=TASKS)
    lora.add_argument("--project", default=argparse.SUPPRESS, help="only this project's history (default: all)")
    lora.add_argument("--base", help="base model name in models.toml (default: the default model)")
    amount = lora.add_mutually_exclusive_group()
    amount.add_argument("--steps", type=int, help="optimizer steps")
    amount.add_argument("--epochs", type=float, help="passes over the training examples (default 3)")
    lora.add_argument("--rank", type=int, default=8, help="LoRA rank (default 8)")
    lora.add_argument("--lr", type=float, default=2e-4, help="learning rate (default 2e-4)")
    lora.add_argument("--batch-size", type=int, default=4)
    lora.add_argument("--max-len", type=int, default=256, help="tokens per example (default 256)")
    lora.add_argument("--scale", type=float, default=1.0, help="adapter scale written to models.toml")
    lora.add_argument("--out", help="adapter name (default MODEL-TASK)")
    lora.add_argument("--resume", action="store_true", help="continue the last stopped run of this adapter")
    lora.set_defaults(func=cmd_train_lora)
    ev = kinds.add_parser("eval", help="base model vs adapter on the held-out examples, side by side")
    ev.add_argument("--task", required=True, choices=TASKS)
    ev.add_argument("--adapter", help="adapter name or .gguf path (default: the one registered for the task)")
    ev.add_argument("--base", help="base model name in models.toml (default: the default model)")
    ev.add_argument("--project", default=argparse.SUPPRESS, help="only this project's history (default: all)")
    ev.add_argument("--limit", type=int, default=20, help="at most N held-out examples (default 20)")
    ev.add_argument("--max-tokens", type=int, default=256, help="reply budget per example (default 256)")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=cmd_train_eval)


def _fail(message: str) -> int:
    print(f"forge: {message}", file=sys.stderr)
    return 2


def _check_numbers(args) -> str | None:
    for flag, value in (("--steps", args.steps), ("--rank", args.rank), ("--batch-size", args.batch_size),
                        ("--max-len", args.max_len)):
        if value is not None and value < 1:
            return f"{flag} must be at least 1, got {value}."
    if args.epochs is not None and not args.epochs > 0:
        return f"--epochs must be positive, got {args.epochs}."
    if args.max_len < 32:
        return f"--max-len must be at least 32 tokens, got {args.max_len}."
    return None


def _fmt_eta(seconds: float) -> str:
    if math.isnan(seconds):
        return "…"
    m, s = divmod(int(seconds + 0.5), 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"


class StepPrinter:
    """Progress bar with loss and ETA; starts at the resumed step."""

    def __init__(self, label: str):
        self.label = label
        self.bar = None
        self.first = 0

    def __call__(self, report) -> None:
        from forge_tui.commands.progress import Progress

        if self.bar is None:
            self.bar = Progress(report.total, self.label)
            self.first = report.step - 1
            self.bar.done = self.first
        self.bar.advance(report.step - self.bar.done,
                         note=f"loss {report.loss:.3f} · ETA {_fmt_eta(report.eta_s(self.first))}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_train_lora(args, ctx) -> int:
    problem = _check_numbers(args)
    if problem:
        return _fail(problem)
    from forge_tui.training.errors import TrainingError, TrainingStopped, require_train_stack

    try:
        require_train_stack()
    except TrainingError as exc:
        return _fail(str(exc))
    from forge_tui.training.service import TrainOptions, train_adapter

    options = TrainOptions(
        task=Task(args.task), base=args.base, project=getattr(args, "project", None), steps=args.steps,
        epochs=args.epochs, rank=args.rank, learning_rate=args.lr, batch_size=args.batch_size,
        max_len=args.max_len, out=args.out, resume=args.resume, scale=args.scale,
    )
    cancel = threading.Event()

    def on_sigint(_signum, _frame) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        print("\nstopping after this step and saving a checkpoint (Ctrl+C again to abort at once)…", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_sigint)
    printer = StepPrinter(f"train {args.task}")
    try:
        report = train_adapter(ctx.store(), ctx.models(), ctx.paths, options,
                               on_status=lambda text: print(text, file=sys.stderr), on_step=printer, cancel=cancel)
    except TrainingStopped as stop:
        printer.close()
        print(f"Stopped at step {stop.step}/{stop.total}; nothing was registered. Continue with: "
              f"forge train lora --task {args.task} --resume (same options).", file=sys.stderr)
        return 130
    except TrainingError as exc:
        printer.close()
        return _fail(str(exc))
    finally:
        signal.signal(signal.SIGINT, previous)
    printer.close()
    first, last = (report.losses[0], report.losses[-1]) if report.losses else (math.nan, math.nan)
    print(f"Adapter {report.name}: {report.adapter_path} ({report.adapter_bytes / 1e6:.1f} MB)")
    print(f"  task {report.task.value} on {report.model}; {report.train_examples} training, "
          f"{report.held_out_examples} held-out examples")
    print(f"  {report.steps} steps, loss {first:.3f} → {last:.3f}, {report.seconds_per_step:.2f} s/step, "
          f"{report.tokens / max(report.seconds, 1e-9):.0f} tokens/s")
    print(f"  registered as [models.{report.model}].adapters.{report.task.value} in {report.registered_in}")
    print(f"Compare with the base model: forge train eval --task {report.task.value}")
    return 0


def cmd_train_eval(args, ctx) -> int:
    if args.limit < 1 or args.max_tokens < 1:
        return _fail("--limit and --max-tokens must be at least 1.")
    from forge_tui.training.errors import TrainingError
    from forge_tui.training.evaluate import evaluate_adapter

    try:
        result = evaluate_adapter(ctx.store(), ctx.models(), ctx.paths, Task(args.task), make_engine=ctx.engine_for,
                                  adapter=args.adapter,
                                  base=args.base, project=getattr(args, "project", None), limit=args.limit,
                                  max_tokens=args.max_tokens, on_status=lambda t: print(t, file=sys.stderr))
    except TrainingError as exc:
        return _fail(str(exc))
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        for line in result.lines():
            print(line)
    return 0
