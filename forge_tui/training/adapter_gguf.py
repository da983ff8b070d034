"""Write a trained peft LoRA as a GGUF adapter that llama.cpp's ``llama_adapter_lora_init`` loads.

Layout (llama.cpp ``src/llama-adapter.cpp`` and ``build_lora_mm``): for a base weight W
with ggml shape ``ne = [n_in, n_out]`` the adapter holds ``NAME.weight.lora_a`` with
``ne = [n_in, r]`` and ``NAME.weight.lora_b`` with ``ne = [r, n_out]``; llama.cpp computes
``W·x + scale·B·(A·x)`` with ``scale = user_scale · alpha / r`` (r read from B). ggml's
``ne`` is numpy's shape reversed, so peft's ``lora_A.weight`` (r × n_in) and
``lora_B.weight`` (n_out × r) are written exactly as they are.

One twist: for ``llama``-architecture models, llama.cpp's converter permutes the rows of
``attn_q``/``attn_k`` (rotary pairs interleaved instead of split in halves) and
transformers undoes it on loading the GGUF. The model we trained is in the un-permuted
layout, so the rows of B for q/k (the output side) get the converter's permutation again.

Metadata: ``general.type = adapter``, ``adapter.type = lora``, ``adapter.lora.alpha``,
plus ``forge.*`` keys — above all ``forge.base_sha256``, checked before the adapter is used.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np

from forge_tui.engine.adapters import BASE_SHA_KEY
from forge_tui.training.errors import TrainingError

#: architectures whose q/k rows llama.cpp's converter permutes (transformers reverses it on load)
PERMUTED_QK_ARCHS = frozenset({"llama"})


@dataclass(frozen=True)
class BaseInfo:
    """What the adapter writer needs to know about the base GGUF."""

    path: Path
    arch: str
    n_blocks: int
    n_head: int
    n_head_kv: int
    sha256: str

    @classmethod
    def from_metadata(cls, path: Path, metadata: Mapping[str, str], sha256: str) -> "BaseInfo":
        arch = metadata.get("general.architecture", "")
        n_head = int(metadata.get(f"{arch}.attention.head_count", 0) or 0)
        return cls(
            path=path, arch=arch, n_blocks=int(metadata.get(f"{arch}.block_count", 0) or 0), n_head=n_head,
            n_head_kv=int(metadata.get(f"{arch}.attention.head_count_kv", n_head) or n_head), sha256=sha256,
        )


def permute_rows(weights: np.ndarray, n_head: int, n_head_kv: int | None = None) -> np.ndarray:
    """llama.cpp's ``LlamaModel.permute`` on the rows (output side) of ``weights``."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    rows = weights.shape[0]
    return weights.reshape(n_head, 2, rows // n_head // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def gguf_tensor_name(base: BaseInfo, hf_module: str) -> str:
    """``model.layers.3.self_attn.q_proj`` -> ``blk.3.attn_q`` (the gguf package's own name map)."""
    import gguf

    arch = {v: k for k, v in gguf.MODEL_ARCH_NAMES.items()}.get(base.arch)
    if arch is None:
        raise TrainingError(f"the gguf package does not know the architecture '{base.arch}'.")
    name = gguf.get_tensor_name_map(arch, base.n_blocks).get_name(hf_module)
    if name is None:
        raise TrainingError(f"no GGUF tensor for module '{hf_module}' in a {base.arch} model; "
                            "train on the attention projections (q/k/v/o) instead.")
    return name


def adapter_tensors(base: BaseInfo, lora: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """GGUF tensor name -> float32 array, from ``hf_module -> (A, B)``."""
    out: dict[str, np.ndarray] = {}
    for module in sorted(lora):
        a, b = lora[module]
        name = gguf_tensor_name(base, module)
        if base.arch in PERMUTED_QK_ARCHS and name.endswith(".attn_q"):
            b = permute_rows(b, base.n_head, base.n_head)
        elif base.arch in PERMUTED_QK_ARCHS and name.endswith(".attn_k"):
            b = permute_rows(b, base.n_head, base.n_head_kv)
        out[f"{name}.weight.lora_a"] = np.ascontiguousarray(a, dtype=np.float32)
        out[f"{name}.weight.lora_b"] = np.ascontiguousarray(b, dtype=np.float32)
    return out


def write_adapter(path: Path, base: BaseInfo, lora: Mapping[str, tuple[np.ndarray, np.ndarray]], alpha: float,
                  meta: Mapping[str, str | int | float]) -> int:
    """Write the adapter atomically (a ``.part`` file renamed at the end); returns its size in bytes."""
    import gguf

    path = Path(path)
    tensors = adapter_tensors(base, lora)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    try:
        writer = gguf.GGUFWriter(str(tmp), base.arch)
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
        writer.add_string(BASE_SHA_KEY, base.sha256)
        for key, value in sorted(meta.items()):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                writer.add_string(f"forge.{key}", str(value))
            elif isinstance(value, int):
                writer.add_uint32(f"forge.{key}", value)
            else:
                writer.add_float32(f"forge.{key}", value)
        for name, array in tensors.items():
            writer.add_tensor(name, array)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise TrainingError(f"no space left on the disk holding {path.parent}; free some space and run "
                                "the same command with --resume (the checkpoint is kept).") from None
        raise TrainingError(f"cannot write the adapter {path}: {exc.strerror or exc}.") from None
    return path.stat().st_size


def read_adapter_meta(path: Path) -> dict[str, object]:
    """The adapter's scalar metadata (``general.*``, ``adapter.*``, ``forge.*``)."""
    import gguf

    reader = gguf.GGUFReader(str(path))
    out: dict[str, object] = {}
    for name, fld in reader.fields.items():
        if not (name.startswith(("general.", "adapter.", "forge."))):
            continue
        try:
            out[name] = fld.contents()
        except (ValueError, IndexError, TypeError):
            continue  # arrays and odd types are not metadata we read back
    return out
