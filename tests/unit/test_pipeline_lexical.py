"""The hashed word features: stable across processes, numbers folded, length-neutral."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from forge_tui.knowledge.pipeline import lexical
from forge_tui.knowledge.pipeline.cues import FEATURE_NAMES, Context, features


def test_the_same_sentence_hashes_to_the_same_buckets_in_another_process():
    text = "We have therefore chosen Ashby."
    here = np.flatnonzero(lexical.features(text)).tolist()
    code = ("import numpy as np; from forge_tui.knowledge.pipeline import lexical; "
            f"print(np.flatnonzero(lexical.features({text!r})).tolist())")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert out.strip() == str(here)


def test_numbers_are_one_shape_and_openings_are_marked():
    assert lexical.keys("run 2: macro-F1 0.84") == lexical.keys("run 7: macro-F1 0.91")
    assert {"^we", "^we have", "chosen"} <= lexical.keys("We have chosen Ashby")


def test_long_and_short_sentences_weigh_alike_and_empty_text_is_zero():
    short, long = lexical.features("ok redis"), lexical.features(" ".join(f"word{i}x" for i in range(60)))
    assert abs(np.linalg.norm(short) - np.linalg.norm(long)) < 0.5 * np.linalg.norm(short)
    assert not lexical.features("").any() and not lexical.features("!!! ...").any()


def test_the_cue_vector_ends_with_the_word_features():
    vec = features("We have therefore chosen Ashby.", Context(role="user"))
    assert vec.shape == (len(FEATURE_NAMES),)
    assert np.array_equal(vec[-lexical.SIZE:], lexical.features("We have therefore chosen Ashby."))
