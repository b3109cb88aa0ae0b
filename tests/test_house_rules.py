"""House rules that hold without anyone remembering them."""
import ast
from pathlib import Path

import pytest

KERNELS = Path(__file__).resolve().parents[1] / "kernels"
FASTNET = Path(__file__).resolve().parents[1] / "fastnet"


def imported_modules(path):
    """Every module name an import statement in ``path`` names."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def test_kernels_never_import_fastnet():
    offenders = [f"{path.name}: {name}" for path in sorted(KERNELS.glob("*.py"))
                 for name in imported_modules(path) if name.split(".")[0] == "fastnet"]
    assert not offenders, f"kernels/ must not import fastnet: {offenders}"


def test_every_kernel_module_has_a_docstring():
    missing = [path.name for path in sorted(KERNELS.glob("*.py"))
               if ast.get_docstring(ast.parse(path.read_text())) is None]
    assert not missing, f"kernel modules without a module docstring: {missing}"


def test_every_kernel_function_has_a_docstring():
    missing = []
    for path in sorted(KERNELS.glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_") \
                    and ast.get_docstring(node) is None:
                missing.append(f"{path.name}:{node.name}")
    assert not missing, f"kernel functions without a docstring: {missing}"


def import_graph(root):
    """{module: set of modules it imports} for the package in the folder ``root``, from the
    source: every import statement counts, at module level or inside a function.
    ``from package import name`` is an import of ``package.name`` where that is a module."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[1:2] == ("kernels",):  # a link to kernels/, which imports no fastnet (above)
            continue
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                targets.update(f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module
                               for alias in node.names)
        graph[name] = {target for target in targets if target in modules and target != name}
    return graph


def import_cycles(graph):
    """One cycle per group of modules that import each other, directly or round about:
    a list of modules, the first repeated at the end, then a note naming the whole group."""
    def reachable(start):
        seen, todo = {start}, [start]
        while todo:
            for target in graph[todo.pop()]:
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        return seen

    def path(start, goal):  # the shortest import path from start to goal
        paths, todo = {start: [start]}, [start]
        for module in todo:
            for target in sorted(graph[module]):
                if target == goal:
                    return paths[module] + [goal]
                if target not in paths:
                    paths[target] = paths[module] + [target]
                    todo.append(target)

    cycles, placed = [], set()
    for module in sorted(graph):
        if module not in placed:
            group = {other for other in reachable(module) if module in reachable(other)}
            placed |= group
            if len(group) > 1:
                cycles.append(path(module, module) + [f"(the circle holds {', '.join(sorted(group))})"])
    return cycles


# The one circle left: Network.save / load / to_onnx call the file modules, which build
# and check Networks.  Breaking it changes network.py, which the engine-layer work rewrites.
KNOWN_CYCLE = "fastnet.files.model_io, fastnet.network, fastnet.onnx_export"


def test_no_import_cycles_in_fastnet():
    cycles = [" -> ".join(cycle) for cycle in import_cycles(import_graph(FASTNET))
              if cycle[-1] != f"(the circle holds {KNOWN_CYCLE})"]
    assert not cycles, "fastnet's modules import each other in a circle (move what both need " \
                       "to where it belongs): " + "; ".join(cycles)


def test_an_import_inside_a_function_closes_a_cycle(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from .sub import b\n")
    (package / "sub" / "b.py").write_text("def late():\n    from ..a import thing\n")
    (package / "c.py").write_text("import pkg.a\n")
    graph = import_graph(package)
    assert graph["pkg.a"] == {"pkg.sub.b"} and graph["pkg.sub.b"] == {"pkg.a"}
    assert import_cycles(graph) == [["pkg.a", "pkg.sub.b", "pkg.a", "(the circle holds pkg.a, pkg.sub.b)"]]


def test_every_package_of_fastnet_is_installed():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    listed = tomllib.loads((FASTNET.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    found = {".".join(path.parent.relative_to(FASTNET.parent).parts) for path in FASTNET.rglob("__init__.py")
             if "kernels" not in path.parts}
    assert found <= set(listed), f"pyproject.toml's [tool.setuptools] packages lacks {sorted(found - set(listed))}"
