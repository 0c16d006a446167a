"""The package layering (docs/design.md, "Layers"): a module imports only from its own
layer or the ones below, and no modules import each other in a cycle.

Function-level imports count: a lazy import upward is still an upward dependency.
Tests and benchmarks sit on top and may import anything.
"""
import ast
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
# Lowest first; a top-level name not listed here is not part of the product.
LAYERS = [("common", "schemas", "y8m_types"), ("models",), ("components",), ("pipeline",), ("y8m",)]
LAYER_OF = {package: rank for rank, packages in enumerate(LAYERS) for package in packages}
NOT_PRODUCT = ("tests", "bench", ".venv", "build", "dist")


def is_test(path: pathlib.Path) -> bool:
    return path.name.startswith("test_") or path.name.endswith("_test.py") or path.name == "conftest.py"


def product_modules(root: pathlib.Path) -> dict[str, pathlib.Path]:
    """Dotted module name → file, for every product module (tests and benchmarks left out)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] in NOT_PRODUCT or relative.parts[0].startswith(".") or is_test(path):
            continue
        if relative.parts[0].removesuffix(".py") not in LAYER_OF:
            continue
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imported_modules(path: pathlib.Path, known: set[str]) -> set[str]:
    """The product modules a file imports, anywhere in it (`from a import b` counts `a.b`
    when that is a module, else `a`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in known else node.module
                     for alias in node.names]
        else:
            continue
        found.update(name for name in names if name in known)
    return found


def upward_imports(root: pathlib.Path) -> list[str]:
    modules = product_modules(root)
    problems = []
    for module, path in modules.items():
        own = LAYER_OF[module.split(".")[0]]
        for imported in sorted(imported_modules(path, set(modules))):
            if LAYER_OF[imported.split(".")[0]] > own:
                problems.append(f"{path.relative_to(root)}: {module} imports {imported}, a layer above it")
    return problems


def import_cycles(root: pathlib.Path) -> list[list[str]]:
    """Cycles among product modules (a package's __init__ counts as a module)."""
    modules = product_modules(root)
    graph = {module: imported_modules(path, set(modules)) - {module} for module, path in modules.items()}
    cycles, state = [], {}

    def visit(module, stack):
        state[module] = "open"
        stack.append(module)
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                cycles.append(stack[stack.index(imported):] + [imported])
            elif imported not in state:
                visit(imported, stack)
        stack.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    return cycles


def test_no_module_imports_from_a_layer_above():
    assert upward_imports(REPO) == []


def test_no_import_cycle():
    assert import_cycles(REPO) == []


def test_every_top_level_package_has_a_layer():
    packages = {path.parent.name for path in REPO.glob("*/__init__.py")}
    assert packages - set(LAYER_OF) == set(), "a new top-level package needs its place in LAYERS"


@pytest.fixture()
def fake_repo(tmp_path):
    for package in ("common", "models", "components", "y8m"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    return tmp_path


def test_the_checks_find_an_upward_import_and_a_cycle(fake_repo):
    (fake_repo / "common" / "errors.py").write_text("def f():\n    from y8m import cli\n")
    (fake_repo / "y8m" / "cli.py").write_text("from common.errors import f\n")
    (fake_repo / "models" / "a.py").write_text("from models import b\n")
    (fake_repo / "models" / "b.py").write_text("import models.a\n")
    (fake_repo / "components" / "ok_test.py").write_text("from y8m import cli\n")  # tests may
    assert upward_imports(fake_repo) == ["common/errors.py: common.errors imports y8m.cli, a layer above it"]
    cycles = import_cycles(fake_repo)
    assert ["models.a", "models.b", "models.a"] in cycles
    assert ["common.errors", "y8m.cli", "common.errors"] in cycles
