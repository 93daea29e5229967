"""The modules of tinylm import one another without a cycle, function-level imports included:
a cycle couples two layers (the study engine and a study), whatever order makes it load."""

import ast
import graphlib
from pathlib import Path

import tinylm

PACKAGE = Path(tinylm.__file__).parent


def module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def imported(name: str, path: Path, modules: dict) -> set[str]:
    """The tinylm modules `name` imports anywhere in its code (`from a import b`: a.b if b is a
    module, else a)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, `level - 1` packages up
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            found |= {
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            }
    return {module for module in found if module in modules and module != name}


def test_no_import_cycle_and_the_engine_reaches_no_study():
    from tinylm.study.registry import STUDIES

    modules = module_names()
    graph = {name: imported(name, path, modules) for name, path in modules.items()}
    try:
        list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as err:
        raise AssertionError(f"import cycle: {' -> '.join(err.args[1])}") from None

    reached, todo = set(), ["tinylm.study.engine"]
    while todo:
        for module in graph[todo.pop()] - reached:
            reached.add(module)
            todo.append(module)
    # a study's module, or its package (tinylm.study.committee)
    studies = {".".join(study.cells.__module__.split(".")[:3]) for study in STUDIES.values()}
    assert len(studies) == len(STUDIES) and "tinylm.study.kinds" in reached
    assert not {m for m in reached for s in studies if m == s or m.startswith(s + ".")}
