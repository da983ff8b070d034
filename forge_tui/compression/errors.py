"""The compression feature's error (its own module: the service and the archive store both raise it)."""

from __future__ import annotations


class CompressionError(Exception):
    """Compression failed; ``partial`` keeps whatever the model wrote, for inspection."""

    def __init__(self, message: str, partial: str = ""):
        super().__init__(message)
        self.partial = partial
