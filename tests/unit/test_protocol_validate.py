"""Validator and safe loading: precise paths, alias bombs, property tests from the spec."""

from __future__ import annotations

import copy
import string

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forge_tui.domain.ids import entity_id
from forge_tui.protocol.example import example_archive
from forge_tui.protocol.render import dump_archive, dump_yaml
from forge_tui.protocol.spec import ARCHIVE_SPEC, SCHEMA_VERSION, Field, ObjectSpec, SpecError
from forge_tui.protocol.validate import (
    ArchiveError,
    load_archive_text,
    validate,
    validate_archive,
)

# -- strategies derived from a spec (shared with test_protocol_gbnf) -----------------

_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff\ufffe\uffff\x85\u2028\u2029"),
    max_size=40,
)


def _pattern_value(pattern: str) -> st.SearchStrategy[str]:
    return st.from_regex(pattern, fullmatch=True).filter(lambda s: "\n" not in s)


def value_for(f: Field) -> st.SearchStrategy:
    if f.kind in ("str", "text"):
        if f.pattern:
            return _pattern_value(f.pattern)
        base = _TEXT if f.kind == "text" else _TEXT.filter(lambda s: "\n" not in s and "\r" not in s)
        if f.kind == "text":
            base = st.text(alphabet=st.sampled_from(string.ascii_letters + " \n.,:-\"'#"), max_size=40)
        return base.map(lambda s: s[: f.max_len] if f.max_len is not None else s)
    if f.kind == "float01":
        return st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
    if f.kind == "int":
        return st.integers(min_value=0, max_value=f.max_value if f.max_value is not None else 10**6)
    if f.kind == "enum":
        return st.sampled_from(f.choices)
    if f.kind == "object":
        return object_for(f.item)
    size = min(f.max_items if f.max_items is not None else 3, 3)
    if f.kind == "list_object":
        return st.lists(object_for(f.item), max_size=size)
    item = Field(f.name, "str", max_len=f.max_len, pattern=f.pattern)
    return st.lists(value_for(item), max_size=size)


def object_for(spec: ObjectSpec) -> st.SearchStrategy[dict]:
    required = {f.name: value_for(f) for f in spec.fields if f.required}
    optional = {f.name: value_for(f) for f in spec.fields if not f.required}
    return st.fixed_dictionaries(required, optional=optional)


@st.composite
def valid_archives(draw) -> dict:
    """Schema-valid archives with consistent ids and cross-references."""
    data = draw(object_for(ARCHIVE_SPEC))
    data["schema"] = SCHEMA_VERSION
    data["header"]["archive_id"] = entity_id("p", "archive", draw(st.text(max_size=8)))
    data["header"]["source_conversations"] = [entity_id("p", "conversation", "c")]
    data["header"].pop("bridged_from", None)
    for prefix, key in (("D", "decisions"), ("T", "threads")):
        for i, item in enumerate(data[key], start=1):
            item["id"] = f"{prefix}{i:03d}"
    ids = [d["id"] for d in data["decisions"]]
    for d in data["decisions"]:
        others = [x for x in ids if x != d["id"]]
        d["supersedes"] = draw(st.lists(st.sampled_from(others), max_size=2)) if others else []
        d["conflicts_with"] = []
    return data


# -- examples --------------------------------------------------------------------


def test_example_archive_is_valid_and_round_trips():
    data = example_archive()
    assert validate_archive(data) == []
    assert load_archive_text(dump_archive(data)) == data


@pytest.mark.parametrize(
    "mutate, path",
    [
        (lambda d: d["decisions"][1].__setitem__("tier", 1.5), "decisions[1].tier"),
        (lambda d: d["decisions"][0].pop("rationale"), "decisions[0].rationale"),
        (lambda d: d["threads"][0].__setitem__("status", "open"), "threads[0].status"),
        (lambda d: d["threads"][1].__setitem__("colour", "red"), "threads[1].colour"),
        (lambda d: d["decisions"][1].__setitem__("supersedes", ["D009"]), "decisions[1].supersedes[0]"),
        (lambda d: d["decisions"][0].__setitem__("conflicts_with", ["D001"]), "decisions[0].conflicts_with[0]"),
        (lambda d: d["decisions"][1].__setitem__("id", "D001"), "decisions[1].id"),
        (lambda d: d["decisions"][0].__setitem__("id", "X1"), "decisions[0].id"),
        (lambda d: d["header"].__setitem__("archive_id", "not-a-uuid"), "header.archive_id"),
        (lambda d: d["header"]["tokens"].__setitem__("source", -3), "header.tokens.source"),
        (lambda d: d["artifacts"][2].__setitem__("kind", "folder"), "artifacts[2].kind"),
        (lambda d: d["constraints"][0].__setitem__("quote", 7), "constraints[0].quote"),
        (lambda d: d.pop("continuation_prompt"), "continuation_prompt"),
        (lambda d: d.__setitem__("extra", 1), "extra"),
        (lambda d: d.__setitem__("schema", "forge-archive/0"), "schema"),
    ],
)
def test_precise_paths(mutate, path):
    data = example_archive()
    mutate(data)
    issues = validate_archive(data)
    assert path in [i.path for i in issues], issues
    with pytest.raises(ArchiveError) as err:
        load_archive_text(dump_archive(data))
    assert err.value.path == issues[0].path


def test_wrong_schema_version_message_names_the_fix():
    data = example_archive()
    data["schema"] = "forge-archive/9"
    with pytest.raises(ArchiveError, match="unsupported schema version"):
        load_archive_text(yaml.safe_dump(data))


@pytest.mark.parametrize(
    "text, reason",
    [
        ("a: [1, 2\n", "not valid YAML"),
        ("- 1\n- 2\n", "YAML mapping"),
        ("a: &x [1,2]\nb: *x\n", "anchors"),
        ("!!python/object/apply:os.system ['true']\n", "not valid YAML"),
    ],
)
def test_bad_documents(text, reason):
    with pytest.raises(ArchiveError, match=reason):
        load_archive_text(text)


def test_alias_bomb_is_refused_quickly():
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    with pytest.raises(ArchiveError, match="anchors"):
        load_archive_text("\n".join(lines))


def test_size_limit():
    with pytest.raises(ArchiveError, match="larger than"):
        load_archive_text("a: '" + "x" * 2_100_000 + "'\n")


def test_spec_rejects_nonsense():
    with pytest.raises(SpecError):
        Field("x", "blob")
    with pytest.raises(SpecError):
        Field("x", "enum")
    with pytest.raises(SpecError):
        ObjectSpec("o", (Field("a", "str", required=False),))


# -- properties ----------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_archives())
def test_generated_archives_validate_and_round_trip(data):
    assert validate_archive(data) == []
    text = dump_archive(data)
    assert load_archive_text(text) == data


_MUTATIONS = ("drop_required", "extra_key", "bad_enum", "bad_tier", "dangling_ref", "wrong_type")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_archives(), st.sampled_from(_MUTATIONS), st.data())
def test_mutations_are_reported_at_their_path(data, mutation, draw):
    data = copy.deepcopy(data)
    if mutation == "drop_required":
        key = draw.draw(st.sampled_from([f.name for f in ARCHIVE_SPEC.fields if f.required]))
        data.pop(key)
        expected = key
    elif mutation == "extra_key":
        data["header"]["surprise"] = 1
        expected = "header.surprise"
    elif mutation == "bad_enum":
        data["header"]["mode"] = "zip"
        expected = "header.mode"
    elif mutation in ("bad_tier", "dangling_ref") and data["decisions"]:
        i = draw.draw(st.integers(0, len(data["decisions"]) - 1))
        if mutation == "bad_tier":
            data["decisions"][i]["tier"] = draw.draw(st.sampled_from([-0.1, 1.01, "high", True]))
            expected = f"decisions[{i}].tier"
        else:
            data["decisions"][i]["conflicts_with"] = ["D999"]
            expected = f"decisions[{i}].conflicts_with[0]"
    else:
        data["continuation_prompt"] = 42
        expected = "continuation_prompt"
    assert expected in [i.path for i in validate_archive(data)]


@settings(max_examples=40, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                    max_leaves=10))
def test_validator_never_crashes_on_arbitrary_data(data):
    issues = validate_archive(data)
    assert isinstance(issues, list)
    assert all(isinstance(i.path, str) and i.reason for i in issues)


def test_generic_spec_for_other_features():
    decide = ObjectSpec(
        "decide",
        (
            Field("decision", "str", max_len=100),
            Field("rationale", "str", max_len=100),
            Field("tier", "float01"),
            Field("priority", "enum", choices=("critical", "high", "medium", "low")),
        ),
    )
    good = {"decision": "use x", "rationale": "fast", "tier": 0.5, "priority": "low"}
    assert validate(decide, good) == []
    assert validate(decide, {**good, "tier": 2})[0].path == "tier"
    assert yaml.safe_load(dump_yaml(decide, good)) == good


def test_docs_example_is_a_valid_archive():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "archive-format.md").read_text()
    block = doc.split("## Complete example", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    assert load_archive_text(block) == example_archive()
