"""The controller's exports: a conversation (Markdown, JSON, YAML) or its archive (YAML) into a file.

Mixed into ``SessionController``. Two steps, both on the worker: ``offer_export`` finds what
would be written (the conversation, or the archive it was last compressed into — else the one
it continues from) and answers ``ExportOffered`` for the UI's export screen; ``export`` writes
it through ``export.write_export``, the same code as ``forge export -o FILE``, and answers
``ExportWritten`` (or a notice saying why nothing was written).
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any, Callable

from forge_tui.domain.models import Conversation
from forge_tui.export import ARCHIVE_FORMATS, FORMATS, ExportError, archive_of, export_stem, write_export
from forge_tui.session import events as ev
from forge_tui.store.repository import Store

EXPORT_KINDS = ("conversation", "archive")


class ExportCommands:
    """Mixed into ``SessionController`` (which defines what is declared here)."""

    _conversation: Conversation
    _saved: bool
    emit: Callable[[ev.Event], None]
    _submit: Callable[..., Future[Any] | None]
    _require_store: Callable[[], Store]

    def offer_export(self, kind: str, conv_id: str | None = None) -> Future[Any] | None:
        """Find what exporting ``kind`` of ``conv_id`` (default: the open conversation) writes."""
        if kind not in EXPORT_KINDS:
            raise ValueError(f"unknown export kind {kind!r}")
        return self._submit(self._offer_export, kind, conv_id)

    def export(self, kind: str, target_id: str, fmt: str, path: str, *, overwrite: bool = False,
               conv_id: str | None = None) -> Future[Any] | None:
        """Write ``target_id`` as ``fmt`` to ``path`` (0600); an existing file only with ``overwrite``."""
        return self._submit(self._export, kind, target_id, fmt, path, overwrite, conv_id or target_id)

    def _offer_export(self, kind: str, conv_id: str | None) -> None:
        target = conv_id or (self._conversation.id if self._saved else None)
        if target is None:
            self.emit(ev.Notice("Nothing to export yet: this conversation is not stored until its first message.",
                                "warning"))
            return
        conv = self._require_store().get_conversation(target)
        if conv is None:
            self.emit(ev.Notice("That conversation is not in the store (yet): try again in a moment.", "warning"))
            return
        title = conv.title or "untitled"
        if kind == "conversation":
            self.emit(ev.ExportOffered(conv.id, kind, conv.id, f"'{title}' ({conv.turn_count} turns)", FORMATS,
                                       export_stem(title, conv.id)))
            return
        archive_id = archive_of(self._require_store(), conv)
        if archive_id is None:
            self.emit(ev.Notice(f"'{title}' has no archive yet: f5 compresses it into one.", "warning"))
            return
        self.emit(ev.ExportOffered(conv.id, kind, archive_id, f"archive {archive_id[:8]} of '{title}'",
                                   ARCHIVE_FORMATS, export_stem(f"{title} archive", archive_id)))

    def _export(self, kind: str, target_id: str, fmt: str, path: str, overwrite: bool, conv_id: str) -> None:
        try:
            written = write_export(self._require_store(), target_id, fmt, path, overwrite=overwrite)
        except ExportError as exc:
            self.emit(ev.Notice(f"Not exported: {exc}", "warning"))
            return
        self.emit(ev.ExportWritten(conv_id, kind, target_id, fmt, str(written)))
