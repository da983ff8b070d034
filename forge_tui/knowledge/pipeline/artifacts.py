"""Artifacts by rule: files, directories, URLs, commands, code, identifiers.

This is what rules do well, so no model is involved: fenced code becomes a
snippet (shell fences become commands), URLs, plausible paths, shell commands
in backticks or after ``$`` and CONSTANT_NAMES / dotted.config.keys become
artifacts (kinds as in the archive spec: file, command, url, snippet, other) with a one-line summary of what they are (the sentence around them).
A product name that looks like a file (``Node.js``, ``Vue.js``) is not a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from forge_tui.knowledge.pipeline.text import FENCE_RE, INLINE_CODE_RE, URL_RE

_EXT = (
    "py|pyi|js|mjs|cjs|jsx|ts|tsx|toml|yaml|yml|json|md|rst|rs|go|c|h|cc|cpp|hpp|java|kt|rb|php|sh|bash|zsh|sql|"
    "txt|cfg|ini|lock|html|css|tcss|scss|gguf|csv|parquet|proto|xml|env|conf|log|ipynb|tf|tfvars|gradle|swift|lua|"
    "vue|svelte|dockerfile|mod|sum|bak|pem|crt|key|service|timer|plist|xlsx|pdf|png|svg|jpg|db|sqlite|zip|gz|tar|"
    "config|nf|smk|tsv|pkl|pt|pth|onnx|h5|npz|npy|properties|kts|mk|cmake|tex|bib|ino|cs|fs|exs|hs|scala|dart|nix|"
    "wasm|whl|deb|rpm|img|bin|hex|uf2|mdx|graphql|prisma|hcl|j2|sass|jpeg|gif|webp|tif|tiff|docx|pptx|odt|ods|xls|"
    "lrcat|dng|mp4|wav|ps1|bat"
)
#: a path never starts right after a character it may contain ("+" too), so each run of path
#: characters is tried once: "a+a+a+…" in a pasted megabyte stays linear
PATH_RE = re.compile(
    rf"(?<![\w/.@:+-])(?:~|\.{{1,2}})?/?(?:[\w.+-]+/)+(?:[\w.+-]*\w)?|(?<![\w/.@:+-])[\w+-]+(?:\.[\w+-]+)*\.(?:{_EXT})\b"
)
#: identifiers compaction tends to lose: ENV_VARS, dotted.config.keys (two dots or more)
IDENT_RE = re.compile(r"(?<![\w.])(?:[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[a-z][\w-]*(?:\.[\w-]+){2,})(?![\w.]*\()")
_VERSION_OR_IP = re.compile(r"v?\d+(?:\.\d+)+\w*")
SHELL_WORDS = frozenset(
    "git pip pip3 python python3 pytest npm npx yarn pnpm cargo make docker kubectl curl wget forge uv poetry ls cd "
    "export source bash sh go node ruff mypy black psql mongosh sqlite3 brew apt apt-get sudo chmod mkdir rm cp mv "
    "cat grep sed awk tar ssh scp terraform helm systemctl alembic airflow uvicorn gunicorn celery mvn gradle dotnet "
    "bundle rake find createdb pg_dump pg_restore redis-cli flask django-admin tox nox pre-commit hatch pdm rsync "
    "journalctl crontab openssl nginx certbot ansible ansible-playbook aws gcloud az kubectx k9s jq ffmpeg rustc "
    "gcc clang cmake ninja conda mamba pipx dbt spark-submit hadoop hdfs java javac jupyter streamlit vite tsc deno "
    "bun php composer rails mix iex elixir".split()
)
_SHELL_LANGS = {"bash", "sh", "shell", "console", "zsh", "terminal", "shellsession", "powershell", "ps1", "cmd"}
_PRODUCT_EXT = {"js", "ts", "io", "net", "ai", "sh", "py", "go", "rs"}


@dataclass
class Artifacts:
    """Artifacts in the order first seen; a (name, kind) pair is kept once."""

    items: list[dict] = field(default_factory=list)
    _seen: set[tuple[str, str]] = field(default_factory=set)

    def add(self, name: str, kind: str, summary: str, source: str, content: str | None = None) -> None:
        name = name.strip()[:400]
        if not name or (name, kind) in self._seen:
            return
        self._seen.add((name, kind))
        item = {"name": name, "kind": kind, "summary": " ".join(summary.split())[:300] or kind, "source": source}
        if content is not None:
            item["content"] = content[:20000]
        self.items.append(item)


def is_command(text: str) -> bool:
    first = text.strip().lstrip("$ ").split(" ", 1)[0]
    return first in SHELL_WORDS


def plausible_path(path: str) -> bool:
    """A path or file name, not prose (``and/or``, ``1/2``), a version (``3.11``) or a product (``Node.js``)."""
    if _VERSION_OR_IP.fullmatch(path):
        return False
    if "/" not in path:
        if "." not in path:
            return False
        stem, _, ext = path.rpartition(".")
        if ext.lower() in _PRODUCT_EXT and stem[:1].isupper() and "_" not in stem and "-" not in stem:
            return False  # Node.js, Vue.js, Socket.io: products, not files
        return not re.fullmatch(r"[\d.]+", path)
    parts = [p for p in path.split("/") if p]
    if not parts or all(p.isdigit() for p in parts):
        return False  # 1/2, 24/7
    if path.startswith(("/", "~", ".")) or path.endswith("/") or any("." in p for p in parts[1:]):
        return True
    return len(parts) >= 3  # "client/server" is prose, "src/forge/ui" is a path


def context_line(text: str, pos: int) -> str:
    """The prose line just before ``pos`` (what a code block is)."""
    before = text[:pos].strip().splitlines()
    return before[-1].strip().rstrip(":") if before else ""


def sentence_around(text: str, pos: int) -> str:
    start = max(text.rfind("\n", 0, pos), text.rfind(". ", 0, pos) + 1, 0)
    ends = [i for i in (text.find("\n", pos), text.find(". ", pos)) if i != -1]
    end = min(ends) if ends else len(text)
    return text[start:end].strip()[:300]


def scan(arts: Artifacts, text: str, source: str) -> None:
    """Add every artifact of one turn's ``text`` to ``arts``."""
    for m in FENCE_RE.finditer(text):
        lang, body = m.group(2).lower(), m.group(3)
        lines = [ln for ln in body.splitlines() if ln.strip()]
        if lang in _SHELL_LANGS or (lines and all(is_command(ln) for ln in lines)):
            for ln in lines:
                if is_command(ln):
                    arts.add(ln.strip().lstrip("$ ").strip(), "command", context_line(text, m.start()), source)
            continue
        label = next((ln.strip() for ln in lines if ln.strip()), "")[:120]
        name = f"{lang or 'code'} snippet: {label}" if label else f"{lang or 'code'} snippet"
        summary = context_line(text, m.start()) or f"{len(lines)} lines of {lang or 'code'}"
        arts.add(name, "snippet", summary, source, content=body)
    prose = FENCE_RE.sub("\n", text)
    for m in URL_RE.finditer(prose):
        arts.add(m.group(0).rstrip(".,;:!?"), "url", sentence_around(prose, m.start()), source)
    no_urls = URL_RE.sub(" ", prose)
    for m in INLINE_CODE_RE.finditer(no_urls):
        code = m.group(0).strip("`").strip()
        if is_command(code) and " " in code:
            arts.add(code.lstrip("$ "), "command", sentence_around(no_urls, m.start()), source)
    for line in no_urls.splitlines():
        if line.startswith("$ ") and is_command(line[2:]):
            arts.add(line[2:].strip(), "command", "", source)
    for m in PATH_RE.finditer(no_urls):
        path = m.group(0).rstrip(".")
        if plausible_path(path):
            arts.add(path, "file", sentence_around(no_urls, m.start()), source)
    plain = INLINE_CODE_RE.sub(lambda c: c.group(0) if not is_command(c.group(0).strip("`")) else " ", no_urls)
    for m in IDENT_RE.finditer(plain):
        name = m.group(0)
        if not PATH_RE.fullmatch(name) or not plausible_path(name):
            arts.add(name, "other", sentence_around(no_urls, m.start()), source)


def artifacts_in(text: str, source: str = "") -> list[dict]:
    """The artifacts of one text (convenience for a single turn)."""
    arts = Artifacts()
    scan(arts, text, source)
    return arts.items
