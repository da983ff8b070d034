"""Layering, enforced mechanically: nothing below the UI layer imports Textual or Rich.

Each core module is imported in a fresh interpreter and ``sys.modules`` is checked,
so an indirect import (a helper importing a helper that imports Textual) is caught too.
"""

import pkgutil
import subprocess
import sys

import forge_tui

ROOT_MODULES = {"forge_tui.cli", "forge_tui.__main__", "forge_tui.app_factory"}


def core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(forge_tui.__path__, "forge_tui."):
        if info.name.startswith("forge_tui.ui") or info.name in ROOT_MODULES:
            continue
        names.append(info.name)
    return names


def test_core_modules_do_not_import_textual_or_rich():
    modules = core_modules()
    assert "forge_tui.session.controller" in modules
    code = (
        "import importlib, sys\n"
        f"mods = {modules!r}\n"
        "bad = []\n"
        "for m in mods:\n"
        "    importlib.import_module(m)\n"
        "    leaked = [k for k in ('textual', 'rich') if k in sys.modules]\n"
        "    if leaked:\n"
        "        bad.append((m, leaked)); break\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
