"""Watch ``models.toml`` and the theme folders for edits (watchfiles, on a worker thread).

Folders are watched rather than files: editors often save by replacing the file,
which would end a watch on the file itself.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from watchfiles import Change, watch


@dataclass(frozen=True)
class ConfigChanged:
    models: bool
    themes: bool


def watch_config(models_file: Path | None, theme_dirs: list[Path], stop: threading.Event,
                 debounce_ms: int = 150) -> Iterator[ConfigChanged]:
    """Yield one ``ConfigChanged`` per burst of edits until ``stop`` is set."""
    models_file = models_file.resolve() if models_file else None
    theme_dirs = [d.resolve() for d in theme_dirs if d.is_dir()]
    roots = {d for d in theme_dirs}
    if models_file is not None and models_file.parent.is_dir():
        roots.add(models_file.parent)
    if not roots:
        return

    def relevant(change: Change, path: str) -> bool:
        p = Path(path)
        return p == models_file or (p.suffix == ".toml" and p.parent in theme_dirs)

    for changes in watch(*sorted(roots), watch_filter=relevant, stop_event=stop,
                         debounce=debounce_ms, step=50, recursive=False, yield_on_timeout=False):
        paths = {Path(p) for _, p in changes}
        yield ConfigChanged(models=models_file in paths, themes=any(p.parent in theme_dirs for p in paths))
