"""A conversation named on the command line: a full id or a unique prefix."""

from __future__ import annotations

import sys


def resolve_conversation(store, ident: str):
    """A full id or a unique prefix -> Conversation, or a clear error on stderr."""
    if not ident.strip():
        print("forge: the conversation id is empty; give an id or its first characters (`forge sessions` lists them).",
              file=sys.stderr)
        return None
    conv = store.get_conversation(ident)
    if conv is not None:
        return conv
    matches = store.find_conversations(ident)
    if len(matches) == 1:
        return matches[0]
    if not matches:
        print(f"forge: no conversation with id '{ident}'. `forge sessions` lists them.", file=sys.stderr)
    else:
        print(f"forge: '{ident}' matches {len(matches)} conversations; give more characters.", file=sys.stderr)
    return None
