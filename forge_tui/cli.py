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
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        message = user_error(exc)
        if message is None:
            raise  # a bug, not a user mistake: the traceback is the report
        print(f"forge: {message}", file=sys.stderr)
        return 2
    finally:
        services.close()


def user_error(exc: BaseException) -> str | None:
    """One line for an error the user can fix (bad input, a model that cannot load, an
    unreachable database), or None for a bug. The one place every command's errors
    are turned into ``forge: ...`` and exit status 2."""
    from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

    from forge_tui.compression.service import CompressionError
    from forge_tui.engine.chat_template import ChatTemplateError
    from forge_tui.engine.llama_engine import EngineError
    from forge_tui.engine.model_files import ModelFileError
    from forge_tui.export.formats import ExportError
    from forge_tui.importers.legacy_mongo import LegacyImportError
    from forge_tui.importers.model import ImportInputError
    from forge_tui.knowledge.errors import KnowledgeError
    from forge_tui.protocol.validate import ArchiveError
    from forge_tui.search.embedder import EmbedderError
    from forge_tui.search.migration import MigrationError
    from forge_tui.store.errors import StoreError
    from forge_tui.training.errors import TrainingError

    explained = (ConfigError, TrainingError, StoreError, ImportInputError, LegacyImportError, ExportError, ArchiveError,
                 CompressionError, KnowledgeError, MigrationError, EmbedderError, ModelFileError, EngineError,
                 ChatTemplateError)
    if isinstance(exc, explained):
        return _one_line(exc)
    if isinstance(exc, ConnectionFailure):
        return f"lost the connection to the database ({_one_line(exc)[:160]}); check that it is running and try again."
    if isinstance(exc, OperationFailure) and exc.code in (13, 18):
        return f"the database refused Forge's login ({_one_line(exc)}); check the user and password of the MongoDB URI."
    if isinstance(exc, PyMongoError):
        return f"the database refused the operation: {_one_line(exc)}"
    if isinstance(exc, BrokenPipeError):
        return "output closed early (a pipe ended)."
    return None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:400] if text else type(exc).__name__


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
