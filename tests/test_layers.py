"""Imports only go down the layers, and no two modules import each other (directly or in a
ring): the picture in docs/architecture.md, checked like the Qt-free rule."""

import ast
from pathlib import Path

import neuron_desktop

PKG = Path(neuron_desktop.__file__).parent
# a package may import its own layer and the layers below it, never one above
LAYERS = {
    "core": 0, "models": 1, "pipelines": 2, "data": 2, "capabilities": 3, "train": 3,
    "evaluation": 4, "batch": 4, "qt": 5, "cli": 5, "cli_guard": 5, "project_cli": 5,
    "bench": 5, "__main__": 6,
}


def _imports() -> dict[str, set[str]]:
    """module name -> neuron_desktop modules it imports (anywhere in the file)."""
    graph = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        found = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        graph[name] = {m for m in found if m.startswith("neuron_desktop.")}
    return graph


def _layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


def test_every_module_has_a_layer():
    """A new top-level module or package must be placed in LAYERS (and the picture in
    docs/architecture.md), or the upward-import check would silently skip it."""
    names = {p.stem for p in PKG.glob("*.py") if p.stem != "__init__"}
    names |= {p.parent.name for p in PKG.glob("*/__init__.py")}
    assert names <= set(LAYERS), f"modules without a layer: {sorted(names - set(LAYERS))}"


def test_no_upward_imports():
    bad = []
    for mod, deps in _imports().items():
        here = _layer(mod)
        for dep in deps:
            there = _layer(dep)
            if here is not None and there is not None and there > here:
                bad.append(f"{mod} -> {dep}")
    assert not bad, "upward imports:\n" + "\n".join(sorted(bad))


def test_no_import_cycles_between_modules():
    graph = _imports()
    modules = set(graph)
    edges = {m: {d for d in deps if d in modules and d != m} for m, deps in graph.items()}
    state, cycles = {}, []

    def visit(m, stack):
        state[m] = 1
        stack.append(m)
        for d in edges[m]:
            if state.get(d) == 1:
                cycles.append(" -> ".join(stack[stack.index(d):] + [d]))
            elif d not in state:
                visit(d, stack)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)
