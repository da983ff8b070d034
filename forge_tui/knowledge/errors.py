"""Errors the knowledge layer raises at callers (CLI, session, UI)."""


class KnowledgeError(Exception):
    """A knowledge action that cannot be done; the message names the problem and the fix."""
