"""Writing an export to a file: the one path `forge export -o FILE` and the app's export screen share.

The text comes from ``export_conversation`` (a conversation as md/json/yaml, an archive as YAML);
the file is written atomically with mode 0600 (``write_private``). A missing folder, a folder
given as the file, or an existing file the caller did not agree to replace is an ``ExportError``
naming the fix, and nothing is written.
"""

from __future__ import annotations

from pathlib import Path

from forge_tui.domain.models import Conversation
from forge_tui.export.formats import FORMATS, ExportError, export_conversation
from forge_tui.store.private_files import write_private
from forge_tui.store.repository import Store

#: what an archive exports as (its own format): ``forge export ARCHIVE_ID`` writes YAML whatever ``--format``
ARCHIVE_FORMATS = ("yaml",)


def check_target(path: str | Path, *, overwrite: bool) -> Path:
    """``path`` expanded, once it is known that an export may be written there."""
    target = Path(path).expanduser()
    if not str(path).strip():
        raise ExportError("no file given; type a path to write the export to.")
    if target.is_dir():
        raise ExportError(f"{target} is a folder; add a file name, e.g. {target / 'conversation.md'}.")
    if not target.parent.is_dir():
        raise ExportError(f"the folder {target.parent} does not exist; create it first or pick another path.")
    if target.exists() and not overwrite:
        raise ExportError(f"{target} already exists; confirm to overwrite it, or pick another name.")
    return target


def write_export(store: Store, ident: str, fmt: str, path: str | Path, *, overwrite: bool = False) -> Path:
    """Export conversation or archive ``ident`` as ``fmt`` into the file ``path`` (0600); returns the path.
    ``overwrite=False`` refuses an existing file."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}.")
    target = check_target(path, overwrite=overwrite)
    text = export_conversation(store, ident, fmt)
    try:
        write_private(target, text)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror}.") from None
    return target


def archive_of(store: Store, conversation: Conversation) -> str | None:
    """The archive "Export archive" means for a conversation: the newest one it was compressed
    into, else the one it continues from; ``None`` when it has neither."""
    edges = store.edges_from(conversation.id, "compressed_into")
    if edges:
        return str(max(edges, key=lambda e: str(e.get("created_at") or ""))["dst"])
    return conversation.archive_context
