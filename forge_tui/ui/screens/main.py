"""The main screen and the hub of session state.

Session messages (from ``ui/bridge.py``) arrive here; the screen keeps the
state in reactives, bound into the sidebar with ``data_bind``, and calls the
conversation pane's methods. Widgets post their choices up; only this screen
talks to the controller, and the controller's methods all return at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer

from forge_tui.config import ModelsConfig
from forge_tui.domain.models import Conversation, Task, TurnStatus
from forge_tui.ui import messages as msg
from forge_tui.ui.actions import bindings
from forge_tui.ui.screens.features import FeatureHandlers
from forge_tui.ui.screens.model_picker import ModelFinder, ModelPicker
from forge_tui.ui.screens.project_prompt import ProjectPrompt
from forge_tui.ui.screens.train_picker import TrainPicker
from forge_tui.ui.widgets.archive import ArchivePane
from forge_tui.ui.widgets.banner import Banner
from forge_tui.ui.widgets.context_tray import ContextTray
from forge_tui.ui.widgets.conversation import ConversationView
from forge_tui.ui.widgets.prompt import PromptInput
from forge_tui.ui.widgets.sidebar import ConversationList, Sidebar

if TYPE_CHECKING:
    from forge_tui.session.controller import SessionController


class MainScreen(FeatureHandlers, Screen):
    BINDINGS = bindings("screen")
    AUTO_FOCUS = "#prompt"

    project: reactive[str] = reactive("default")
    model_label: reactive[str] = reactive("")
    store_label: reactive[str] = reactive("database · connecting…")
    tokens_used: reactive[int] = reactive(0)
    n_ctx: reactive[int] = reactive(0)
    busy: reactive[bool] = reactive(False)
    training_label: reactive[str] = reactive("")

    def __init__(self, controller: "SessionController", model_finder: ModelFinder | None = None) -> None:
        super().__init__(id="main")
        self.controller = controller
        self.model_finder = model_finder
        self.conversations: list[Conversation] = []
        self.current_id: str | None = None
        self.model_failed = False
        self.set_reactive(MainScreen.project, controller.project)
        self.set_reactive(MainScreen.n_ctx, controller.n_ctx)

    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            with Vertical(id="main-column"):
                yield Banner(id="banner")
                yield ConversationView(id="conversation")
                yield ArchivePane(id="archive")
                yield ContextTray(id="context-tray")
                yield PromptInput(id="prompt", placeholder="Message Forge  (Enter sends · Shift+Enter/ctrl+j newline)")
            yield Sidebar(id="sidebar").data_bind(
                MainScreen.project, MainScreen.model_label, MainScreen.store_label, MainScreen.training_label,
                tokens_used=MainScreen.tokens_used, n_ctx=MainScreen.n_ctx,
            )
        yield Footer(compact=True)

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

    # -- session messages ----------------------------------------------------
    def on_store_connected(self, message: msg.StoreConnected) -> None:
        self.store_label = "database · connected"
        self.banner.clear("store")

    def on_store_failed(self, message: msg.StoreFailed) -> None:
        self.store_label = "database · not reachable"
        self.banner.show("store", message.message)

    def on_model_loading(self, message: msg.ModelLoading) -> None:
        self.model_label = f"{message.name} · loading…"

    def on_model_ready(self, message: msg.ModelReady) -> None:
        self.model_failed = False
        self.model_label = f"{message.name} · ready"
        self.n_ctx = message.n_ctx
        self.banner.clear("model")

    def on_model_failed(self, message: msg.ModelFailed) -> None:
        self.model_failed = True
        self.model_label = f"{message.name} · failed"
        self.banner.show("model", f"Model '{message.name}' could not be loaded: {message.message} "
                                  "(ctrl+m or f2 picks another model)")

    def on_conversations_listed(self, message: msg.ConversationsListed) -> None:
        self.conversations = message.conversations
        if message.current_id is not None:
            self.current_id = message.current_id
        self._render_list()

    def _render_list(self) -> None:
        self.conversation_list.set_conversations(self.conversations, self.current_id, self.project)

    async def on_conversation_opened(self, message: msg.ConversationOpened) -> None:
        self.current_id = message.conversation.id
        self.project = message.conversation.project
        self.query_one(ContextTray).clear()
        await self.conversation_view.show_conversation(message.turns, message.focus_turn_id)
        self._render_list()

    async def on_turn_persisted(self, message: msg.TurnPersisted) -> None:
        self.current_id = message.turn.conversation_id
        await self.conversation_view.add_turn(message.turn)

    async def on_reply_started(self, message: msg.ReplyStarted) -> None:
        self.busy = True
        self.banner.clear("reply")
        await self.conversation_view.add_turn(message.turn)

    async def on_reply_streamed(self, message: msg.ReplyStreamed) -> None:
        text = message.take()
        if text:
            await self.conversation_view.append_reply(message.turn_id, text)

    async def on_reply_finished(self, message: msg.ReplyFinished) -> None:
        self.busy = False
        await self.conversation_view.finish_reply(message.turn, message.message)
        self.controller.refresh_list()  # turn counts and order changed
        if message.finish == "context" and message.message:
            self.banner.show("context", message.message, "warning")
        elif message.turn.status is TurnStatus.ERROR:  # e.g. a server down or a key refused: the fix, kept in view
            self.banner.show("reply", message.message or "The reply failed.", "error")

    def on_tokens_counted(self, message: msg.TokensCounted) -> None:
        self.tokens_used = message.used
        self.n_ctx = message.n_ctx

    def on_training_progressed(self, message: msg.TrainingProgressed) -> None:
        self.training_label = message.label

    def on_training_finished(self, message: msg.TrainingFinished) -> None:
        self.training_label = ""
        self.notify(message.message, severity="information" if message.ok else "warning", timeout=10)

    def on_notice_posted(self, message: msg.NoticePosted) -> None:
        if message.level == "error":
            self.banner.show("notice", message.message, "error")
        else:
            self.notify(message.message, severity=message.level if message.level in
                        ("information", "warning", "error") else "information")

    # -- widget messages -----------------------------------------------------
    @on(PromptInput.Submitted)
    def send_prompt(self, event: PromptInput.Submitted) -> None:
        if not event.text.strip():
            return
        if self.controller.send(event.text) is None:
            return  # refused (no database, reply running): the text stays in the input
        event.prompt.clear_prompt()
        self.banner.clear("notice")
        self.banner.clear("context")

    @on(ConversationList.Chosen)
    def open_chosen(self, event: ConversationList.Chosen) -> None:
        if self.controller.busy:
            self.notify("A reply is still streaming: press Esc to cancel it first.", severity="warning")
            return
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
        if self.controller.busy:
            self.controller.cancel()
        self.controller.new_conversation(project)
        self.project = project
        self.current_id = None
        self.query_one(ContextTray).clear()
        await self.conversation_view.clear_conversation()
        self._render_list()
        self.query_one(PromptInput).focus()

    def action_open_conversation(self) -> None:
        self.conversation_list.focus()

    def action_pick_model(self) -> None:
        if isinstance(self.app.screen, ModelPicker):
            return
        picker = ModelPicker(self.controller.models, self.controller.model_name, self.model_finder)
        self.app.push_screen(picker, lambda name: self._model_chosen(name, picker.models))

    def _model_chosen(self, name: str | None, models: ModelsConfig) -> None:
        if models is not self.controller.models:  # the picker added a found model
            self.controller.models = models
        if name is None:
            return
        if name != self.controller.model_name or self.model_failed:
            self.controller.load_model(name)

    def action_train_adapter(self) -> None:
        if self.controller.training is None:
            self.notify("Training is not available in this session.", severity="warning")
            return
        self.app.push_screen(TrainPicker(self.controller.training.running), self._train_chosen)

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
        self.store_label = "database · connecting…"
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
