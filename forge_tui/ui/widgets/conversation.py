"""The conversation pane: one ``TurnView`` per turn; replies stream as Markdown.

While a reply streams, pieces are appended to the turn's Markdown at most every
``STREAM_FLUSH_S`` (appends, no re-render of the whole reply); when it ends the reply is
rendered once, whole. The appends run in the turn's own message loop, never in a background
task: a ``MarkdownStream`` task outlived turns removed mid-reply (Ctrl+N, another conversation),
left pending when the app closed.
Very long turns are shown truncated with a note (the store keeps the full text).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Markdown, Static

from forge_tui.domain.models import Role, Turn, TurnStatus
from forge_tui.ui.markdown_text import normalize_lists
from forge_tui.ui.widgets.turn_markdown import TurnMarkdown
from forge_tui.session.state import QueuedMessage
from forge_tui.ui.widgets.pending import PendingTurnView

#: characters of a turn rendered on screen; the rest is summarised by a note
DISPLAY_LIMIT = 20_000
#: turns mounted when a conversation opens (newest first); older ones load on demand,
#: this many at a time (mounting Markdown is the slow part of opening a long conversation)
SHOWN_TURNS = 30
#: streamed text is handed to the Markdown stream at most this often: each hand-over
#: re-lays out the screen (~10-25 ms here), so a fast model must not trigger one per token
STREAM_FLUSH_S = 0.1

_BADGES = {
    TurnStatus.STREAMING: ("streaming…", "-streaming"),
    TurnStatus.CANCELLED: ("cancelled", "-cancelled"),
    TurnStatus.INTERRUPTED: ("interrupted", "-interrupted"),
    TurnStatus.ERROR: ("error", "-error"),
    TurnStatus.TRUNCATED: ("truncated", "-truncated"),
}


def display_text(content: str) -> str:
    """What a turn shows: lists made Markdown lists, and at most ``DISPLAY_LIMIT`` characters."""
    content = normalize_lists(content)
    if len(content) <= DISPLAY_LIMIT:
        return content
    return (content[:DISPLAY_LIMIT] + f"\n\n*… {len(content) - DISPLAY_LIMIT:,} more characters not shown "
            f"({len(content):,} in all; the full text is stored).*")


_REMOTE_ENGINES = {"openai": "server", "anthropic": "Claude"}


class TurnView(Vertical, can_focus=True):
    """One turn: a header (who, model, status badge, "‹ 2/3 ›" when it has versions) and its Markdown
    body. Focused (alt+up from the prompt, then up/down), it copies, regenerates, edits and browses
    versions; it only asks, with a message, and the screen acts."""

    BINDINGS = [
        Binding("c", "copy", "Copy", id="forge.turn.copy"),
        Binding("y", "copy_code", "Copy code", id="forge.turn.copy_code"),
        Binding("left_square_bracket", "version(-1)", "Prev version", key_display="[", id="forge.turn.previous"),
        Binding("right_square_bracket", "version(1)", "Next version", key_display="]", id="forge.turn.next"),
        Binding("r", "regenerate", "Regenerate", id="forge.turn.regenerate"),
        Binding("e", "edit", "Edit", id="forge.turn.edit"),
        Binding("up", "move(-1)", "Previous turn", show=False, id="forge.turn.up"),
        Binding("down", "move(1)", "Next turn", show=False, id="forge.turn.down"),
    ]

    @dataclass
    class Asked(Message):
        """Base of what a focused turn asks the screen for."""

        view: "TurnView"

        @property
        def control(self) -> "TurnView":
            return self.view

    class CopyAsked(Asked):
        """Copy the turn's text."""

    class CodeCopyAsked(Asked):
        """Copy one of the turn's code blocks."""

    @dataclass
    class VersionAsked(Asked):
        """Show the previous (-1) or next (+1) version of the turn."""

        step: int = 0

    class RegenerateAsked(Asked):
        """Answer again in place of this reply."""

    class EditAsked(Asked):
        """Edit this message and send it again."""

    def __init__(self, turn: Turn, versions: tuple[int, int] | None = None) -> None:
        super().__init__(classes=f"turn -{turn.role.value}")
        self.turn = turn
        #: (this version's 1-based index, how many versions) when it has siblings
        self.versions = versions
        self._streamed = 0
        self._pending: list[str] = []
        self._flush_timer = None
        self._finished = turn.status is not TurnStatus.STREAMING

    def compose(self) -> ComposeResult:
        yield Static(self._header(), classes="turn-header", markup=False)
        yield TurnMarkdown(display_text(self.turn.content), classes="turn-body")
        yield Static(self._footer(), classes="turn-note", markup=False)

    def _header(self) -> str:
        if self.turn.role is Role.USER:
            who = "You"
        elif self.turn.role is Role.ASSISTANT:
            who = f"Forge · {self.turn.model}" if self.turn.model else "Forge"
            if self.turn.engine in _REMOTE_ENGINES:  # the in-process llama engine is the unmarked default
                who += f" via {_REMOTE_ENGINES[self.turn.engine]}"
        else:
            who = self.turn.role.value
        badge = _BADGES.get(self.turn.status)
        if badge:
            who = f"{who}  [{badge[0]}]"
        if self.versions is not None:
            who = f"{who}  ‹ {self.versions[0]}/{self.versions[1]} ›"
        return who

    def set_versions(self, versions: tuple[int, int] | None) -> None:
        if versions != self.versions:
            self.versions = versions
            if self.is_mounted:
                self.query_one(".turn-header", Static).update(self._header())

    def code_blocks(self) -> list[str]:
        return self.query_one(TurnMarkdown).code_blocks()

    # -- asks (the screen acts on them) ----------------------------------------
    def action_copy(self) -> None:
        self.post_message(self.CopyAsked(self))

    def action_copy_code(self) -> None:
        self.post_message(self.CodeCopyAsked(self))

    def action_version(self, step: int) -> None:
        self.post_message(self.VersionAsked(self, step))

    def action_regenerate(self) -> None:
        self.post_message(self.RegenerateAsked(self))

    def action_edit(self) -> None:
        self.post_message(self.EditAsked(self))

    def action_move(self, step: int) -> None:
        views = list(self.parent.query_children(TurnView)) if self.parent is not None else []
        index = views.index(self) + step if self in views else -1
        if 0 <= index < len(views):
            views[index].focus()
            views[index].scroll_visible(animate=False)

    def _footer(self) -> str:
        if self.turn.status is TurnStatus.ERROR:
            return self.turn.error or "The reply failed; no reason was given."
        if self.turn.status is TurnStatus.TRUNCATED:
            return self.turn.error or "The reply was cut short."
        if self.turn.status is TurnStatus.CANCELLED:
            return "Reply cancelled (Esc); the partial text is kept."
        if self.turn.status is TurnStatus.INTERRUPTED:
            return "Reply cut off by a crash; the partial text is kept."
        return ""

    def on_mount(self) -> None:
        self._apply_status()

    def _apply_status(self) -> None:
        """Badge, header and note for the turn's status. A view not composed yet gets them from
        on_mount; one already removed (Ctrl+N while its reply ended) has nothing to update."""
        if not self.query(".turn-header"):
            return
        for _, cls in _BADGES.values():
            self.remove_class(cls)
        badge = _BADGES.get(self.turn.status)
        if badge:
            self.add_class(badge[1])
        headers, notes = self.query(".turn-header").results(Static), self.query(".turn-note").results(Static)
        header, note = next(headers, None), next(notes, None)
        if header is None or note is None:
            return  # removed while the reply ended (the conversation changed under it)
        header.update(self._header())
        note.update(self._footer())
        note.display = bool(self._footer())

    # -- streaming -----------------------------------------------------------
    def write(self, text: str) -> None:
        """Queue streamed text; it reaches the Markdown stream at most every ``STREAM_FLUSH_S``."""
        room = DISPLAY_LIMIT - self._streamed
        if room <= 0 or not text:
            return
        self._streamed += len(text)
        self._pending.append(text[:room])
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(STREAM_FLUSH_S, self._flush)

    async def _flush(self) -> None:
        self._flush_timer = None
        bodies = self.query(Markdown)
        if not self._pending or self._finished or not bodies:
            return
        text, self._pending = "".join(self._pending), []
        await bodies.first().append(text)

    @property
    def streamed_chars(self) -> int:
        return self._streamed

    async def finish(self, turn: Turn, message: str | None = None) -> None:
        """Stop streaming and render the final text once."""
        self._finished = True
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        self._pending = []
        self.turn = turn
        if message and not turn.error:
            turn.error = message
        bodies = self.query(Markdown)
        if not bodies:  # removed (the pane moved to another conversation)
            return
        await bodies.first().update(display_text(turn.content))
        self._apply_status()


class ConversationView(VerticalScroll):
    """The scrolling list of turns. The screen calls its methods; it posts nothing."""

    DEFAULT_CLASSES = "conversation"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._turns: list[Turn] = []
        self._first_shown = 0
        #: where the conversation has several versions: parent id -> version ids, oldest first
        self._branches: dict[str, tuple[str, ...]] = {}

    def compose(self) -> ComposeResult:
        yield Static("Type a message below and press Enter. Esc cancels a reply; ctrl+p lists every action.",
                     id="conversation-empty", classes="empty-hint")

    def _views(self) -> dict[str, TurnView]:
        return {v.turn.id: v for v in self.query(TurnView)}

    def _view(self, turn: Turn) -> TurnView:
        return TurnView(turn, self.versions_of(turn))

    def versions_of(self, turn: Turn) -> tuple[int, int] | None:
        """(1-based index, count) of ``turn`` among its versions, when it has several."""
        versions = self._branches.get(turn.parent_id or "")
        if not versions or turn.id not in versions:
            return None
        return versions.index(turn.id) + 1, len(versions)

    def set_branches(self, branches: dict[str, tuple[str, ...]]) -> None:
        """Where the conversation has versions; the turns on screen update their "‹ 2/3 ›"."""
        self._branches = dict(branches)
        for view in self.query(TurnView):
            view.set_versions(self.versions_of(view.turn))

    @property
    def turns(self) -> list[Turn]:
        """The turns of the branch on show (mounted or not), first first."""
        return list(self._turns)

    def view_of(self, turn_id: str) -> TurnView | None:
        return self._views().get(turn_id)

    async def show_branch(self, turns: list[Turn], focus_turn_id: str | None = None) -> None:
        """Show another branch: the turns before the fork stay mounted, the rest are replaced."""
        views = list(self.query(TurnView))
        first = self._first_shown
        if len(turns) < first or [v.turn.id for v in views] != [t.id for t in self._turns[first:]]:
            await self.show_conversation(turns, focus_turn_id)  # the fork is among the turns not mounted
            return
        fork = 0
        while fork < len(views) and first + fork < len(turns) and views[fork].turn.id == turns[first + fork].id:
            fork += 1
        self._turns = list(turns)
        for view in views[fork:]:
            await view.remove()
        new = [self._view(t) for t in turns[first + fork:]]
        if new:
            await self.query(".empty-hint").remove()
            await self.mount_all(new)
        elif not turns:
            await self.mount(Static("Type the new text below and press Enter.", classes="empty-hint"))
        target = self._views().get(focus_turn_id) if focus_turn_id else None
        if target is not None:
            target.focus()
            self.call_after_refresh(self.scroll_to_widget, target, top=True, animate=False)
        else:
            self.call_after_refresh(self.scroll_end, animate=False)
            self.anchor()

    def _older_button(self) -> Button:
        hidden = self._first_shown
        return Button(f"Show {min(hidden, SHOWN_TURNS)} earlier turns ({hidden:,} not shown)",
                      id="older-turns", classes="older-hint", compact=True)

    async def show_conversation(self, turns: list[Turn], focus_turn_id: str | None = None) -> None:
        await self.remove_children()
        self._turns = list(turns)
        self._first_shown = max(0, len(turns) - SHOWN_TURNS)
        if focus_turn_id:
            index = next((i for i, t in enumerate(turns) if t.id == focus_turn_id), None)
            if index is not None:
                self._first_shown = min(self._first_shown, max(0, index - 5))
        shown = turns[self._first_shown:]
        widgets: list = []
        if self._first_shown:
            widgets.append(self._older_button())
        widgets.extend(self._view(t) for t in shown)
        if not widgets:
            widgets.append(Static("This conversation is empty. Type a message below.", classes="empty-hint"))
        await self.mount_all(widgets)
        focused = self._views().get(focus_turn_id) if focus_turn_id else None
        if focused is not None:
            focused.add_class("-focused")
            self.call_after_refresh(self.scroll_to_widget, focused, top=True, animate=False)
        else:
            self.call_after_refresh(self.scroll_end, animate=False)
            self.anchor()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "older-turns":
            event.stop()
            await self.show_older()

    async def show_older(self) -> None:
        """Mount the next ``SHOWN_TURNS`` older turns above the ones on screen."""
        if not self._first_shown:
            return
        start = max(0, self._first_shown - SHOWN_TURNS)
        views = [self._view(t) for t in self._turns[start:self._first_shown]]
        first = self.query(TurnView).first()
        self._first_shown = start
        await self.query("#older-turns").remove()
        await self.mount_all(views, before=first)
        if start:
            await self.mount(self._older_button(), before=views[0])

    async def clear_conversation(self) -> None:
        self._turns, self._first_shown, self._branches = [], 0, {}
        await self.remove_children()
        await self.mount(Static("New conversation. Type a message below and press Enter.", classes="empty-hint"))

    async def add_turn(self, turn: Turn) -> TurnView:
        existing = self._views().get(turn.id)
        if existing is not None:
            return existing
        await self.query(".empty-hint").remove()
        view = self._view(turn)
        self._turns.append(turn)
        pending = self.query(PendingTurnView)
        if pending:  # queued messages stay below the turns they wait for
            await self.mount(view, before=pending.first())
        else:
            await self.mount(view)
        self.anchor()
        return view

    @property
    def queued_ids(self) -> list[str]:
        return [v.message.id for v in self.query(PendingTurnView)]

    async def show_queued(self, messages: list[QueuedMessage], when: str) -> None:
        """Keep the pending turns in step with the session's queue (in order, at the end);
        ``when`` says what they wait for ("when the reply ends")."""
        wanted = {m.id for m in messages}
        shown = {v.message.id: v for v in self.query(PendingTurnView)}
        for message_id, view in shown.items():
            if message_id not in wanted:
                await view.remove()
            else:
                view.waiting_for(when)
        new = [PendingTurnView(m, when) for m in messages if m.id not in shown]
        if new:
            await self.query(".empty-hint").remove()
            await self.mount_all(new)
            self.anchor()

    async def append_reply(self, turn_id: str, text: str) -> None:
        view = self._views().get(turn_id)
        if view is not None:
            view.write(text)

    async def finish_reply(self, turn: Turn, message: str | None = None) -> None:
        view = self._views().get(turn.id) or await self.add_turn(turn)
        self._turns = [turn if t.id == turn.id else t for t in self._turns]
        await view.finish(turn, message)
