"""The archive's glossary: names as written, once, only those nothing else holds, within its room."""

from forge_tui.compression.facts import Statement
from forge_tui.compression.glossary import LEAD, MAX_LINE, glossary, names


def words(text: str) -> int:
    return len(text.split())


def test_names_are_paths_urls_code_and_identifiers_as_written():
    found = [n for n, _ in names("Put it in `app/workers/PhotoUploadWorker.kt`, log to conflict_log, "
                                 "bucket insp-photos-prod, see https://example.com/v2 and call signInAnonymously.")]
    assert "app/workers/PhotoUploadWorker.kt" in found
    assert {"conflict_log", "insp-photos-prod", "https://example.com/v2", "signInAnonymously"} <= set(found)


def test_punctuation_and_bare_numbers_are_not_names():
    assert names("split on `\\r\\n`, keep `&[u8]` and version 4.4 — 12") == []


def test_glossary_skips_what_is_held_and_keeps_the_most_salient_first():
    statements = [Statement("write to conflict_log first", "m1", 0.9),
                  Statement("the bucket is insp-photos-prod", "m2", 0.2),
                  Statement("see app/sync/SyncWorker.kt", "m3", 0.6)]
    lines = glossary(statements, held=["SyncWorker.kt lives in app/sync/SyncWorker.kt"], room=100, count_text=words)
    assert lines == [LEAD + "conflict_log, insp-photos-prod"]


def test_glossary_fits_its_room_and_is_empty_when_nothing_fits():
    statements = [Statement(f"name_{i}_here is used", "m1", 1 - i / 100) for i in range(50)]
    [line] = glossary(statements, held=[], room=12, count_text=words)
    assert line.startswith(LEAD) and words(line) + 3 <= 12
    assert glossary(statements, held=[], room=2, count_text=words) == []


def test_a_long_glossary_takes_several_lines_each_within_the_spec():
    statements = [Statement(f"name_{i}_is_quite_long_here is used", "m1", 1 - i / 100) for i in range(60)]
    lines = glossary(statements, held=[], room=2000, count_text=words)
    assert len(lines) > 1 and all(line.startswith(LEAD) and len(line) <= MAX_LINE for line in lines)
    assert sum(line.count(", ") + 1 for line in lines) == 60


def test_network_and_mail_addresses_are_names():
    found = [n for n, _ in names("the NAS is on 192.168.20.7, resolver 9.9.9.9:53, net 10.0.10.0/24; "
                                 "mail privacy@example-software.at. Version 1.2.3 is not one.")]
    assert {"192.168.20.7", "9.9.9.9:53", "10.0.10.0/24", "privacy@example-software.at"} <= set(found)
    assert "1.2.3" not in found


def test_a_name_with_its_version_or_value_is_one_name():
    found = [n for n, _ in names("we pin ariadne 0.4.1 on Godot 4.2; run 2 gave macro-F1 0.84, broker 192.168.4.20. "
                                 "It takes 1.8 s at around 0.1 load.")]
    assert {"ariadne 0.4.1", "Godot 4.2", "macro-F1 0.84", "broker 192.168.4.20"} <= set(found)
    assert not {"takes 1.8", "around 0.1", "at 0.1"} & set(found)
