"""Error and notice banner above the conversation. Keyed lines: a problem that
is fixed (the store reconnects, a good models.toml is saved) clears its own line."""

from __future__ import annotations

from textual.widgets import Static


class Banner(Static):
    DEFAULT_CLASSES = "banner"

    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self._lines: dict[str, tuple[str, str]] = {}

    def on_mount(self) -> None:
        self._refresh()

    def show(self, key: str, text: str, level: str = "error") -> None:
        self._lines[key] = (text, level)
        self._refresh()

    def clear(self, key: str) -> None:
        if self._lines.pop(key, None) is not None:
            self._refresh()

    @property
    def lines(self) -> dict[str, str]:
        return {k: v[0] for k, v in self._lines.items()}

    def _refresh(self) -> None:
        levels = {level for _, level in self._lines.values()}
        self.set_class("error" in levels, "-error")
        self.set_class("error" not in levels and bool(levels), "-warning")
        self.display = bool(self._lines)
        icon = {"error": "✖ ", "warning": "▲ "}
        self.update("\n".join(icon.get(level, "• ") + text for text, level in self._lines.values()))
