"""CLI subcommands. Each module exposes ``add_parser(subparsers)`` that sets
``func=handler`` where ``handler(args, ctx) -> int``; ``ctx`` is the
``forge_tui.services.Services`` built by the composition root. Modules here
must not import Textual or Rich (they are below the UI layer); the progress bar
is plain text (``forge_tui.commands.progress``).

New modules are discovered automatically (no central list to edit).
"""
