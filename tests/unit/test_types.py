"""The core packages type-check (mypy, configured in mypy.ini): the engine interface
is a Protocol every backend must satisfy, so a missing or mistyped member fails here."""

from __future__ import annotations

import subprocess
import sys

from forge_tui.config import REPO_ROOT


def test_core_packages_pass_mypy():
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--no-error-summary"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
