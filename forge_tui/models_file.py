"""Adding a model to ``models.toml`` (``forge models add``, the model picker's add key).

The entry is appended as text, so the user's comments and layout stay; the new
file is parsed (the same ``parse_models`` Forge reads it with) before it
replaces the old one atomically, so a failed add leaves the file as it was.
The repository's own models.toml is never edited: the first add copies it to
the user's config dir.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Mapping

from forge_tui.config import REPO_ROOT, ConfigError, ModelsConfig, Paths, parse_models

_NAME = re.compile(r"[A-Za-z0-9_-]+")


def writable_models_file(paths: Paths) -> Path:
    """Where an added entry goes: ``$FORGE_MODELS``, else ``<config dir>/models.toml``."""
    env = os.environ.get("FORGE_MODELS")
    return Path(env).expanduser() if env else paths.config_dir / "models.toml"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid TOML basic string


def add_model(paths: Paths, name: str, entry: Mapping[str, object]) -> tuple[Path, ModelsConfig]:
    """Append ``[models.NAME]`` with ``entry``'s keys; returns the file and the new configuration.

    Raises ``ConfigError`` (file unchanged) for a bad name, a name already taken, or an entry
    that does not parse.
    """
    if not _NAME.fullmatch(name):
        raise ConfigError(f"'{name}' cannot be a model name: use letters, digits, '-' and '_'.")
    target = writable_models_file(paths)
    source = target if target.exists() else REPO_ROOT / "models.toml"
    text = source.read_text(encoding="utf-8") if source.exists() else ""
    current = parse_models(text, source) if text.strip() else None
    if current is not None and name in current.models:
        raise ConfigError(f"{source} already has [models.{name}]; pick another name or edit the entry.")
    block = f"\n[models.{name}]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in entry.items() if v != "")
    new_text = text.rstrip("\n") + "\n" + block if text.strip() else f'default = "{name}"\n' + block
    config = parse_models(new_text, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".models-", suffix=".toml", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(new_text)
        os.replace(tmp, target)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target, config
