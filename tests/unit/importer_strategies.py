"""Hypothesis strategies for hostile importer input: the real export shapes with any JSON
value in any place (wrong types, missing keys, huge numbers, lone surrogates, deep nesting).

Shared by the bounded fuzz tests (tests/unit/test_importer_fuzz.py) and the long run in
bench/fuzz_importers.py.
"""

from __future__ import annotations

from hypothesis import strategies as st

_TEXT = st.text(max_size=24) | st.sampled_from(["", " ", "\udc80", "2025-01-01T00:00:00Z", "human", "assistant",
                                                 "user", "tool", "system", "text", "tool_use", "tool_result"])
_LEAF = (st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
         | st.floats(allow_nan=True, allow_infinity=True) | _TEXT)


def any_json(keys: list[str]) -> st.SearchStrategy:
    """Any JSON value; object keys mostly from ``keys`` so the parser's lookups hit."""
    key = st.sampled_from(keys) | st.text(max_size=6) | st.sampled_from(["$set", "a.b", "_id", ""])
    return st.recursive(
        _LEAF,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(key, children, max_size=5),
        max_leaves=20,
    )


def shaped(fields: dict[str, st.SearchStrategy], keys: list[str]) -> st.SearchStrategy:
    """An object with some of ``fields`` (each a plausible value or any JSON), or any JSON at all."""
    anything = any_json(keys)
    obj = st.fixed_dictionaries({}, optional={k: v | anything for k, v in fields.items()})
    return st.one_of(obj, obj, obj, anything)


_STAMP = st.sampled_from(["2025-01-01T10:00:00Z", "2025-13-45", "", 1.7e9, 1.7e12, 10**30, -1]) | _LEAF

# -- Claude ------------------------------------------------------------------------------
CLAUDE_KEYS = ["uuid", "name", "created_at", "updated_at", "chat_messages", "project", "summary", "sender", "text",
               "content", "attachments", "files", "type", "input", "is_error", "thinking", "file_name",
               "extracted_content"]
_claude_block = shaped({
    "type": st.sampled_from(["text", "tool_use", "tool_result", "thinking", "image", "weird"]),
    "text": _TEXT, "name": _TEXT, "input": any_json(CLAUDE_KEYS), "content": any_json(CLAUDE_KEYS),
    "is_error": st.booleans(), "thinking": _TEXT,
}, CLAUDE_KEYS)
_claude_message = shaped({
    "uuid": _TEXT, "sender": st.sampled_from(["human", "assistant", "Human", "bot", ""]), "text": _TEXT,
    "content": st.lists(_claude_block, max_size=4), "created_at": _STAMP,
    "attachments": st.lists(shaped({"file_name": _TEXT, "extracted_content": _TEXT}, CLAUDE_KEYS), max_size=2),
    "files": st.lists(shaped({"file_name": _TEXT}, CLAUDE_KEYS), max_size=2),
}, CLAUDE_KEYS)
claude_conversation = shaped({
    "uuid": _TEXT, "name": _TEXT, "created_at": _STAMP, "updated_at": _STAMP,
    "chat_messages": st.lists(_claude_message, max_size=5),
    "project": shaped({"name": _TEXT}, CLAUDE_KEYS), "summary": any_json(CLAUDE_KEYS),
}, CLAUDE_KEYS)
_WORDS = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
#: Mostly well-formed, with hostile values only where real exports vary: these get parsed,
#: so the code past the first type check is exercised too.
_claude_plausible_message = st.fixed_dictionaries(
    {"uuid": st.uuids().map(str), "sender": st.sampled_from(["human", "assistant"]), "text": _WORDS},
    optional={"content": st.lists(_claude_block, max_size=3), "created_at": _STAMP,
              "attachments": any_json(CLAUDE_KEYS), "files": any_json(CLAUDE_KEYS)},
)
claude_plausible = st.fixed_dictionaries(
    {"uuid": st.uuids().map(str), "chat_messages": st.lists(_claude_plausible_message, min_size=1, max_size=4)},
    optional={"name": _TEXT, "created_at": _STAMP, "updated_at": _STAMP, "summary": any_json(CLAUDE_KEYS),
              "project": shaped({"name": _TEXT}, CLAUDE_KEYS)},
)
claude_export = st.lists(claude_plausible | claude_conversation, max_size=4)

# -- ChatGPT -----------------------------------------------------------------------------
CHATGPT_KEYS = ["title", "conversation_id", "id", "create_time", "update_time", "mapping", "current_node",
                "default_model_slug", "message", "parent", "children", "author", "role", "name", "metadata",
                "weight", "content", "content_type", "parts", "text", "recipient", "model_slug",
                "is_visually_hidden_from_conversation"]
_NODE_IDS = ["a", "b", "c", "d"]
_chatgpt_message = shaped({
    "id": _TEXT,
    "author": shaped({"role": st.sampled_from(["user", "assistant", "tool", "system", "x"]), "name": _TEXT},
                     CHATGPT_KEYS),
    "metadata": shaped({"model_slug": _TEXT, "is_visually_hidden_from_conversation": st.booleans()}, CHATGPT_KEYS),
    "weight": st.sampled_from([0, 1, 1.0]),
    "content": shaped({"content_type": st.sampled_from(["text", "code", "thoughts", "multimodal_text"]),
                       "parts": st.lists(_TEXT | shaped({"text": _TEXT, "content_type": _TEXT}, CHATGPT_KEYS),
                                         max_size=3),
                       "text": _TEXT}, CHATGPT_KEYS),
    "recipient": st.sampled_from(["all", "python", None]), "create_time": _STAMP,
}, CHATGPT_KEYS)
_chatgpt_node = shaped({
    "message": _chatgpt_message, "parent": st.sampled_from(_NODE_IDS + [None, "zz"]),
    "children": st.lists(st.sampled_from(_NODE_IDS + ["zz"]), max_size=3),
}, CHATGPT_KEYS)
chatgpt_conversation = shaped({
    "title": _TEXT, "conversation_id": _TEXT, "id": _TEXT, "create_time": _STAMP, "update_time": _STAMP,
    "mapping": st.dictionaries(st.sampled_from(_NODE_IDS), _chatgpt_node, max_size=4),
    "current_node": st.sampled_from(_NODE_IDS + [None, "zz"]), "default_model_slug": _TEXT,
}, CHATGPT_KEYS)
def _chain(parts: list) -> dict:
    """A ChatGPT mapping whose nodes form one branch a -> b -> c ... (what real exports hold)."""
    ids = [f"n{i}" for i in range(len(parts))]
    mapping = {}
    for i, (role, text, extra) in enumerate(parts):
        mapping[ids[i]] = {"parent": ids[i - 1] if i else None, "children": ids[i + 1:i + 2],
                           "message": {"id": ids[i], "author": {"role": role},
                                       "content": {"content_type": "text", "parts": [text]}, **extra}}
    return {"mapping": mapping, "current_node": ids[-1] if ids else None}


chatgpt_plausible = st.builds(
    lambda chain, rest: {**rest, **chain},
    st.lists(st.tuples(st.sampled_from(["user", "assistant", "tool", "system"]), _WORDS,
                       st.fixed_dictionaries({}, optional={"create_time": _STAMP, "recipient": _TEXT,
                                                           "metadata": any_json(CHATGPT_KEYS)})),
             min_size=1, max_size=4).map(_chain),
    st.fixed_dictionaries({}, optional={"title": _TEXT, "id": _TEXT, "create_time": _STAMP}),
)
chatgpt_export = st.lists(chatgpt_plausible | chatgpt_conversation, max_size=4)

# -- transcripts -------------------------------------------------------------------------
TRANSCRIPT_KEYS = ["messages", "title", "project", "id", "source", "kind", "created_at", "updated_at", "role",
                   "sender", "content", "text", "timestamp", "time", "date", "labels", "model", "conversations"]
_transcript_message = shaped({
    "role": st.sampled_from(["user", "assistant", "system", "human", "AI", "robot"]), "content": _TEXT,
    "text": _TEXT, "timestamp": _STAMP, "labels": st.lists(_TEXT, max_size=2), "model": _TEXT, "id": _TEXT,
    "source": shaped({"kind": _TEXT, "id": _TEXT}, TRANSCRIPT_KEYS),
}, TRANSCRIPT_KEYS)
_transcript_object = shaped({
    "title": _TEXT, "project": _TEXT, "id": _TEXT, "messages": st.lists(_transcript_message, max_size=5),
    "created_at": _STAMP, "source": shaped({"kind": _TEXT, "id": _TEXT}, TRANSCRIPT_KEYS),
}, TRANSCRIPT_KEYS)
transcript_plausible = st.lists(
    st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system"]), "content": _WORDS},
                          optional={"timestamp": _STAMP, "id": _TEXT, "labels": any_json(TRANSCRIPT_KEYS),
                                    "model": any_json(TRANSCRIPT_KEYS), "source": any_json(TRANSCRIPT_KEYS)}),
    min_size=1, max_size=5,
)
transcript_data = st.one_of(
    transcript_plausible,
    st.fixed_dictionaries({"messages": transcript_plausible},
                          optional={"title": _TEXT, "project": _TEXT, "source": any_json(TRANSCRIPT_KEYS)}),
    st.lists(_transcript_message, max_size=5),
    _transcript_object,
    st.lists(_transcript_object, max_size=3),
    st.fixed_dictionaries({"conversations": st.lists(_transcript_object, max_size=3)}),
    any_json(TRANSCRIPT_KEYS),
)

# -- archive YAML ------------------------------------------------------------------------
_YAML_PIECES = ["schema: forge-archive/1\n", "archive_id: A1\n", "decisions:\n", "  - id: D001\n", "    text: x\n",
                "threads: []\n", "- ", "  ", "{", "}", "[", "]", ": ", "&a ", "*a ", "!!python/object ", "'", '"',
                "\n", "---\n", "key: value\n", "d: 2025-13-45\n", "n: !!int xyz\n", "t: !!timestamp x\n", "!!set {a}\n", "```yaml\n", "```\n", "\t", "? ", "|\n", "%YAML 1.1\n", "!!binary "]
archive_text = st.one_of(
    st.lists(st.sampled_from(_YAML_PIECES) | st.text(max_size=8), max_size=30).map("".join),
    st.text(max_size=200),
    st.deferred(lambda: archive_mutations()),
)


def _mutate(archive: dict, edits: list) -> str:
    """The example archive with some values replaced by anything, as YAML."""
    import copy
    import json

    doc = copy.deepcopy(archive)
    for path_choice, value in edits:
        node: object = doc
        for _ in range(4):  # walk down a few levels by the drawn choices, then replace there
            keys = list(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
            if not keys:
                break
            key = keys[path_choice % len(keys)]
            path_choice //= len(keys)
            child = node[key]  # type: ignore[index]
            if path_choice == 0 or not isinstance(child, (dict, list)) or not child:
                node[key] = value  # type: ignore[index]
                break
            node = child
    return json.dumps(doc, ensure_ascii=False, default=str)  # JSON is YAML


def archive_mutations() -> st.SearchStrategy:
    """Near-valid archives: the example with values swapped for wrong types, ids and references."""
    from forge_tui.protocol.example import example_archive

    base = example_archive()
    edit = st.tuples(st.integers(min_value=0, max_value=10_000), any_json(["id", "text", "tier", "status"])
                     | st.sampled_from(["D001", "D999", "T001", -1, 2.5, None, [], {}]))
    return st.lists(edit, min_size=0, max_size=4).map(lambda edits: _mutate(base, edits))
