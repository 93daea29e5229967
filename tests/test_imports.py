"""The modules of tinylm import one another without a cycle, function-level imports included:
a cycle couples two layers (the study engine and a study), whatever order makes it load. And
the packages stand on declared floors: a module imports only from its own package or a floor
below, so no arrow of the import drawing runs back up."""

import ast
import graphlib
from pathlib import Path

import tinylm

PACKAGE = Path(tinylm.__file__).parent

# Bottom to top: each top-level module or package of tinylm, and what it stands on.
FLOORS = [
    "tinylm",  # the package's __init__: its version
    "tinylm.errors",  # the one exception the command line turns into exit 2
    "tinylm.layout",  # the data directory's file names
    "tinylm.files",  # atomic writes
    "tinylm.paths",  # where data and caches live
    "tinylm.lock",
    "tinylm.provenance",  # the commit behind a figure
    "tinylm.ledger",  # the test ledger
    "tinylm.config",  # the typed configuration
    "tinylm.tokenizer",
    "tinylm.data",  # corpora, tasks, samples, the token cache
    "tinylm.model",  # the network and its accounting
    "tinylm.train",  # pre-training, fine-tuning, evaluation
    "tinylm.export",  # Hugging Face, ONNX, model cards, committees
    "tinylm.analysis",  # overlap, corpus selection, ablations
    "tinylm.bench",  # benchmarks
    "tinylm.study",  # the paper's studies and their engine
    "tinylm.cli",  # the command line
    "tinylm.api",  # the Python API (tinylm.TinyClassifier), beside the command line
    "tinylm.__main__",
]


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


def floor_of(module: str) -> str:
    """The floor a module stands on: its top-level module or package."""
    return ".".join(module.split(".")[:2])


def test_every_import_goes_down_the_floors():
    modules = module_names()
    rank = {floor: i for i, floor in enumerate(FLOORS)}
    unplaced = sorted({floor_of(name) for name in modules} - set(rank))
    assert not unplaced, f"place these in FLOORS: {unplaced}"
    upward = [
        f"{name} -> {target}"
        for name, path in modules.items()
        for target in sorted(imported(name, path, modules))
        if floor_of(target) != floor_of(name) and rank[floor_of(target)] > rank[floor_of(name)]
    ]
    assert not upward, "imports that run back up a floor:\n" + "\n".join(upward)
