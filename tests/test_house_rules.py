"""House rules that hold without anyone remembering them."""
import ast
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
