"""Shared output for listing commands: JSON, or a one-line note when there is nothing."""

from __future__ import annotations

import json
from typing import Any


def rows_or_note(rows: list[Any], as_json: bool, empty: str) -> bool:
    """Print ``rows`` as JSON or ``empty`` when there are none; True if the caller prints a table."""
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return False
    if not rows:
        print(empty)
        return False
    return True
