"""Every data file the code ships (learned weights, styles, grammars) is named in pyproject's
package-data: an install that is not editable would otherwise lack it and fail at first use."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA_SUFFIXES = {".json", ".npz", ".tcss", ".gbnf"}


def test_every_shipped_data_file_is_package_data():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["forge_tui"]
    package = ROOT / "forge_tui"
    covered = {p for pattern in patterns for p in package.glob(pattern)}
    data = {p for p in package.rglob("*") if p.suffix in DATA_SUFFIXES and "__pycache__" not in p.parts}
    missing = sorted(str(p.relative_to(ROOT)) for p in data - covered)
    assert not missing, f"add these to [tool.setuptools.package-data] in pyproject.toml: {missing}"
