"""One line above the conversation while the sidebar is hidden: the project, the
model, how full the context is and whose system prompt is in force, so a narrow
terminal loses none of it."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from forge_tui.session.budget import fill_label, fill_percent


class StatusLine(Widget):
    project: reactive[str] = reactive("")
    model_label: reactive[str] = reactive("")
    store_label: reactive[str] = reactive("")
    tokens_used: reactive[int] = reactive(0)
    n_ctx: reactive[int] = reactive(0)
    system_prompt_level: reactive[str] = reactive("")  # "conversation", "project" or "" (Forge's own)

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(self.project or "—", style="bold")
        text.append(f" · {self.model_label}")
        if not self.store_label.endswith("connected"):
            text.append(f" · {self.store_label}", style="dim")
        if self.n_ctx > 0:  # the meter's own words and percentage
            percent = fill_percent(self.tokens_used, self.n_ctx)
            style = "" if percent < 60 else "bold yellow" if percent < 85 else "bold red"
            text.append(" · ")
            text.append(fill_label(self.tokens_used, self.n_ctx), style=style)
        if self.system_prompt_level:
            text.append(" · prompt: " + ("own" if self.system_prompt_level == "conversation" else "project"))
        text.append(" · F4 sidebar", style="dim")
        return text
