"""Both labelled corpora keep to the format their README states (the checker the writers run)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _checker():
    spec = importlib.util.spec_from_file_location("check_corpus", FIXTURES / "memory_corpus" / "check_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("folder", ["memory_corpus", "memory_corpus_b"])
def test_every_corpus_file_passes_the_checker(folder, capsys):
    files = sorted((FIXTURES / folder).glob("c*.json"))
    assert files
    assert _checker().main([str(f) for f in files]) == 0, capsys.readouterr().out
