"""``fastnet.precompile`` and ``fastnet compile``: the first fit after them compiles nothing.

Whether a process compiled is read from Numba's dispatcher statistics: every
kernel of ``fastnet.kernels`` that a process compiled counts a cache miss.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import numpy as np

import fastnet
from fastnet.checks import cores
from fastnet.cli import main
from fastnet.engine.entry_points import ENTRY_POINTS

REPO = Path(__file__).resolve().parents[1]

FIRST_FIT = """
import importlib, json, pkgutil
import numpy as np
from numba.core.registry import CPUDispatcher
import fastnet, fastnet.kernels
import test_precompile
test_precompile.FIT()
kernels = {id(value): (name, value) for module in pkgutil.iter_modules(fastnet.kernels.__path__)
           for name, value in vars(importlib.import_module("fastnet.kernels." + module.name)).items()
           if isinstance(value, CPUDispatcher)}  # once each, wherever imported
misses = [name for name, value in kernels.values() if value.stats.cache_misses]
hits = sum(sum(value.stats.cache_hits.values()) for name, value in kernels.values())
print(json.dumps({"misses": misses, "hits": hits}))
"""


def python(argv, cache=None, timeout=600):
    """Run ``python argv`` with the suite's environment (this checkout and the
    tests on the path); ``cache``: its NUMBA_CACHE_DIR (None: the suite's own)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
    if cache is not None:
        env["NUMBA_CACHE_DIR"] = str(cache)
    run = subprocess.run([sys.executable, *argv], env=env, capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, run.stderr
    return run.stdout


def fit_sparse_images(sizes=(784, 30, 10), **settings):
    """Fit ``sizes`` for an epoch on 200 MNIST-like images (uint8 pixels, 19 %
    non-zero, so that the inputs take the sparse layout as MNIST's do) with
    fit's ``settings``."""
    rng = np.random.default_rng(0)
    images = (rng.integers(1, 256, (200, 784)) * (rng.random((200, 784)) < 0.19)).astype(np.uint8)
    assert fastnet.Dataset(images).layout == "sparse"
    fastnet.Network(list(sizes), seed=1).fit(images, rng.integers(0, 10, 200), epochs=1, **settings)


FITS = {"plain SGD": "fit_sparse_images()",
        "momentum, a first layer on COLUMNS": "fit_sparse_images((784, 400, 10), momentum=0.9)"}


def first_fit(cache=None, fit=FITS["plain SGD"]):
    """The kernels a first ``fit`` (a call, see FITS) compiled, and how many
    it loaded from the cache, in a fresh process."""
    code = FIRST_FIT.replace("test_precompile.FIT()", "test_precompile." + fit)
    return json.loads(python(["-c", code], cache).splitlines()[-1])


def test_a_first_fit_after_fastnet_compile_compiles_nothing(tmp_path):
    """`fastnet compile` for one dtype and layout, in a fresh, empty cache, then a
    first fit in another process: every kernel comes from the cache."""
    out = python(["-m", "fastnet", "compile", "--dtype", "float32", "--layout", "sparse"], tmp_path)
    lines = out.splitlines()
    names = ["inputs", *(entry.name for entry in ENTRY_POINTS if not entry.threads or cores() >= 2)]
    assert [line.split("sparse")[1].rsplit(None, 2)[0].strip() for line in lines[:-1]] == names
    assert all(line.startswith("compiled float32 sparse") and line.endswith(" s") for line in lines[:-1])
    assert lines[-1].startswith(f"done     {len(names)} entry points in ")
    for fit in FITS.values():
        loaded = first_fit(tmp_path, fit)
        assert loaded["misses"] == [] and loaded["hits"] > 0, fit


def test_a_first_plain_fit_compiles_no_update_rule_and_no_columns_step(tmp_path):
    """The compiled epoch is an entry point per part it holds: a first fit
    with plain SGD on a narrow first layer, in a fresh cache, compiles neither
    the update rules nor the COLUMNS step; one with momentum on a wide first
    layer compiles both."""
    code = FIRST_FIT.replace("test_precompile.FIT()", "test_precompile.fit_sparse_images()") + \
        "from fastnet.kernels import columns, train, update\n" \
        "print(json.dumps([str(train.train_epoch.signatures[0][-2:]), " \
        "len(columns.column_accumulate.signatures)]))"
    assert json.loads(python(["-c", code], tmp_path).splitlines()[-1]) == ["(none, none)", 0]
    code = code.replace("fit_sparse_images()", FITS["momentum, a first layer on COLUMNS"])
    assert json.loads(python(["-c", code], tmp_path).splitlines()[-1]) == ["(bool, bool)", 1]


def test_the_suites_subprocesses_share_its_cache():
    """A subprocess with the suite's environment loads what the suite's own
    process compiled (Numba's cache next to the kernels, or the NUMBA_CACHE_DIR
    the suite runs with), instead of compiling again."""
    fit_sparse_images()
    fit = first_fit()
    assert fit["misses"] == [] and fit["hits"] > 0


@pytest.mark.parametrize("arguments, message", [
    (dict(dtype="float16"), "dtype: unknown value 'float16'; pass one of 'float32', 'float64'"),
    (dict(layout=()), "layout: no layout given; pass one or more of 'sparse', 'dense'"),
    (dict(layout=["sparse", "csr"]), "layout: unknown value 'csr'"),
])
def test_precompile_refuses_unknown_dtypes_and_layouts(arguments, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        fastnet.precompile(**arguments)


def test_compile_command_refuses_an_unknown_dtype(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["compile", "--dtype", "float16"])
    assert exit_.value.code == 2
    assert "argument --dtype: invalid choice: 'float16'" in capsys.readouterr().err
