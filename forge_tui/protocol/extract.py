"""Deterministic pre-extraction: what a rule can find, no model needed.

Compaction loses identifiers, paths and the user's exact words when a model is
left to summarise them, so these are taken from the text by rule and kept
verbatim: fenced code blocks, file paths, URLs and shell commands become
artifacts; user sentences stating rules ("never…", "always…", "must…",
"don't…") become constraints quoted exactly; sentences that announce a
decision ("we'll use…", "let's go with…", "switch to…") or ask an open question
become numbered candidates the model may restate. Later resolution cues
("fixed", "resolved", "done") close the threads they mention.

Input turns are dicts or objects with ``id``, ``role`` and ``content``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

URL_RE = re.compile(r"https?://[^\s<>()\[\]\"'`]+")
FENCE_RE = re.compile(r"^(`{3,}|~{3,})[ \t]*([\w+-]*)[^\n]*\n(.*?)^\1[ \t]*$", re.M | re.S)
INLINE_CODE_RE = re.compile(r"`([^`\n]{2,200})`")
_EXT = (
    "py|pyi|js|jsx|ts|tsx|toml|yaml|yml|json|md|rst|rs|go|c|h|cc|cpp|hpp|java|kt|rb|php|sh|bash|zsh|sql|txt|cfg|"
    "ini|lock|html|css|tcss|scss|gguf|csv|parquet|proto|xml|env|conf|log|ipynb|tf|gradle|swift|lua|vue|svelte"
)
PATH_RE = re.compile(
    rf"(?<![\w/.@:-])(?:~|\.{{1,2}})?/?(?:[\w.+-]+/)+(?:[\w.+-]*\w)?|(?<![\w/.@:-])[\w+-]+(?:\.[\w+-]+)*\.(?:{_EXT})\b"
)
#: identifiers compaction tends to lose: ENV_VARS, dotted.config.keys (two dots or more)
IDENT_RE = re.compile(r"(?<![\w.])(?:[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[a-z][\w-]*(?:\.[\w-]+){2,})(?![\w.]*\()")
#: quantities: a number with a unit, decimals, scientific notation, dates, "Name 16" versions
VALUE_RE = re.compile(
    r"\b\d+(?:[.,]\d+)?\s?(?:ms|s|sec|seconds?|minutes?|min|hours?|h|days?|weeks?|months?|years?|%|percent|"
    r"[kmgt]i?b|k|rows?|entries|items|releases?|epochs?|copies|daily|workers?|threads?|retries|users?)\b"
    r"|\b\d+\.\d+\b|\b\d+e-?\d+\b"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}\b"
    r"|\b[A-Z][A-Za-z]+ \d{1,4}\b|\b\d{1,2}:\d{2}\b",
    re.I,
)
SHELL_WORDS = (
    "git", "pip", "pip3", "python", "python3", "pytest", "npm", "npx", "yarn", "pnpm", "cargo", "make", "docker",
    "kubectl", "curl", "wget", "forge", "uv", "poetry", "ls", "cd", "export", "source", "bash", "sh", "go", "node",
    "ruff", "mypy", "black", "psql", "mongosh", "sqlite3", "brew", "apt", "apt-get", "sudo", "chmod", "mkdir",
    "rm", "cp", "mv", "cat", "grep", "sed", "awk", "tar", "ssh", "scp", "terraform", "helm", "systemctl",
    "alembic", "airflow", "uvicorn", "gunicorn", "celery", "mvn", "gradle", "dotnet", "bundle", "rake", "find",
    "createdb", "pg_dump", "redis-cli", "flask", "django-admin", "tox", "nox", "pre-commit", "hatch", "pdm",
)
_SHELL_LANGS = {"bash", "sh", "shell", "console", "zsh", "terminal", "shellsession"}
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'`(])|\n+")

CONSTRAINT_RE = re.compile(
    r"\b(never|always|must|mustn't|must not|don't|do not|dont|shouldn't|should never|make sure|"
    r"under no circumstances|only ever|no more than|at most|at least|avoid)\b",
    re.I,
)
DECISION_RE = re.compile(
    r"\b(we'll use|we will use|we'll go with|we will go with|let's go with|let's use|let's switch|we're going with|"
    r"going with|decided|decision:|switch(?:ed|ing)? to|settled on|we chose|i chose|chose to|go with|"
    r"we'll keep|we will keep|from now on|instead of|replace \w+ with|set \S+ to|should be set to|"
    r"we'll store|we will store|use \S+ instead)\b|^(use|set|keep|store|put|pin|target) \S",
    re.I,
)
REVERSAL_RE = re.compile(r"\b(instead|switch|actually|scratch that|no longer|change of plan|reverse|revert|replace)", re.I)
QUESTION_RE = re.compile(
    r"^(open question|todo|to do|question:|we still need to|still need to|need to figure out|not sure (?:whether|if|how)|"
    r"unclear|tbd)\b",
    re.I,
)
RESOLVED_RE = re.compile(r"\b(fixed|resolved|solved|done|works now|working now|answered|settled|closed)\b", re.I)
ABANDONED_RE = re.compile(r"\b(never ?mind|forget (?:about )?it|drop (?:it|that)|won't do|not worth|abandon(?:ed)?|park (?:it|that))\b", re.I)
CRITICAL_RE = re.compile(r"\b(critical|blocker|security|data loss|production|urgent|never|under no circumstances)\b|!", re.I)
HIGH_RE = re.compile(r"\b(important|must|always|bug|broken|fail\w*|crash\w*|error)\b", re.I)
LOW_RE = re.compile(r"\b(maybe|nice to have|later|someday|eventually|minor|optional)\b", re.I)
STOPWORDS = frozenset(
    "the a an and or but to of in on for with we i you it is are be this that should would will can could use "
    "using let's lets go going have has do does did not no yes so as at by from into our your my me us they them "
    "what how why when which who there here then than now just also still need about more some any all one "
    "question open issue thanks ok okay".split()
)


@dataclass
class Candidate:
    number: int  # 1-based, as shown to the model
    text: str  # the sentence, verbatim
    source: str  # message id
    role: str
    kind: str  # "decision" | "thread"
    priority: str = "medium"
    tier: float = 0.8
    status: str = "OPEN"  # threads: OPEN/RESOLVED/ABANDONED; decisions: active/superseded
    supersedes: list[int] = field(default_factory=list)  # candidate numbers (decisions)
    closed_by: str | None = None


@dataclass
class Extraction:
    artifacts: list[dict] = field(default_factory=list)
    constraints: list[dict] = field(default_factory=list)
    decisions: list[Candidate] = field(default_factory=list)
    threads: list[Candidate] = field(default_factory=list)


def _get(turn: Any, key: str) -> Any:
    if isinstance(turn, dict):
        return turn.get(key)
    value = getattr(turn, key, None)
    return getattr(value, "value", value)  # Role enum -> str


def sentences(text: str) -> list[str]:
    """Sentences/lines of prose, code blocks removed, whitespace trimmed, bullets stripped."""
    prose = FENCE_RE.sub("\n", text)
    out = []
    for part in _SENTENCE_SPLIT.split(prose):
        s = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", part).strip()
        if len(s) >= 3:
            out.append(s)
    return out


def words(text: str) -> set[str]:
    """Significant lower-case tokens (for 'same subject' checks)."""
    tokens = [w.strip("./-") for w in re.findall(r"[a-z0-9_./-]+", text.lower())]
    joined = {a + b for a, b in zip(tokens, tokens[1:]) if a not in STOPWORDS and b not in STOPWORDS}
    return {w for w in [*tokens, *joined] if len(w) >= 3 and w not in STOPWORDS}


def guess_priority(text: str) -> str:
    if CRITICAL_RE.search(text):
        return "critical"
    if HIGH_RE.search(text):
        return "high"
    if LOW_RE.search(text):
        return "low"
    return "medium"


class _Artifacts:
    def __init__(self) -> None:
        self.items: list[dict] = []
        self._seen: set[tuple[str, str]] = set()

    def add(self, name: str, kind: str, summary: str, source: str, content: str | None = None) -> None:
        name = name.strip()[:400]
        if not name or (name, kind) in self._seen:
            return
        self._seen.add((name, kind))
        item = {"name": name, "kind": kind, "summary": summary.strip()[:300] or kind, "source": source}
        if content is not None:
            item["content"] = content[:20000]
        self.items.append(item)


def _is_command(text: str) -> bool:
    first = text.strip().lstrip("$ ").split(" ", 1)[0]
    return first in SHELL_WORDS


def _context_line(text: str, pos: int) -> str:
    """The prose sentence just before ``pos`` (a summary for a code block)."""
    before = text[:pos].strip().splitlines()
    return before[-1].strip().rstrip(":") if before else ""


def _scan_artifacts(arts: _Artifacts, text: str, source: str) -> None:
    for m in FENCE_RE.finditer(text):
        lang, body = m.group(2).lower(), m.group(3)
        lines = [ln for ln in body.splitlines() if ln.strip()]
        if lang in _SHELL_LANGS or (lines and all(_is_command(ln) for ln in lines)):
            for ln in lines:
                if _is_command(ln):
                    arts.add(ln.strip().lstrip("$ ").strip(), "command", _context_line(text, m.start()), source)
            continue
        label = next((ln.strip() for ln in lines if ln.strip()), "")[:120]
        name = f"{lang or 'code'} snippet: {label}" if label else f"{lang or 'code'} snippet"
        summary = _context_line(text, m.start()) or f"{len(lines)} lines of {lang or 'code'}"
        arts.add(name, "snippet", summary, source, content=body)
    prose = FENCE_RE.sub("\n", text)
    for m in URL_RE.finditer(prose):
        url = m.group(0).rstrip(".,;:!?")
        arts.add(url, "url", _sentence_around(prose, m.start()), source)
    no_urls = URL_RE.sub(" ", prose)
    for m in INLINE_CODE_RE.finditer(no_urls):
        if _is_command(m.group(1)) and " " in m.group(1).strip():
            arts.add(m.group(1).strip().lstrip("$ "), "command", _sentence_around(no_urls, m.start()), source)
    for line in no_urls.splitlines():
        if line.startswith("$ ") and _is_command(line[2:]):
            arts.add(line[2:].strip(), "command", "", source)
    for m in PATH_RE.finditer(no_urls):
        path = m.group(0).rstrip(".")
        if _plausible_path(path):
            arts.add(path, "file", _sentence_around(no_urls, m.start()), source)
    for m in IDENT_RE.finditer(INLINE_CODE_RE.sub(lambda c: c.group(0) if not _is_command(c.group(1)) else " ", no_urls)):
        name = m.group(0)
        if not PATH_RE.fullmatch(name) or not _plausible_path(name):
            arts.add(name, "other", _sentence_around(no_urls, m.start()), source)


def _plausible_path(path: str) -> bool:
    if "/" not in path:
        return "." in path and not re.fullmatch(r"[\d.]+", path)
    parts = [p for p in path.split("/") if p]
    if not parts or all(p.isdigit() for p in parts):
        return False  # 1/2, 24/7
    if path.startswith(("/", "~", ".")) or path.endswith("/") or any("." in p for p in parts[1:]):
        return True
    return len(parts) >= 3  # "and/or", "client/server" are prose, "src/forge/ui" is a path


def _sentence_around(text: str, pos: int) -> str:
    start = max(text.rfind("\n", 0, pos), text.rfind(". ", 0, pos) + 1, 0)
    end_candidates = [i for i in (text.find("\n", pos), text.find(". ", pos)) if i != -1]
    end = min(end_candidates) if end_candidates else len(text)
    return text[start:end].strip()[:300]


def extract(turns: Iterable[Any]) -> Extraction:
    """Run every rule over ``turns`` (in order) and return the candidates."""
    arts = _Artifacts()
    ex = Extraction()
    seen_quotes: set[str] = set()
    for turn in turns:
        text = _get(turn, "content") or ""
        source = str(_get(turn, "id") or "")
        role = str(_get(turn, "role") or "user")
        if role == "system":
            continue
        _scan_artifacts(arts, text, source)
        for s in sentences(text):
            _classify_sentence(ex, s, source, role, seen_quotes)
    ex.artifacts = arts.items
    return ex


def _classify_sentence(ex: Extraction, s: str, source: str, role: str, seen_quotes: set[str]) -> None:
    abandoned = ABANDONED_RE.search(s)
    if role == "user" and not abandoned and CONSTRAINT_RE.search(s) and not s.endswith("?") and s not in seen_quotes:
        seen_quotes.add(s)
        ex.constraints.append(
            {"quote": s[:1000], "priority": guess_priority(s), "scope": _scope(s), "source": source}
        )
        return
    closing = abandoned or RESOLVED_RE.search(s)
    if closing and ex.threads and not s.endswith("?"):
        _close_threads(ex.threads, s, source, "ABANDONED" if abandoned else "RESOLVED")
    explicit = bool(DECISION_RE.search(s))
    if (explicit or VALUE_RE.search(s)) and not s.endswith("?"):
        tier = (1.0 if role == "user" else 0.8) if explicit else 0.6  # a stated value, not an explicit decision
        cand = Candidate(len(ex.decisions) + 1, s[:400], source, role, "decision", guess_priority(s),
                         tier=tier, status="active")
        if REVERSAL_RE.search(s):
            mine = words(s)
            for old in ex.decisions:
                if old.status == "active" and len(mine & words(old.text)) >= 1:
                    old.status = "superseded"
                    cand.supersedes.append(old.number)
        ex.decisions.append(cand)
    elif (s.endswith("?") and (role == "user" or len(s) > 25)) or QUESTION_RE.search(s):
        if not any(t.text == s for t in ex.threads):
            ex.threads.append(Candidate(len(ex.threads) + 1, s[:300], source, role, "thread", guess_priority(s)))


def _close_threads(threads: list[Candidate], s: str, source: str, status: str) -> None:
    """Close the open threads this sentence is about; with no overlap, the latest one."""
    mine = words(s)
    open_threads = [t for t in threads if t.status == "OPEN" and t.source != source]
    matched = [t for t in open_threads if mine & words(t.text)]
    if not matched and open_threads and len(s) < 80:
        matched = [open_threads[-1]]
    for t in matched:
        t.status = status
        t.closed_by = source


def _scope(s: str) -> str:
    m = PATH_RE.search(URL_RE.sub(" ", s))
    if m and _plausible_path(m.group(0)):
        return m.group(0).rstrip(".")[:200]
    return "project"
