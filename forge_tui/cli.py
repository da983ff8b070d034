"""Composition root: parses the command line, builds services, runs the app or a subcommand.

``forge`` alone opens the full-screen app; ``forge SUBCOMMAND`` runs a scripting
companion (subcommands live in ``forge_tui/commands/`` and are discovered).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from forge_tui import __version__
from forge_tui.config import ConfigError


def _discover_commands(subparsers) -> None:
    import forge_tui.commands as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"forge_tui.commands.{info.name}")
        add = getattr(module, "add_parser", None)
        if add is not None:
            add(subparsers)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="forge", description="Forge: a local-first LLM workbench.")
    parser.add_argument("--version", action="version", version=f"forge {__version__}")
    parser.add_argument("--data-dir", help="where Forge keeps its data (default: platformdirs; env FORGE_DATA_DIR)")
    parser.add_argument("--mongo-uri", help="use this MongoDB server instead of the embedded one (env FORGE_MONGO_URI)")
    parser.add_argument("--model", help="model name from models.toml to start with")
    parser.add_argument("--project", help="project to start in (default: 'default')")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _discover_commands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from forge_tui.services import Services
    from forge_tui.store.errors import StoreError

    services = Services.from_args(args.data_dir, args.mongo_uri)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if getattr(args, "func", None) is None:
            return run_app(services, args)
        return int(args.func(args, services) or 0)
    except (ConfigError, StoreError) as exc:
        print(f"forge: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        services.close()


def run_app(services, args) -> int:
    """Open the full-screen app. Models and the store load in the background."""
    from forge_tui.app_factory import build_app

    # Textual owns the terminal (it draws on stderr): logs go to a file instead
    from forge_tui.store.private_files import open_private, private_dir

    log_file = private_dir(services.paths.log_dir) / "forge.log"
    open_private(log_file).close()  # created 0600 before logging appends to it
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    app = build_app(services, model=args.model, project=args.project)
    app.run()
    return app.return_code or 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
