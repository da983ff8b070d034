"""How a default archive spends its budget, and lossless by construction — on conversations
written for these tests (not the memory corpus the salience model was trained on)."""

from __future__ import annotations


from forge_tui.compression import compress
from forge_tui.compression import salience
from forge_tui.compression.service import approx_tokens
from forge_tui.compression.tail import ELLIPSIS, recent_turns, turn_cost
from forge_tui.protocol.validate import validate_archive

from stored_sessions import store_session

PADDING = ("The usual trade-off applies here: more moving parts means more to monitor, and the team has "
           "to be able to debug it at three in the morning without the person who set it up. ")
GARDEN = [
    ("user", "We are building a watering controller. Sensors report to broker.garden.lan on port 8883. "
             "Firmware lives in fw/controller/main.c."),
    ("assistant", "Fine. I'd start with a simple schedule and add sensor feedback later. " + PADDING * 4),
    ("user", "let's start with watering at 06:30 every day"),
    ("assistant", "Watering at 06:30 daily. " + PADDING * 4),
    ("user", "actually switch to 05:45, the sun hits the beds early. never water when soil moisture is above 40%."),
    ("assistant", "Switched the schedule to 05:45 and added the moisture guard (skip above 40%). " + PADDING * 4),
    ("user", "not sure yet whether we add a rain forecast check"),
    ("assistant", "We can leave the forecast check open; it needs an API key. " + PADDING * 4),
    ("user", "ok. anything else?"),
    ("assistant", "Nothing urgent. " + PADDING * 3),
]


def _store(store, pairs, title="Watering controller") -> str:
    return store_session(store, pairs, "g", title)


def test_a_default_archive_keeps_early_values_that_truncation_loses(store):
    cid = _store(store, GARDEN)
    result = compress(store, None, cid)
    assert not validate_archive(result.archive)
    assert result.tokens_archive <= result.tokens_source * 0.5 + 8
    body = result.yaml_text.split("decisions:", 1)[1]
    for value in ("broker.garden.lan", "8883", "fw/controller/main.c", "05:45", "40%"):
        assert value in body, value
    transcript = "\n\n".join(f"{r}: {t}" for r, t in GARDEN)
    tail = transcript[-result.tokens_archive * 4:]  # about as many tokens from the end
    assert "broker.garden.lan" not in tail and "fw/controller/main.c" not in tail


def test_a_default_archive_presents_only_current_values(store):
    cid = _store(store, GARDEN)
    archive = compress(store, None, cid).archive
    assert all(d["status"] == "active" for d in archive["decisions"])  # superseded choices are dropped
    assert "06:30" not in " ".join(d["text"] for d in archive["decisions"])
    assert "06:30" not in archive["continuation_prompt"]
    open_titles = [t["title"] for t in archive["threads"] if t["status"] == "OPEN"]
    assert any("rain forecast" in t for t in open_titles)


def test_a_lossless_archive_holds_every_turn_verbatim(store):
    cid = _store(store, GARDEN)
    result = compress(store, None, cid, mode="lossless")
    archive = result.archive
    assert not validate_archive(archive)
    assert [t["content"] for t in archive["turns"]] == [text for _, text in GARDEN]
    assert [t["source"] for t in archive["turns"]] == [f"m{i}" for i in range(len(GARDEN))]
    assert "facts" not in archive and all("content" not in a for a in archive["artifacts"])


def test_the_recent_tail_keeps_whole_turns_then_the_end_of_the_one_before():
    turns = [{"role": "user", "content": "First question about the lexer. " * 20},
             {"role": "assistant", "content": "One. Two. Three. The final answer is logos 0.14."},
             {"role": "user", "content": "ok, thanks"}]
    room = turn_cost(turns[2]["content"], approx_tokens) + turn_cost(turns[1]["content"], approx_tokens) + 40
    kept, first = recent_turns(turns, room, approx_tokens, lambda t: "")
    assert first == 0 and [k["role"] for k in kept] == ["user", "assistant", "user"]
    assert kept[0]["content"].startswith(ELLIPSIS) and kept[0]["content"].endswith("about the lexer.")
    assert kept[1]["content"] == turns[1]["content"]
    assert sum(turn_cost(k["content"], approx_tokens) for k in kept) <= room
    assert recent_turns(turns, 3, approx_tokens, lambda t: "") == ([], 3)


def test_salience_prefers_a_stated_value_to_chatter():
    units = salience.units([{"role": "user", "content": "thanks, that makes sense to me."},
                            {"role": "assistant", "content": "Set `max_connections = 200` in /etc/pgbouncer.ini."}])
    salience.score(units, 2)
    chatter, value = units
    assert value.p > chatter.p


def test_shipped_salience_weights_are_reproduced_by_the_training_script():
    import json

    import numpy as np

    from forge_tui.compression import train_salience

    shipped = json.loads(salience.WEIGHTS.read_text())
    x, y, _ = train_salience.dataset(tuple(shipped["trained_on"]))
    w = train_salience.fit(x, y, shipped["l2"])
    assert np.allclose(w, shipped["weights"], atol=1e-3)


def test_a_replaced_choice_is_not_kept_as_a_statement(store):
    cid = _store(store, GARDEN)
    archive = compress(store, None, cid).archive
    assert not any("let's start with watering at 06:30" in f["text"] for f in archive.get("facts", []))


def test_leads_and_acknowledgements_are_not_key_statements():
    from forge_tui.compression.facts import key_statements

    turns = [{"id": "m0", "role": "user", "content": "second one. can moodle show who skipped quiz 2?"},
             {"id": "m1", "role": "assistant", "content": "Yes, a few ways:\n- the Grades report, filter 'not attempted'"}]
    texts = [s.text for s in key_statements(turns)]
    assert "second one." not in texts and "Yes, a few ways:" not in texts
    assert any("quiz 2" in t for t in texts) and any("Grades report" in t for t in texts)
