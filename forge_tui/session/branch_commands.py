"""The controller's branch commands: regenerate a reply, edit a message and resend, browse versions.

Mixed into ``SessionController``; everything runs on its worker like every other
command. Nothing is overwritten: a regenerated reply or an edited message is a new
turn beside the old one (``domain.branches``), the old branch stays stored and
reachable (``show_version``), and lineage records the fork (``branched_into``). The
pane gets ``BranchShown`` (the branch now on show) before the new turns are written,
then ``BranchesChanged`` once the new version exists, so its "2/3" marker follows.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any, Callable

from forge_tui.domain.branches import TurnTree
from forge_tui.domain.models import Conversation, Role, Turn
from forge_tui.session import events as ev
from forge_tui.session.budget import Overflow
from forge_tui.session.state import Activity
from forge_tui.session.writer import StoreWriter
from forge_tui.store.repository import Store


class BranchCommands:
    """Mixed into ``SessionController`` (which defines what is declared here)."""

    _store: Store | None
    _conversation: Conversation
    _saved: bool
    _turns: list[Turn]
    _activity: Activity
    _overflow: Overflow | None
    _writer: StoreWriter
    emit: Callable[[ev.Event], None]
    _submit: Callable[..., Future[Any] | None]
    _publish: Callable[[], None]
    _send: Callable[..., None]
    _reply: Callable[..., None]
    _preflight: Callable[[Conversation, str, str | None], Overflow | int | None]
    _count_tokens: Callable[[], None]
    _list: Callable[[], None]
    _emit_knowledge: Callable[[], None]

    def regenerate(self, turn_id: str | None = None) -> Future[Any] | None:
        """Answer again in place of reply ``turn_id`` (default: the last one); the old reply stays a version."""
        return self._submit(self._regenerate, turn_id)

    def edit_message(self, turn_id: str, text: str) -> Future[Any] | None:
        """Send ``text`` in place of message ``turn_id``: a new branch from there; the old one is kept."""
        return self._submit(self._edit, turn_id, text)

    def show_version(self, turn_id: str, step: int) -> Future[Any] | None:
        """Show the previous (``step`` -1) or next (+1) version of ``turn_id`` and the newest branch below it."""
        return self._submit(self._show_version, turn_id, step)

    # -- on the worker -----------------------------------------------------------------
    def _branch_store(self, verb: str) -> Store | None:
        """The store when a branch may change now; otherwise a notice says why not."""
        if self._activity != "idle":
            self.emit(ev.Notice(f"A {self._activity} is running: wait for it, or press Esc, before you {verb}.",
                                "warning"))
            return None
        if self._overflow is not None:
            self.emit(ev.Notice(f"A message waits for your choice (the context is full): answer it before you "
                                f"{verb}.", "warning"))
            return None
        if self._store is None:
            self.emit(ev.Notice(f"The database is not connected yet: {verb} once it is (ctrl+r retries).",
                                "warning"))
            return None
        return self._store

    def _tree(self, store: Store) -> TurnTree:
        """Every version of the open conversation: the stored turns and those on show (maybe not written yet)."""
        conv = self._conversation
        stored = store.turn_tree(conv.id).turns if self._saved else []
        head = self._turns[-1].id if self._turns else None
        return TurnTree.merged(conv.id, stored, self._turns, head)

    def _on_path(self, turn_id: str | None, role: Role) -> int | None:
        """Index on the branch on show of ``turn_id`` (default: the last turn of ``role``)."""
        for index in range(len(self._turns) - 1, -1, -1):
            turn = self._turns[index]
            if (turn.id == turn_id) if turn_id else (turn.role is role):
                return index
        return None

    def _regenerate(self, turn_id: str | None) -> None:
        store = self._branch_store("regenerate")
        if store is None:
            return
        index = self._on_path(turn_id, Role.ASSISTANT)
        if index is None or self._turns[index].role is not Role.ASSISTANT:
            self.emit(ev.Notice("Nothing to regenerate: pick a reply of Forge's (to change a message of yours, "
                                "edit it).", "warning"))
            return
        conv, old = self._conversation, self._turns[index]
        tree = self._tree(store)
        self._turns = self._turns[:index]
        self.emit(ev.BranchShown(conv.id, list(self._turns), tree.branches()))
        self._reply(store, conv)
        self._forked(store, tree, old, self._turns[-1], "regenerate")

    def _edit(self, turn_id: str, text: str) -> None:
        text = text.strip()
        if not text:
            self.emit(ev.Notice("The edited message is empty: type the new text, or Esc to keep the old one.",
                                "warning"))
            return
        store = self._branch_store("edit a message")
        if store is None:
            return
        index = self._on_path(turn_id, Role.USER)
        if index is None or self._turns[index].role is not Role.USER:
            self.emit(ev.Notice("Only your own messages on the branch on show can be edited.", "warning"))
            return
        conv, old, path = self._conversation, self._turns[index], list(self._turns)
        tree = self._tree(store)
        self._turns = path[:index]
        fit = self._preflight(conv, text, None)
        if isinstance(fit, Overflow):  # nothing changes: the branch on show stays as it was
            self._turns = path
            self.emit(ev.Notice(
                f"The edited message would not fit the context ({fit.prompt_tokens:,} tokens of {fit.n_ctx:,}, "
                f"with room for a reply): shorten it, or compress and continue (F5, then F6) first. Nothing was "
                "changed.", "warning"))
            return
        self.emit(ev.BranchShown(conv.id, list(self._turns), tree.branches()))
        self._send(text, checked=True)
        edited = next((t for t in self._turns[index:] if t.role is Role.USER), None)
        if edited is not None:
            self._forked(store, tree, old, edited, "edit")

    def _forked(self, store: Store, tree: TurnTree, old: Turn, new: Turn, how: str) -> None:
        conv = self._conversation
        # once the fork is recorded, the knowledge pane leaves out what only the old version said
        self._writer.submit(lambda: store.record_branch(conv.id, old.id, new.id, how),
                            lambda: self._submit(self._emit_knowledge))
        merged = TurnTree.merged(conv.id, tree.turns, self._turns, new.id)
        self.emit(ev.BranchesChanged(conv.id, merged.branches()))

    def _branch_to_open(self, store: Store, tree: TurnTree, focus_turn_id: str | None) -> list[Turn]:
        """The branch a conversation opens on: the one on show, unless the turn to focus (a search
        result) is on another; then that one's, written as the branch on show."""
        path = tree.path()
        if not focus_turn_id or focus_turn_id not in tree or any(t.id == focus_turn_id for t in path):
            return path
        conv, head = self._conversation, tree.newest_leaf(focus_turn_id)
        conv.head = head
        self._writer.submit(lambda: store.set_head(conv.id, head), lambda: self._submit(self._branch_moved))
        return tree.path(head)

    def _branch_moved(self) -> None:
        """The head is written: the list's turn count and the knowledge pane follow the branch on show."""
        self._list()
        self._emit_knowledge()

    def _show_version(self, turn_id: str, step: int) -> None:
        store = self._branch_store("switch versions")
        if store is None:
            return
        tree = self._tree(store)
        if turn_id not in tree:
            self.emit(ev.Notice("That turn is not in this conversation any more.", "warning"))
            return
        versions = tree.siblings(turn_id)
        index = versions.index(turn_id) + step
        if len(versions) < 2:
            self.emit(ev.Notice("This turn has one version: regenerate a reply or edit a message to make another."))
            return
        if not 0 <= index < len(versions):
            self.emit(ev.Notice(f"This is version {versions.index(turn_id) + 1} of {len(versions)}: "
                                f"no {'earlier' if step < 0 else 'later'} one."))
            return
        conv, target = self._conversation, versions[index]
        head = tree.newest_leaf(target)
        self._turns = tree.path(head)
        conv.head = head
        self._writer.submit(lambda: store.set_head(conv.id, head), lambda: self._submit(self._branch_moved))
        self._count_tokens()
        self.emit(ev.BranchShown(conv.id, list(self._turns), tree.branches(), target))
        self._publish()
