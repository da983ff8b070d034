"""`forge sessions prompt`: show, set or clear a system prompt — a conversation's own, or a
project's default (which every conversation of the project without its own follows).

    forge sessions prompt ID                      # what ID runs under, and where it comes from
    forge sessions prompt ID "Answer in French."  # its own prompt ("-" reads it from stdin)
    forge sessions prompt ID --clear              # back to the project's default
    forge sessions prompt --project P [TEXT|--clear]
"""

from __future__ import annotations

import sys

from forge_tui.commands.resolve import resolve_conversation
from forge_tui.domain.models import clean_system_prompt


def add_prompt_parser(actions) -> None:
    a = actions.add_parser("prompt", help="show, set or clear the system prompt of a conversation or a project")
    a.add_argument("words", nargs="*", metavar="[ID] [TEXT]",
                   help="conversation id (a unique prefix is enough; none with --project), then the prompt "
                        "('-' reads it from stdin); without a prompt, show the one in force")
    a.add_argument("--project", help="the project's default prompt instead of one conversation's")
    a.add_argument("--clear", action="store_true",
                   help="remove it (a conversation then follows its project's default)")
    a.set_defaults(func=cmd_prompt)


def _error(message: str) -> int:
    print(f"forge: {message}", file=sys.stderr)
    return 2


def _show(text: str | None, where: str) -> None:
    if text:
        print(f"{where}:\n{text}")
    else:
        print(f"{where}: none (Forge's built-in prompt)")


def cmd_prompt(args, ctx) -> int:
    words = list(args.words)
    ident = None if args.project else (words.pop(0) if words else None)
    if args.project is None and ident is None:
        return _error("name the conversation (`forge sessions` lists ids), or pass --project P for a project's "
                      "default, e.g. `forge sessions prompt ID \"Answer in French.\"`")
    if args.clear and words:
        return _error("give a prompt or --clear, not both")
    text = None
    if words:
        text = sys.stdin.read() if words == ["-"] else " ".join(words)
        try:
            text = clean_system_prompt(text)
        except ValueError as exc:
            return _error(str(exc))
        if text is None:
            return _error("the prompt is empty; type one, or pass --clear to remove it")
    store = ctx.store()
    if args.project:
        project = args.project
        if not words and not args.clear:
            _show(store.project_system_prompt(project), f"project '{project}' default system prompt")
            return 0
        store.set_project_system_prompt(project, text)
        print(f"project '{project}': default system prompt {'set' if text else 'cleared'}"
              + (f" ({len(text):,} characters)" if text else ""))
        return 0
    conv = resolve_conversation(store, ident or "")
    if conv is None:
        return 2
    label = f"'{conv.title or '(untitled)'}' ({conv.id[:8]})"
    if not words and not args.clear:
        prompt = store.system_prompt_for(conv)
        if prompt is None:
            _show(None, f"{label} system prompt")
        else:
            origin = "its own" if prompt.level == "conversation" else f"project '{conv.project}' default"
            _show(prompt.text, f"{label} system prompt ({origin})")
        return 0
    store.set_conversation_system_prompt(conv.id, text)
    if text:
        print(f"{label}: system prompt set ({len(text):,} characters)")
        return 0
    default = store.project_system_prompt(conv.project)
    print(f"{label}: system prompt cleared; it follows "
          + (f"project '{conv.project}' default" if default else "Forge's built-in prompt"))
    return 0
