"""Exports: conversations as Markdown (for reading), JSON/YAML transcripts (which
``forge import transcript`` reads back to the same turns) and archives as YAML."""

from forge_tui.export.formats import (
    FORMATS,
    ExportError,
    ExportSummary,
    export_all,
    export_archive,
    export_conversation,
    transcript_payload,
)

__all__ = [
    "FORMATS",
    "ExportError",
    "ExportSummary",
    "export_all",
    "export_archive",
    "export_conversation",
    "transcript_payload",
]
