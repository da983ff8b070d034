"""Exports: conversations as Markdown (for reading), JSON/YAML transcripts (which
``forge import transcript`` reads back to the same turns) and archives as YAML."""

from forge_tui.export.formats import (
    FORMATS,
    ExportError,
    ExportSummary,
    export_all,
    export_archive,
    export_conversation,
    export_filename,
    export_stem,
    transcript_payload,
)
from forge_tui.export.files import ARCHIVE_FORMATS, archive_of, check_target, write_export

__all__ = [
    "ARCHIVE_FORMATS",
    "archive_of",
    "check_target",
    "export_filename",
    "export_stem",
    "write_export",
    "FORMATS",
    "ExportError",
    "ExportSummary",
    "export_all",
    "export_archive",
    "export_conversation",
    "transcript_payload",
]
