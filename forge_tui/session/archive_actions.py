"""Compress / continue / lineage, as commands on the session (issue 3).

Runs on the controller's worker; the model work goes through the same engine
thread as chat, so a compression and a reply never overlap. Esc cancels a
compression like a reply. Events (``FeatureEvent.kind``):

* ``archive_started`` {conversation_id, mode}
* ``archive_piece``   {text}                 — the YAML as the model writes it
* ``archive_ready``   {archive_id, yaml, tokens_source, tokens_archive, dropped, conversation_id}
* ``archive_failed``  {message, partial}
* ``lineage``         {id, type, ancestors, descendants}
* ``auto_compress_suggested`` {used, n_ctx}
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Sequence

from forge_tui.compression.lineage import lineage
from forge_tui.compression.service import CompressionError, CompressionResult, compress, continue_from, load_archive
from forge_tui.session import events as ev
from forge_tui.session.routing import Router, RoutingExhausted

if TYPE_CHECKING:  # pragma: no cover
    from forge_tui.session.controller import SessionController

log = logging.getLogger(__name__)


class ArchiveActions:
    def __init__(self, controller: "SessionController", registry_factory: Callable[[], Any] | None = None,
                 router: Router | None = None):
        """``router``: compressions follow ``[routing].compress`` when it is set (else the model in use)."""
        self.c = controller
        self._registry_factory = registry_factory
        self._router = router
        self.last_archive_id: str | None = None

    def _registry(self):
        return self._registry_factory() if self._registry_factory else None

    def _emit(self, kind: str, **payload) -> None:
        self.c.emit(ev.FeatureEvent(kind, payload))

    # -- compress ------------------------------------------------------------
    def compress(self, mode: str = "default", upto_message_id: str | None = None,
                 context_archives: Sequence[str] = (), then_continue: bool = False):
        c = self.c
        if c.conversation is None:
            c.emit(ev.Notice("Nothing to compress yet: open or start a conversation first.", "warning"))
            return None
        if not c.claim():
            c.emit(ev.Notice("A reply or compression is running: press Esc to cancel it first.", "warning"))
            return None
        return c.submit(self._compress, c.conversation.id, mode, upto_message_id, tuple(context_archives),
                        then_continue)

    def _compress(self, conv_id: str, mode: str, upto: str | None, context: tuple, then_continue: bool) -> None:
        c = self.c
        try:
            self._emit("archive_started", conversation_id=conv_id, mode=mode)
            try:
                result = self._compress_with(
                    conv_id, mode=mode, upto_message_id=upto,
                    budget_tokens=c.settings.archive_token_budget, context_archives=context,
                    registry=self._registry(), on_piece=lambda t: self._emit("archive_piece", text=t),
                    cancel=c.cancel_event,
                )
            except CompressionError as exc:
                self._emit("archive_failed", message=str(exc), partial=exc.partial)
                return
            self.last_archive_id = result.archive_id
            self._emit("archive_ready", archive_id=result.archive_id, yaml=result.yaml_text,
                       tokens_source=result.tokens_source, tokens_archive=result.tokens_archive,
                       dropped=list(result.dropped), conversation_id=conv_id)
        finally:
            c.release()
        if then_continue:
            self._continue(result.archive_id)

    def _compress_with(self, conv_id: str, **options) -> "CompressionResult":
        c = self.c
        store = c.require_store()
        if self._router is not None and self._router.routes("compress"):
            try:
                return self._router.run(
                    "compress", c.project, lambda engine: compress(store, engine, conv_id, **options),
                    escalate_on=(CompressionError,), current=c.model_name, cancel=c.cancel_event).value
            except RoutingExhausted as exc:
                raise CompressionError(str(exc)) from None
        engine = c.engine
        if engine is None or not engine.ready:
            raise CompressionError("No model is ready to write the archive: pick one with ctrl+m (or f2).")
        return compress(store, engine, conv_id, **options)

    # -- continue ------------------------------------------------------------
    def continue_from(self, archive_id: str | None = None):
        archive_id = archive_id or self.last_archive_id or self._latest_archive_id()
        if archive_id is None:
            self.c.emit(ev.Notice("No archive yet: compress this conversation first (F5).", "warning"))
            return None
        return self.c.submit(self._continue, archive_id)

    def _latest_archive_id(self) -> str | None:
        c = self.c
        if c.store is None or c.conversation is None:
            return None
        edges = c.store.edges_from(c.conversation.id, "compressed_into")
        if not edges:
            return None
        return str(max(edges, key=lambda e: str(e.get("created_at") or ""))["dst"])

    def _continue(self, archive_id: str) -> None:
        c = self.c
        try:
            # continuing needs no model: a session whose model failed to load can still do it
            conv = continue_from(c.store, archive_id)
        except CompressionError as exc:
            c.emit(ev.Notice(str(exc), "error"))
            return
        registry = self._registry()
        if registry is not None:
            from forge_tui.knowledge.decay import rehydrate

            try:
                rehydrate(registry, load_archive(c.store, archive_id), conv.id)
            except Exception:  # knowledge is secondary: the continued conversation exists already
                log.exception("re-hydrating archive %s failed", archive_id)
        if c.search_actions is not None:
            prompt = load_archive(c.store, archive_id).get("continuation_prompt") or conv.title
            c.search_actions.offer_for(conv, prompt)
        c.open_now(conv.id)
        c.list_now()
        self.show_lineage(conv.id)

    # -- lineage -------------------------------------------------------------
    def show_lineage(self, node: str | None = None):
        node = node or (self.c.conversation.id if self.c.conversation else None)
        if node is None:
            return None
        return self.c.submit(lambda: self._emit("lineage", **lineage(self.c.store, node)))

    # -- auto-compress -------------------------------------------------------
    def check_auto_compress(self, used: int, n_ctx: int) -> None:
        """Called after each reply: past the threshold, compress and continue (or ask)."""
        setting = self.c.settings.auto_compress
        if setting == "off" or not n_ctx or used / n_ctx < self.c.settings.auto_compress_threshold:
            return
        if setting == "auto":
            self.c.emit(ev.Notice(f"Context {used}/{n_ctx}: compressing and continuing in a new session "
                                  "(the original turns stay).", "information"))
            self.compress(then_continue=True)
        else:
            self._emit("auto_compress_suggested", used=used, n_ctx=n_ctx)
