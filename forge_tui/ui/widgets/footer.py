"""The footer, whole at any width: keys that would not fit are left out instead of
being cut at the right edge (Textual's footer overflows). F1 lists every key."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


def _width(key: FooterKey) -> int:
    """Columns of a compact footer key: ``key description``."""
    return len(key.key_display) + (1 + len(key.description) if key.description else 0)


class ForgeFooter(Footer):
    def compose(self) -> ComposeResult:
        widgets: list[Widget] = list(super().compose())
        palette = [w for w in widgets if w.has_class("-command-palette")]
        room = (self.size.width or self.app.size.width) - sum(_width(w) + 2 for w in palette
                                                              if isinstance(w, FooterKey))
        kept: list[Widget] = []
        for widget in widgets:
            if widget in palette:
                continue
            need = _width(widget) + 1 if isinstance(widget, FooterKey) else 0
            if need > room:
                continue  # a later, shorter key may still fit
            room -= need
            kept.append(widget)
        if len(kept) < len(widgets) - len(palette):
            self.styles.grid_size_columns = len(kept)
        yield from kept
        yield from palette

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self.recompose)
