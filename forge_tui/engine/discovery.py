"""Models already on this machine: GGUF files other tools downloaded, and local
servers answering on their usual ports.

* Ollama's store: each manifest (``manifests/<registry>/<ns>/<name>/<tag>``)
  names its weights layer by digest; the GGUF is ``blobs/sha256-<hex>``.
* LM Studio's models folder and the Hugging Face cache: ``*.gguf`` files
  (vision projectors, ``mmproj-*``, are not chat models and are skipped).
* Servers: ``GET http://127.0.0.1:PORT/v1/models`` on Ollama's 11434,
  llama-server's 8080 and LM Studio's 1234, loopback only, short timeouts.

Nothing here loads a model or writes a file; each find is a ``Found`` that
``forge models add`` (or the model picker) can turn into a models.toml entry.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable

from forge_tui.domain.found import Found

#: port -> (server, the `structured` setting that suits it)
LOCAL_PORTS = {11434: ("ollama", "ollama"), 8080: ("llama-server", "grammar"), 1234: ("lm-studio", "json_schema")}
PROBE_TIMEOUT_S = 0.5
OLLAMA_WEIGHTS = "application/vnd.ollama.image.model"


# ``Found`` is a plain record the UI shows too, so it lives in ``domain``.
def entry_name(text: str) -> str:
    """A models.toml table name from a model id or file name (lower case, [a-z0-9-])."""
    stem = re.sub(r"\.gguf$", "", text.rsplit("/", 1)[-1], flags=re.I)
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:60] or "model"


def _home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def ollama_root() -> Path:
    return Path(os.environ.get("OLLAMA_MODELS") or _home() / ".ollama" / "models")


def lmstudio_roots() -> list[Path]:
    return [_home() / ".lmstudio" / "models", _home() / ".cache" / "lm-studio" / "models"]


def hf_cache_root() -> Path:
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = Path(os.environ.get("HF_HOME") or _home() / ".cache" / "huggingface")
    return home / "hub"


def ollama_models(root: Path | None = None) -> list[Found]:
    root = root or ollama_root()
    manifests = root / "manifests"
    found: list[Found] = []
    if not manifests.is_dir():
        return found
    for manifest in sorted(p for p in manifests.rglob("*") if p.is_file()):
        try:
            layers = json.loads(manifest.read_text(encoding="utf-8")).get("layers", [])
        except (OSError, ValueError):
            continue
        digest = next((layer.get("digest", "") for layer in layers if layer.get("mediaType") == OLLAMA_WEIGHTS), "")
        blob = root / "blobs" / digest.replace(":", "-")
        if not digest or not blob.is_file():
            continue
        tag, name = manifest.name, manifest.parent.name
        found.append(Found(name=entry_name(f"{name}-{tag}"), source="ollama", path=str(blob),
                           size=blob.stat().st_size))
    return found


def gguf_files(roots: Iterable[Path], source: str) -> list[Found]:
    found: list[Found] = []
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*.gguf")):
            if path.name.lower().startswith("mmproj") or not path.is_file():
                continue
            found.append(Found(name=entry_name(path.name), source=source, path=str(path),
                               size=path.stat().st_size))
    return found


def probe_server(port: int, host: str = "127.0.0.1", timeout: float = PROBE_TIMEOUT_S) -> list[Found]:
    """The models a server on ``host:port`` lists, or [] when nothing answers."""
    server, structured = LOCAL_PORTS.get(port, ("server", "json_schema"))
    base_url = f"http://{host}:{port}/v1"
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=timeout) as response:  # noqa: S310 (loopback)
            data = json.loads(response.read(1_000_000))
    except (OSError, ValueError, urllib.error.URLError):
        return []
    ids = [m.get("id", "") for m in data.get("data", []) if isinstance(m, dict)] if isinstance(data, dict) else []
    return [Found(name=entry_name(f"{server}-{model}"), source=f"server:{port}", base_url=base_url, model=model,
                  structured=structured) for model in ids if model]


def discover(ports: Iterable[int] = tuple(LOCAL_PORTS), servers: bool = True) -> list[Found]:
    """Everything found locally: files first, then servers (probed in parallel, loopback only)."""
    found = ollama_models() + gguf_files(lmstudio_roots(), "lm-studio") + gguf_files([hf_cache_root()], "hf-cache")
    if servers:
        ports = list(ports)
        with ThreadPoolExecutor(max_workers=max(1, len(ports))) as pool:
            for finds in pool.map(probe_server, ports):
                found.extend(finds)
    return found
