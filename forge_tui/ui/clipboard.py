"""Copying to the terminal's clipboard (OSC 52), and saying so when it cannot work.

Textual's ``App.copy_to_clipboard`` writes the OSC 52 sequence to the terminal; no
terminal answers it, so Forge cannot see a refusal. What it can see is a terminal
known to drop the sequence (macOS Terminal; tmux and GNU screen unless told to pass
it on) or no terminal at all: then the notice says the copy did not happen and
where the text can be had instead (mouse selection, then ctrl+c; ``forge show``).
"""

from __future__ import annotations

import os
from typing import Mapping

from textual.app import App

#: shown when the text cannot reach the clipboard
ELSEWHERE = ("select it with the mouse and press ctrl+c (hold shift in terminals that keep the mouse), "
             "or print it with `forge show {conv}`")


def osc52_blocker(env: Mapping[str, str]) -> str | None:
    """Why this terminal will drop an OSC 52 clipboard write, if it is one known to."""
    if env.get("TERM_PROGRAM") == "Apple_Terminal":
        return "macOS Terminal ignores clipboard writes from programs (OSC 52)"
    if env.get("TMUX") and env.get("FORGE_TMUX_CLIPBOARD") != "1":
        return ("tmux passes clipboard writes on only with `set -g set-clipboard on` "
                "(then set FORGE_TMUX_CLIPBOARD=1)")
    if env.get("STY"):
        return "GNU screen does not pass clipboard writes (OSC 52) on"
    return None


def copy_text(app: App, text: str, what: str, conversation_id: str | None = None,
              env: Mapping[str, str] | None = None) -> bool:
    """Copy ``text`` (``what`` names it: "the last reply", "code block 2") and tell the user how it went.

    Returns False when the copy cannot have reached the clipboard (the notice says where the text is)."""
    elsewhere = ELSEWHERE.format(conv=(conversation_id or "ID")[:8])
    if not text:
        app.notify(f"Nothing to copy: {what} is empty.", severity="warning")
        return False
    blocker = osc52_blocker(os.environ if env is None else env)
    try:
        app.copy_to_clipboard(text)
    except OSError as exc:  # the terminal went away under the write
        blocker = f"the terminal refused the write ({exc})"
    if blocker is not None:
        app.notify(f"Could not copy {what}: {blocker}. To get the text, {elsewhere}.", severity="warning",
                   timeout=12)
        return False
    app.notify(f"Copied {what} ({len(text):,} characters) to the clipboard.", timeout=4)
    return True
