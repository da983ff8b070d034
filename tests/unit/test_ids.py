"""UUIDv8 derivation: RFC 9562 version/variant bits and pinned known vectors."""

import uuid
from datetime import datetime, timezone

from hypothesis import given, strategies as st

from forge_tui.domain.ids import (
    BASE_UUID,
    conversation_id,
    entity_id,
    is_uuid8,
    message_id,
    project_namespace,
    uuid8,
)

TS = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_known_vectors_are_pinned():
    # If one of these changes, every stored ID would change: never update them casually.
    assert str(project_namespace("default")) == PINNED["project:default"]
    conv = conversation_id("default", "hello", TS)
    assert conv == PINNED["conversation"]
    assert message_id(conv, "0:user", TS) == PINNED["message"]


def test_version_and_variant_bits():
    u = uuid8(BASE_UUID, "x", TS)
    assert u.version == 8
    assert (u.bytes[8] >> 6) == 0b10
    assert is_uuid8(str(u))
    assert not is_uuid8(str(uuid.uuid4()))
    assert not is_uuid8("not-a-uuid")


def test_same_inputs_same_id_and_different_inputs_differ():
    assert conversation_id("p", "n", TS) == conversation_id("p", "n", TS)
    assert conversation_id("p", "n", TS) != conversation_id("q", "n", TS)
    assert conversation_id("p", "n", TS) != conversation_id("p", "n", "2026-01-02")
    assert entity_id("p", "archive", "a") != entity_id("p", "decision", "a")


@given(st.text(), st.text(), st.text())
def test_any_input_gives_a_valid_uuid8(project, name, ts):
    assert is_uuid8(conversation_id(project, name, ts))


PINNED = {
    "project:default": "0468856c-1140-8f97-bd31-417fdf51a1b1",
    "conversation": "f9937f4f-c3f1-846f-b08d-b96c60fb66d7",
    "message": "21c862b6-ca35-88d0-8306-a62ce03e1419",
}
