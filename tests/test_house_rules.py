"""House rules that hold without anyone remembering them."""
import ast
import inspect
import re
from pathlib import Path

KERNELS = Path(__file__).resolve().parents[1] / "kernels"


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
    assert len(found) >= 20
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
TYPED_MODULES = ("fastnet", "fastnet.schedules", "fastnet.data", "fastnet.costs", "fastnet.presets",
                 "fastnet.standardize", "fastnet.onnx_export", "fastnet.sklearn")
# Exported from modules being moved into packages; annotate them there, then drop them from here.
NOT_YET_TYPED = {"fastnet.sweep", "fastnet.tune", "fastnet.load_checkpoint", "fastnet.save_checkpoint",
                 "fastnet.ModelFileError"}


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

    untyped, typed_but_listed = [], []
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
            gaps = [f"{where}({', '.join(missing)})" for where, missing in parts.items() if missing]
            if f"{module_name}.{name}" in NOT_YET_TYPED:
                typed_but_listed += [] if gaps else [f"{module_name}.{name}"]
            else:
                untyped += [f"{module_name}.{gap}" for gap in gaps]
    assert not untyped, f"public functions and methods without annotations (parameter names listed): {untyped}"
    assert not typed_but_listed, f"typed now: remove from NOT_YET_TYPED: {typed_but_listed}"
