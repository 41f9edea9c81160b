"""One-way layers: the library never imports the CLI or its display libraries."""

from __future__ import annotations

import ast
from pathlib import Path

import brainscore_registry

FORBIDDEN = {"cli", "rich", "typer", "click"}


def test_library_does_not_import_cli_or_rich():
    package = Path(brainscore_registry.__file__).parent
    offenders = []
    for module in package.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{module.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
