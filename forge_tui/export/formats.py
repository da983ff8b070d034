"""Render conversations and archives to text.

The JSON (and YAML) shape is the transcript importer's object form,
``{title, project, created_at, updated_at, source, messages: [{role, content,
timestamp, ...}]}``, so an export re-imports to identical turns; ``source``
carries the original importer's identity, so re-importing into the same
database maps onto the same conversation instead of duplicating it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from forge_tui.domain.models import Conversation, SystemPrompt, Turn
from forge_tui.store.private_files import write_private
from forge_tui.store.repository import Store

FORMATS = ("md", "json", "yaml")
EXPORT_FORMAT = "forge-transcript/1"


class ExportError(Exception):
    """Nothing to export under that id, or a format Forge does not write."""


@dataclass
class ExportSummary:
    conversations: int = 0
    archives: int = 0
    files: list[Path] = field(default_factory=list)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def transcript_payload(conv: Conversation, turns: list[Turn],
                       system_prompt: SystemPrompt | None = None) -> dict[str, Any]:
    """The JSON/YAML export of one conversation (the transcript importer's object form), with the
    system prompt it runs under (``system_prompt``, and ``system_prompt_from``: conversation or project)."""
    source = dict(conv.source) if conv.source else {"kind": "forge", "id": conv.id}
    messages = []
    for t in turns:
        msg: dict[str, Any] = {"role": t.role.value, "content": t.content, "timestamp": _iso(t.created_at)}
        if t.source and t.source.get("id"):
            msg["source"] = dict(t.source)
        elif source.get("kind") == "forge":
            msg["id"] = t.id
        if t.labels:
            msg["labels"] = list(t.labels)
        if t.model:
            msg["model"] = t.model
        if t.status.value != "complete":
            msg["status"] = t.status.value
        messages.append(msg)
    payload: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "id": conv.id,
        "title": conv.title,
        "project": conv.project,
        "created_at": _iso(conv.created_at),
        "updated_at": _iso(conv.updated_at),
        "source": source,
    }
    if system_prompt is not None:
        payload["system_prompt"] = system_prompt.text
        payload["system_prompt_from"] = system_prompt.level
    payload["messages"] = messages
    return payload


def to_markdown(conv: Conversation, turns: list[Turn], system_prompt: SystemPrompt | None = None) -> str:
    lines = [f"# {conv.title or 'Untitled'}", ""]
    meta = [f"project: {conv.project}", f"id: {conv.id}"]
    if conv.created_at:
        meta.append(f"created: {conv.created_at:%Y-%m-%d %H:%M} UTC")
    lines += ["_" + " · ".join(meta) + "_", ""]
    if system_prompt is not None:
        source = "this conversation's own" if system_prompt.level == "conversation" else "the project's default"
        lines += [f"**System prompt** ({source}):", ""]
        lines += [f"> {line}".rstrip() for line in system_prompt.text.splitlines()] + [""]
    for t in turns:
        when = f" · {t.created_at:%Y-%m-%d %H:%M}" if t.created_at else ""
        status = f" · {t.status.value}" if t.status.value != "complete" else ""
        lines += [f"## {t.role.value.capitalize()}{when}{status}", "", t.content.rstrip(), ""]
    return "\n".join(lines).rstrip() + "\n"


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    literal = "\n" in value and not re.search(r"[ \t]\n|[ \t]$|\r", value)
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if literal else None)


_Dumper.add_representer(str, _str)


def to_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def _resolve_conversation(store: Store, ident: str) -> Conversation | None:
    conv = store.get_conversation(ident)
    if conv is not None:
        return conv
    matches = store.find_conversations(ident)
    if len(matches) > 1:
        raise ExportError(f"'{ident}' matches {len(matches)} conversations; give more characters.")
    return matches[0] if matches else None


def export_conversation(store: Store, conversation_id: str, fmt: str = "md") -> str:
    """One conversation (full id or unique prefix) as ``md``, ``json`` or ``yaml`` text.
    An archive id exports the archive as YAML whatever the format."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}.")
    conv = _resolve_conversation(store, conversation_id)
    if conv is None:
        if store.has_archive(conversation_id):
            return export_archive(store, conversation_id)
        raise ExportError(f"no conversation or archive with id '{conversation_id}'. `forge sessions` lists them.")
    turns = store.active_turns(conv.id)  # the branch on show; other versions stay in the store
    system_prompt = store.system_prompt_for(conv)
    if fmt == "md":
        return to_markdown(conv, turns, system_prompt)
    payload = transcript_payload(conv, turns, system_prompt)
    if fmt == "json":
        return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
    return to_yaml(payload)


def export_archive(store: Store, archive_id: str) -> str:
    """An archive document as YAML: its own YAML text when stored, else its data."""
    doc = store.get_archive(archive_id)
    if doc is None:
        raise ExportError(f"no archive with id '{archive_id}'.")
    text = doc.get("yaml") or doc.get("yaml_text")
    if isinstance(text, str) and text.strip():
        return text if text.endswith("\n") else text + "\n"
    data = doc.get("data") or doc.get("archive")
    if isinstance(data, dict):
        from forge_tui.protocol.render import dump_archive

        return dump_archive(data)
    rest = {k: (_iso(v) if isinstance(v, datetime) else v) for k, v in doc.items()}
    return to_yaml(rest)


_UNSAFE = re.compile(r"[^\w.-]+")


def export_stem(title: str, ident: str) -> str:
    """An export's file name without extension: the title as a slug and the id's first 8 characters."""
    slug = _UNSAFE.sub("-", (title or "untitled").lower()).strip("-")[:50] or "untitled"
    return f"{slug}-{ident[:8]}"


def export_filename(title: str, ident: str, ext: str) -> str:
    return f"{export_stem(title, ident)}.{ext}"


def export_all(store: Store, out_dir: str | Path, fmt: str = "json", project: str | None = None) -> ExportSummary:
    """Every conversation (of ``project``, or all) into ``out_dir`` as ``fmt``; archives as YAML
    under ``out_dir/archives``. Existing files with the same names are overwritten."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format '{fmt}'; use one of {', '.join(FORMATS)}.")
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file; --all needs a folder for -o.")
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    summary = ExportSummary()
    for conv in store.list_conversations(project):
        path = out / export_filename(conv.title, conv.id, fmt)
        write_private(path, export_conversation(store, conv.id, fmt))
        summary.files.append(path)
        summary.conversations += 1
    archive_ids = store.archive_ids(project)
    if archive_ids:
        (out / "archives").mkdir(exist_ok=True, mode=0o700)
    for aid in archive_ids:
        path = out / "archives" / f"{_UNSAFE.sub('-', str(aid))[:60]}.yaml"
        write_private(path, export_archive(store, aid))
        summary.files.append(path)
        summary.archives += 1
    return summary
