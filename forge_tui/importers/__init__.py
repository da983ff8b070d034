"""Importers: bring conversations from Claude, ChatGPT, plain transcripts and a
legacy Forge OS MongoDB into Forge.

Parsers (``claude``, ``chatgpt``, ``transcript``) are pure: they read files and
yield ``ParsedConversation`` or ``Skip`` records, never touching the database.
``service.import_conversations`` writes them idempotently through the Store.
"""
