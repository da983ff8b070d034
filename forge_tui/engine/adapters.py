"""LoRA adapters per task on one loaded base model, through llama.cpp's adapter API.

Every adapter named in ``models.toml`` (``lora`` and ``adapters.TASK``) is loaded once
with ``llama_adapter_lora_init`` beside the base weights; ``activate(task)`` switches the
context to that task's adapter with ``llama_set_adapters_lora`` — no reload of the base
model. The KV cache was computed under the previous adapter, so a switch forgets it.

An adapter written by ``forge train lora`` records the SHA-256 of the GGUF it was trained
on (``forge.base_sha256``); loading it on any other base is refused.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forge_tui.config import LoraSpec, ModelSpec
from forge_tui.domain.models import Task

BASE_SHA_KEY = "forge.base_sha256"
_CHUNK = 1 << 20


class AdapterError(Exception):
    """An adapter that cannot be used with this model; the message names the fix."""


def file_sha256(path: Path, cache_dir: Path | None = None) -> str:
    """SHA-256 of a (large) file, remembered per (path, size, mtime) under ``cache_dir``."""
    path = Path(path).resolve()
    st = path.stat()
    key = f"{path}:{st.st_size}:{st.st_mtime_ns}"
    cache_file = Path(cache_dir) / "sha256.json" if cache_dir is not None else None
    cache: dict[str, str] = {}
    if cache_file is not None and cache_file.exists():
        try:
            cache = json.loads(cache_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cache = {}  # a damaged cache is only a cache: recompute
        if key in cache:
            return cache[key]
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    value = digest.hexdigest()
    if cache_file is not None:
        cache[key] = value
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_name(cache_file.name + ".part")
            tmp.write_text(json.dumps(cache), encoding="utf-8")
            tmp.replace(cache_file)
        except OSError:
            pass  # read-only cache dir: the hash is simply recomputed next time
    return value


@dataclass
class LoadedAdapter:
    name: str
    path: Path
    scale: float
    handle: Any  # llama_adapter_lora_p (a ctypes pointer)


def adapter_name(spec: LoraSpec) -> str:
    return Path(spec.path).expanduser().name.removesuffix(".gguf")


class AdapterSet:
    """The adapters of one model, loaded on the engine thread; not thread-safe by design."""

    def __init__(self, llm, spec: ModelSpec, base_path: Path, cache_dir: Path | None, base_dir: Path | None):
        self.llm = llm
        self.spec = spec
        self._loaded: dict[str, LoadedAdapter] = {}  # resolved path -> adapter
        self.active: LoadedAdapter | None = None
        self._base_sha: str | None = None
        self._base_path = base_path
        self._cache_dir = cache_dir
        self._base_dir = base_dir
        specs = ([("lora", spec.lora)] if spec.lora else []) + [(f"adapters.{t.value}", s) for t, s in spec.adapters.items()]
        try:
            for where, lora in specs:
                self._load(lora, where)
        except AdapterError:
            self.close()
            raise

    def _resolve(self, lora: LoraSpec) -> Path:
        path = Path(lora.path).expanduser()
        if not path.is_absolute() and self._base_dir is not None:
            path = self._base_dir / path
        return path

    def _load(self, lora: LoraSpec, where: str) -> None:
        import llama_cpp

        path = self._resolve(lora)
        key = f"{path.resolve()}@{lora.scale}"
        if key in self._loaded:
            return
        if not path.is_file():
            raise AdapterError(f"LoRA adapter not found: {path}. Fix [models.{self.spec.name}.{where}].path "
                               "or train it with `forge train lora`.")
        handle = llama_cpp.llama_adapter_lora_init(self.llm.model, str(path).encode("utf-8"))
        if not handle:
            raise AdapterError(f"llama.cpp could not load the LoRA adapter {path} for model '{self.spec.name}' "
                               "(wrong architecture or a damaged file). Retrain it on this base model.")
        adapter = LoadedAdapter(adapter_name(lora), path, lora.scale, handle)
        self._loaded[key] = adapter
        trained_on = _meta(handle, BASE_SHA_KEY)
        if trained_on and trained_on != self.base_sha():
            raise AdapterError(
                f"LoRA adapter {path.name} was trained on a different base model (SHA-256 {trained_on[:12]}…, "
                f"this model's file is {self.base_sha()[:12]}…). Retrain it with `forge train lora --base "
                f"{self.spec.name}` or remove [models.{self.spec.name}.{where}]."
            )

    def base_sha(self) -> str:
        if self._base_sha is None:
            self._base_sha = file_sha256(self._base_path, self._cache_dir)
        return self._base_sha

    def activate(self, task: Task) -> str | None:
        """Make ``task``'s adapter (or none) the active one; returns its name."""
        import llama_cpp

        lora = self.spec.adapter_for(task)
        wanted = self._loaded[f"{self._resolve(lora).resolve()}@{lora.scale}"] if lora else None
        if wanted is self.active:
            return wanted.name if wanted else None
        if wanted is None:
            rc = llama_cpp.llama_set_adapters_lora(self.llm.ctx, None, 0, None)
        else:
            handles = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(wanted.handle)
            scales = (ctypes.c_float * 1)(wanted.scale)
            rc = llama_cpp.llama_set_adapters_lora(self.llm.ctx, handles, 1, scales)
        if rc != 0:
            raise AdapterError(f"llama.cpp refused to switch to adapter {wanted.name if wanted else '(none)'} (code {rc}).")
        self.active = wanted
        self.llm.n_tokens = 0  # the cached prefix was computed under the previous adapter
        return wanted.name if wanted else None

    def close(self) -> None:
        import llama_cpp

        if self._loaded:  # detach before freeing: the context must not keep a dangling adapter
            llama_cpp.llama_set_adapters_lora(self.llm.ctx, None, 0, None)
        for adapter in self._loaded.values():
            llama_cpp.llama_adapter_lora_free(adapter.handle)
        self._loaded.clear()
        self.active = None


def _meta(handle, key: str) -> str | None:
    import llama_cpp

    buf = ctypes.create_string_buffer(256)
    n = llama_cpp.llama_adapter_meta_val_str(handle, key.encode("utf-8"), buf, len(buf))
    return buf.value.decode("utf-8") if n >= 0 else None
