"""Command-palette provider: every action of the ``ACTIONS`` table."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from forge_tui.ui.actions import ACTIONS, ForgeAction


class ForgeCommands(Provider):
    async def _run(self, action: ForgeAction) -> None:
        app = self.app
        if action.target == "app":
            await app.run_action(action.action)
        else:
            await app.run_action(action.action, app.main_screen)  # type: ignore[attr-defined]

    def _label(self, action: ForgeAction) -> str:
        return f"{action.title} ({action.key_display or action.key})" if action.key else action.title

    async def discover(self) -> Hits:
        for action in ACTIONS:
            yield DiscoveryHit(self._label(action), partial(self._run, action), help=action.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for action in ACTIONS:
            label = self._label(action)
            score = max(matcher.match(label), matcher.match(action.help) * 0.5)
            if score > 0:
                yield Hit(score, matcher.highlight(label), partial(self._run, action), help=action.help)
