"""The one table of user actions: it yields the key bindings (with ids, so a
keymap can rebind them) and the command-palette entries.

``target`` says who runs the action: the main screen (session actions) or the app.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

from forge_tui.domain.models import TRASH_KEEP_DAYS


@dataclass(frozen=True)
class ForgeAction:
    id: str
    action: str
    title: str
    help: str
    key: str | None = None
    key_display: str | None = None
    target: str = "screen"  # "screen" | "app"
    show: bool = True
    priority: bool = False  # needed where the prompt (a TextArea) binds the same key (f6, f7)

    def binding(self) -> Binding:
        assert self.key is not None
        return Binding(self.key, self.action, self.title, show=self.show, id=self.id,
                       key_display=self.key_display, priority=self.priority)


ACTIONS: tuple[ForgeAction, ...] = (
    ForgeAction("forge.help", "show_help", "Help", "Every key and what each pane is", "f1", target="app"),
    ForgeAction("forge.cancel", "cancel_reply", "Cancel", "Stop the reply that is streaming (never quits)",
                "escape", "esc"),
    ForgeAction("forge.new", "new_conversation", "New", "Start a new conversation (asks for the project)",
                "ctrl+n"),
    ForgeAction("forge.open", "open_conversation", "Open", "Choose a conversation from the list", "ctrl+o",
                show=False),
    ForgeAction("forge.model", "pick_model", "Model", "Pick the chat model from models.toml",
                "ctrl+m,f2", "^m/f2"),
    ForgeAction("forge.retry", "retry_store", "Retry DB", "Reconnect to MongoDB", "ctrl+r", show=False),
    ForgeAction("forge.archive", "toggle_archive", "Archive", "Show or hide the archive preview pane", "f3",
                show=False),
    ForgeAction("forge.search", "search", "Search", "Search every conversation in every project", "ctrl+f"),
    ForgeAction("forge.compress", "compress", "Compress", "Compress this conversation into an archive", "f5"),
    ForgeAction("forge.continue", "continue_archive", "Continue", "Continue in a new conversation from the archive",
                "f6", show=False, priority=True),
    ForgeAction("forge.lineage", "lineage", "Lineage", "Show ancestors and descendants of this conversation", "f7",
                show=False, priority=True),
    ForgeAction("forge.revalidate", "revalidate", "Revalidate", "Revalidate the decision picked in the sidebar",
                "f8", show=False),
    ForgeAction("forge.cancel_queued", "cancel_queued", "Cancel queued message",
                "Take back a message waiting for the reply to end (the focused one, else the newest); "
                "its text returns to the prompt"),
    ForgeAction("forge.pin_decision", "pin_decision", "Pin a decision…",
                "Record a decision by hand in this project (yours: extraction never supersedes it)"),
    ForgeAction("forge.dismiss_knowledge", "dismiss_knowledge", "Dismiss decision or thread…",
                "Pick a wrong decision or thread of this project and dismiss it (kept in the audit log); "
                "d on the knowledge list"),
    ForgeAction("forge.resolve_thread", "resolve_thread", "Resolve thread…",
                "Pick an open thread of this project and mark it resolved; r on the knowledge list"),
    ForgeAction("forge.sidebar", "toggle_sidebar", "Sidebar",
                "Show or hide the sidebar (it hides by itself below 100 columns)", "f4", show=False),
    ForgeAction("forge.focus_prompt", "focus_prompt", "Prompt", "Move the cursor to the prompt", "ctrl+l",
                show=False),
    ForgeAction("forge.train", "train_adapter", "Train adapter",
                "Fine-tune a LoRA adapter on your history in the background (or stop the running one)"),
    ForgeAction("forge.refresh", "refresh_list", "Refresh list", "Reload the conversation list"),
    ForgeAction("forge.rename", "rename_conversation", "Rename conversation",
                "Retitle the open conversation (or the one highlighted in the list)"),
    ForgeAction("forge.delete", "delete_conversation", "Delete conversation",
                f"Move the open (or highlighted) conversation to the trash; restorable for {TRASH_KEEP_DAYS} days"),
    ForgeAction("forge.restore", "restore_from_trash", "Restore from trash",
                "Bring a deleted conversation back into its project"),
    ForgeAction("forge.system_prompt", "set_system_prompt", "Set system prompt…",
                "Give the open (or highlighted) conversation its own system prompt, or clear it"),
    ForgeAction("forge.project_prompt", "set_project_system_prompt", "Set project system prompt…",
                "The default system prompt of this project's conversations (those without their own)"),
    ForgeAction("forge.export", "export_conversation", "Export conversation…",
                "Write the open (or highlighted) conversation to a Markdown, JSON or YAML file"),
    ForgeAction("forge.export_archive", "export_archive", "Export archive…",
                "Write the conversation's latest archive to a YAML file"),
    ForgeAction("forge.copy_reply", "copy_last_reply", "Copy last reply",
                "Copy the last reply (or the focused turn) to the clipboard; c on a focused turn", "f9", show=False),
    ForgeAction("forge.copy_code", "copy_code_block", "Copy code block",
                "Copy a code block of the focused turn or the last reply (y on a focused turn, or its ⧉ copy button)"),
    ForgeAction("forge.regenerate", "regenerate_reply", "Regenerate reply",
                "Answer again; the old reply is kept as a version (alt+←/→ browses)", "ctrl+g", "^g", show=False),
    ForgeAction("forge.edit", "edit_message", "Edit message",
                "Edit your last (or the focused) message and send it again: a new branch, the old one kept"),
    ForgeAction("forge.version_previous", "previous_version", "Previous version",
                "Show the previous version of the focused turn or the last reply ([ on a focused turn)",
                "alt+left", "alt+←", show=False),
    ForgeAction("forge.version_next", "next_version", "Next version",
                "Show the next version of the focused turn or the last reply (] on a focused turn)",
                "alt+right", "alt+→", show=False),
    ForgeAction("forge.focus_turns", "focus_turns", "Focus the conversation",
                "Move the cursor to the last turn: up/down between turns, c copy, y code, r regenerate, e edit, "
                "[ ] versions", "alt+up", "alt+↑", show=False),
    ForgeAction("forge.theme", "toggle_theme", "Theme", "Switch to the next Forge theme", "ctrl+t",
                target="app", show=False),
    ForgeAction("forge.quit", "quit", "Quit", "Quit Forge", "ctrl+q", target="app", priority=True),
)


def bindings(target: str) -> list[Binding]:
    return [a.binding() for a in ACTIONS if a.target == target and a.key]
