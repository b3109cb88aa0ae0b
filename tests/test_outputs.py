"""What the commands that write may write over (fastnet.files.check_output): never one of
their inputs or a file of a run folder, never another kind of file without --force; and
what a failed write or a stopped run says (the file the user named, the epoch to resume)."""
import csv
import errno
import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import fastnet
import fastnet.files.outputs
from fastnet import Network
from fastnet.cli import main
from fastnet.cli.checks import Terminated
from fastnet.cli.sweep import SWEEP_OUTPUTS
from fastnet.files.outputs import atomic_write, check_output_folder
from fastnet.files.model_io import ModelFileError
from fastnet.runs import RunFolder
from fastnet.sweeps.tune import OUTPUTS as TUNE_OUTPUTS, _publish


def write_rows(path, n=90, seed=0):
    """A CSV of 4 features (a 2 x 2 'image', so show --png can draw it) and 3 classes."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b", "c", "d", "y"])
        writer.writerows([[f"{v:.5f}" for v in row] + [label] for row, label in zip(X, y)])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A folder holding rows.csv and run/, the run folder of a 2-epoch run on it."""
    folder = tmp_path_factory.mktemp("trained")
    write_rows(folder / "rows.csv")
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        assert main(["train", "--data", "rows.csv", "--preset", "ch3", "--epochs", "2",
                     "--seed", "1", "--quiet", "--out", "run"]) == 0
    finally:
        os.chdir(cwd)
    return folder


@pytest.fixture
def work(trained, tmp_path, monkeypatch):
    """A fresh copy of ``trained`` as the current folder."""
    shutil.copytree(trained, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def contents(folder):
    """{relative path: sha256} of every file under ``folder``."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(Path(folder).rglob("*")) if path.is_file()}


REFUSED = [
    # the four cases of the report: an input, or a file of the run folder
    (["export", "run/model.npz", "run/model.npz"], "is the file given as MODEL"),
    (["predict", "run/model.npz", "--data", "rows.csv", "--out", "run/model.npz"],
     "is the file given as MODEL"),
    (["predict", "run/model.npz", "--data", "rows.csv", "--out", "rows.csv"],
     "is the file given as --data"),
    (["export", "run/model.npz", "run/recipe.json"], "is one of the files of the fastnet run in run"),
    # the same under other spellings and by the other writers
    (["predict", "run/model.npz", "--data", "rows.csv", "--out", "run/../rows.csv"],
     "is the file given as --data"),
    (["predict", "run/model.npz", "--data", "rows.csv", "--out", "run/history.csv"],
     "is one of the files of the fastnet run in run"),
    (["export", "run/model.npz", "run/checkpoint-last.npz"], "is one of the files of the fastnet run"),
    (["export", "run/checkpoint-best.npz", "run/checkpoint-best.npz"], "is the file given as MODEL"),
    (["show", "run/model.npz", "--png", "run/learning-curves.png"],
     "is one of the files of the fastnet run in run"),
    (["export", "run/model.npz", "run"], "is a folder"),
    (["train", "--data", "rows.csv", "--epochs", "1", "--out", "rows.csv"], "rows.csv is a file"),
    (["sweep", "--data", "rows.csv", "--grid", "eta=0.1,1", "--out", "run"],
     "run is the folder of a fastnet run"),
    (["tune", "--data", "rows.csv", "--budget", "1", "--out", "run"],
     "run is the folder of a fastnet run"),
]


@pytest.mark.parametrize("argv, message, force", [
    (argv, message, force) for argv, message in REFUSED
    for force in ([], ["--force"]) if not (force and argv[0] == "train")])  # train has no --force
def test_inputs_and_run_files_are_never_written_over(work, capsys, argv, message, force):
    before = contents(work)
    assert main([*argv, *force]) == 1
    assert message in capsys.readouterr().err
    assert contents(work) == before  # every file byte-identical, nothing added
    if argv[-1] == "run/recipe.json":  # the run goes on as before
        assert main(["train", "--resume", "run", "--epochs", "3", "--quiet"]) == 0


WRITERS = [
    (["export", "run/model.npz"], "an ONNX model written by fastnet"),
    (["predict", "run/model.npz", "--data", "rows.csv", "--out"], "a table written by fastnet predict"),
    (["show", "run/model.npz", "--png"], "a PNG image"),
]


@pytest.mark.parametrize("argv, kind", WRITERS)
def test_a_file_of_another_kind_is_replaced_only_with_force(work, capsys, argv, kind):
    if argv[0] == "export":
        pytest.importorskip("onnx")  # guard only: CI installs the onnx extra
    target = work / ("notes.png" if argv[0] == "show" else "notes.txt")
    target.write_text("my notes\n")
    assert main([*argv, target.name]) == 1
    assert f"{target.name} already exists and is not {kind}; pass a new file name, or --force" \
        in capsys.readouterr().err
    assert target.read_text() == "my notes\n"
    before = contents(work / "run")
    assert main([*argv, target.name, "--force"]) == 0
    assert target.read_text(errors="replace") != "my notes\n"
    # its own kind of file is replaced without --force; the inputs are untouched
    assert main([*argv, target.name]) == 0
    assert contents(work / "run") == before and [p.name for p in work.glob(".*")] == []


def test_sweep_and_tune_take_only_a_new_empty_or_own_folder(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    with pytest.raises(ValueError, match=r"--out: .*mine holds thesis.tex, which this command "
                                         r"does not write; pass a new or empty folder, or --force"):
        check_output_folder(tmp_path / "mine", "--out", SWEEP_OUTPUTS)
    check_output_folder(tmp_path / "mine", "--out", SWEEP_OUTPUTS, force=True)
    (tmp_path / "sweep" / "runs").mkdir(parents=True)
    (tmp_path / "sweep" / "results.csv").write_text("key,status\n")
    (tmp_path / "sweep" / ".results.csv.1.ab.tmp").write_text("")
    for folder in ("sweep", "new", "sweep/runs"):
        check_output_folder(tmp_path / folder, "--out", SWEEP_OUTPUTS)
    with pytest.raises(ValueError, match="is the folder given as --data"):
        check_output_folder(tmp_path / "mine", "--out", SWEEP_OUTPUTS, {"--data": tmp_path / "mine"},
                            True)
    with pytest.raises(ValueError, match="thesis.tex is a file; pass a folder"):
        check_output_folder(tmp_path / "mine" / "thesis.tex", "--out", SWEEP_OUTPUTS)


def published(folder, source=None):
    """``folder`` as tune leaves its best/: a copy of a sweep's run folder (``source``'s files,
    else small stand-ins), which holds the task's result.json."""
    folder.mkdir(parents=True)
    if source is not None:
        shutil.copytree(source, folder, dirs_exist_ok=True)
    for name in ("recipe.json", "model.npz", "history.json"):
        if not (folder / name).exists():
            (folder / name).write_text(f"{name} of {folder.name}\n")
    (folder / "result.json").write_text('{"key": "0123456789abcdef", "status": "done"}\n')
    return folder


def tune_folder(root, trained, entry, mine):
    """A --out folder of an earlier tune, but with ``entry`` the user's (``mine``: "file",
    "folder", or "run": a fastnet train run folder of the user's, which tune did not copy)."""
    root.mkdir()
    for name, text in (("results.json", '{\n "rows": []}\n'), ("results.csv", "key,status\n"),
                       ("leaderboard.csv", "rank,trial,epochs\n")):
        (root / name).write_text(text)
    (root / "runs").mkdir()
    published(root / "best")
    target = root / entry
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    if mine == "file":
        target.write_text("mine\n")
    elif mine == "folder":
        target.mkdir()
        (target / "thesis.tex").write_text("mine\n")
    else:
        shutil.copytree(trained / "run", target)
    return root


@pytest.mark.parametrize("entry, mine", [("best", "folder"), ("best", "run"), ("best", "file"),
                                         ("results.csv", "file"), ("results.json", "file"),
                                         ("leaderboard.csv", "file"), ("runs", "file"),
                                         ("results.csv", "folder")])
@pytest.mark.parametrize("force", [[], ["--force"]])
def test_tune_never_replaces_an_output_of_its_names_that_it_did_not_write(work, capsys, trained,
                                                                         entry, mine, force):
    """best/ used to be removed with rmtree, and the results files replaced, whatever they were."""
    out = tune_folder(work / "tuned", trained, entry, mine)
    before = contents(work)
    assert main(["tune", "--data", "rows.csv", "--budget", "1", "--out", "tuned", *force,
                 "--scheduler", "tcp://127.0.0.1:9"]) == 1  # no cluster: refused before any
    err = capsys.readouterr().err
    assert f"--out: {Path('tuned') / entry} exists and is not " in err
    assert "which this command writes there; move it away, or pass another folder" in err
    assert contents(work) == before
    with pytest.raises(ValueError, match=f"{entry} exists and is not"):
        check_output_folder(out, "--out", TUNE_OUTPUTS, force=True)


def test_tune_takes_the_folder_of_an_earlier_tune(work, trained):
    out = tune_folder(work / "tuned", trained, "best", "folder")
    shutil.rmtree(out / "best")
    published(out / "best", trained / "run")  # with every file of a run, the plot included
    check_output_folder(out, "--out", TUNE_OUTPUTS)


def test_sweep_refuses_a_folder_of_the_users_files_before_training(work, capsys):
    (work / "docs").mkdir()
    (work / "docs" / "results.csv").write_text("mine\n")
    (work / "docs" / "letter.txt").write_text("mine\n")
    assert main(["sweep", "--data", "rows.csv", "--grid", "eta=0.1,1", "--out", "docs"]) == 1
    assert "docs holds letter.txt, which this command does not write" in capsys.readouterr().err
    assert (work / "docs" / "results.csv").read_text() == "mine\n"


# ------------------------------------------------------ predict: the model's own kind
def _predictions(argv):
    assert main(argv) == 0
    with open(argv[argv.index("--out") + 1], newline="") as handle:
        return list(csv.reader(handle))


def _binary_model(path):
    """A one-sigmoid-output network trained on 200 samples of 3 features, saved at ``path``:
    (net, X, y)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    net = Network([3, 6, 1], output="sigmoid", seed=0)
    net.fit(X, y, 10, eta=1.0)
    net.save(path)
    return net, X, y


def test_predict_on_a_binary_model_thresholds_its_one_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    net, X, y = _binary_model("binary.npz")
    np.savetxt("rows.csv", X, delimiter=",", fmt="%.6f")
    rows = _predictions(["predict", "binary.npz", "--data", "rows.csv", "--out", "p.csv"])
    assert rows[0] == ["prediction", "output_1"]
    predicted = [int(row[0]) for row in rows[1:]]
    assert predicted == net.predict(X).tolist() and set(predicted) == {0, 1}
    np.testing.assert_allclose([float(row[1]) for row in rows[1:]], net.predict_proba(X)[:, 0],
                               rtol=1e-5)


def test_predict_on_a_regression_model_gives_its_values(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    net = Network([3, 6, 1], output="linear", seed=0)
    net.fit(X, X[:, 0] + 2 * X[:, 1], 10, eta=0.05)
    net.save("regression.npz")
    np.savetxt("rows.csv", X, delimiter=",", fmt="%.6f")
    rows = _predictions(["predict", "regression.npz", "--data", "rows.csv", "--out", "p.csv"])
    assert rows[0] == ["prediction"] and all(len(row) == 1 for row in rows)
    values = np.array([float(row[0]) for row in rows[1:]])
    np.testing.assert_allclose(values, net.predict(X), rtol=1e-5, atol=1e-5)
    assert values.std() > 1  # values, not classes


# ------------------------------------------------------ evaluate: the model's own kind
def _table(X, y, name):
    with open(name, "w", newline="") as handle:
        csv.writer(handle).writerows([*[f"{v:.6f}" for v in row], label] for row, label in zip(X, y))


def test_evaluate_on_a_binary_model_scores_its_0_1_labels(tmp_path, monkeypatch, capsys):
    """evaluate used to match the labels against the one output unit's index, class [0]."""
    monkeypatch.chdir(tmp_path)
    net, X, y = _binary_model("binary.npz")
    _table(X, y, "binary.csv")
    assert main(["evaluate", "binary.npz", "--data", "binary.csv"]) == 0
    out = capsys.readouterr().out
    correct = int((net.predict(X) == y).sum())
    assert f"data accuracy {100 * correct / 200:.2f}% ({correct}/200)" in out
    matrix = out.split("columns: predicted class)\n")[1].splitlines()
    assert matrix[0].split() == ["0", "1"] and len(matrix) == 3
    assert sum(int(row.split()[i + 1]) for i, row in enumerate(matrix[1:])) == correct


def test_evaluate_on_a_regression_model_gives_its_cost(tmp_path, monkeypatch, capsys):
    """evaluate used to take a regression's targets for class labels."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    y = X[:, 0] + 2 * X[:, 1]
    net = Network([3, 6, 1], output="linear", seed=0)
    net.fit(X, y, 10, eta=0.05)
    net.save("regression.npz")
    _table(X, [f"{v:.4f}" for v in y], "regression.csv")
    assert main(["evaluate", "regression.npz", "--data", "regression.csv"]) == 0
    out = capsys.readouterr().out
    cost = net.cost(X.astype(np.float64).round(6).astype(np.float32), y.round(4))
    assert f"data cost {cost:.4f}" in out
    assert "accuracy" not in out and "confusion" not in out
    _table(X, ["low"] * 200, "words.csv")
    assert main(["evaluate", "regression.npz", "--data", "words.csv"]) == 1
    assert "label 'low' is not a number; the model is a regression" in capsys.readouterr().err


# ---------------------------------------------- predict --label-column, model classes
@pytest.mark.parametrize("data, message", [
    ("features.csv", "label_column: features.csv has 4 columns, the model's 4 features, and so "
                     "no label column; leave it out"),
    ("features.npz", "label_column: applies to CSV files only, but features.npz is not a .csv"),
])
def test_predict_refuses_a_label_column_it_cannot_use(work, capsys, data, message):
    X = np.random.default_rng(0).normal(size=(5, 4))
    np.savetxt("features.csv", X, delimiter=",")
    np.savez("features.npz", X=X)
    assert main(["predict", "run/model.npz", "--data", data, "--label-column", "y"]) == 1
    assert message in capsys.readouterr().err


def test_predict_uses_the_label_column_it_is_given(work, capsys):
    with open("rows.csv") as source, open("moved.csv", "w") as moved:  # the label column first
        for line in source:
            *features, label = line.rstrip("\n").split(",")
            moved.write(",".join([label, *features]) + "\n")
    assert main(["predict", "run/model.npz", "--data", "rows.csv"]) == 0
    expected = capsys.readouterr().out
    assert main(["predict", "run/model.npz", "--data", "moved.csv", "--label-column", "y"]) == 0
    assert capsys.readouterr().out == expected


def test_duplicate_classes_are_refused_on_save_and_on_load(tmp_path):
    net = Network([3, 4, 3], seed=0)
    net.classes = ["cat", "dog", "cat"]
    with pytest.raises(ValueError, match="net.classes: expected 3 different labels, one per "
                                         "output unit, but 'cat' is there more than once"):
        net.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()
    net.classes = ["cat", "dog", "bird"]
    net.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as archive:
        arrays = dict(archive)
    header = json.loads(str(arrays["header"]))
    for classes in (["cat", "dog", "cat"], [1, "1", 2]):
        header["classes"] = classes
        arrays["header"] = np.array(json.dumps(header))
        np.savez(tmp_path / "m.npz", **arrays)
        with pytest.raises(ModelFileError, match="is there more than once"):
            Network.load(tmp_path / "m.npz")


# ------------------------------------------------------------------ tune's best/
def test_tune_replaces_best_only_where_it_is_a_copy_tune_made(tmp_path):
    source = published(tmp_path / "out" / "runs" / "0123456789abcdef")
    target = published(tmp_path / "out" / "best")  # an earlier tune's
    for folder in (source, target):  # the temporary file of a worker lost mid-write
        (folder / ".model.npz.7.ab12cd34.tmp").write_bytes(b"")
    _publish(source, target)
    assert contents(target) == {name: digest for name, digest in contents(source).items()
                                if not name.startswith(".")}
    shutil.rmtree(target)
    target.mkdir()  # made by the user while tune ran
    (target / "thesis.tex").write_text("mine\n")
    with pytest.raises(ValueError, match=r"out: .*best exists and is not a run folder copied there "
                                         r"by fastnet tune, which this command writes there"):
        _publish(source, target)
    assert contents(target) == {"thesis.tex": hashlib.sha256(b"mine\n").hexdigest()}
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["best", "runs"]


def _failing(step, target):
    """A stand-in for shutil.copy2 ("copy") or os.rename ("rename": the first rename onto
    ``target``, the new copy's) that fails as the operating system does, naming its paths."""
    def copy(source, destination, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(destination))
    rename, failed = os.rename, []

    def moved(source, destination, **kwargs):
        if Path(destination) == target and not failed:
            failed.append(source)
            raise OSError(errno.EIO, os.strerror(errno.EIO), os.fspath(source), None,
                          os.fspath(destination))
        rename(source, destination, **kwargs)
    return copy if step == "copy" else moved


@pytest.mark.parametrize("step", ["copy", "rename"])
def test_a_failure_to_replace_best_names_it_and_keeps_the_earlier_copy(tmp_path, monkeypatch, step):
    """The error named the hidden .best.new / .best.old folders; a failed last rename left no
    best/ at all."""
    source = published(tmp_path / "out" / "runs" / "0123456789abcdef")
    target = published(tmp_path / "out" / "best")
    before = contents(target)
    monkeypatch.setattr(*(shutil, "copy2") if step == "copy" else (os, "rename"),
                        _failing(step, target))
    with pytest.raises(OSError) as error:
        _publish(source, target)
    assert error.value.filename == str(target) and ".best" not in str(error.value)
    assert contents(target) == before
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["best", "runs"]


# ----------------------------------------------- failed writes, interrupted runs
def _disk_full_after(monkeypatch, ready):
    """os.fsync fails as on a full disk once ``ready()`` is true."""
    fsync = os.fsync

    def full(descriptor):
        if ready():
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        fsync(descriptor)
    monkeypatch.setattr(os, "fsync", full)


def test_a_write_error_names_the_target_never_the_temporary_file(tmp_path, monkeypatch):
    _disk_full_after(monkeypatch, lambda: True)
    with pytest.raises(OSError) as error:
        with atomic_write(tmp_path / "model.npz") as handle:
            handle.write(b"x")
    assert error.value.errno == errno.ENOSPC and error.value.filename == str(tmp_path / "model.npz")
    assert ".tmp" not in str(error.value) and list(tmp_path.iterdir()) == []

    def refused(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))
    monkeypatch.setattr(fastnet.files.outputs, "open", refused, raising=False)
    with pytest.raises(PermissionError, match=r"Permission denied: '.*history\.json'$"):
        with atomic_write(tmp_path / "history.json"):
            pass


def test_a_full_disk_names_the_file_and_the_resume_command(work, capsys, monkeypatch):
    history, fsync = work / "fresh" / "history.csv", os.fsync
    _disk_full_after(monkeypatch, lambda: history.is_file() and
                     len(history.read_text().splitlines()) == 3)  # two epochs saved
    assert main(["train", "--data", "rows.csv", "--preset", "ch3", "--epochs", "4", "--seed", "1",
                 "--quiet", "--out", "fresh"]) == 1
    err = capsys.readouterr().err
    assert "No space left on device: 'fresh/checkpoint-" in err and ".tmp" not in err
    assert "The run is intact up to epoch 2: free some space (or fix the cause), then continue " \
           "with: fastnet train --resume fresh" in err
    assert [p.name for p in (work / "fresh").glob(".*")] == []
    monkeypatch.setattr(os, "fsync", fsync)
    assert main(["train", "--resume", "fresh", "--quiet"]) == 0
    assert "resuming after epoch 2" in capsys.readouterr().out


def test_an_interruption_names_the_epoch_that_resume_goes_on_from(work, capsys, monkeypatch):
    save_epoch = RunFolder.save_epoch

    def terminated_in_epoch_2(folder, net, optimizer):
        if optimizer.epoch == 2:  # epoch 2 is trained, but not saved
            raise Terminated("terminated (SIGTERM)")
        save_epoch(folder, net, optimizer)
    monkeypatch.setattr(RunFolder, "save_epoch", terminated_in_epoch_2)
    assert main(["train", "--data", "rows.csv", "--preset", "ch3", "--epochs", "4", "--seed", "1",
                 "--quiet", "--out", "cut"]) == 143
    assert "fastnet: terminated (SIGTERM) after epoch 1; continue with: fastnet train --resume cut" \
        in capsys.readouterr().err
    monkeypatch.setattr(RunFolder, "save_epoch", save_epoch)
    assert main(["train", "--resume", "cut", "--quiet"]) == 0
    assert "resuming after epoch 1" in capsys.readouterr().out
    assert fastnet.load_checkpoint("cut/checkpoint-last.npz")[1].epoch == 4
