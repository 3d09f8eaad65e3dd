"""The structure docs/architecture.md describes, checked where ruff and import-linter cannot: no
module uses another module's private names. (That every module imports first in a fresh
interpreter is `make lint`'s: scripts/check_imports.py.)"""

from __future__ import annotations

import ast
from pathlib import Path

import assembly

PACKAGE = Path(assembly.__file__).parent
# names whose underscore is the library's, not ours: SQLAlchemy's pool, sys._getframe and the like
FOREIGN = {"pool", "sys", "os", "self", "cls"}


def _private_uses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("assembly"):
            found += [f"{path}: imports {node.module}.{a.name}" for a in node.names
                      if a.name.startswith("_") and not a.name.startswith("__")]
        elif (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
              and isinstance(node.value, ast.Name) and node.value.id not in FOREIGN):
            found.append(f"{path}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_no_module_uses_another_modules_private_names():
    found = [use for path in sorted(PACKAGE.rglob("*.py")) for use in _private_uses(path)]
    assert found == []
