"""The README and docs/*.md stay true: every command they show runs, on small data.

Commands are the lines of ```sh / ```bash blocks and the ``$ ``-prompted lines
of other blocks; ``fastnet ...`` runs in-process through ``fastnet.cli.main``,
``python -c CODE`` runs CODE, and ```python blocks run in page order in one
namespace per page.  Each page runs in a fresh folder of its own with
``$FASTNET_DATA`` naming a small synthetic MNIST (600 / 200 / 200 images),
and with the changes declared below: ``SHRINK`` and ``PYTHON_SHRINK`` (fewer
epochs, a smaller budget or sample), ``PLACEHOLDERS`` (words that stand for
the reader's own values), ``STAND_INS`` and ``FROM_PAGE`` (files a page
assumes exist).  Commands that cannot run in a test are in ``NOT_RUN``, each
with the reason.  Sample outputs are checked for their version and lines.
"""
import contextlib
import fnmatch
import io
import os
import re
import shlex
import traceback
from pathlib import Path

import pytest

import fastnet
from fastnet.cli import build_parser, main
from conftest import write_synthetic_mnist
from test_house_rules import imported_modules

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["README.md", *(f"docs/{path.name}" for path in sorted((ROOT / "docs").glob("*.md")))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)

NOT_RUN = {  # a pattern of the command line (fnmatch) -> why the test does not run it
    "pip install *": "installs packages: the tests run in the environment it made",
    "python -m pytest": "the test suite itself",
    "python -m pytest bench *": "the benchmark harness: CI runs its smoke tests (bench/test_smoke.py)",
    "python -m bench.*": "a benchmark: minutes on the full MNIST, meant for a quiet machine",
    "python bench/*": "a benchmark: minutes on the full MNIST, meant for a quiet machine",
    "export FASTNET_DATA=*": "the test sets $FASTNET_DATA itself",
    "dask scheduler *": "a server that runs until stopped (tests/test_sweep.py starts a real one)",
    "dask worker *": "a server that runs until stopped (tests/test_sweep.py starts real ones)",
    "fastnet tune --data PATH --budget MINUTES *": "a synopsis, not a command",
}
SHRINK = {  # appended to the commands that train (the last value of a flag counts)
    "train": ["--epochs", "1"],
    "train --resume": ["--epochs", "2"],  # one more than the shrunk run it resumes
    "sweep": ["--epochs", "1"],
    "tune": ["--budget", "0.05", "--epochs", "1"],  # 3 s instead of minutes
}
PLACEHOLDERS = {  # a word of a command -> what the test puts in its place ({data}, {scheduler} filled in)
    "PATH": "{data}",
    "tcp://HOST:8786": "{scheduler}",
    "/shared/sweep": "shared/sweep",
}
PYTHON_SHRINK = {  # a page -> {text of its Python code: what the test runs instead}
    "docs/second-order.md": {"Xm[:1000], ym[:1000]": "Xm[:100], ym[:100]", "epochs=10": "epochs=1"},
    "docs/sweeps.md": {"epochs=30": "epochs=1"},
    "docs/api.md": {"time_budget=3600": "time_budget=2"},
}
STAND_INS = {  # a path the page names -> the file the page's own commands made in its place
    "runs/ch1-20261205-162524": "runs/ch1-*",  # `fastnet train --preset ch1` names its folder by the date
}
FROM_PAGE = {  # a page -> (the page whose example makes its inputs, those inputs)
    "docs/onnx.md": ("docs/your-data.md", ("wine-run", "new-wines.csv")),
}
OPTIONAL = {"sklearn", "onnx", "onnxruntime", "distributed", "matplotlib", "pandas"}  # the extras' modules


# ------------------------------------------------------------------ reading the pages
def code_blocks(page):
    """(language, line number, text) of every fenced block of ``page``."""
    text = (ROOT / page).read_text()
    for match in FENCE.finditer(text):
        yield match[1], text.count("\n", 0, match.start()) + 2, match[2]


def shell_commands(language, text):
    """The commands of a block, each an argv list: every line of a sh/bash block, the
    ``$ `` lines of another; ``\\`` continuations and open quotes joined, ``&&`` split,
    comments and leading ``NAME=value`` assignments dropped."""
    if language in ("sh", "bash"):
        lines = text.splitlines()
    else:
        lines = [line[2:] for line in text.splitlines() if line.startswith("$ ")]
    pending = ""
    for line in lines:
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        pending += line + "\n"
        try:
            words = shlex.split(pending, comments=True)
        except ValueError:  # inside a quoted string: the command goes on
            continue
        pending = ""
        while words:
            cut = words.index("&&") if "&&" in words else len(words)
            command, words = words[:cut], words[cut + 1:]
            while command and re.fullmatch(r"\w+=.*", command[0]):
                command = command[1:]
            if command:
                yield command


def steps(page):
    """What a page shows, in order: ("shell", line, argv) and ("python", line, code)."""
    for language, line, text in code_blocks(page):
        if language == "python":
            yield "python", line, text
        else:
            for argv in shell_commands(language, text):
                yield "shell", line, argv


def not_run(argv):
    """The reason the test does not run ``argv``, or None."""
    line = " ".join(argv)
    return next((reason for pattern, reason in NOT_RUN.items() if fnmatch.fnmatchcase(line, pattern)), None)


def shrunk(argv, values):
    """``argv`` (a ``fastnet`` command) with placeholders filled in and SHRINK applied."""
    argv = [PLACEHOLDERS.get(word, word).format(**values) for word in argv]
    if argv[1] == "sweep" and "--report" in argv:
        return argv
    key = "train --resume" if argv[1] == "train" and "--resume" in argv else argv[1]
    return argv + SHRINK.get(key, [])


# ------------------------------------------------------------------ running them
@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """$FASTNET_DATA for the whole module: a synthetic MNIST .npz of 600/200/200 images."""
    path = write_synthetic_mnist(tmp_path_factory.mktemp("docs-data") / "digits.npz", 600, 200, 200)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FASTNET_DATA", str(path))
        patch.delenv("FASTNET_DEBUG", raising=False)
        patch.delenv("FASTNET_SCHEDULER", raising=False)
        yield path


@pytest.fixture(scope="module")
def scheduler(data):
    """The address of a 2-worker dask cluster (started with $FASTNET_DATA set) for the sweeps."""
    pytest.importorskip("distributed")
    from fastnet.sweeps.cluster import connect
    with connect(workers=2) as client, pytest.MonkeyPatch.context() as patch:
        patch.setenv("FASTNET_SCHEDULER", client.scheduler.address)
        yield client.scheduler.address


def uses_dask(page):
    return any(step[:2] in (["fastnet", "sweep"], ["fastnet", "tune"]) if kind == "shell"
               else "fastnet.sweep(" in step for kind, _, step in steps(page))


def run_page(page, folder, values):
    """Run every step of ``page`` in ``folder``; returns the text it printed.
    Fails naming the step whose command did not succeed."""
    namespace, printed = {"__name__": "__docs__"}, io.StringIO()
    before = os.getcwd()
    os.chdir(folder)
    try:
        for kind, line, step in steps(page):
            where = f"{page}, the block at line {line}"
            if kind == "shell" and not_run(step):
                continue
            for name, pattern in STAND_INS.items() if kind == "shell" else ():
                made = sorted(Path().glob(pattern))
                if made and not Path(name).exists() and any(name in word for word in step):
                    Path(name).symlink_to(made[-1].resolve())
            output = io.StringIO()
            try:
                with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                    if kind == "python":
                        for text, instead in PYTHON_SHRINK.get(page, {}).items():
                            step = step.replace(text, instead)
                        exec(compile(step, where, "exec"), namespace)
                        status = 0
                    elif step[:2] == ["python", "-c"]:
                        exec(compile(step[2], where, "exec"), {"__name__": "__main__"})
                        status = 0
                    elif step[0] == "fastnet":
                        step = shrunk(step, values)
                        status = main(step[1:])
                    else:
                        pytest.fail(f"{where}: `{shlex.join(step)}`: the test cannot run this; "
                                    "add it to NOT_RUN with the reason")
            except SystemExit as exit:
                status = exit.code
            except ModuleNotFoundError as error:
                if error.name.split(".")[0] in OPTIONAL:
                    pytest.skip(f"{where} needs {error.name} (an extra)")
                raise
            except Exception:
                pytest.fail(f"{where}: {'the Python code' if kind == 'python' else shlex.join(step)} "
                            f"raised\n{output.getvalue()}\n{traceback.format_exc()}")
            printed.write(output.getvalue())
            assert status == 0, f"{where}: `{shlex.join(step)}` ended with status {status}:\n{output.getvalue()}"
    finally:
        os.chdir(before)
    return printed.getvalue()


@pytest.fixture(scope="module")
def page_folders(data, tmp_path_factory):
    """Run a page once for the module: {page: the folder it ran in}."""
    folders = {}

    def run(page, values):
        if page not in folders:
            folder = tmp_path_factory.mktemp(page.replace("/", "-"))
            run_page(page, folder, values)
            folders[page] = folder
        return folders[page]
    return run


@pytest.mark.parametrize("page", [page for page in PAGES if any(steps(page))])
def test_every_command_of_the_page_runs(page, data, page_folders, tmp_path, request):
    values = {"data": data, "scheduler": request.getfixturevalue("scheduler") if uses_dask(page) else None}
    if page in FROM_PAGE:
        source, names = FROM_PAGE[page]
        for name in names:
            os.symlink(page_folders(source, values) / name, tmp_path / name)
    run_page(page, tmp_path, values)


# ------------------------------------------------------------------ the lists above stay honest
def test_every_not_run_pattern_and_stand_in_is_used():
    commands = [argv for page in PAGES for kind, _, argv in steps(page) if kind == "shell"]
    unused = [pattern for pattern in NOT_RUN
              if not any(fnmatch.fnmatchcase(" ".join(argv), pattern) for argv in commands)]
    unused += [name for name in STAND_INS if not any(name in word for argv in commands for word in argv)]
    unused += [f"{page}: {text}" for page, changes in PYTHON_SHRINK.items() for text in changes
               if not any(kind == "python" and text in code for kind, _, code in steps(page))]
    assert not unused, f"no page shows these any more; drop them from the lists: {unused}"


def test_commands_are_in_sh_blocks_or_after_a_prompt():
    """A ``fastnet COMMAND`` line in a plain block would escape the test: mark the block ```sh."""
    subcommands = build_parser()._subparsers._group_actions[0].choices
    unmarked = [f"{page}:{line}: {text_line}" for page in PAGES for language, line, text in code_blocks(page)
                if language not in ("sh", "bash", "python")
                for text_line in text.splitlines()
                if re.match(rf"(fastnet|python -m fastnet) ({'|'.join(subcommands)})\b", text_line)]
    assert not unmarked, unmarked


# ------------------------------------------------------------------ sample outputs
def test_sample_outputs_show_this_version():
    stale = [f"{page}:{line}: {text_line}" for page in PAGES for language, line, text in code_blocks(page)
             for text_line in text.splitlines()
             if (match := re.match(r"fastnet (\d+\.\d+\S*): ", text_line)) and match[1] != fastnet.__version__]
    assert not stale, f"sample output of another version than {fastnet.__version__}: {stale}"


def test_every_file_the_docs_and_docstrings_name_exists():
    sources = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "kernels").glob("*.py"),
               *(path for path in (ROOT / "fastnet").rglob("*.py") if "kernels" not in path.parts)]
    named = re.compile(r"(?<![\w/.~-])((?:docs|fastnet|kernels|tests|bench)/[\w/.-]*\w\.(?:py|md|png))")
    missing = [f"{path.relative_to(ROOT)}: {name}" for path in sources for name in named.findall(path.read_text())
               if not (ROOT / name).exists() and not (path.parent / name).exists()]
    assert not missing, missing


def line_kinds(text):
    """The first word of each line, one ``epoch`` for a run of epoch lines, ``...`` dropped."""
    kinds = [line.split()[0] for line in text.splitlines() if line.strip() and line.strip() != "..."]
    return [kind for i, kind in enumerate(kinds) if not (kind == "epoch" and kinds[i - 1:i] == ["epoch"])]


@pytest.mark.parametrize("page, command", [  # the page's first sample output, and its command (shrunk)
    ("docs/cli.md", "train --preset ch1 --seed 2 --epochs 2"),
    ("docs/your-data.md", "train --data wine.csv --label-column cultivar --standardize --preset best-fc "
                          "--hidden 32 --epochs 2 --seed 7 --quiet"),
])
def test_a_sample_run_shows_the_lines_the_command_prints(page, command, data, page_folders, tmp_path,
                                                         monkeypatch, capsys):
    sample = next(text for language, _, text in code_blocks(page) if text.startswith("fastnet "))
    monkeypatch.chdir(page_folders(page, {"data": data, "scheduler": None}))
    assert main([*command.split(), "--out", str(tmp_path / "run")]) == 0
    assert line_kinds(sample) == line_kinds(capsys.readouterr().out)


# ------------------------------------------------------------------ the README's test command
def requirements(extra, extras):
    """The distributions ``pip install "fastnet[extra]"`` adds, through fastnet[...] references."""
    found = set()
    for requirement in extras[extra]:
        if requirement.startswith("fastnet["):
            for inner in requirement.removeprefix("fastnet[").removesuffix("]").split(","):
                found |= requirements(inner, extras)
        else:
            found.add(re.match(r"[\w.-]+", requirement)[0].lower())
    return found


def test_the_readme_test_command_installs_every_extra_but_no_pytorch():
    """`pip install -e ".[test,all]"` (README and CI) gets every library the tests use, so that
    nothing skips, but not PyTorch (gigabytes): only the benchmarks' extra and CI's bench step have it."""
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    command, ci = 'pip install -e ".[test,all]"', (ROOT / ".ci" / "run").read_text()
    assert command in (ROOT / "README.md").read_text() and command in ci
    installed = requirements("test", extras) | requirements("all", extras)
    assert "torch" not in installed and "torch" in requirements("bench", extras)
    assert set().union(*(requirements(extra, extras) for extra in extras if extra != "bench")) <= installed
    assert ci.index('pip install -e ".[bench]"') < ci.index("python -m pytest bench")
    users = [path.name for path in sorted((ROOT / "tests").glob("*.py"))
             if any(name.split(".")[0] == "torch" for name in imported_modules(path))]
    assert not users, f"tests must not need PyTorch (give them a NumPy reference): {users}"
