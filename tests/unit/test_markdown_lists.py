"""Lists the way models write them become Markdown lists; code and prose are left alone."""

from forge_tui.ui.markdown_text import normalize_lists
from forge_tui.ui.screens.layout import AUTO_COLLAPSE_BELOW, SidebarLayout


def test_glyph_bullets_become_dashes_and_start_a_list_after_prose():
    assert normalize_lists("You need:\n• a store\n• a model") == "You need:\n\n- a store\n- a model"


def test_numbering_from_two_after_a_sentence_starts_a_list():
    assert normalize_lists("Then:\n2. load it\n3. run it") == "Then:\n\n2. load it\n3. run it"


def test_nested_items_and_items_after_items_get_no_blank_line():
    text = "1. one\n   - nested\n2. two"
    assert normalize_lists(text) == text


def test_code_fences_headings_and_plain_prose_are_untouched():
    text = "Intro\n```\n• not a bullet\n2. not a list\n```\n# Title\n- item\nplain text"
    assert normalize_lists(text) == text
    assert normalize_lists("") == ""
    assert normalize_lists("In 2024. we shipped") == "In 2024. we shipped"


def test_sidebar_follows_the_width_until_the_user_chooses():
    layout = SidebarLayout().resized(80)
    assert not layout.visible
    layout = layout.toggled()
    assert layout.visible
    assert layout.resized(90).visible  # same side of the threshold: the choice holds
    wide = layout.resized(AUTO_COLLAPSE_BELOW)
    assert wide.visible and wide.choice is None
    assert not wide.toggled().visible and wide.toggled().resized(120).visible is False
    assert wide.toggled().resized(80).choice is None
    assert SidebarLayout(wide=False).shown().visible
