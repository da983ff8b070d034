"""The main screen's layout: the sidebar that hides itself on narrow terminals,
F4 to show or hide it, and the conversation scrolled from the prompt.

Mixed into ``MainScreen``. This is view state only (what fits on the screen);
the session's state stays with the controller.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from textual import events

from forge_tui.ui.widgets.conversation import ConversationView
from forge_tui.ui.widgets.prompt import PromptInput
from forge_tui.ui.widgets.sidebar import Sidebar
from forge_tui.ui.widgets.status_line import StatusLine

#: below this many columns the sidebar hides by itself (80×24 keeps the conversation readable)
AUTO_COLLAPSE_BELOW = 100


@dataclass(frozen=True)
class SidebarLayout:
    """Whether the sidebar shows: the width decides, unless the user chose with F4.

    A choice holds until the terminal crosses ``AUTO_COLLAPSE_BELOW`` (a resize from
    wide to narrow hides it again; narrow to wide shows it)."""

    wide: bool = True
    choice: bool | None = None

    @property
    def visible(self) -> bool:
        return self.wide if self.choice is None else self.choice

    def resized(self, width: int) -> "SidebarLayout":
        wide = width >= AUTO_COLLAPSE_BELOW
        return self if wide == self.wide else SidebarLayout(wide, None)

    def toggled(self) -> "SidebarLayout":
        return replace(self, choice=not self.visible)

    def shown(self) -> "SidebarLayout":
        return self if self.visible else replace(self, choice=True)


class LayoutHandlers:
    """Needs ``self.query_one`` (a Screen)."""

    sidebar_layout: SidebarLayout = SidebarLayout()

    def _apply_sidebar(self, layout: SidebarLayout) -> None:
        self.sidebar_layout = layout
        sidebar = self.query_one(Sidebar)
        sidebar.display = layout.visible
        self.query_one(StatusLine).display = not layout.visible
        if not layout.visible and sidebar.has_focus_within:
            self.query_one(PromptInput).focus()

    def on_resize(self, event: events.Resize) -> None:
        self._apply_sidebar(self.sidebar_layout.resized(event.size.width))

    def action_toggle_sidebar(self) -> None:
        self._apply_sidebar(self.sidebar_layout.toggled())

    def reveal_sidebar(self) -> None:
        """Show the sidebar (a key that focuses something in it: ctrl+o)."""
        self._apply_sidebar(self.sidebar_layout.shown())

    def on_prompt_input_scroll_requested(self, event: PromptInput.ScrollRequested) -> None:
        view = self.query_one(ConversationView)
        if event.where == "page_up":
            view.scroll_page_up(animate=False)
        elif event.where == "page_down":
            view.scroll_page_down(animate=False)
        elif event.where == "top":
            view.scroll_home(animate=False)
        else:
            view.scroll_end(animate=False)
