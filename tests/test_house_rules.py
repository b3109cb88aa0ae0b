"""House rules that hold without anyone remembering them."""
import ast
import inspect
import re
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


ROOT = KERNELS.parent
TUNABLES = KERNELS / "tunables.py"


def assigned_names(path):
    """Names a module-level assignment in ``path`` binds, with their line numbers."""
    for node in ast.parse(path.read_text(), filename=str(path)).body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) else []
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name):
                    yield name.id, node.lineno


def tunables():
    """{name: line} of every constant kernels/tunables.py defines."""
    return {name: line for name, line in assigned_names(TUNABLES) if name.isupper()}


def library_modules():
    """Every module of fastnet/, kernels/ and bench/ (fastnet/kernels is kernels/ again)."""
    seen = set()
    for folder in ("fastnet", "kernels", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.resolve() not in seen:
                seen.add(path.resolve())
                yield path.resolve()


def test_each_tunable_and_engines_is_defined_once():
    owner = {name: TUNABLES.resolve() for name in tunables()}
    owner["ENGINES"] = (KERNELS / "layout.py").resolve()
    twins = [f"{path.relative_to(ROOT)}:{line} assigns {name}"
             for path in library_modules() for name, line in assigned_names(path)
             if name in owner and path != owner[name]]
    assert not twins, f"defined in kernels/tunables.py (ENGINES in kernels/layout.py), import it: {twins}"


def test_each_tunable_says_what_it_decides_and_how_it_was_measured():
    lines = TUNABLES.read_text().splitlines()
    found = tunables()
    assert len(found) >= 19
    unexplained = []
    for name, line in found.items():
        above = []
        for text in reversed(lines[:line - 1]):
            if not text.startswith("#"):
                break
            above.insert(0, text)
        measured = [k for k, text in enumerate(above) if re.fullmatch(r"# Measured: \S.*", text)]
        if not measured or measured[0] == 0:  # what it decides comes first
            unexplained.append(name)
    assert not unexplained, f"tunables without 'what it decides' and a '# Measured:' line: {unexplained}"


# Modules whose public names make up fastnet's typed API (fastnet/py.typed; mypy checks the bodies).
TYPED_MODULES = ("fastnet", "fastnet.engine", "fastnet.schedules", "fastnet.data", "fastnet.costs", "fastnet.presets",
                 "fastnet.standardize", "fastnet.onnx_export", "fastnet.sklearn", "fastnet.checkpoints",
                 "fastnet.files.model_io", "fastnet.files.npz_entries", "fastnet.files.outputs",
                 "fastnet.files.png", "fastnet.files.pictures", "fastnet.files.run_layout",
                 "fastnet.sweeps.cluster", "fastnet.sweeps.grid", "fastnet.sweeps.keys", "fastnet.sweeps.report",
                 "fastnet.sweeps.run", "fastnet.sweeps.storage", "fastnet.sweeps.tasks")


def public_names(module):
    """``module.__all__``, else the public functions and classes it defines itself."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name, value in vars(module).items() if not name.startswith("_")
            and (inspect.isfunction(value) or inspect.isclass(value)) and value.__module__ == module.__name__]


def untyped_parts(function):
    """The parameters (and ``return``) of ``function``'s signature that carry no annotation."""
    signature = inspect.signature(function)
    missing = [name for name, parameter in signature.parameters.items()
               if name not in ("self", "cls") and parameter.annotation is inspect.Parameter.empty]
    return missing + (["return"] if signature.return_annotation is inspect.Signature.empty else [])


def public_callables(cls):
    """``cls``'s public methods and properties (``__init__`` and ``__call__`` too), fastnet's own only."""
    seen = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("fastnet"):
            continue
        for name, value in vars(klass).items():
            if name in seen or (name.startswith("_") and name not in ("__init__", "__call__")):
                continue
            seen.add(name)
            if isinstance(value, property):
                value = value.fget
            elif isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if inspect.isfunction(value):
                yield f"{klass.__name__}.{name}", value


def test_the_public_api_is_annotated():
    import importlib

    untyped = []
    for module_name in TYPED_MODULES:
        module = importlib.import_module(module_name)
        for name in public_names(module):
            value = getattr(module, name)
            if inspect.isfunction(value):
                parts = {name: untyped_parts(value)}
            elif inspect.isclass(value):
                parts = {method: untyped_parts(function) for method, function in public_callables(value)}
            else:
                continue
            untyped += [f"{module_name}.{where}({', '.join(missing)})" for where, missing in parts.items() if missing]
    assert not untyped, f"public functions and methods without annotations (parameter names listed): {untyped}"


def runtime_nodes(tree):
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:``: imports for annotations
    only, which never run (``from __future__ import annotations``), close no circle."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING":
            todo.extend(node.orelse)
        else:
            todo.extend(ast.iter_child_nodes(node))


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
        for node in runtime_nodes(ast.parse(path.read_text(), filename=str(path))):
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


def test_no_import_cycles_in_fastnet():
    cycles = [" -> ".join(cycle) for cycle in import_cycles(import_graph(FASTNET))]
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
    (package / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n")
    (package / "sub" / "b.py").write_text((package / "sub" / "b.py").read_text() + "from .. import d\n")
    graph = import_graph(package)
    assert graph["pkg.a"] == {"pkg.sub.b"} and graph["pkg.sub.b"] == {"pkg.a", "pkg.d"}
    assert graph["pkg.d"] == set()  # an import for annotations only
    assert import_cycles(graph) == [["pkg.a", "pkg.sub.b", "pkg.a", "(the circle holds pkg.a, pkg.sub.b)"]]


def test_every_package_of_fastnet_is_installed():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    listed = tomllib.loads((FASTNET.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    found = {".".join(path.parent.relative_to(FASTNET.parent).parts) for path in FASTNET.rglob("__init__.py")
             if "kernels" not in path.parts}
    assert found <= set(listed), f"pyproject.toml's [tool.setuptools] packages lacks {sorted(found - set(listed))}"


# Private attributes of other objects that fastnet/ may read, each with why.
PRIVATE_ACCESS_ALLOWED = {
    ("engine/epoch.py", "_fields"): "a namedtuple's field names: public API despite the underscore",
}


def private_access(source):
    """(line, "x._name") for every attribute ``_name`` (not a dunder) read or written on
    an object other than ``self`` or ``cls``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") \
                and not node.attr.startswith("__") \
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            found.append((node.lineno, f"{ast.unparse(node.value)}.{node.attr}"))
    return found


def test_no_module_reaches_into_another_objects_private_members():
    reached = []
    for path in sorted(FASTNET.rglob("*.py")):
        module = path.relative_to(FASTNET).as_posix()
        if module.startswith("kernels/"):
            continue
        reached += [f"{module}:{line} {access}" for line, access in private_access(path.read_text())
                    if (module, access.rsplit(".", 1)[1]) not in PRIVATE_ACCESS_ALLOWED]
    assert not reached, "private members used from outside their class (add a public name, or " \
                        "allow-list it in PRIVATE_ACCESS_ALLOWED with a reason): " + "; ".join(reached)


def test_private_access_is_found():
    source = "def f(net, self):\n    self._a = net._theta.copy()\n    return cls._b, net.__class__, x.y._z\n"
    assert sorted(private_access(source)) == [(2, "net._theta"), (3, "x.y._z")]
