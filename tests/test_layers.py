"""The import rule of docs/architecture.md: every layer imports only the layers below it.

    keitrucks.core  <-  scrapers (items, blocking, parsers)  <-  scrapers (spiders, settings,
    middlewares)  <-  pipelines  <-  analysis  <-  the app (keitrucks, scheduler)

The sample marketplace (``keitrucks.sample``) is a stand-in for the real sites: it may use the
floor only, never the spiders it exists to test. Imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("keitrucks", "scrapers", "pipelines", "analysis", "scheduler")

#: (module prefix, layer); the longest matching prefix wins.
LAYERS = (
    ("keitrucks.core", 0),
    ("scrapers.items", 1),
    ("scrapers.blocking", 1),
    ("scrapers.parsers", 1),
    ("scrapers", 2),
    ("pipelines", 3),
    ("analysis", 4),
    ("keitrucks", 5),
    ("scheduler", 5),
)
#: Modules that may import only these prefixes from the project, whatever their layer.
CONFINED = {"keitrucks.sample": ("keitrucks.core", "keitrucks.sample")}


def layer_of(module: str) -> int | None:
    best = None
    for prefix, layer in LAYERS:
        if (module == prefix or module.startswith(prefix + ".")) and (
            best is None or len(prefix) > len(best[0])
        ):
            best = (prefix, layer)
    return best[1] if best else None


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, imported project module) for every import in the file, nested ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] in PACKAGES:
                found.append((node.lineno, name))
    return found


def source_files(root: Path) -> list[Path]:
    files = []
    for package in PACKAGES:
        path = root / package
        files += sorted(path.rglob("*.py")) if path.is_dir() else [root / f"{package}.py"]
    return [f for f in files if f.exists()]


def violations(root: Path) -> list[str]:
    found = []
    for path in source_files(root):
        module = module_name(path, root)
        mine = layer_of(module)
        confined = next((v for k, v in CONFINED.items() if module.startswith(k)), None)
        for line, target in project_imports(path, module):
            theirs = layer_of(target)
            where = f"{path.relative_to(root)}:{line} imports {target}"
            if confined is not None:
                if not any(target == p or target.startswith(p + ".") for p in confined):
                    found.append(f"{where} (the sample may use only {', '.join(confined)})")
            elif mine is not None and theirs is not None and theirs > mine:
                found.append(f"{where} (layer {mine} may not import layer {theirs})")
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    modules = {module_name(p, root): p for p in source_files(root)}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for _, target in project_imports(path, module):
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != module:
                graph[module].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_a_layer_above_it():
    assert violations(ROOT) == []


def test_there_is_no_import_cycle():
    assert cycles(import_graph(ROOT)) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"scrapers/parsers/x.py": "from pipelines import storage\n"},
            "layer 1 may not import layer 3",
        ),
        ({"scrapers/spiders/x.py": "def f():\n    import pipelines.storage\n"}, "layer 2"),
        ({"pipelines/x.py": "from keitrucks.night import run\n"}, "layer 3 may not import layer 5"),
        ({"keitrucks/core/x.py": "from scrapers.items import Listing\n"}, "layer 0"),
        ({"keitrucks/sample/x.py": "from scrapers.spiders.ebay import E\n"}, "sample may use"),
        ({"analysis/a/x.py": "from ...keitrucks import cli\n"}, "layer 4 may not import layer 5"),
    ],
)
def test_the_rule_catches_an_upward_import(tmp_path, files, expected):
    found = violations(_tree(tmp_path, files))
    assert len(found) == 1
    assert expected in found[0]


def test_downward_and_sideways_imports_are_allowed(tmp_path):
    root = _tree(
        tmp_path,
        {
            "analysis/x.py": "from pipelines import storage\nfrom keitrucks.core import dates\n",
            "keitrucks/cli.py": "from analysis import x\n",
            "keitrucks/sample/site.py": "from keitrucks.core import tables\n",
        },
    )
    assert violations(root) == []


def test_a_cycle_is_found(tmp_path):
    root = _tree(
        tmp_path,
        {
            "pipelines/a.py": "def f():\n    from keitrucks import health\n",
            "keitrucks/health.py": "from pipelines import a\n",
            "pipelines/b.py": "from pipelines import a\n",
        },
    )
    assert cycles(import_graph(root)) == [["keitrucks.health", "pipelines.a"]]
