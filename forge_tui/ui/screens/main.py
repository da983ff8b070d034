"""The main screen and the hub of session state.

Session events (from ``ui/bridge.py``, one message type) arrive here and are
dispatched by the event's type. ``StateChanged`` carries the controller's
immutable ``SessionState``; the screen binds it (its reactives feed the
sidebar with ``data_bind``). Events about a conversation the pane no longer
shows are dropped. Widgets post their choices up; only this screen talks to the
controller, whose commands all return at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen

from forge_tui.config import ModelsConfig
from forge_tui.domain.models import Conversation, Task, TurnStatus
from forge_tui.session import events as ev
from forge_tui.session.state import SessionState
from forge_tui.ui.actions import bindings
from forge_tui.ui.messages import SessionEventPosted
from forge_tui.ui.screens.branches import BranchHandlers
from forge_tui.ui.screens.features import FeatureHandlers
from forge_tui.ui.screens.knowledge_edit import KnowledgeHandlers
from forge_tui.ui.screens.export import ExportHandlers
from forge_tui.ui.screens.layout import LayoutHandlers
from forge_tui.ui.screens.manage import ManageHandlers
from forge_tui.ui.screens.model_picker import ModelFinder, ModelPicker
from forge_tui.ui.screens.project_prompt import ProjectPrompt
from forge_tui.ui.screens.system_prompt import PromptHandlers, prompt_line
from forge_tui.ui.screens.train_picker import TrainPicker
from forge_tui.ui.screens.waiting import WaitingHandlers
from forge_tui.ui.widgets.archive import ArchivePane
from forge_tui.ui.widgets.banner import Banner
from forge_tui.ui.widgets.context_tray import ContextTray
from forge_tui.ui.widgets.conversation import ConversationView
from forge_tui.ui.widgets.footer import ForgeFooter
from forge_tui.ui.widgets.prompt import PromptInput
from forge_tui.ui.widgets.sidebar import ConversationList, Sidebar
from forge_tui.ui.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from forge_tui.session.controller import SessionController

#: "no conversation shown yet": a new one or an opened one is on its way
PENDING = ""

_STORE_LABELS = {"connecting": "database · connecting…", "connected": "database · connected",
                 "lost": "database · reconnecting…", "failed": "database · not reachable"}


class MainScreen(LayoutHandlers, WaitingHandlers, BranchHandlers, ManageHandlers, PromptHandlers, ExportHandlers,
                 FeatureHandlers, KnowledgeHandlers, Screen):
    BINDINGS = bindings("screen")
    AUTO_FOCUS = "#prompt"

    project: reactive[str] = reactive("default")
    model_label: reactive[str] = reactive("")
    store_label: reactive[str] = reactive("database · connecting…")
    tokens_used: reactive[int] = reactive(0)
    n_ctx: reactive[int] = reactive(0)
    busy: reactive[bool] = reactive(False)
    training_label: reactive[str] = reactive("")
    system_prompt_label: reactive[str] = reactive("")
    #: where the system prompt in force comes from: "conversation", "project", or "" (Forge's own)
    system_prompt_level: reactive[str] = reactive("")

    def __init__(self, controller: "SessionController", model_finder: ModelFinder | None = None) -> None:
        super().__init__(id="main")
        self.controller = controller
        self.model_finder = model_finder
        self.conversations: list[Conversation] = []
        self.state: SessionState = controller.state
        #: the conversation the pane shows (events for any other are dropped)
        self.current_id: str | None = self.state.conversation_id
        self.set_reactive(MainScreen.project, self.state.project)
        self.set_reactive(MainScreen.n_ctx, self.state.n_ctx)
        self._handlers: dict[type, Callable[[Any], Awaitable[None] | None]] = {
            ev.StateChanged: self._state_changed,
            ev.Notice: self._notice,
            ev.ConversationsListed: self._conversations_listed,
            ev.ConversationOpened: self._conversation_opened,
            ev.TurnPersisted: self._turn_persisted,
            ev.ReplyStarted: self._reply_started,
            ev.ReplyChunk: self._reply_chunk,
            ev.ReplyFinished: self._reply_finished,
            ev.TrainingProgressed: self._training_progressed,
            ev.TrainingFinished: self._training_finished,
            **self.feature_handlers(),
            **self.manage_handlers(),
            **self.knowledge_handlers(),
            **self.prompt_handlers(),
            **self.export_handlers(),
            **self.branch_handlers(),
            **self.waiting_handlers(),
        }

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            with Vertical(id="main-column"):
                yield StatusLine(id="status-line").data_bind(
                    MainScreen.project, MainScreen.model_label, MainScreen.store_label,
                    MainScreen.system_prompt_level, tokens_used=MainScreen.tokens_used, n_ctx=MainScreen.n_ctx,
                )
                yield Banner(id="banner")
                yield ConversationView(id="conversation")
                yield ArchivePane(id="archive")
                yield ContextTray(id="context-tray")
                yield PromptInput(id="prompt", placeholder="Message Forge  (Enter sends · Shift+Enter/ctrl+j newline)")
            yield Sidebar(id="sidebar").data_bind(
                MainScreen.project, MainScreen.model_label, MainScreen.store_label, MainScreen.training_label,
                MainScreen.system_prompt_label,
                tokens_used=MainScreen.tokens_used, n_ctx=MainScreen.n_ctx,
            )
        yield ForgeFooter(compact=True)

    @property
    def banner(self) -> Banner:
        return self.query_one(Banner)

    @property
    def conversation_view(self) -> ConversationView:
        return self.query_one(ConversationView)

    @property
    def conversation_list(self) -> ConversationList:
        return self.query_one(ConversationList)

    def watch_busy(self, busy: bool) -> None:
        self.query_one(PromptInput).set_class(busy, "-busy")

    # -- session events ------------------------------------------------------------------
    async def on_session_event_posted(self, message: SessionEventPosted) -> None:
        event = message.event
        if isinstance(event, ev.ConversationEvent) and event.conversation_id != self.current_id:
            return  # about a conversation this pane no longer shows
        handler = self._handlers.get(type(event))
        if handler is not None:
            result = handler(event)
            if result is not None:
                await result

    def _state_changed(self, event: ev.StateChanged) -> None:
        old, state = self.state, event.state
        self.state = state
        self.busy = state.busy
        self.project = state.project
        self.tokens_used, self.n_ctx = state.tokens_used, state.n_ctx
        self.model_label = f"{state.model} · {'loading…' if state.model_status == 'loading' else state.model_status}"
        self.store_label = _STORE_LABELS[state.store_status]
        self.system_prompt_label = prompt_line(state.system_prompt)
        self.system_prompt_level = state.system_prompt.level if state.system_prompt is not None else ""
        if state.model_status == "failed":
            self.banner.show("model", f"Model '{state.model}' could not be loaded: {state.model_message} "
                                      "(ctrl+m or f2 picks another model)")
        else:
            self.banner.clear("model")
        self._show_store(state)
        self.show_waiting(state)
        if old.project != state.project:
            self._render_list()

    def _show_store(self, state: SessionState) -> None:
        waiting = []
        if state.pending_writes:
            waiting.append(f"{state.pending_writes} write(s) held in memory")
        if state.queued_messages:
            waiting.append(f"{len(state.queued_messages)} message(s) waiting to be sent")
        tail = f" ({', '.join(waiting)})" if waiting else ""
        if state.store_status == "connected":
            self.banner.clear("store")
        elif state.store_message:
            level = "warning" if state.store_status in ("lost", "connecting") else "error"
            self.banner.show("store", state.store_message + tail, level)

    def _notice(self, event: ev.Notice) -> None:
        if event.level == "error":
            self.banner.show("notice", event.message, "error")
        else:
            self.notify(event.message, severity=event.level)

    def _conversations_listed(self, event: ev.ConversationsListed) -> None:
        self.conversations = list(event.conversations)
        self._render_list()

    def _render_list(self) -> None:
        self.conversation_list.set_conversations(self.conversations, self.current_id, self.project)

    async def _conversation_opened(self, event: ev.ConversationOpened) -> None:
        self.current_id = event.conversation.id
        self.project = event.conversation.project
        self.query_one(ContextTray).clear()
        self.query_one(ArchivePane).reset()  # the controller's ArchiveLoaded follows when it has one
        if event.turns:
            await self.conversation_view.show_conversation(list(event.turns), event.focus_turn_id)
        else:
            await self.conversation_view.clear_conversation()
        self._render_list()

    async def _turn_persisted(self, event: ev.TurnPersisted) -> None:
        await self.conversation_view.add_turn(event.turn)

    async def _reply_started(self, event: ev.ReplyStarted) -> None:
        self.banner.clear("reply")
        await self.conversation_view.add_turn(event.turn)

    async def _reply_chunk(self, event: ev.ReplyChunk) -> None:
        await self.conversation_view.append_reply(event.turn_id, event.text)

    async def _reply_finished(self, event: ev.ReplyFinished) -> None:
        await self.conversation_view.finish_reply(event.turn, event.message)
        # (a reply stopped by the end of the context: the state's context_note keeps the banner)
        if event.turn.status is TurnStatus.ERROR and event.finish != "context":  # e.g. a server down or a key refused: the fix, kept in view
            self.banner.show("reply", event.message or "The reply failed.", "error")

    def _training_progressed(self, event: ev.TrainingProgressed) -> None:
        self.training_label = training_label(event)

    def _training_finished(self, event: ev.TrainingFinished) -> None:
        self.training_label = ""
        self.notify(f"Training {event.task}: {event.message}", severity="information" if event.ok else "warning",
                    timeout=10)

    # -- widget messages -----------------------------------------------------
    @on(PromptInput.Submitted)
    def send_prompt(self, event: PromptInput.Submitted) -> None:
        if not event.text.strip():
            return
        # while a reply runs the session queues it: shown as a pending turn, sent when the reply ends
        if not self.controller.send(event.text):
            return
        event.prompt.clear_prompt()
        self.banner.clear("notice")

    @on(ConversationList.Chosen)
    def open_chosen(self, event: ConversationList.Chosen) -> None:
        if event.conversation_id == self.current_id:
            self.query_one(PromptInput).focus()
            return
        self.current_id = PENDING  # drop the old conversation's late events until the new one is shown
        self.controller.open_conversation(event.conversation_id)
        self.query_one(PromptInput).focus()

    # -- actions -------------------------------------------------------------
    def action_cancel_reply(self) -> None:
        if self.controller.cancel():
            self.notify("Cancelling the reply…", timeout=2)

    def action_new_conversation(self) -> None:
        projects = sorted({c.project for c in self.conversations})
        self.app.push_screen(ProjectPrompt(self.project, projects), self._start_new)

    async def _start_new(self, project: str | None) -> None:
        if project is None:
            return
        self.controller.new_conversation(project)  # cancels a running reply; it stays in its conversation
        self.project = project
        self.current_id = PENDING
        self.query_one(ContextTray).clear()
        await self.conversation_view.clear_conversation()
        self._render_list()
        self.query_one(PromptInput).focus()

    def action_open_conversation(self) -> None:
        self.reveal_sidebar()
        self.conversation_list.focus()

    def action_pick_model(self) -> None:
        if isinstance(self.app.screen, ModelPicker):
            return
        picker = ModelPicker(self.controller.models, self.state.model, self.model_finder)
        self.app.push_screen(picker, lambda name: self._model_chosen(name, picker.models))

    def _model_chosen(self, name: str | None, models: ModelsConfig) -> None:
        if models is not self.controller.models:  # the picker added a found model
            self.controller.update_models(models)
        if name is None:
            return
        if name != self.state.model or self.state.model_status == "failed":
            self.controller.load_model(name)

    def action_train_adapter(self) -> None:
        training = self.controller.training
        if training is None:
            self.notify("Training is not available in this session.", severity="warning")
            return
        self.app.push_screen(TrainPicker(training.running), self._train_chosen)

    def _train_chosen(self, task: Task | None) -> None:
        training = self.controller.training
        if task is None or training is None:
            return
        if training.running:
            training.stop()
            self.notify("Stopping the training run after its current step…", timeout=4)
        elif training.start(task):
            self.training_label = f"training {task.value} · starting…"

    def action_retry_store(self) -> None:
        self.controller.retry_store()

    def action_toggle_archive(self) -> None:
        self.query_one(ArchivePane).toggle_class("-visible")

    def action_focus_prompt(self) -> None:
        self.query_one(PromptInput).focus()

    def action_refresh_list(self) -> None:
        self.controller.refresh_list()

    # -- configuration (called by the app) -----------------------------------
    def models_changed(self, models: ModelsConfig) -> None:
        self.banner.clear("config:models")
        if isinstance(self.app.screen, ModelPicker):
            self.app.screen.update_models(models)

    def config_failed(self, key: str, text: str) -> None:
        self.banner.show(key, text)

    def config_ok(self, key: str) -> None:
        self.banner.clear(key)


def training_label(event: ev.TrainingProgressed) -> str:
    """The sidebar's line for a training run."""
    if not event.total:
        return f"training {event.task} · {event.text}"[:120]
    eta = "" if event.eta_s != event.eta_s else f" · ETA {int(event.eta_s) // 60}m{int(event.eta_s) % 60:02d}s"
    return f"training {event.task} · {event.step}/{event.total} · loss {event.loss:.3f}{eta}"
