"""Files only their owner can read: 0700 folders, 0600 files, whatever the umask.

Forge's data dir holds every conversation, the database files, logs and the
database password. The process umask is often 022 (world-readable files), so
modes are set explicitly here rather than inherited.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: str | Path) -> Path:
    """Create ``path`` (and missing parents) as 0700; tighten it if it already exists."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    _chmod(path, DIR_MODE)
    return path


def open_private(path: str | Path, mode: str = "a", **kwargs):
    """``open()`` for a file that must be 0600 (created so, tightened if it exists)."""
    path = Path(path)
    flags = os.O_WRONLY | os.O_CREAT
    if "a" in mode:
        flags |= os.O_APPEND
    elif "w" in mode:
        flags |= os.O_TRUNC
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, mode, **kwargs)


def write_private(path: str | Path, text: str) -> None:
    """Write ``text`` atomically into a 0600 file (a temp file renamed over it)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open_private(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def tighten_tree(root: str | Path) -> None:
    """Make an existing tree private: folders 0700, files 0600 (data dirs made before
    Forge set modes, or files a server created under a permissive umask)."""
    root = Path(root)
    if not root.exists():
        return
    _chmod(root, DIR_MODE)
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            _chmod(Path(folder) / name, DIR_MODE)
        for name in files:
            _chmod(Path(folder) / name, FILE_MODE)


def _chmod(path: Path, mode: int) -> None:
    try:
        if not path.is_symlink():
            os.chmod(path, mode)
    except (FileNotFoundError, PermissionError):
        return  # a file that vanished meanwhile, or one we do not own: nothing to tighten
