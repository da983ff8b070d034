"""Register a trained adapter in ``models.toml``: ``adapters.TASK = { path, scale }`` under the base model.

The file is edited as text (comments and layout survive), the result is parsed with the
same parser Forge loads it with before anything is written, and it is replaced atomically.
The packaged default ``models.toml`` is never edited: the first registration copies it to
the user's config directory (where Forge looks first).
"""

from __future__ import annotations

import re
from pathlib import Path

from forge_tui.config import REPO_ROOT, ConfigError, parse_models
from forge_tui.domain.models import Task
from forge_tui.training.errors import TrainingError


def registration_target(models_file: Path, config_dir: Path) -> Path:
    """Where a registration is written: the user's models.toml, never the packaged one."""
    if Path(models_file).resolve() == (REPO_ROOT / "models.toml").resolve():
        return Path(config_dir) / "models.toml"
    return Path(models_file)


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _table_re(model: str, suffix: str = "") -> re.Pattern[str]:
    name = re.escape(model)
    return re.compile(rf"^\s*\[\s*models\s*\.\s*(?:{name}|\"{name}\")\s*{re.escape(suffix)}\s*\]\s*(#.*)?$")


def with_adapter(text: str, model: str, task: Task, adapter_path: str, scale: float) -> str:
    """``text`` with ``adapters.TASK`` of ``[models.MODEL]`` set (added or replaced)."""
    lines = text.splitlines()
    value = f"{{ path = {_toml_str(adapter_path)}, scale = {float(scale)!r} }}"
    sub = next((i for i, ln in enumerate(lines) if _table_re(model, ".adapters").match(ln)), None)
    if sub is not None:  # a [models.NAME.adapters] table exists: the key goes there
        start, key = sub, re.escape(task.value)
        entry = f"{task.value} = {value}"
    else:
        start = next((i for i, ln in enumerate(lines) if _table_re(model).match(ln)), None)
        if start is None:
            raise TrainingError(f"models.toml has no [models.{model}] table to register the adapter under.")
        key = rf"adapters\s*\.\s*{re.escape(task.value)}"
        entry = f"adapters.{task.value} = {value}"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    body = [ln for ln in lines[start + 1 : end] if not re.match(rf"^\s*{key}\s*=", ln)]
    last = max((i for i, ln in enumerate(body) if ln.strip() and not ln.lstrip().startswith("#")), default=-1)
    body.insert(last + 1, entry)
    out = lines[: start + 1] + body + lines[end:]
    return "\n".join(out) + "\n"


def register_adapter(models_file: Path, config_dir: Path, model: str, task: Task, adapter_path: Path,
                     scale: float = 1.0) -> Path:
    """Add the adapter to the user's models.toml; returns the file written."""
    source = Path(models_file)
    target = registration_target(source, config_dir)
    text = (target if target.exists() else source).read_text(encoding="utf-8")
    new_text = with_adapter(text, model, task, str(adapter_path), scale)
    try:
        parsed = parse_models(new_text, target)
    except ConfigError as exc:
        raise TrainingError(f"registering the adapter would break {target}: {exc}") from None
    if task not in parsed.get(model).adapters:
        raise TrainingError(f"could not register the adapter in {target}: edit [models.{model}] by hand, adding "
                            f"adapters.{task.value} = {{ path = \"{adapter_path}\", scale = {scale} }}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    try:
        tmp.write_text(new_text, encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise TrainingError(f"cannot write {target}: {exc.strerror or exc}.") from None
    return target
