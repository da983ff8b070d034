"""Compression service: conversation -> validated YAML archive -> new conversation, with lineage."""

from forge_tui.compression.lineage import lineage
from forge_tui.compression.pasted import PasteLinks, link_pasted_archives
from forge_tui.compression.service import (
    CompressionError,
    CompressionResult,
    archive_context_messages,
    compress,
    continue_from,
    import_archive,
    list_archives,
    load_archive,
)

__all__ = [
    "CompressionError",
    "CompressionResult",
    "archive_context_messages",
    "compress",
    "continue_from",
    "import_archive",
    "lineage",
    "list_archives",
    "link_pasted_archives",
    "PasteLinks",
    "load_archive",
]
