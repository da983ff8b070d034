"""Load YAML nobody vouches for: plain data only, no anchors or aliases, bounded nesting.

Archives pasted into conversations, imported transcripts and archive files all
arrive from outside. Three things make YAML dangerous there: tags that build
Python objects (the safe loaders never do), aliases that multiply one node into
billions ("billion laughs"), and nesting deep enough that composing the document
recurses past Python's stack (5,000 ``[`` take seconds, then ``RecursionError``).
``screen`` walks the parser's events once — libyaml's parser where installed,
iterative either way — and refuses aliases, anchors and nesting beyond
``MAX_DEPTH`` at the first offending event, before anything is composed.
"""

from __future__ import annotations

from typing import Any

import yaml

#: Deeper than any archive or transcript; far below the recursion limit.
MAX_DEPTH = 64
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlRefused(ValueError):
    """YAML that is not valid, or not plain data; the message says which and where."""


def describe(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(problem)


def screen(text: str, max_depth: int = MAX_DEPTH) -> None:
    """Raise ``YamlRefused`` for invalid YAML, anchors, aliases or nesting deeper than ``max_depth``."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_FAST_LOADER):
            if isinstance(event, yaml.AliasEvent):
                raise YamlRefused("YAML aliases (*name) are not allowed; write the value out")
            anchor = getattr(event, "anchor", None)
            if anchor is not None:
                raise YamlRefused(f"YAML anchors (&{anchor}) are not allowed; write the value out")
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > max_depth:
                    mark = event.start_mark
                    raise YamlRefused(
                        f"nested more than {max_depth} levels deep (line {mark.line + 1}); "
                        "no archive or transcript is — is this the right file?"
                    )
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.YAMLError as exc:
        raise YamlRefused(f"not valid YAML: {describe(exc)}") from None
    except UnicodeEncodeError:  # libyaml takes UTF-8: a lone surrogate cannot be encoded
        raise YamlRefused(_SURROGATES) from None


_SURROGATES = "not valid YAML: it holds unpaired surrogate characters (broken Unicode)"


def load_plain_yaml(text: str, *, max_depth: int = MAX_DEPTH, fast: bool = True) -> Any:
    """``screen`` then load with a safe loader (libyaml's when ``fast`` and installed)."""
    screen(text, max_depth)
    try:
        return yaml.load(text, Loader=_FAST_LOADER if fast else yaml.SafeLoader)  # noqa: S506 - safe loaders only
    except yaml.YAMLError as exc:
        raise YamlRefused(f"not valid YAML: {describe(exc)}") from None
    except RecursionError:
        raise YamlRefused("nested too deeply to load") from None
    except UnicodeEncodeError:
        raise YamlRefused(_SURROGATES) from None
    except (ValueError, TypeError, AttributeError, OverflowError) as exc:
        # a value the safe constructor cannot build: ``2025-13-45`` (a date), ``!!int xyz``
        raise YamlRefused(f"not valid YAML: a value cannot be read ({' '.join(str(exc).split())[:120]})") from None
