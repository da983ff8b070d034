"""Feature wiring of the main screen: archives, knowledge, search.

Mixed into ``MainScreen``. Feature events are typed (``forge_tui.session.events``);
``feature_handlers`` maps each type to its handler, and the screen dispatches
them with the rest. Commands go straight to the controller's feature commands
(a feature the composition root did not wire answers with a notice).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Awaitable, Callable

from forge_tui.domain.models import Conversation
from forge_tui.session import events as ev
from forge_tui.session.budget import fill_label
from forge_tui.session.state import SessionState
from forge_tui.ui.screens.conflict import ConflictModal
from forge_tui.ui.screens.confirm import ConfirmModal
from forge_tui.ui.screens.lineage import LineageScreen
from forge_tui.ui.screens.search import SearchScreen
from forge_tui.ui.widgets.archive import ArchivePane
from forge_tui.ui.widgets.context_tray import ContextTray
from forge_tui.ui.widgets.knowledge import KnowledgePanel, KnowledgeState


class FeatureHandlers:
    """Needs ``self.controller``, ``self.state``, ``self.app``, ``self.notify``, ``self.query_one`` (a Screen)."""

    last_decision: dict[str, Any] | None = None
    state: SessionState
    conversations: list[Conversation]

    def feature_handlers(self) -> dict[type, Callable[[Any], Awaitable[None] | None]]:
        return {
            ev.KnowledgeChanged: self._knowledge_changed,
            ev.ArchiveStarted: self._archive_started,
            ev.ArchivePiece: self._archive_piece,
            ev.ArchiveProgressed: self._archive_progressed,
            ev.ArchiveDrafted: self._archive_drafted,
            ev.ArchiveReady: self._archive_ready,
            ev.ArchiveFailed: self._archive_failed,
            ev.ArchiveLoaded: self._archive_loaded,
            ev.ArchivePasted: self._archive_pasted,
            ev.AutoCompressSuggested: self._archive_suggested,
            ev.LineageListed: self._lineage_listed,
            ev.ContextOffered: self._retrieval_offered,
            ev.SearchResults: self._search_results,
        }

    # -- knowledge -----------------------------------------------------------
    def _knowledge_changed(self, event: ev.KnowledgeChanged) -> None:
        if event.project == self.state.project:
            self.query_one(KnowledgePanel).show(KnowledgeState.from_payload(event.view))

    def on_knowledge_panel_picked(self, event: KnowledgePanel.Picked) -> None:
        item = event.item
        if event.kind == "conflict":
            if item.get("status") != "pending":
                self.notify(f"Conflict {item.get('id')}: {item.get('reason') or item.get('status')}")
                return
            state = event.panel.state
            modal = ConflictModal(item, item.get("new_text") or state.decision_text(item.get("new", "")),
                                  item.get("existing_text") or state.decision_text(item.get("existing", "")))
            self.app.push_screen(modal, lambda choice: self._conflict_chosen(item, choice))
            return
        if event.kind == "decision":
            self.last_decision = item
            if item.get("decay"):
                reason = item.get("decay_reason") or item["decay"]
                self.notify(f"{item.get('id')} needs revalidation ({reason}): f8 revalidates it.",
                            severity="warning")
        source = item.get("source_message_id") or next(iter(item.get("sources") or []), None)
        conv = item.get("conversation_id")
        if conv:
            self.controller.open_conversation(conv, source)

    def _conflict_chosen(self, conflict: dict[str, Any], choice: str | None) -> None:
        if choice is not None:
            self.controller.resolve_conflict(conflict["id"], choice, project=conflict.get("project"))

    def action_revalidate(self) -> None:
        if self.last_decision is None:
            self.notify("Pick a decision in the sidebar first.", severity="warning")
            return
        d = self.last_decision
        self.controller.revalidate_decision(d["id"], project=d.get("project"))

    # -- archives ------------------------------------------------------------
    def _archive_started(self, event: ev.ArchiveStarted) -> None:
        self.query_one(ArchivePane).started(event)

    def _archive_piece(self, event: ev.ArchivePiece) -> None:
        """YAML as the model writes it (pieces coalesced by the bridge)."""
        self.query_one(ArchivePane).chunk(event.text)

    def _archive_progressed(self, event: ev.ArchiveProgressed) -> None:
        self.query_one(ArchivePane).progressed(event)

    def _archive_drafted(self, event: ev.ArchiveDrafted) -> None:
        self.query_one(ArchivePane).drafted(event)

    def _archive_ready(self, event: ev.ArchiveReady) -> None:
        self.query_one(ArchivePane).ready(event)
        if event.note:
            self.notify(f"Rule-based archive: {event.note}.", severity="warning")

    def _archive_failed(self, event: ev.ArchiveFailed) -> None:
        self.query_one(ArchivePane).failed(event)
        self.notify(event.message or "Compression failed.", severity="error")

    def _archive_loaded(self, event: ev.ArchiveLoaded) -> None:
        self.query_one(ArchivePane).loaded(event)

    def _archive_pasted(self, event: ev.ArchivePasted) -> None:
        for archive_id in event.linked:
            self.notify(f"Pasted archive {archive_id[:8]} linked: this conversation continues from it (F7).")
        for reason in event.invalid:
            self.notify(f"A pasted archive is not valid and was not linked: {reason}", severity="warning")

    def _archive_suggested(self, event: ev.AutoCompressSuggested) -> None:
        """auto_compress = "ask": the context passed the threshold."""
        def answered(yes: bool | None) -> None:
            if yes:
                self.controller.compress(then_continue=True)

        self.app.push_screen(ConfirmModal(
            "Context nearly full",
            f"This conversation uses {fill_label(event.used, event.n_ctx)}. Compress it into an "
            "archive and continue in a new conversation? Nothing is deleted: the turns stay in the store.",
            yes="Compress and continue"), answered)

    def action_compress(self) -> None:
        if not self.state.turns:
            self.notify("Open or start a conversation first.", severity="warning")
            return
        self.controller.compress()

    def action_continue_archive(self) -> None:
        # None lets the controller pick the conversation's latest archive
        self.controller.continue_from_archive(self.query_one(ArchivePane).archive_id)

    def action_lineage(self) -> None:
        # the controller knows whether the conversation is stored yet (a continued one has no turns)
        self.controller.show_lineage()

    def _lineage_listed(self, event: ev.LineageListed) -> None:
        def chosen(conv_id: str | None) -> None:
            if conv_id:
                self.controller.open_conversation(conv_id)

        titles = {c.id: c.title for c in self.conversations}
        titles.update(event.titles)
        self.app.push_screen(LineageScreen(replace(event, titles=titles)), chosen)

    # -- retrieval -----------------------------------------------------------
    def _retrieval_offered(self, event: ev.ContextOffered) -> None:
        self.query_one(ContextTray).offer(event.items)

    def on_context_tray_kept(self, event: ContextTray.Kept) -> None:
        self.controller.keep_context(event.sources)

    # -- search --------------------------------------------------------------
    def action_search(self) -> None:
        if isinstance(self.app.screen, SearchScreen):
            return

        def chosen(result: tuple[str, str] | None) -> None:
            if result is not None:
                self.controller.open_conversation(result[0], result[1])

        self.app.push_screen(SearchScreen(), chosen)

    def run_search(self, query: str) -> None:
        self.controller.search(query)

    def _search_results(self, event: ev.SearchResults) -> None:
        screen = self.app.screen
        if isinstance(screen, SearchScreen):
            screen.show_results(event)
