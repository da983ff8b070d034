"""Hand corrections of the knowledge graph from the main screen.

Mixed into ``MainScreen``. ``d``/``e``/``r`` on the knowledge pane's highlighted
decision or thread (``KnowledgePanel.Correct``) and the palette's "Pin a decision…",
"Dismiss decision or thread…" and "Resolve thread…" ask what they need in a small
modal (``KnowledgeText``, ``KnowledgePicker``) and hand it to the controller's
knowledge commands; the pane refreshes from the ``KnowledgeChanged`` that follows.
The palette pickers list the open conversation's project's active items, as the
pane shows them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from forge_tui.session import events as ev
from forge_tui.session.state import SessionState
from forge_tui.ui.widgets.knowledge import KnowledgePanel, decision_prompt, thread_prompt

if TYPE_CHECKING:
    from forge_tui.session.controller import SessionController


class KnowledgeText(ModalScreen[str | None]):
    """One line of text: the sentence to pin, the new wording, or a reason (``optional``: may be blank)."""

    BINDINGS = [Binding("escape", "dismiss_prompt", "Close", id="forge.modal.close")]

    def __init__(self, title: str, help_text: str, value: str = "", *, optional: bool = False) -> None:
        super().__init__(classes="forge-modal")
        self.title_text, self.help_text, self.value, self.optional = title, help_text, value, optional

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="knowledge-text"):
            yield Label(self.title_text, classes="modal-title", markup=False)
            yield Input(value=self.value, id="knowledge-input", select_on_focus=False)
            yield Static(self.help_text, classes="modal-help", markup=False)
            yield Static("", id="knowledge-error", classes="modal-error", markup=False)

    @on(Input.Submitted, "#knowledge-input")
    def submitted(self, event: Input.Submitted) -> None:
        text = " ".join(event.value.split())
        if not text and not self.optional:
            self.query_one("#knowledge-error", Static).update("The text is empty: type it, or Esc to cancel.")
            return
        self.dismiss(text)

    def action_dismiss_prompt(self) -> None:
        self.dismiss(None)


class KnowledgePicker(ModalScreen[dict[str, Any] | None]):
    """The project's active decisions and/or open threads; Enter returns the highlighted item."""

    BINDINGS = [Binding("escape", "dismiss_picker", "Close", id="forge.modal.close")]

    def __init__(self, title: str, items: list[tuple[str, dict[str, Any]]]) -> None:
        super().__init__(classes="forge-modal")
        self.title_text = title
        self.items = {f"{kind}:{item.get('id')}": item for kind, item in items}
        self.kinds = [kind for kind, _ in items]

    def compose(self) -> ComposeResult:
        options = [Option(decision_prompt(item) if kind == "decision" else thread_prompt(item), id=key)
                   for kind, (key, item) in zip(self.kinds, self.items.items())]
        with Vertical(classes="modal-box", id="knowledge-picker"):
            yield Label(self.title_text, classes="modal-title", markup=False)
            yield OptionList(*options, id="knowledge-options")
            yield Static("Enter picks · Esc closes", classes="modal-help")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.items.get(event.option.id or ""))

    def action_dismiss_picker(self) -> None:
        self.dismiss(None)


class KnowledgeHandlers:
    """Needs ``self.controller``, ``self.state``, ``self.app``, ``self.notify``, ``self.query_one`` (a Screen)."""

    controller: "SessionController"
    state: SessionState

    def knowledge_handlers(self) -> dict[type, Callable[[Any], Awaitable[None] | None]]:
        return {ev.KnowledgeCorrected: self._knowledge_corrected}

    def _knowledge_corrected(self, event: ev.KnowledgeCorrected) -> None:
        self.notify(f"{event.item_id} {event.action}: {event.text}")

    def _active_items(self, decisions: bool, threads: bool) -> list[tuple[str, dict[str, Any]]]:
        state = self.query_one(KnowledgePanel).state
        items: list[tuple[str, dict[str, Any]]] = []
        if decisions:
            items += [("decision", d) for d in state.decisions if d.get("status", "active") == "active"]
        if threads:
            items += [("thread", t) for t in state.threads if t.get("status") == "OPEN"]
        return items

    # -- the pane's keys ------------------------------------------------------
    def on_knowledge_panel_correct(self, event: KnowledgePanel.Correct) -> None:
        event.stop()
        {"dismiss": self._ask_dismiss, "edit": self._ask_edit, "resolve": self._resolve}[event.action](
            event.kind, event.item)

    def _ask_dismiss(self, kind: str, item: dict[str, Any]) -> None:
        def answered(why: str | None) -> None:
            if why is not None:
                self.controller.dismiss_knowledge(item["id"], why, project=item.get("project"))

        self.app.push_screen(KnowledgeText(
            f"Dismiss {item.get('id')}: {_wording(kind, item)}",
            "Why is it wrong? (optional) · Enter dismisses (kept in the audit log) · Esc keeps it",
            optional=True), answered)

    def _ask_edit(self, kind: str, item: dict[str, Any]) -> None:
        old = _wording(kind, item)

        def answered(text: str | None) -> None:
            if text and text != old:
                self.controller.edit_knowledge(item["id"], text, project=item.get("project"))

        self.app.push_screen(KnowledgeText(
            f"Edit {item.get('id')}", "Enter saves the new wording (the old one stays in the audit log) · Esc closes",
            old), answered)

    def _resolve(self, kind: str, item: dict[str, Any]) -> None:
        if kind != "thread" or item.get("status") != "OPEN":
            self.notify(f"{item.get('id')} is not an open thread.", severity="warning")
            return
        self.controller.resolve_thread(item["id"], "RESOLVED", project=item.get("project"))

    # -- the palette ----------------------------------------------------------
    def action_pin_decision(self) -> None:
        def answered(text: str | None) -> None:
            if text:
                self.controller.pin_knowledge(text, "decision", project=self.state.project)

        self.app.push_screen(KnowledgeText(
            f"Pin a decision in project '{self.state.project}'",
            "The sentence, as it should hold · Enter pins it (yours: never superseded by extraction) · Esc closes"),
            answered)

    def action_dismiss_knowledge(self) -> None:
        self._pick("Dismiss decision or thread", self._active_items(True, True),
                   lambda item: self._ask_dismiss("decision" if str(item["id"]).startswith("D") else "thread", item))

    def action_resolve_thread(self) -> None:
        self._pick("Resolve thread", self._active_items(False, True),
                   lambda item: self._resolve("thread", item))

    def _pick(self, title: str, items: list[tuple[str, dict[str, Any]]],
              then: Callable[[dict[str, Any]], None]) -> None:
        if not items:
            self.notify(f"Nothing to pick in project '{self.state.project}'.")
            return

        def chosen(item: dict[str, Any] | None) -> None:
            if item is not None:
                then(item)

        self.app.push_screen(KnowledgePicker(f"{title} in project '{self.state.project}'", items),
                             chosen)


def _wording(kind: str, item: dict[str, Any]) -> str:
    return str((item.get("text") if kind == "decision" else item.get("title")) or "")
