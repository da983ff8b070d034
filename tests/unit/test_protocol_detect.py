"""Archive/state blocks inside message text (pasted archives, imported history)."""

from __future__ import annotations

from forge_tui.protocol.detect import find_archive_blocks
from forge_tui.protocol.example import example_archive
from forge_tui.protocol.render import dump_archive


def test_fenced_forge_archive_is_found_and_valid():
    arch = example_archive()
    text = "Continuing from this:\n\n```yaml\n" + dump_archive(arch) + "```\n\nThanks!"
    (block,) = find_archive_blocks(text)
    assert block["fenced"] and block["valid"] and block["is_forge_archive"]
    assert block["archive_id"] == arch["header"]["archive_id"]
    assert block["data"] == arch
    assert text[block["start"]:block["end"]] == block["text"]


def test_bare_state_block_between_prose():
    text = "Here is the state so far.\n\ndecisions:\n- use sqlite\n- keep CLI flat\nthreads:\n  - auth\nOk, go on.\n"
    (block,) = find_archive_blocks(text)
    assert not block["fenced"] and not block["is_forge_archive"]
    assert block["data"] == {"decisions": ["use sqlite", "keep CLI flat"], "threads": ["auth"]}
    assert "Ok, go on" not in block["text"]


def test_two_blocks_in_order_and_archive_id_at_top():
    text = "```yml\narchive_id: abc\ndecisions: []\n```\nand\n```\nthreads: [x]\n```\n"
    blocks = find_archive_blocks(text)
    assert [b["archive_id"] for b in blocks] == ["abc", None]
    assert blocks[0]["start"] < blocks[1]["start"]


def test_ignores_code_prose_bad_yaml_and_alias_bombs():
    assert find_archive_blocks("") == []
    assert find_archive_blocks("```python\ndecisions = []\n```") == []
    assert find_archive_blocks("We made decisions: many of them, honestly.") == []
    assert find_archive_blocks("```yaml\ndecisions: [unclosed\n```") == []
    assert find_archive_blocks("```yaml\na: &x [1]\ndecisions: *x\n```") == []
    assert find_archive_blocks("```yaml\nname: x\nvalue: 3\n```") == []


def test_invalid_forge_archive_reports_issues():
    arch = example_archive()
    arch["decisions"][0]["tier"] = 7
    (block,) = find_archive_blocks("```yaml\n" + dump_archive(arch) + "```")
    assert block["is_forge_archive"] and not block["valid"]
    assert any(i.startswith("decisions[0].tier") for i in block["issues"])
