"""Write archives as YAML in the spec's field order (stable, diff-friendly)."""

from __future__ import annotations

from typing import Any

import yaml

from forge_tui.protocol.spec import ARCHIVE_SPEC, ObjectSpec


def _ordered(spec: ObjectSpec, data: dict) -> dict:
    out: dict[str, Any] = {}
    for f in spec.fields:
        if f.name not in data or data[f.name] is None:
            continue
        value = data[f.name]
        if f.kind == "object" and f.item is not None and isinstance(value, dict):
            value = _ordered(f.item, value)
        elif f.kind == "list_object" and f.item is not None and isinstance(value, list):
            value = [_ordered(f.item, v) if isinstance(v, dict) else v for v in value]
        elif f.kind == "list_str" and isinstance(value, list):
            value = _FlowList(value)
        out[f.name] = value
    for key, value in data.items():  # unknown keys last, so nothing is silently dropped
        if key not in out:
            out[key] = value
    return out


class _FlowList(list):
    """A list of short strings, written on one line (``sources: [m3, m9]``)."""


class _Dumper(yaml.SafeDumper):
    """Block style; multi-line strings as literal blocks; never anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not value.endswith((" ", "\t")) and "\r" not in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)
_Dumper.add_representer(
    _FlowList, lambda dumper, value: dumper.represent_sequence("tag:yaml.org,2002:seq", list(value), flow_style=True))


def dump_yaml(spec: ObjectSpec, data: dict) -> str:
    return yaml.dump(_ordered(spec, data), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def dump_archive(archive: dict) -> str:
    """The archive as YAML text, fields in schema order."""
    return dump_yaml(ARCHIVE_SPEC, archive)
