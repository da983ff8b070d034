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


def test_the_root_builds_in_order_and_attaches_nothing_afterwards():
    """``build_session`` constructs each piece with its inputs: no slot of a dict or an object is
    filled after construction at its top level, and the root never looks anything up by name."""
    import ast
    from pathlib import Path

    root = Path(forge_tui.__file__).parent
    tree = ast.parse((root / "app_factory.py").read_text(encoding="utf-8"))
    build = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "build_session")
    filled = [f"line {t.lineno}" for stmt in build.body if isinstance(stmt, (ast.Assign, ast.AugAssign))
              for t in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target])
              if isinstance(t, (ast.Subscript, ast.Attribute))]
    assert not filled, f"build_session fills slots after construction: {filled}"
    for name in ("app_factory.py", "services.py"):
        calls = [n.lineno for n in ast.walk(ast.parse((root / name).read_text(encoding="utf-8")))
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("getattr", "hasattr")]
        assert not calls, f"{name} looks attributes up by name at lines {calls}"
