"""Feature wiring of the main screen: archives (issue 3), knowledge (issue 4), search (issue 5).

Mixed into ``MainScreen``. Feature services report through the controller as
``FeatureEvent(kind, payload)``; ``FEATURE_KINDS`` names the kinds the UI
understands and the handler for each. Commands go straight to the controller's feature entry points (a feature the
composition root did not wire answers with a notice).
"""

from __future__ import annotations

from typing import Any

from forge_tui.ui import messages as msg
from forge_tui.ui.screens.conflict import ConflictModal
from forge_tui.ui.screens.confirm import ConfirmModal
from forge_tui.ui.screens.lineage import LineageScreen
from forge_tui.ui.screens.search import SearchScreen
from forge_tui.ui.widgets.archive import ArchivePane
from forge_tui.ui.widgets.context_tray import ContextTray
from forge_tui.ui.widgets.knowledge import KnowledgePanel, KnowledgeState

#: FeatureEvent kind -> handler method name (payload documented in the handler)
FEATURE_KINDS = {
    "knowledge_changed": "_knowledge_changed",
    "archive_started": "_archive_started",
    "archive_ready": "_archive_ready",
    "archive_failed": "_archive_failed",
    "lineage": "_lineage_listed",
    "search_results": "_search_results",
    "auto_compress_suggested": "_archive_suggested",
    "context_offered": "_retrieval_offered",
    "archive_pasted": "_archive_pasted",
}
# ``archive_piece`` {text} arrives as ``ArchiveStreamed`` (coalesced by the bridge)

class FeatureHandlers:
    """Needs ``self.controller``, ``self.app``, ``self.notify``, ``self.query_one`` (a Screen)."""

    last_decision: dict[str, Any] | None = None
    last_thread: dict[str, Any] | None = None

    def on_feature_updated(self, message: msg.FeatureUpdated) -> None:
        handler = FEATURE_KINDS.get(message.kind)
        if handler is not None:
            getattr(self, handler)(message.payload)

    # -- knowledge -----------------------------------------------------------
    def _knowledge_changed(self, payload: dict[str, Any]) -> None:
        """payload: ``forge_tui.knowledge.view.knowledge_view(...)``."""
        self.query_one(KnowledgePanel).show(KnowledgeState.from_payload(payload))

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
        if event.kind == "thread":
            self.last_thread = item
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

    def action_resolve_thread(self) -> None:
        thread = self.last_thread
        if thread is None or thread.get("status") != "OPEN":
            self.notify("Pick an open thread in the sidebar first.", severity="warning")
            return
        self.controller.resolve_thread(thread["id"], "RESOLVED", project=thread.get("project"))

    # -- archives ------------------------------------------------------------
    def _archive_started(self, payload: dict[str, Any]) -> None:
        """payload: conversation_id, mode."""
        self.query_one(ArchivePane).started(payload)

    def on_archive_streamed(self, message: msg.ArchiveStreamed) -> None:
        """Pieces of the YAML being generated (``archive_piece`` events, coalesced)."""
        self.query_one(ArchivePane).chunk(message.take())

    def _archive_ready(self, payload: dict[str, Any]) -> None:
        """payload: archive_id, yaml, tokens_source, tokens_archive, mode, dropped."""
        self.query_one(ArchivePane).ready(payload)

    def _archive_failed(self, payload: dict[str, Any]) -> None:
        """payload: message, partial."""
        self.query_one(ArchivePane).failed(payload)
        self.notify(payload.get("message", "Compression failed."), severity="error")

    def _archive_pasted(self, payload: dict[str, Any]) -> None:
        """payload: linked [archive ids], invalid [reasons], conversation_id."""
        for archive_id in payload.get("linked", []):
            self.notify(f"Pasted archive {archive_id[:8]} linked: this conversation continues from it (F7).")
        for reason in payload.get("invalid", []):
            self.notify(f"A pasted archive is not valid and was not linked: {reason}", severity="warning")

    def _archive_suggested(self, payload: dict[str, Any]) -> None:
        """payload: used, n_ctx (auto_compress = "ask": the context passed the threshold)."""
        used, n_ctx = int(payload.get("used", 0)), int(payload.get("n_ctx", 0)) or 1

        def answered(yes: bool | None) -> None:
            if yes:
                self.controller.compress(then_continue=True)

        self.app.push_screen(ConfirmModal(
            "Context nearly full",
            f"This conversation uses {used:,} of {n_ctx:,} tokens ({used / n_ctx:.0%}). Compress it into an "
            "archive and continue in a new conversation? Nothing is deleted: the turns stay in the store.",
            yes="Compress and continue"), answered)

    def action_compress(self) -> None:
        if self.controller.conversation is None:
            self.notify("Open or start a conversation first.", severity="warning")
            return
        self.controller.compress()

    def action_continue_archive(self) -> None:
        # None lets the controller pick the conversation's latest archive
        self.controller.continue_from_archive(self.query_one(ArchivePane).archive_id)

    def action_lineage(self) -> None:
        if self.controller.conversation is None:
            self.notify("Open a conversation to see its lineage.", severity="warning")
            return
        self.controller.show_lineage()

    def _lineage_listed(self, payload: dict[str, Any]) -> None:
        """payload: ``compression.lineage.lineage(store, id)`` (+ optional titles {id: title})."""
        def chosen(conv_id: str | None) -> None:
            if conv_id:
                self.controller.open_conversation(conv_id)

        titles = {c.id: c.title for c in getattr(self, "conversations", [])}
        titles.update(payload.get("titles") or {})
        self.app.push_screen(LineageScreen({**payload, "titles": titles}), chosen)

    # -- retrieval -----------------------------------------------------------
    def _retrieval_offered(self, payload: dict[str, Any]) -> None:
        """payload: items [ContextItem fields: kind, text, source, project, score, tokens], budget."""
        self.query_one(ContextTray).offer(payload)

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

    def _search_results(self, payload: dict[str, Any]) -> None:
        """payload: query, hits [SearchHit.to_dict()], notes, error."""
        screen = self.app.screen
        if isinstance(screen, SearchScreen):
            screen.show_results(payload)
