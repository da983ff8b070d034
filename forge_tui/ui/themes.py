"""Themes as data files: ``themes/*.toml`` -> ``textual.theme.Theme``.

Every problem is collected (file + reason) instead of raised, so one broken
file never hides the others; the app shows the collected failures once.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Iterable

from textual.theme import Theme

_THEME_KEYS = {f.name for f in fields(Theme)}
_COLOR_KEYS = {"primary", "secondary", "warning", "error", "success", "accent",
               "foreground", "background", "surface", "panel", "boost"}


@dataclass
class ThemeLoad:
    themes: dict[str, Theme] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def theme_from_file(path: Path) -> Theme:
    """Parse one theme file; raises ValueError with a message naming the file and the fix."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}. Fix the TOML syntax and save again.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read ({exc}).") from None
    data.setdefault("name", path.stem)
    unknown = set(data) - _THEME_KEYS
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; allowed: "
                         f"{', '.join(sorted(_THEME_KEYS))}.")
    if "primary" not in data:
        raise ValueError(f"{path}: a theme needs at least `primary = \"#RRGGBB\"`.")
    from textual.color import Color, ColorParseError

    for key in _COLOR_KEYS & set(data):
        try:
            Color.parse(data[key])
        except (ColorParseError, TypeError, ValueError):
            raise ValueError(f"{path}: {key} = {data[key]!r} is not a colour (use \"#RRGGBB\").") from None
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ValueError(f"{path}: [variables] must map names to strings.")
    return Theme(**data)


def load_themes(dirs: Iterable[Path]) -> ThemeLoad:
    """Load every ``*.toml`` in ``dirs`` (later dirs override earlier ones by theme name)."""
    result = ThemeLoad()
    for directory in dirs:
        directory = Path(directory)
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                theme = theme_from_file(path)
            except ValueError as exc:
                result.errors.append(str(exc))
                continue
            result.themes[theme.name] = theme
    return result
