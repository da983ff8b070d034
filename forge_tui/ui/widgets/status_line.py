"""One line above the conversation while the sidebar is hidden: the project, the
model and how full the context is, so a narrow terminal loses none of it."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


class StatusLine(Widget):
    project: reactive[str] = reactive("")
    model_label: reactive[str] = reactive("")
    store_label: reactive[str] = reactive("")
    tokens_used: reactive[int] = reactive(0)
    n_ctx: reactive[int] = reactive(0)

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(self.project or "—", style="bold")
        text.append(f" · {self.model_label}")
        if not self.store_label.endswith("connected"):
            text.append(f" · {self.store_label}", style="dim")
        if self.n_ctx > 0:
            ratio = min(1.0, self.tokens_used / self.n_ctx)
            style = "" if ratio < 0.6 else "bold yellow" if ratio < 0.85 else "bold red"
            text.append(" · ")
            text.append(f"{self.tokens_used:,}/{self.n_ctx:,} tokens ({ratio:.0%})", style=style)
        text.append(" · F4 sidebar", style="dim")
        return text
