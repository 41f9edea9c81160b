"""The house's shape, enforced: one-way imports between layers, no cycles, and no heavy library loaded
by a command that does not need it.

Layers, lowest first (a module may import its own layer and the ones below, never above):

    base (errors, paths, progress, local_secret, timings) ← data ← store ← metrics ← benchmarks ← models ← runs
        ← packaging ← synthetic ← cli

`metrics` imports nothing of the package but `errors` (metrics know nothing of storage); nothing in the
package imports the CLI, rich or typer, or the package facade (`brainscore_registry/__init__.py`).
Every import counts, including imports inside functions and under `if TYPE_CHECKING:`: a type-only or
deferred import still points an arrow.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "brainscore_registry"
LAYERS = [
    *("base", "data", "store", "formats", "metrics", "benchmarks", "models"),
    *("runs", "scaleout", "reports", "service", "packaging", "synthetic"),
]
BASE = {"errors", "paths", "progress", "local_secret", "timings"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


MODULES = {module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}


def imports_of(module: str, path: Path) -> set[str]:
    """Every module of the package that `module` imports (resolved; a name imported from a package
    counts as its submodule when there is one)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_of(module, path).split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module
            submodules = {f"{target}.{alias.name}" for alias in node.names} & set(MODULES)
            found |= submodules or {target}
    watched = (PACKAGE, "cli", "rich", "typer")
    return {name for name in found if name.split(".")[0] in watched}


GRAPH = {module: imports_of(module, path) for module, path in MODULES.items()}


def layer_of(module: str) -> str:
    first = module.split(".")[1]
    return "base" if first in BASE else first


def test_every_module_is_in_a_layer():
    unplaced = [m for m in MODULES if m != PACKAGE and layer_of(m) not in LAYERS]
    assert unplaced == [], f"modules outside the layer order {LAYERS}: {unplaced}"


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import that points up the layer order, or at the facade, the CLI, rich or typer."""
    upward = []
    for module, targets in graph.items():
        if module == PACKAGE:  # the facade re-exports the public API from every layer
            continue
        rank = LAYERS.index(layer_of(module))
        for target in targets:
            if target == PACKAGE or target.split(".")[0] in ("cli", "rich", "typer"):
                upward.append(f"{module} -> {target} (the facade, the CLI and its libraries are above every layer)")
            elif LAYERS.index(layer_of(target)) > rank:
                upward.append(f"{module} ({layer_of(module)}) -> {target} ({layer_of(target)})")
            elif layer_of(module) == "metrics" and layer_of(target) != "metrics" and target != f"{PACKAGE}.errors":
                upward.append(f"{module} -> {target} (metrics import only errors)")
    return sorted(upward)


def import_cycles(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}  # 1 visiting, 2 done
    cycles = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if target not in graph:
                continue
            if state.get(target) == 1:
                cycles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return cycles


def test_imports_point_down_the_layers():
    assert upward_imports(GRAPH) == [], "imports pointing up the layer order:\n" + "\n".join(upward_imports(GRAPH))


def test_no_import_cycles():
    assert import_cycles(GRAPH) == [], "import cycles:\n" + "\n".join(import_cycles(GRAPH))


def test_the_checks_catch_what_they_are_for(tmp_path):
    """The checkers themselves, on a planted upward arrow (found by parsing a real file), a metrics
    module reaching into storage, and a two-module cycle."""
    planted = tmp_path / PACKAGE / "data" / "probe.py"
    planted.parent.mkdir(parents=True)
    planted.write_text("def f():\n    from ..store.registry import Registry\n")
    targets = imports_of(f"{PACKAGE}.data.probe", planted)
    assert targets == {f"{PACKAGE}.store.registry"}
    assert len(upward_imports({f"{PACKAGE}.data.probe": targets})) == 1
    assert len(upward_imports({f"{PACKAGE}.metrics.x": {f"{PACKAGE}.data.hashing"}})) == 1
    assert upward_imports({f"{PACKAGE}.runs.x": {f"{PACKAGE}.metrics.score", f"{PACKAGE}.errors"}}) == []
    a, b = f"{PACKAGE}.store.a", f"{PACKAGE}.store.b"
    assert import_cycles({a: {b}, b: {a}}) == [f"{a} -> {b} -> {a}"]


# -- start-up: what each command loads (structure, not timing; timings live in perf/cli.py) ---------

HEAVY = ("torch", "sklearn", "scipy", "xarray", "zarr", "dvc", "pandas", "numpy", "fastapi", "uvicorn", "sqlalchemy", "httpx")
PROBE = """
import json, sys
from cli.app import app
try:
    app(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print("\\n" + json.dumps(sorted({m.split('.')[0] for m in sys.modules})))
"""


def loaded_by(*args: str, env: dict | None = None) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_help_loads_no_heavy_library():
    assert loaded_by("--help") & set(HEAVY) == set()


@pytest.mark.parametrize("command", [["list", "--json"], ["benchmarks", "--json"], ["serve", "token", "list", "--json"]])
def test_catalogue_commands_load_neither_torch_nor_scikit_learn_nor_dvc(command, tmp_path):
    import os

    env = {**os.environ, "BSR_HOME": str(tmp_path / "home")}
    loaded = loaded_by("--registry", str(ROOT), *command, env=env)
    assert loaded & {"torch", "sklearn", "scipy", "dvc", "zarr"} == set(), command
