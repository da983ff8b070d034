"""Lineage view: ancestors and descendants of the current conversation
(conversation → archive → continued conversation), from the ``lineage.listed`` payload."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static, Tree

from forge_tui.session import events as ev

VIA = {"compressed_into": "compressed into", "continued_from": "continued from", "bridged_from": "bridged from"}


def node_label(node: dict[str, Any], titles: dict[str, str]) -> str:
    kind = node.get("type", "?")
    title = titles.get(node.get("id", ""), "")
    short = str(node.get("id", ""))[:8]
    via = VIA.get(node.get("via", ""), node.get("via", ""))
    label = f"{kind} {short}"
    if title:
        label += f" · {title}"
    return f"{label}  ({via})" if via else label


class LineageScreen(ModalScreen[str | None]):
    """Returns the id of a conversation to open, or None."""

    BINDINGS = [Binding("escape", "dismiss_modal", "Close", id="forge.modal.close")]

    def __init__(self, lineage: ev.LineageListed) -> None:
        super().__init__(classes="forge-modal")
        self.lineage = lineage

    def compose(self) -> ComposeResult:
        p = self.lineage
        titles = dict(p.titles)
        root_title = titles.get(p.node, "")
        with Vertical(classes="modal-box", id="lineage"):
            yield Label("Lineage", classes="modal-title")
            tree: Tree[dict] = Tree(f"this {p.node_type or 'conversation'} {p.node[:8]} "
                                    f"{('· ' + root_title) if root_title else ''}", id="lineage-tree")
            tree.root.expand()
            for section, nodes in (("Ancestors", p.ancestors), ("Descendants", p.descendants)):
                branch = tree.root.add(f"{section} ({len(nodes)})", expand=True)
                for node in nodes:
                    indent = "  " * max(0, int(node.get("depth", 1)) - 1)
                    branch.add_leaf(indent + node_label(node, titles), data=node)
            yield tree
            yield Static("Enter opens a conversation · Esc closes", classes="modal-help")

    def on_tree_node_selected(self, event: Tree.NodeSelected) -> None:
        node = event.node.data
        if node and node.get("type") == "conversation":
            self.dismiss(node["id"])

    def action_dismiss_modal(self) -> None:
        self.dismiss(None)
