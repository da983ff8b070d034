"""The key table the help screen (F1) shows, read from the bindings the app really
has — the app's, the main screen's and the prompt's, with the user's keymap
applied — so a new action or a rebound key shows up there without anyone
editing a list. Actions without a key are listed as palette-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from textual.binding import Binding, BindingsMap
from textual.keys import key_to_character

from forge_tui.ui.actions import ACTIONS
from forge_tui.ui.widgets.conversation import TurnView
from forge_tui.ui.widgets.knowledge import KnowledgePanel
from forge_tui.ui.widgets.pending import PendingTurnView
from forge_tui.ui.widgets.prompt import SEND_KEY

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode

#: Textual's own app-level bindings that Forge keeps, described in Forge's words
_TEXTUAL_HELP = {"command_palette": ("Palette", "Command palette: every action, searchable")}
_KEY_NAMES = {"pageup": "PageUp", "pagedown": "PageDown", "escape": "Esc", "enter": "Enter", "home": "Home",
              "end": "End", "tab": "Tab", "space": "Space", "backspace": "Backspace", "delete": "Delete",
              "up": "↑", "down": "↓", "left": "←", "right": "→"}


@dataclass(frozen=True)
class KeyRow:
    keys: str  # "Ctrl+M / F2"
    title: str
    help: str
    where: str  # "anywhere" | "main screen" | "prompt"


def key_name(key: str) -> str:
    """``ctrl+pageup`` -> ``Ctrl+PageUp``; ``ctrl+n`` -> ``Ctrl+N``; ``c`` -> ``c``;
    ``left_square_bracket`` -> ``[``; ``alt+up`` -> ``Alt+↑``; ``f2`` -> ``F2``."""
    *modifiers, last = key.strip().split("+")
    name = _KEY_NAMES.get(last)
    if name is None:
        char = key_to_character(last)
        if char is not None and len(char) == 1 and char.isprintable():
            name = char.upper() if modifiers else char  # a letter alone is typed as it is
        else:
            name = last.upper() if len(last) <= 3 else last.capitalize()
    return "+".join([m.capitalize() for m in modifiers] + [name])


def _bindings(node: "DOMNode | type[DOMNode]", keymap: dict[str, str]) -> list[tuple[str, Binding]]:
    """A node's bindings, or a widget class's own (for widgets that may not be on screen)."""
    bindings = node._bindings.copy() if not isinstance(node, type) else BindingsMap(node.BINDINGS)
    if keymap:
        bindings.apply_keymap(keymap)
    return [(key, b) for key, b in bindings if not b.system]


def _rows(pairs: Iterable[tuple[str, Binding]], where: str) -> list[KeyRow]:
    helps = {a.id: (a.title, a.help) for a in ACTIONS}
    keys: dict[str, list[str]] = {}
    first: dict[str, Binding] = {}
    for key, binding in pairs:
        ident = binding.id or binding.action
        if not (binding.id or "").startswith("forge.") and binding.action not in _TEXTUAL_HELP:
            continue  # a widget's own key (the prompt's cursor moves) or Textual's ctrl+c
        keys.setdefault(ident, []).append(key_name(key))
        first.setdefault(ident, binding)
    rows = []
    for ident, binding in first.items():
        title, text = helps.get(binding.id or "") or _TEXTUAL_HELP.get(binding.action) or (
            binding.description, binding.tooltip or binding.description)
        rows.append(KeyRow(" / ".join(dict.fromkeys(keys[ident])), title, text, where))
    return rows


def key_table(app: "App", screen: "DOMNode", prompt: "DOMNode") -> list[KeyRow]:
    """Every documented key, where it works, and what it does (the app's live bindings)."""
    keymap = dict(app._keymap)
    rows = [KeyRow(key_name(SEND_KEY), "Send", "Send the prompt", "prompt")]
    rows += _rows(_bindings(prompt, keymap), "prompt")
    rows += _rows(_bindings(TurnView, keymap), "focused turn")
    rows += _rows(_bindings(PendingTurnView, keymap), "queued message")
    rows += _rows(_bindings(KnowledgePanel, keymap), "knowledge list")
    rows += _rows(_bindings(screen, keymap), "main screen")
    rows += _rows(_bindings(app, keymap), "anywhere")
    return rows


def palette_only() -> list[tuple[str, str]]:
    """(title, help) of the actions that have no key: the palette (Ctrl+P) runs them."""
    return [(a.title, a.help) for a in ACTIONS if not a.key]


#: what each part of the main screen is (shown under the keys)
PANES: tuple[tuple[str, str], ...] = (
    ("Conversation", "The turns of the open conversation, newest at the bottom; replies stream in as Markdown. "
                     "PageUp/PageDown scroll it from the prompt; a turn focused in it (click it, or Alt+↑) "
                     "has the 'focused turn' keys; ‹ 2/3 › marks a turn with versions."),
    ("Prompt", "Where you type. Enter sends (during a reply it queues the message, shown as a queued turn); "
               "Esc cancels a reply that is streaming."),
    ("Banner", "Above the conversation: problems that need you (database away, model failed), with the fix."),
    ("Archive pane (F3)", "The archive of the open conversation: YAML while F5 compresses, then the validated "
                          "archive with its token counts; F6 continues from it."),
    ("Context tray", "Above the prompt in a new or continued conversation: decisions, constraints and earlier "
                     "turns offered as context, each with why; untick what should not reach the model."),
    ("Sidebar (F4)", "Project, model, database state, the context meter (tokens used of the model's window), "
                     "the conversations grouped by project (↳ = continued from an archive; Enter opens) and the "
                     "project's knowledge: decisions (id, tier, priority, ⟳ = needs revalidation), threads "
                     "(○ open, ✓ resolved) and conflicts to choose; on a highlighted one d dismisses, e rewords, "
                     "r resolves a thread. It hides by itself below 100 columns."),
    ("Status line", "When the sidebar is hidden: project, model and context use in one line."),
    ("Footer", "The main keys; F1 lists them all, Ctrl+P runs any action by name."),
)
