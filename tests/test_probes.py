"""Probes: random malformed tables and argument values, as a careless or unlucky user gives them.

Hypothesis feeds ``fastnet train / predict / export`` (in-process, through
``fastnet.cli.main``) CSV and .npz tables with a defect or two, and random flag
values; and the scikit-learn estimators random parameters and data.  Each must
end cleanly: exit status 0, or 1 with one ``fastnet: error: ...`` line, or 2
(a usage error: argparse's usage, then one ``error:`` line); in Python a
ValueError or TypeError with a message (a ``DivergenceError`` for a fit that
blew up), never another exception.  A success must give a correct result, and
a command touches no file but its declared output: every file of the folder
is compared, bytes included, before and after (the inputs, a run folder's
files and any other file already there must stay as they were).
"""
import contextlib
import csv
import io
import os
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastnet
from fastnet.cli import main

def probe(examples):
    """Hypothesis settings: ``examples`` examples, the same ones every run (derandomized)."""
    return settings(max_examples=examples, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CLASSES = ("a", "b", "c")
FEATURES = 3


# ------------------------------------------------------------------ running a command
def files(folder):
    """{relative path: bytes} of every file under ``folder``."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(Path(folder).rglob("*"))
            if path.is_file()}


def run(argv, folder):
    """``fastnet *argv`` in ``folder``: (status, stdout, stderr, files before, files after)."""
    before, out, err, cwd = files(folder), io.StringIO(), io.StringIO(), os.getcwd()
    os.chdir(folder)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(argv)
    except SystemExit as exit:  # argparse's usage errors
        status = exit.code
    finally:
        os.chdir(cwd)
    return status, out.getvalue(), err.getvalue(), before, files(folder)


def assert_clean(status, err):
    """Status 0, or 1 with one `fastnet: error:` line, or 2 with argparse's usage error."""
    lines = err.strip().splitlines()
    assert status in (0, 1, 2), f"exit status {status}: {err}"
    assert "Traceback" not in err, err
    if status == 1:
        assert len(lines) == 1 and re.match(r"fastnet: error: \S", lines[0]), err
    if status == 2:
        assert lines and re.match(r"fastnet( [\w-]+)?: error: \S", lines[-1]), err


def assert_only_output_touched(before, after, output):
    """Every file that was there is unchanged, and new files are ``output`` or under it."""
    changed = sorted(name for name in before if after.get(name) != before[name])
    assert not changed, f"changed or removed: {changed}"
    new = [name for name in after if name not in before]
    stray = [name for name in new if output is None or not (name == output or name.startswith(f"{output}/"))]
    assert not stray, f"written besides the declared output {output!r}: {stray}"


# ------------------------------------------------------------------ tables
BAD_CELLS = st.sampled_from(["", " ", "nan", "inf", "-inf", "1e400", "n/a", "0x1f", "1,5", "é", "\x00", "--1"])
BAD_LABELS = st.sampled_from(["", " ", "nan", "A", "a ", "1", "1.0"])
DEFECTS = ["cell", "label", "short row", "long row", "semicolons", "no header", "numeric header", "duplicate header",
           "blank lines", "one class", "0 and 0.0", "truncated", "binary", "empty", "bom"]


@st.composite
def csv_tables(draw):
    """(bytes, defects, labels): a clean table (a header, then FEATURES numbers and a text label
    per line, 12 lines per class) with 0-2 defects; ``labels``: the last cells of its data lines."""
    labels = [label for label in CLASSES[:draw(st.integers(2, 3))] for _ in range(12)]
    numbers = np.random.default_rng(draw(st.integers(0, 2**16))).integers(-99, 100, (len(labels), FEATURES)) / 10
    header = [f"f{i}" for i in range(FEATURES)] + ["label"]
    rows = [[f"{v:g}" for v in row] + [label] for row, label in zip(numbers, labels)]
    defects = draw(st.lists(st.sampled_from(DEFECTS), max_size=2))
    for defect in defects:
        row = rows[draw(st.integers(0, len(rows) - 1))]
        if defect == "cell":
            row[draw(st.integers(0, FEATURES - 1))] = draw(BAD_CELLS)
        elif defect == "label":
            row[-1] = draw(BAD_LABELS)
        elif defect == "short row":
            del row[-1]
        elif defect == "long row":
            row.append("1")
        elif defect == "numeric header":
            header = [str(i + 1) for i in range(len(header))]
        elif defect == "duplicate header":
            header = ["f0"] * FEATURES + ["label"]
        elif defect in ("one class", "0 and 0.0"):
            for i, r in enumerate(rows):  # 0 and 0.0: six lines each of 0, 0.0, 1, 1.0, 0, ...
                r[-1] = "a" if defect == "one class" else ("0", "0.0", "1", "1.0")[i // 6 % 4]
    separator = ";" if "semicolons" in defects else ","
    lines = [separator.join(row) for row in ([] if "no header" in defects else [header]) + rows]
    if "blank lines" in defects:
        lines[2:2] = ["", " ", "\t"]
    data = ("\n".join(lines) + "\n").encode()
    if "truncated" in defects:
        data = data[:draw(st.integers(0, len(data)))]
    if "binary" in defects:
        data = data[:20] + b"\xff\xfe\x00\x81" + data[20:]
    if "bom" in defects:
        data = b"\xef\xbb\xbf" + data
    if "empty" in defects:
        data = b""
    text_lines = data.decode(errors="replace").splitlines()[0 if "no header" in defects else 1:]
    return data, defects, {line.split(separator)[-1].strip() for line in text_lines}


ARRAY_KINDS = st.sampled_from(["float", "int", "uint8", "bool", "nan", "inf", "complex", "text", "1-d", "3-d",
                               "empty", "object"])


def array(kind, n, rng):
    """An array of ``kind`` with n rows (features for most kinds)."""
    shapes = {"1-d": (n,), "3-d": (n, 2, 2), "empty": (0, FEATURES)}
    values = rng.normal(size=shapes.get(kind, (n, FEATURES)))
    if kind in ("nan", "inf") and n:
        values[0, 0] = np.nan if kind == "nan" else np.inf
    converted = {"int": lambda v: (v * 3).astype(np.int64), "uint8": lambda v: (np.abs(v) * 80).astype(np.uint8),
                 "bool": lambda v: v > 0, "complex": lambda v: v.astype(complex), "text": lambda v: v.astype(str),
                 "object": lambda v: v.astype(object)}
    return converted.get(kind, lambda v: v)(values)


@st.composite
def npz_tables(draw):
    """(arrays for np.savez, description): X and y (or the split keys) of random kinds and lengths."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.sampled_from([24, 24, 0, 1, 5]))
    labels = draw(st.sampled_from(["ints", "text", "ints", "floats", "nan", "mixed", "2-d", "short", "one class"]))
    y = {"ints": rng.integers(0, 3, n), "text": np.array(["a", "b", "c"] * n)[:n],
         "floats": rng.integers(0, 3, n) + 0.5, "nan": np.where(np.arange(n) % 2, np.nan, 1.0),
         "mixed": np.array([1, "a"] * n, dtype=object)[:n], "2-d": rng.integers(0, 3, (n, 2)),
         "short": rng.integers(0, 3, max(n - 1, 0)), "one class": np.zeros(n, np.int64)}[labels]
    X = array(draw(st.one_of(st.just("float"), ARRAY_KINDS)), n, rng)
    keys = draw(st.sampled_from(["X y", "split", "X only", "X y extra"]))
    if keys == "split":
        arrays = {"x_train": X, "y_train": y, "x_test": X[:4], "y_test": y[:4]}
    else:
        arrays = {"X": X, **({} if keys == "X only" else {"y": y}), **({"extra": X} if "extra" in keys else {})}
    return arrays, f"{keys}, X {X.dtype} {X.shape}, y {labels}"


# ------------------------------------------------------------------ fastnet train
TRAIN = ["train", "--hidden", "4", "--epochs", "1", "--quiet", "--out", "run"]


def as_number(label):
    """A label cell as the number it writes (``1.0`` and ``1`` are one class), else as it is."""
    try:
        return float(label)
    except ValueError:
        return label


def assert_trained(folder, n_features, labels=None):
    """A successful run left a model of ``n_features`` inputs and at least two real classes,
    each one of ``labels`` (the data's label cells, when known)."""
    net = fastnet.Network.load(Path(folder) / "run" / "model.npz")
    assert net.sizes[0] == n_features, net.sizes
    classes = [str(c).strip() for c in net.classes]
    assert len(classes) >= 2 and "" not in classes, classes
    assert labels is None or {as_number(c) for c in classes} <= {as_number(c) for c in labels}, \
        f"classes {classes} from the data's labels {labels}"
    numbers = [float(c) for c in classes if re.fullmatch(r"-?\d+(\.\d*)?", c)]
    assert len(set(classes)) == len(classes) and len(set(numbers)) == len(numbers), f"one label, two classes: {classes}"


@probe(80)
@given(table=csv_tables())
def test_train_on_a_malformed_csv_ends_cleanly(table, tmp_path):
    data, defects, labels = table
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        (Path(folder) / "t.csv").write_bytes(data)
        status, _, err, before, after = run(TRAIN + ["--data", "t.csv"], folder)
        assert_clean(status, err)
        assert_only_output_touched(before, after, "run")
        if not defects:
            assert status == 0, err
        if status == 0:
            assert_trained(folder, FEATURES, labels)


@probe(60)
@given(table=npz_tables())
def test_train_on_a_malformed_npz_ends_cleanly(table, tmp_path):
    arrays, _ = table
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        np.savez(Path(folder) / "t.npz", **arrays)  # object arrays pickled: to be refused
        status, _, err, before, after = run(TRAIN + ["--data", "t.npz"], folder)
        assert_clean(status, err)
        assert_only_output_touched(before, after, "run")
        if status == 0:
            X = arrays.get("X", arrays.get("x_train"))
            assert_trained(folder, int(np.prod(X.shape[1:])))


FLAG_VALUES = {
    "--hidden": ["4", "0", "4,0", "4,", "x", "-2", "100000"],
    "--split": ["0.6,0.2,0.2", "1,0,0", "0,0.5,0.5", "nan,0.1,0.1", "0.5,0.5", "2,-1,0", "x"],
    "--label-column": ["label", "0", "-1", "3", "4", "-5", "f0", "nope", ""],
    "--epochs": ["1", "2", "0", "-1", "1.5", "x"],
    "--batch-size": ["1", "1000", "0", "-3", "x"],
    "--eta": ["0.1", "0", "-1", "nan", "inf", "1e308", "x"],
    "--l2": ["0", "5", "-1", "nan", "1e308"],
    "--l1": ["0", "0.5", "-1", "inf"],
    "--dropout": ["0", "0.5", "1", "-0.1", "nan"],
    "--momentum": ["0", "0.9", "1", "-0.5", "nan"],
    "--schedule": ["cosine", "step:every=1,factor=0.5", "step:every=0", "step:every=x", "bogus", "plateau:patience=-1"],
    "--early-stopping": ["0", "1", "-1", "x"],
    "--limit": ["1", "5", "0", "-3", "1000"],
    "--seed": ["0", "-1", "x", "99999999999999999999999"],
    "--threads": ["1", "2", "auto", "0", "-1", "x"],
    "--activation": ["relu", "tanh,relu", "softmax", ""],
    "--output": ["sigmoid", "linear", "softmax"],
    "--cost": ["quadratic", "cross_entropy", "log_likelihood"],
    "--dtype": ["float64", "float16"],
    "--optimizer": ["lbfgs", "hf", "sgd", "adam"],
}


def some_of(values, min_size=0, max_size=2):
    """A dict of up to ``max_size`` entries of ``values`` ({name: choices}), each a random choice."""
    return st.lists(st.sampled_from(sorted(values)), min_size=min_size, max_size=max_size, unique=True).flatmap(
        lambda names: st.fixed_dictionaries({name: st.sampled_from(values[name]) for name in names}))


FLAGS = some_of(FLAG_VALUES, min_size=1, max_size=3)


@pytest.fixture(scope="module")
def table_csv():
    """A clean three-class table (3 features, text labels, 8 rows per class) as CSV text."""
    rng = np.random.default_rng(0)
    rows = [[f"{v:.4g}" for v in rng.normal(size=FEATURES) + 2 * k] + [label]
            for k, label in enumerate(CLASSES) for _ in range(8)]
    return "\n".join(",".join(row) for row in [["f0", "f1", "f2", "label"], *rows]) + "\n"


@probe(60)
@given(flags=FLAGS, standardize=st.booleans())
def test_train_with_random_flag_values_ends_cleanly(flags, standardize, table_csv, tmp_path):
    argv = TRAIN + ["--data", "t.csv", *(["--standardize"] if standardize else [])]
    argv += [word for flag in flags.items() for word in flag]
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        (Path(folder) / "t.csv").write_text(table_csv)
        status, _, err, before, after = run(argv, folder)
        assert_clean(status, err)
        assert_only_output_touched(before, after, "run")
        if status == 0:
            net = fastnet.Network.load(Path(folder) / "run" / "model.npz")
            assert net.sizes[0] == FEATURES and (net.standardize is not None) == standardize


# ------------------------------------------------------------------ fastnet predict and export
@pytest.fixture(scope="module")
def trained(table_csv, tmp_path_factory):
    """A folder with t.csv and the run folder `run` that `fastnet train` made from it."""
    folder = tmp_path_factory.mktemp("probe-model")
    (folder / "t.csv").write_text(table_csv)
    status, _, err, _, _ = run(TRAIN + ["--data", "t.csv", "--standardize", "--seed", "1"], folder)
    assert status == 0, err
    return folder


def copy_of(folder, into):
    """Copy every file of ``folder`` into ``into``, and add a file of the user's own, notes.txt."""
    for name, data in files(folder).items():
        (into / name).parent.mkdir(parents=True, exist_ok=True)
        (into / name).write_bytes(data)
    (into / "notes.txt").write_text("a file of the user's own\n")


OUTS = st.sampled_from([None, "pred.csv", "rows.csv", "rows.npz", "run/model.npz", "run/recipe.json", "notes.txt",
                        "missing/pred.csv", "run"])


@probe(60)
@given(table=st.one_of(csv_tables(), npz_tables()), label_column=st.sampled_from([None, "label", "0", "-1", "9", "x"]),
       out=OUTS)
def test_predict_on_malformed_rows_ends_cleanly_and_writes_only_its_output(table, label_column, out, trained,
                                                                            tmp_path):
    with tempfile.TemporaryDirectory(dir=tmp_path) as name:
        folder = Path(name)
        copy_of(trained, folder)
        if isinstance(table[0], bytes):
            rows, clean = "rows.csv", not table[1] and label_column in (None, "label", "-1")
            (folder / rows).write_bytes(table[0])
            X = np.loadtxt(folder / rows, delimiter=",", skiprows=1, usecols=range(FEATURES)) if clean else None
        else:
            rows, X = "rows.npz", table[0].get("X")
            np.savez(folder / rows, **table[0])
            X = X if X is not None and X.dtype == np.float64 and X.ndim == 2 and X.size else None
        argv = ["predict", "run/model.npz", "--data", rows]
        argv += ["--label-column", label_column] if label_column is not None else []
        argv += ["--out", out] if out is not None else []
        status, stdout, err, before, after = run(argv, folder)
        assert_clean(status, err)
        assert_only_output_touched(before, after, out)  # every file there before stays as it was
        if status == 0:
            lines = list(csv.reader(io.StringIO((folder / out).read_text() if out else stdout)))
            net = fastnet.Network.load(folder / "run" / "model.npz")
            assert lines[0] == ["prediction", *(f"output_{c}" for c in net.classes)]
            assert all(line[0] in map(str, net.classes) for line in lines[1:])
            if X is not None:  # rows whose features are known: the model's own predictions
                expected = [str(net.classes[i]) for i in net.predict(net.standardize.apply(X))]
                assert [line[0] for line in lines[1:]] == expected


@probe(30)
@given(out=st.sampled_from(["m.onnx", "t.csv", "run/model.npz", "run/recipe.json", "notes.txt", "missing/m.onnx",
                            "run", "m.npz"]),
       opset=st.one_of(st.none(), st.integers(-2, 1000).map(str), st.sampled_from(["17", "13", "12", "x", "17.0"])))
def test_export_ends_cleanly_and_writes_a_loadable_model_or_nothing(out, opset, trained, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    with tempfile.TemporaryDirectory(dir=tmp_path) as name:
        folder = Path(name)
        copy_of(trained, folder)
        argv = ["export", "run/model.npz", out] + (["--opset", opset] if opset is not None else [])
        status, _, err, before, after = run(argv, folder)
        assert_clean(status, err)
        assert_only_output_touched(before, after, out)
        if status == 0:
            net = fastnet.Network.load(folder / "run" / "model.npz")
            rows = np.random.default_rng(0).normal(size=(5, FEATURES)).astype(np.float32)
            session = onnxruntime.InferenceSession(str(folder / out), providers=["CPUExecutionProvider"])
            outputs = session.run(["output"], {"input": rows})[0]
            np.testing.assert_allclose(outputs, net.predict_proba(net.standardize.apply(rows)), atol=1e-5)


# ------------------------------------------------------------------ the scikit-learn estimators
ESTIMATOR_VALUES = {
    "hidden_layer_sizes": [(4,), (), (0,), (-1,), (4, 4), 4, "4", (2.5,), None],
    "activation": ["relu", "tanh", "logistic", "identity", "x", None],
    "solver": ["sgd", "lbfgs", "adam", "x", None],
    "alpha": [0.0, 1e-4, -1.0, np.nan, np.inf, "x"],
    "batch_size": ["auto", 1, 1000, 0, -1, 2.5, "x"],
    "learning_rate_init": [0.01, 0.0, -0.1, np.nan, 1e308],
    "momentum": [0.0, 0.9, 1.0, -0.1, np.nan],
    "beta_1": [0.9, 0.0, 1.0, -0.1],
    "epsilon": [1e-8, 0.0, np.inf],
    "max_fun": [15000, 1, 0],
    "nesterovs_momentum": [True, False, "yes"],
    "max_iter": [1, 3, 0, -1, 2.5],
    "early_stopping": [False, True],
    "validation_fraction": [0.1, 0.5, 0.0, 1.0, -0.2],
    "n_iter_no_change": [1, 0, -1],
    "tol": [1e-4, 0.0, -1.0, np.nan],
    "random_state": [0, None, -1, 2**40, "x"],
    "dropout": [0.0, 0.5, 1.0, -0.1],
    "dtype": ["float32", "float64", "float16", np.float64],
    "threads": [None, 1, 2, 0, -1, "auto", "x"],
}
PARAMS = some_of(ESTIMATOR_VALUES)


@st.composite
def fit_data(draw, regression=False):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.sampled_from([0, 1, 2, 12, 30]))
    X = array(draw(st.sampled_from(["float", "float", "int", "bool", "nan", "inf", "text", "1-d", "3-d",
                                    "object"])), n, rng)
    if regression:
        kind = draw(st.sampled_from(["floats", "2-d", "nan", "text", "short"]))
        y = {"floats": rng.normal(size=n), "2-d": rng.normal(size=(n, 2)), "nan": np.full(n, np.nan),
             "text": np.array(["1.5"] * n), "short": rng.normal(size=max(n - 1, 0))}[kind]
    else:
        kind = draw(st.sampled_from(["ints", "ints", "text", "floats", "mixed", "one class", "bool", "none",
                                     "2-d", "short"]))
        y = {"ints": np.arange(n) % 3, "text": np.array(["x", "y"] * n)[:n], "floats": np.arange(n) % 2 + 0.5,
             "mixed": np.array([0, "a"] * n, dtype=object)[:n], "one class": np.zeros(n, np.int64),
             "bool": np.arange(n) % 2 == 0, "none": np.array([None, 1] * n, dtype=object)[:n],
             "2-d": np.ones((n, 2)), "short": np.arange(max(n - 1, 0)) % 2}[kind]
    return X, y


def fit_cleanly(estimator, X, y):
    """Fit; return the estimator, or None after a clean ValueError / TypeError / DivergenceError."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            estimator.fit(X, y)
        except (ValueError, TypeError, fastnet.DivergenceError) as error:
            assert str(error).strip(), f"{type(error).__name__} without a message"
            return None
        finally:
            numeric = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
            assert not numeric, f"RuntimeWarning: {numeric}"
    return estimator


@probe(100)
@given(params=PARAMS, data=fit_data())
def test_classifier_with_random_parameters_and_data_fits_cleanly(params, data):
    sklearn = pytest.importorskip("fastnet.sklearn")
    X, y = data
    params = {"max_iter": 2, "hidden_layer_sizes": (4,), **params}
    try:
        classes = np.unique(y).tolist()
    except TypeError:  # labels that do not sort (str and int): fit must refuse them
        classes = None
    model = fit_cleanly(sklearn.FastNetClassifier(**params), X, y)
    if model is not None:
        assert classes is not None, f"fit accepted labels that do not sort: {y!r}"
        assert model.classes_.tolist() == classes
        predicted, proba = model.predict(X), model.predict_proba(X)
        assert predicted.shape == (len(X),) and set(predicted.tolist()) <= set(model.classes_.tolist())
        assert proba.shape == (len(X), len(model.classes_)) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
        assert model.get_params()["hidden_layer_sizes"] == params["hidden_layer_sizes"]


@probe(100)
@given(params=PARAMS, data=fit_data(regression=True))
def test_regressor_with_random_parameters_and_data_fits_cleanly(params, data):
    sklearn = pytest.importorskip("fastnet.sklearn")
    X, y = data
    params = {"max_iter": 2, "hidden_layer_sizes": (4,), "learning_rate_init": 1e-3, **params}
    model = fit_cleanly(sklearn.FastNetRegressor(**params), X, y)
    if model is not None:
        predicted = model.predict(X)
        assert predicted.shape == np.shape(y) and np.isfinite(predicted).all()
