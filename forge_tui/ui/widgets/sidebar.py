"""The right sidebar: project, model, token meter, conversation list, and the
knowledge section (decisions/threads, filled when that backend is present).

State comes down from the screen (reactives bound with ``data_bind``);
choices go up as messages.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option, OptionDoesNotExist

from forge_tui.domain.models import Conversation
from forge_tui.session.budget import fill_label, fill_percent
from forge_tui.ui.widgets.knowledge import KnowledgePanel

#: columns of a list row when the list has not been laid out yet (the sidebar's usual width)
ROW_WIDTH = 31


class TokenMeter(Widget):
    """``used / n_ctx`` as a bar; turns warning/error coloured as the context fills. The percentage is
    ``budget.fill_percent`` — the same number the overflow dialog and the auto-compress question show."""

    used: reactive[int] = reactive(0)
    n_ctx: reactive[int] = reactive(0)

    def render(self) -> Text:
        width = max(4, self.size.width)
        if self.n_ctx <= 0:
            return Text("context: —", style="dim")
        percent = fill_percent(self.used, self.n_ctx)
        ratio = min(1.0, percent / 100)
        filled = round(ratio * width)
        style = "$success" if ratio < 0.6 else "$warning" if ratio < 0.85 else "$error"
        bar = Text()
        bar.append("█" * filled, style=self.app.theme_variables.get(style[1:], "green"))
        bar.append("░" * (width - filled), style="dim")
        bar.append("\n" + fill_label(self.used, self.n_ctx))
        return bar

    def watch_used(self) -> None:
        self._update_classes()

    def watch_n_ctx(self) -> None:
        self._update_classes()

    def _update_classes(self) -> None:
        self.set_class(fill_percent(self.used, self.n_ctx) >= 85, "-full")


def conversation_prompt(conv: Conversation, current: bool, width: int = ROW_WIDTH, full: bool = False) -> Text:
    """One row of the list (``width`` columns): ``●`` the open one, ``↳`` continued from an archive,
    the title (cut to fit unless ``full``: the highlighted row wraps its whole title) and the turn count."""
    prompt = Text("● " if current else "  ")
    title = conv.title
    width -= 5 + len(str(conv.turn_count))  # marker, the gap before the count, the count, one spare
    if conv.archive_context:
        prompt.append("↳ ", style="bold")
        width -= 2
    if not full and len(title) > width:
        title = title[: max(1, width - 1)] + "…"
    prompt.append(title)
    prompt.append(f"  {conv.turn_count}", style="dim")
    return prompt


def conversation_tooltip(conv: Conversation) -> str:
    tip = conv.title
    if conv.archive_context:
        tip += f"\n↳ continued from archive {conv.archive_context[:8]}"
    return f"{tip}\n{conv.project} · {conv.turn_count} turn(s)"


class ConversationList(OptionList):
    """Conversations grouped by project (metadata only). Selecting posts ``Chosen``.

    Titles are cut to the sidebar's width; the highlighted one shows whole, and the
    mouse shows any whole in a tooltip."""

    @dataclass
    class Chosen(Message):
        conversation_list: "ConversationList"
        conversation_id: str

        @property
        def control(self) -> "ConversationList":
            return self.conversation_list

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.conversations: list[Conversation] = []
        self._by_id: dict[str, Conversation] = {}
        self._current_id: str | None = None
        self._expanded: str | None = None

    def _row_width(self) -> int:
        width = self.scrollable_content_region.width
        return max(16, width) if width > 0 else ROW_WIDTH

    def _prompt(self, conv: Conversation, full: bool = False) -> Text:
        return conversation_prompt(conv, conv.id == self._current_id, self._row_width(), full)

    def set_conversations(self, conversations: list[Conversation], current_id: str | None,
                          current_project: str) -> None:
        self.conversations = list(conversations)
        self._by_id = {c.id: c for c in conversations}
        self._current_id = current_id
        self._expanded = None
        highlighted = self.highlighted_option.id if self.highlighted_option else None
        groups: dict[str, list[Conversation]] = {}
        for conv in conversations:
            groups.setdefault(conv.project, []).append(conv)
        order = sorted(groups, key=lambda p: (p != current_project, p))
        options: list[Option | None] = []
        for project in order:
            options.append(Option(Text(f"▾ {project}", style="bold"), id=f"project:{project}", disabled=True))
            for conv in groups[project]:
                options.append(Option(self._prompt(conv), id=conv.id))
        self.clear_options()
        if not options:
            options.append(Option(Text("No conversations yet.", style="dim"), id="empty", disabled=True))
        self.add_options(options)
        target = highlighted or current_id
        if target:
            try:
                self.highlighted = self.get_option_index(target)
            except OptionDoesNotExist:  # the list changed under the highlight
                self.highlighted = None

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """The highlighted title shows whole (wrapped); the one before goes back to its cut form."""
        self._expand(event.option.id)

    def _expand(self, option_id: str | None) -> None:
        if option_id == self._expanded:
            return
        previous, self._expanded = self._expanded, None
        if previous in self._by_id:
            self._replace(previous, self._prompt(self._by_id[previous]))
        conv = self._by_id.get(option_id or "")
        if conv is not None:
            self._expanded = conv.id
            self._replace(conv.id, self._prompt(conv, full=True))
            self.tooltip = conversation_tooltip(conv)

    def _replace(self, option_id: str, prompt: Text) -> None:
        try:
            self.replace_option_prompt(option_id, prompt)
        except OptionDoesNotExist:
            pass  # the list was rebuilt meanwhile

    def on_mouse_move(self, event: events.MouseMove) -> None:
        """The whole title of the row under the mouse, as a tooltip."""
        index = event.style.meta.get("option")
        if isinstance(index, int) and 0 <= index < self.option_count:
            conv = self._by_id.get(self.get_option_at_index(index).id or "")
            self.tooltip = conversation_tooltip(conv) if conv is not None else None

    def on_resize(self, event: events.Resize) -> None:
        if self._by_id:
            for conv in self.conversations:
                self._replace(conv.id, self._prompt(conv, full=conv.id == self._expanded))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id and not event.option.id.startswith("project:"):
            self.post_message(self.Chosen(self, event.option.id))


class Sidebar(Vertical):
    project: reactive[str] = reactive("default")
    model_label: reactive[str] = reactive("")
    store_label: reactive[str] = reactive("")
    training_label: reactive[str] = reactive("")
    system_prompt_label: reactive[str] = reactive("")
    tokens_used: reactive[int] = reactive(0)
    n_ctx: reactive[int] = reactive(0)

    def compose(self) -> ComposeResult:
        yield Label("Project", classes="section-title")
        yield Static(id="project-name", markup=False)
        yield Label("Model", classes="section-title")
        yield Static(id="model-name", markup=False)
        yield Static(id="store-state", markup=False)
        yield Static(id="training-state", markup=False)
        yield Label("System prompt", classes="section-title", id="system-prompt-title")
        yield Static(id="system-prompt", markup=False)
        yield Label("Context", classes="section-title")
        yield TokenMeter(id="token-meter").data_bind(used=Sidebar.tokens_used, n_ctx=Sidebar.n_ctx)
        yield Label("Conversations  ^o", classes="section-title")
        yield ConversationList(id="conversation-list")
        yield Label("Knowledge", classes="section-title", id="knowledge-title")
        yield KnowledgePanel(id="knowledge")

    def watch_project(self, project: str) -> None:
        self.query_one("#project-name", Static).update(project)

    def watch_model_label(self, label: str) -> None:
        self.query_one("#model-name", Static).update(label)

    def watch_store_label(self, label: str) -> None:
        self.query_one("#store-state", Static).update(label)

    def watch_system_prompt_label(self, label: str) -> None:
        """One line: where the prompt in force comes from, and its first line (cut to the width);
        the section shows only while a prompt of the user's is in force ("" hides it)."""
        self.query_one("#system-prompt", Static).update(label)
        for widget in (self.query_one("#system-prompt-title"), self.query_one("#system-prompt")):
            widget.display = bool(label)

    def watch_training_label(self, label: str) -> None:
        state = self.query_one("#training-state", Static)
        state.update(label)
        state.display = bool(label)
