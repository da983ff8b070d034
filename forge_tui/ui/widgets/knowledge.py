"""Sidebar section for the knowledge graph (issue 4): active decisions (tier,
priority, decay flag), open and resolved threads, conflicts awaiting a choice.

It renders the ``knowledge.changed`` payload it is given (plain dicts, as the
registry's ``to_public()`` writes them) and posts ``Picked`` when an entry is
chosen; the screen decides what that means (jump to the source turn, or open
the conflict modal). On the highlighted decision or thread, ``d`` (dismiss),
``e`` (edit) and ``r`` (resolve a thread) post ``Correct``; the screen asks
what it needs and runs the correction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

WIDTH = 30
PRIORITY_STYLE = {"critical": "bold red", "high": "bold yellow", "medium": "", "low": "dim"}


def _short(text: str, width: int = WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class KnowledgeState:
    project: str = ""
    decisions: list[dict[str, Any]] = field(default_factory=list)
    threads: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> "KnowledgeState":
        return cls(project=payload.get("project", ""), decisions=list(payload.get("decisions") or []),
                   threads=list(payload.get("threads") or []), conflicts=list(payload.get("conflicts") or []))

    def decision_text(self, did: str) -> str:
        for d in self.decisions:
            if d.get("id") == did or f"{d.get('project')}/{d.get('id')}" == did:
                return d.get("text", "")
        return ""


def decision_prompt(d: dict[str, Any]) -> Text:
    text = Text()
    text.append(f"{d.get('id', '?')} ", style="bold")
    text.append(f"{float(d.get('tier', 0.0)):.1f} ", style="cyan")
    priority = d.get("priority", "medium")
    text.append(f"{priority[:4]:<4} ", style=PRIORITY_STYLE.get(priority, ""))
    width = WIDTH - 14
    if d.get("decay"):
        text.append("⟳ ", style="bold yellow")
        width -= 2
    text.append(_short(d.get("text", ""), width))
    return text


def thread_prompt(t: dict[str, Any]) -> Text:
    status = t.get("status", "OPEN")
    text = Text(style="dim" if status != "OPEN" else "")
    text.append(f"{t.get('id', '?')} ", style="bold")
    text.append({"OPEN": "○ ", "RESOLVED": "✓ ", "ABANDONED": "✗ "}.get(status, "? "))
    text.append(_short(t.get("title", ""), WIDTH - 9))
    return text


def conflict_prompt(c: dict[str, Any]) -> Text:
    text = Text()
    blocked = c.get("kind") == "cross_project"
    text.append("⛔ " if blocked else "⚠ ", style="bold red" if blocked else "bold yellow")
    other = c.get("existing", "?")
    if c.get("existing_project") and c.get("existing_project") != c.get("project"):
        other = f"{c['existing_project']}/{other}"
    text.append(f"{c.get('new', '?')} vs {other}", style="bold")
    text.append(" blocked" if blocked else " choose…", style="dim")
    return text


class KnowledgePanel(Vertical):
    BINDINGS = [
        Binding("d", "correct('dismiss')", "Dismiss", id="forge.knowledge.dismiss",
                tooltip="Dismiss the highlighted decision or thread (asks why; kept in the audit log)"),
        Binding("e", "correct('edit')", "Reword", id="forge.knowledge.edit",
                tooltip="Edit the highlighted decision's text or thread's title"),
        Binding("r", "correct('resolve')", "Resolve", id="forge.knowledge.resolve",
                tooltip="Mark the highlighted thread resolved"),
    ]

    @dataclass
    class Correct(Message):
        """``d``/``e``/``r`` on a highlighted decision or thread."""

        panel: "KnowledgePanel"
        action: str  # "dismiss" | "edit" | "resolve"
        kind: str  # "decision" | "thread"
        item: dict[str, Any]

        @property
        def control(self) -> "KnowledgePanel":
            return self.panel

    @dataclass
    class Picked(Message):
        panel: "KnowledgePanel"
        kind: str  # "decision" | "thread" | "conflict"
        item: dict[str, Any]

        @property
        def control(self) -> "KnowledgePanel":
            return self.panel

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.state = KnowledgeState()
        self._items: dict[str, tuple[str, dict[str, Any]]] = {}

    def compose(self) -> ComposeResult:
        yield Static("Decisions and threads appear here once recorded.", id="knowledge-body", classes="dim-hint")
        yield OptionList(id="knowledge-list")

    def on_mount(self) -> None:
        self.query_one("#knowledge-list").display = False

    @property
    def pending_conflicts(self) -> list[dict[str, Any]]:
        return [c for c in self.state.conflicts if c.get("status") == "pending"]

    def show(self, state: KnowledgeState) -> None:
        self.state = state
        self._items.clear()
        options: list[Option | None] = []

        def add(kind: str, item: dict[str, Any], prompt: Text) -> None:
            key = f"{kind}:{item.get('project', '')}/{item.get('id', len(self._items))}"
            self._items[key] = (kind, item)
            options.append(Option(prompt, id=key))

        def heading(label: str) -> None:
            options.append(Option(Text(label, style="bold"), id=f"heading:{label}", disabled=True))

        if state.conflicts:
            heading(f"Conflicts ({len(self.pending_conflicts)} to choose)")
            for c in state.conflicts:
                add("conflict", c, conflict_prompt(c))
        if state.decisions:
            heading("Decisions")
            for d in state.decisions:
                add("decision", d, decision_prompt(d))
        if state.threads:
            heading("Threads")
            for t in sorted(state.threads, key=lambda t: t.get("status") != "OPEN"):
                add("thread", t, thread_prompt(t))
        listing = self.query_one("#knowledge-list", OptionList)
        kept = listing.highlighted_option.id if listing.highlighted_option is not None else None
        listing.clear_options()
        listing.add_options(options)
        if kept is not None and kept in self._items:  # a refresh keeps the entry the user is on
            listing.highlighted = listing.get_option_index(kept)
        listing.display = bool(options)
        self.query_one("#knowledge-body").display = not options
        self.set_class(bool(self.pending_conflicts), "-conflicts")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        picked = self._items.get(event.option.id or "")
        if picked is not None:
            self.post_message(self.Picked(self, picked[0], picked[1]))

    def highlighted_item(self) -> tuple[str, dict[str, Any]] | None:
        """(kind, item) of the highlighted entry, if any."""
        option = self.query_one("#knowledge-list", OptionList).highlighted_option
        return self._items.get(option.id or "") if option is not None else None

    def action_correct(self, action: str) -> None:
        picked = self.highlighted_item()
        if picked is None or picked[0] == "conflict" or (action == "resolve" and picked[0] != "thread"):
            what = "an open thread" if action == "resolve" else "a decision or thread"
            self.notify(f"Highlight {what} in the knowledge list first.", severity="warning")
            return
        self.post_message(self.Correct(self, action, picked[0], picked[1]))
