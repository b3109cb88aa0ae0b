"""Sweeps and tuning (fastnet.sweeps: fastnet.sweep, fastnet.tune, ``fastnet sweep`` / ``fastnet tune``).

Grid parsing and bad input run in-process without dask.  The runs train tiny
networks for 1-2 epochs on a slice of the genuine MNIST (400 training images):
on a 2-worker LocalCluster shared by the module, on a real ``dask scheduler``
with two ``dask worker`` processes on 127.0.0.1 (one of them killed
mid-sweep), and through the command line.
"""
import contextlib
import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numba
import numpy as np
import pytest

import fastnet
from fastnet.cli import main
from fastnet.recipe import Recipe
from fastnet.sweeps.cluster import (DistributedMissing, SchedulerUnreachable, check_scheduler, connect,
                                    require_distributed)
from fastnet.sweeps.grid import Range, apply, base_recipe, parse_axis, parse_seeds, points
from fastnet.sweeps.keys import run_key
from fastnet.sweeps.report import load_rows, swept, table_lines
from fastnet.sweeps.storage import Results
from fastnet.sweeps.tasks import plan, read_result, run_task
from fastnet.sweeps.tune import REDUCTION, Trial, _next_job, draw

distributed = pytest.importorskip("distributed")  # the sweep extra; CI installs it
pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::DeprecationWarning")
TINY = dict(sizes=(784, 10, 10), epochs=2, batch_size=20)


@pytest.fixture(scope="module")
def mnist_tiny(mnist_dir, tmp_path_factory):
    """An .npz of 400 training, 200 validation and 200 test images of the genuine MNIST."""
    def read(name):
        return fastnet.read_idx(next(mnist_dir.glob(f"{name}*")))

    images, labels = read("train-images"), read("train-labels")
    path = tmp_path_factory.mktemp("sweep-data") / "tiny.npz"
    np.savez(path, x_train=images[:400], y_train=labels[:400], x_val=images[50000:50200],
             y_val=labels[50000:50200], x_test=read("t10k-images")[:200], y_test=read("t10k-labels")[:200])
    return path


@pytest.fixture(scope="module")
def client():
    """A 2-worker LocalCluster (processes, one thread and one Numba thread each) on 127.0.0.1."""
    with connect(workers=2) as connected:
        yield connected


def snapshot(folder):
    """{path: (mtime_ns, size)} of every file under ``folder``."""
    return {path: (path.stat().st_mtime_ns, path.stat().st_size)
            for path in Path(folder).rglob("*") if path.is_file()}


# ------------------------------------------------------------------ parsing
def test_grid_axes_take_values_as_the_train_flags_do():
    assert parse_axis("eta=0.025,0.25,2.5") == ("eta", [0.025, 0.25, 2.5])
    assert parse_axis("batch-size=10,20") == ("batch_size", [10, 20])
    assert parse_axis("sizes=784,30,10/784,100,10") == ("sizes", [(784, 30, 10), (784, 100, 10)])
    assert parse_axis("activation=relu,tanh") == ("activation", [("relu",), ("tanh",)])
    assert parse_axis("distort=on,off") == ("distort", [True, False])
    assert parse_axis("eta=log:0.01:3") == ("eta", Range("log", 0.01, 3.0))
    assert parse_axis("hidden=int:30:800") == ("hidden", Range("int", 30, 800))
    assert points(["eta=0.1,1", "l2=0,5"]) == [{"eta": 0.1, "l2": 0.0}, {"eta": 0.1, "l2": 5.0},
                                               {"eta": 1.0, "l2": 0.0}, {"eta": 1.0, "l2": 5.0}]
    assert points({"eta": [1, 0.5]}) == [{"eta": 1.0}, {"eta": 0.5}]


def test_random_points_are_reproducible_and_a_larger_sample_keeps_the_first():
    grid = ["eta=log:0.01:3", "hidden=int:30:800", "activation=relu,tanh"]
    five, ten = points(grid, samples=5), points(grid, samples=10)
    assert ten[:5] == five and len({json.dumps(p) for p in ten}) == 10
    for point in ten:
        assert 0.01 <= point["eta"] <= 3 and 30 <= point["hidden"] <= 800
        assert isinstance(point["hidden"], int) and point["activation"] in [("relu",), ("tanh",)]


@pytest.mark.parametrize("text, message", [
    ("eta", "is not name=values"), ("eta=", "is not name=values"),
    ("colour=1", "unknown setting 'colour'"), ("seed=1,2", "pass seeds="),
    ("eta=abc", "'abc' is not a valid value"), ("eta=int:1:3", "int ranges do not fit"),
    ("hidden=log:1:3", "log ranges do not fit"), ("eta=log:0:1", "needs LOW > 0"),
    ("eta=log:3:1", "needs finite LOW <= HIGH"), ("eta=log:1", "not KIND:LOW:HIGH"),
    ("output=tanh", "expected one of sigmoid, softmax, linear"), ("hidden=0", "hidden"),
    ("sizes=784", "need two or more positive sizes"), ("nesterov=maybe", "expected true or false"),
])
def test_bad_grid_text_is_refused_naming_the_setting(text, message):
    with pytest.raises(ValueError, match=message):
        parse_axis(text)


def test_bad_grids_seeds_and_samples_are_refused():
    with pytest.raises(ValueError, match="eta is a range, which only random search"):
        points(["eta=log:0.01:3"])
    with pytest.raises(ValueError, match="eta given more than once"):
        points(["eta=1", "eta=2"])
    with pytest.raises(ValueError, match="samples: expected a positive number"):
        points(["eta=1"], samples=0)
    with pytest.raises(TypeError, match="grid: expected a dict"):
        points(42)
    with pytest.raises(TypeError, match="eta: expected a number"):
        points({"eta": [None]})
    assert parse_seeds("1,2,3") == [1, 2, 3] and parse_seeds(7) == [7]
    for bad in ("", "1,x", [-1], [True]):
        with pytest.raises(ValueError, match="seeds:"):
            parse_seeds(bad)
    with pytest.raises(ValueError, match="recipe: unknown preset 'ch9'"):
        base_recipe("ch9")
    with pytest.raises(ValueError, match="eta"):  # every recipe is checked before anything runs
        plan(base_recipe("ch1"), {"eta": [0.5, -1.0]})


def test_the_key_covers_the_whole_recipe_and_the_data_but_not_the_preset_name():
    ch3 = base_recipe("ch3", seed=1)
    assert run_key(ch3, None) == run_key(ch3.replace(preset=None), None)
    assert run_key(apply(ch3, {"l2": 5}), None) == run_key(ch3, None)  # 5 and 5.0 are one value
    assert run_key(apply(ch3, {"eta": 0.25}), None) != run_key(ch3, None)
    assert run_key(ch3, "/data/a") != run_key(ch3, None)
    assert run_key(ch3, None) == "99078302b88d7331"  # 0.2's key of this recipe: new settings left at None keep it
    assert run_key(ch3.replace(header=True), None) != run_key(ch3, None)
    assert len({run_key(ch3.replace(**changes), None) for changes in
                ({}, {"minutes": 2.0}, {"minutes": 3.0}, {"warmup": 0.1})}) == 4
    assert base_recipe("ch3", minutes=2).epochs is None  # as fastnet train: as many as fit
    assert base_recipe("ch3", minutes=2, epochs=5).epochs == 5
    assert apply(ch3, {"hidden": 100}).hidden == (100,)  # a draw from int:LOW:HIGH
    assert parse_axis("hidden=100/30,30") == ("hidden", [(100,), (30, 30)])
    assert apply(ch3, {"early_stopping": 0}).early_stopping is None
    tasks = plan(ch3, ["eta=0.25,2.5"], seeds=[1, 2], out="somewhere")
    assert [task["label"] for task in tasks] == ["eta=0.25 seed=1", "eta=0.25 seed=2",
                                                 "eta=2.5 seed=1", "eta=2.5 seed=2"]
    assert len({task["key"] for task in tasks}) == 4
    assert all(Path(task["folder"]).name == task["key"] for task in tasks)


def test_a_missing_sweep_extra_names_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(DistributedMissing, match=r"pip install 'fastnet\[sweep\]'"):
        require_distributed()
    assert main(["sweep", "--grid", "eta=1,2", "--epochs", "1", "--out", "nowhere"]) == 1
    assert "fastnet[sweep]" in capsys.readouterr().err


def test_command_line_usage_errors(capsys, tmp_path):
    for argv, message in ((["sweep"], "--grid: give at least one"),
                          (["sweep", "--grid", "eta=x"], "'x' is not a valid value"),
                          (["sweep", "--grid", "eta=1", "--resume", "x"], "--resume: a sweep"),
                          (["sweep", "--grid", "eta=1", "--random", "0"], "--random: expected"),
                          (["sweep", "--grid", "eta=1", "--optimizer", "lbfgs", "--iterations",
                            "3"], "--optimizer, --iterations: a sweep trains every run with SGD"),
                          (["sweep", "--grid", "eta=1", "--threads", "1", "--hogwild"],
                           "--threads, --hogwild: a sweep trains every run with SGD on one thread"),
                          (["tune", "--budget", "0"], "--budget: expected a positive")):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert main(["sweep", "--report", str(tmp_path)]) == 1
    assert "holds no results.json" in capsys.readouterr().err


# ----------------------------------------------------------------- the task
@pytest.mark.mnist
def test_a_run_that_raises_is_a_failed_row_and_a_finished_one_is_not_retrained(mnist_tiny, tmp_path):
    recipe = base_recipe("ch3", **TINY)
    diverging, fine = plan(recipe, {"eta": [1e30, 3.0]}, seeds=[1], data=mnist_tiny, out=tmp_path)
    row = run_task(diverging)
    assert row["status"] == "failed" and row["error"].startswith("DivergenceError: training diverged")
    assert read_result(diverging["folder"])["status"] == "failed"
    row = run_task(fine)
    assert row["status"] == "done" and row["epochs_run"] == 2 and 0 < row["test_accuracy"] <= 1
    assert len(row["history"]["validation_accuracy"]) == 2
    assert row["best_validation_accuracy"] == max(row["history"]["validation_accuracy"])
    before = snapshot(fine["folder"])
    assert run_task(fine) == json.loads(json.dumps(row))
    assert snapshot(fine["folder"]) == before


@pytest.mark.mnist
def test_a_task_continues_the_checkpoint_of_an_interrupted_attempt(mnist_tiny, tmp_path):
    """A worker lost mid-run leaves a run folder with some epochs done; the rerun goes on from
    there and ends with the weights of an uninterrupted run."""
    recipe = base_recipe("ch3", **TINY)
    whole, = plan(recipe, {"eta": [3.0]}, seeds=[1], data=mnist_tiny, out=tmp_path / "a")
    broken, = plan(recipe.replace(epochs=1), {"eta": [3.0]}, seeds=[1], data=mnist_tiny,
                   out=tmp_path / "b")
    run_task(broken)
    Path(broken["folder"], "result.json").unlink()  # as if the worker died after epoch 1
    rerun = dict(whole, folder=broken["folder"])
    assert run_task(rerun)["epochs_run"] == 2
    run_task(whole)
    weights = [fastnet.Network.load(Path(task["folder"]) / "checkpoint-last.npz").weights[0]
               for task in (whole, rerun)]
    np.testing.assert_array_equal(*weights)


# ------------------------------------------------------------- LocalCluster
@pytest.mark.mnist
def test_sweep_on_a_local_cluster_resumes_and_grows_without_retraining(mnist_tiny, tmp_path, client):
    out, lines = tmp_path / "sweep", []
    arguments = dict(seeds=[1, 2], out=out, data=mnist_tiny, client=client, echo=lines.append, **TINY)
    rows = fastnet.sweep("ch3", grid={"eta": [3.0, 1e30]}, **arguments)
    records = rows.to_dict("records") if hasattr(rows, "to_dict") else rows
    assert [(r["eta"], r["seed"], r["status"]) for r in records] == [
        (3.0, 1, "done"), (3.0, 2, "done"), (1e30, 1, "failed"), (1e30, 2, "failed")]
    assert {r["worker"] for r in records} <= set(client.nthreads())
    assert any(line.startswith("[4/4] ") for line in lines)
    stored = load_rows(out)
    assert len(stored) == 4 and len({row["key"] for row in stored}) == 4
    csv_lines = (out / "results.csv").read_text().splitlines()
    assert len(csv_lines) == 5 and csv_lines[0].startswith("key,status,preset,sizes")
    before = snapshot(out / "runs")

    lines.clear()
    fastnet.sweep("ch3", grid={"eta": [3.0, 1e30]}, **arguments)
    assert lines == [f"sweep: 4 runs, 4 finished before, 0 to train; results in {out / 'results.csv'}"]
    assert snapshot(out / "runs") == before  # no run folder rewritten

    lines.clear()
    rows = fastnet.sweep("ch3", grid={"eta": [3.0, 1e30, 0.5]}, **arguments)
    assert lines[0].endswith("6 runs, 4 finished before, 2 to train; results in "
                             f"{out / 'results.csv'}")
    assert len(rows) == 6 and len(load_rows(out)) == 6
    assert all(snapshot(out / "runs")[path] == stamp for path, stamp in before.items())
    assert swept(load_rows(out)) == ["eta"]
    table = table_lines(load_rows(out))
    assert "failed: DivergenceError" in table[-1] and len(table) == 7


@pytest.mark.mnist
def test_a_run_the_cluster_loses_is_submitted_again_then_reported(mnist_tiny, tmp_path, client,
                                                                  monkeypatch):
    """A future that comes back cancelled (as when its worker's result is lost) is not the
    run's failure: the run is submitted again, RETRIES times at most, then reported."""
    from fastnet.sweeps import run as sweeps_run
    real, attempts = sweeps_run.submit, []

    def losing(client, task, attempt=0):
        attempts.append((task["label"], attempt))
        future = real(client, task, attempt)
        if attempt == 0 or task["label"].startswith("eta=0.5"):  # the cluster loses it
            client.cancel(future)
        return future

    monkeypatch.setattr(sweeps_run, "submit", losing)
    lines: list[str] = []
    fastnet.sweep("ch3", grid={"eta": [3.0, 0.5]}, seeds=[1], out=tmp_path, data=mnist_tiny,
                  client=client, echo=lines.append, **TINY)
    rows = {row["label"]: row for row in load_rows(tmp_path)}
    assert sorted(attempts) == [("eta=0.5 seed=1", k) for k in range(sweeps_run.RETRIES + 1)] + [
        ("eta=3 seed=1", 0), ("eta=3 seed=1", 1)]
    assert rows["eta=3 seed=1"]["status"] == "done" and rows["eta=3 seed=1"]["epochs_run"] == 2
    assert rows["eta=0.5 seed=1"]["status"] == "failed"
    assert rows["eta=0.5 seed=1"]["error"].startswith(("CancelledError", "FutureCancelledError"))
    assert sum(line.startswith("[") for line in lines) == 2


@pytest.mark.mnist
def test_two_sweeps_into_one_folder_at_once_keep_both_sets_of_rows(mnist_tiny, tmp_path, client):
    """Each sweep used to rewrite the results files with its own rows only: the files
    ended up with one sweep's rows.  Both read the (empty) files before either trains."""
    out, failures, returned = tmp_path / "shared", [], {}
    both_read = threading.Barrier(2, timeout=120)

    def run(name, grid):
        def echo(line):
            if line.startswith("sweep: "):  # the results files are read: go on together
                both_read.wait()
        try:
            rows = fastnet.sweep("ch3", grid=grid, seeds=[1], out=out, data=mnist_tiny,
                                 client=client, echo=echo, **dict(TINY, epochs=1))
            returned[name] = set(rows["key"] if hasattr(rows, "columns") else
                                 [row["key"] for row in rows])
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=run, args=("eta", {"eta": [1.0, 3.0]})),
               threading.Thread(target=run, args=("l2", {"l2": [0.0, 1.0]}))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures
    assert len(returned["eta"]) == len(returned["l2"]) == 2
    keys = returned["eta"] | returned["l2"]
    stored = load_rows(out)
    assert len(stored) == 4 and {row["key"] for row in stored} == keys
    assert all(row["status"] == "done" for row in stored)
    with open(out / "results.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 4 and {row["key"] for row in table} == keys
    assert {(float(row["eta"]), float(row["l2"])) for row in table} == {
        (1.0, 5.0), (3.0, 5.0), (0.5, 0.0), (0.5, 1.0)}
    assert not [path.name for path in out.iterdir() if path.name.endswith(".tmp")]


@pytest.mark.mnist
def test_fastnet_sweep_prints_the_table_of_its_own_runs(mnist_tiny, tmp_path, client, capsys):
    """In a folder shared with another sweep, the command prints its own runs (it printed
    every row of the files: another sweep's table); --report shows them all."""
    out = tmp_path / "shared"
    fastnet.sweep("ch3", grid={"eta": [1.0, 3.0]}, seeds=[1], out=out, data=mnist_tiny,
                  client=client, echo=lambda line: None, **dict(TINY, epochs=1))
    assert main(["sweep", "--preset", "ch3", "--sizes", "784,10,10", "--epochs", "1",
                 "--batch-size", "20", "--grid", "l2=0,1", "--seeds", "1", "--data", str(mnist_tiny),
                 "--out", str(out), "--scheduler", client.scheduler.address, "--quiet"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"sweep {out}: 2 runs, 2 done, 0 failed (2 more runs of other sweeps " \
                         "in the folder)"
    assert re.match(r"rank +l2 +seed +val acc", printed[1])
    assert [line.split()[:3] for line in printed[2:4]] in ([["1", "0", "1"], ["2", "1", "1"]],
                                                           [["1", "1", "1"], ["2", "0", "1"]])
    assert not printed[4].strip()[:1].isdigit()  # the plots line, no third run
    assert main(["sweep", "--report", str(out)]) == 0
    assert f"sweep {out}: 4 runs, 4 done, 0 failed" in capsys.readouterr().out


@pytest.mark.mnist
def test_tune_promotes_the_best_and_trains_it_into_best(mnist_tiny, tmp_path, client):
    lines = []
    row = fastnet.tune(mnist_tiny, budget=12, out=tmp_path, epochs=2, rungs=(1, 2),
                            client=client, echo=lines.append)
    assert row["status"] == "done" and row["epochs_run"] >= 1
    assert sorted(os.listdir(tmp_path / "best")) == sorted(os.listdir(row["folder"]))
    board = (tmp_path / "leaderboard.csv").read_text().splitlines()
    assert board[0].startswith("rank,trial,epochs,validation_accuracy")
    assert len(board) - 1 == row["trials"] and any("rung 0" in line for line in lines)
    recipe = Recipe.from_dict(row["recipe"])
    assert recipe.sizes[0] == 784 and recipe.sizes[-1] == 10 and recipe.output == "softmax"


def test_successive_halving_promotes_the_top_third_once():
    trials = [Trial(n, {}) for n in range(1, 7)]
    for trial, score in zip(trials, (0.5, 0.9, 0.7, 0.1, 0.8, 0.2)):
        trial.scores[0] = score
    promoted = [_next_job(trials, (1, 3, 9), None, 784, 10, 100, True) for _ in range(6 // REDUCTION)]
    assert [(trial.number, rung) for trial, rung in promoted] == [(2, 1), (5, 1)]
    rng = np.random.default_rng(0)
    trial, rung = _next_job(trials, (1, 3, 9), rng, 784, 10, 100, True)  # nothing left to promote
    assert rung == 0 and trial.number == 7 and len(trials) == 7
    for _ in range(50):
        settings = draw(rng, 784, 10, 50_000, images=True)
        assert settings["sizes"][0] == 784 and 2 <= len(settings["sizes"]) - 1 <= 4
        assert all(64 <= width <= 1024 and width % 16 == 0 for width in settings["sizes"][1:-1])
        assert settings["momentum"] in (0.0, 0.9) and settings["batch_size"] in (16, 32, 64, 128)
    assert any(draw(rng, 784, 10, 100, images=True)["distort"] for _ in range(20))
    assert not any(draw(rng, 4, 3, 100, images=False)["distort"] for _ in range(20))  # a table


def four_feature_table(path, n=300):
    """A CSV of ``n`` samples of 4 features (a square number, but no image) and a 0/1 label."""
    X = np.random.default_rng(0).normal(size=(n, 4))
    rows = [",".join(f"{v:.4f}" for v in row) + f",{int(row[0] + row[1] > 0)}" for row in X]
    path.write_text("a,b,c,d,label\n" + "\n".join(rows) + "\n")
    return path


def test_tune_on_a_table_distorts_nothing_and_says_so(tmp_path, client):
    """4 features are no image: no trial is drawn with distort, and the leaderboard, the
    results and the progress lines say so, instead of distort=True for runs not distorted."""
    table, lines = four_feature_table(tmp_path / "t.csv"), []
    row = fastnet.tune(table, budget=8, out=tmp_path / "out", epochs=1, rungs=(1, 2), client=client,
                       echo=lines.append)
    with open(tmp_path / "out" / "leaderboard.csv", newline="") as handle:
        board = list(csv.DictReader(handle))
    assert len(board) >= 2 and {entry["distort"] for entry in board} == {"False"}
    assert not any(stored["recipe"]["distort"] for stored in load_rows(tmp_path / "out"))
    assert not Recipe.from_dict(row["recipe"]).distort
    assert lines[0].startswith("tune: 240 training samples of 4 inputs, 2 classes")
    assert lines[1] == (f"tune: distort stays off: it distorts MNIST's 28 x 28 images, and {table} "
                        "is a table of features")
    assert not any(line.endswith(", distort]") for line in lines)


def test_tune_trains_its_best_here_on_every_core_for_all_the_budget_left(tmp_path, client,
                                                                          monkeypatch):
    """The final run trained on one core of a worker for an epoch count estimated from the
    search's pace, which erred short (a third of a 600 s budget left unused): now it trains in
    this process with Numba's threads on every core and the plan's choice of training threads
    (threads=None), against the clock, for all the time the search left."""
    table, final = four_feature_table(tmp_path / "t.csv"), []

    def run_here(job, threads=1):
        final.append((job, threads, time.monotonic()))
        return run_task(job, threads)

    monkeypatch.setattr(fastnet.sweeps.tune, "run_task", run_here)
    budget, started = 6.0, time.monotonic()
    row = fastnet.tune(table, budget=budget, out=tmp_path / "out", epochs=1, rungs=(1, 2),
                       client=client, echo=lambda line: None)
    [(job, threads, called)] = final
    recipe = Recipe.from_dict(job["recipe"])
    assert threads is None and recipe.epochs is None
    assert numba.get_num_threads() == min(fastnet.checks.cores(), numba.config.NUMBA_NUM_THREADS)
    left = started + budget - called  # the time left when the final run began
    assert left - 0.1 <= recipe.time_budget <= left + 2.0  # (tune began after started, by a little)
    assert row["key"] == job["key"] and row["epochs_run"] >= 1 and row["status"] == "done"
    assert row["stop_reason"].startswith(f"time budget of {recipe.time_budget:g} s")


def read_leaderboard(out):
    with open(Path(out) / "leaderboard.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_two_tunes_into_one_folder_at_once_rank_both_sets_of_configurations(tmp_path, client):
    """Each tune used to rewrite leaderboard.csv with its own trials only: the file ended up
    with one tune's. Now it is rewritten with the results files, under their lock."""
    table, out, failures, returned = four_feature_table(tmp_path / "t.csv"), tmp_path / "shared", [], {}

    def run(seed):
        try:
            returned[seed] = fastnet.tune(table, budget=6, out=out, epochs=1, seed=seed, rungs=(1, 2),
                                          client=client, echo=lambda line: None)
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=run, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures
    board = read_leaderboard(out)
    assert {int(entry["seed"]) for entry in board} == {1, 2}
    assert len(board) == returned[1]["trials"] + returned[2]["trials"]
    tried = {(row["recipe"]["seed"], row["settings"]["trial"]) for row in load_rows(out)}
    assert {(int(entry["seed"]), int(entry["trial"])) for entry in board} == tried
    ranks = [(int(entry["epochs"]), float(entry["validation_accuracy"] or "-inf")) for entry in board]
    assert ranks == sorted(ranks, reverse=True) and [int(e["rank"]) for e in board] == list(
        range(1, len(board) + 1))
    best = Recipe.from_dict(json.loads((out / "best" / "recipe.json").read_text())["recipe"])
    assert best.seed in (1, 2) and sorted(os.listdir(out / "best")) == sorted(
        os.listdir(returned[best.seed]["folder"]))


def test_tune_from_python_refuses_a_best_it_did_not_make_before_training(tmp_path):
    table, best = four_feature_table(tmp_path / "t.csv"), tmp_path / "out" / "best"
    best.mkdir(parents=True)
    (best / "notes.txt").write_text("mine\n")
    with pytest.raises(ValueError, match=r"out: .*best exists and is not a run folder copied there "
                                         r"by fastnet tune"):
        fastnet.tune(table, budget=5, out=tmp_path / "out", scheduler="tcp://127.0.0.1:9")
    assert os.listdir(tmp_path / "out") == ["best"] and os.listdir(best) == ["notes.txt"]


def numbered_table(path, n=240):
    """A CSV whose header is the column numbers (refused as ambiguous unless --header says
    what it is) and whose label, 0 or 1, comes first."""
    X = np.random.default_rng(1).normal(size=(n, 4))
    rows = [f"{int(row[0] - row[2] > 0)}," + ",".join(f"{v:.4f}" for v in row) for row in X]
    path.write_text("0,1,2,3,4\n" + "\n".join(rows) + "\n")
    return path


def test_fastnet_tune_reads_a_csv_with_the_flags_of_train(tmp_path, client, capsys):
    """tune had neither --label-column nor --header, while its CSV errors said to pass --header."""
    table, out = numbered_table(tmp_path / "numbered.csv"), tmp_path / "out"
    argv = ["tune", "--data", str(table), "--budget", "0.1", "--epochs", "1", "--out", str(out),
            "--scheduler", client.scheduler.address]
    assert main(argv) == 1
    assert "pass --header" in capsys.readouterr().err and not out.exists()
    assert main([*argv, "--header", "--label-column", "0"]) == 0
    assert "test accuracy" in capsys.readouterr().out
    rows = load_rows(out)
    assert rows and all(row["recipe"]["header"] is True and row["recipe"]["label_column"] == "0"
                        for row in rows)
    assert {row["recipe"]["sizes"][0] for row in rows} == {4}  # the label is no feature
    assert fastnet.Network.load(out / "best" / "model.npz").sizes[-1] == 2


@pytest.mark.parametrize("flag", [["--label-column", "0"], ["--header"], ["--no-header"]])
def test_fastnet_tune_refuses_the_csv_flags_for_mnist(tmp_path, capsys, flag):
    assert main(["tune", "--budget", "1", "--out", str(tmp_path / "out"), *flag]) == 1
    assert "applies to CSV files only, but MNIST is not a .csv; leave it out" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_sweep_on_a_table_leaves_distortion_off_and_refuses_to_vary_it(tmp_path):
    table = four_feature_table(tmp_path / "t.csv")
    with pytest.raises(ValueError, match=r"distort: work on MNIST's 28 x 28 images only; leave it "
                                         r"out of the grid for .*t\.csv"):
        plan(base_recipe("ch3"), {"distort": [True, False]}, data=table)
    with pytest.raises(ValueError, match="expand / distort: work on MNIST's"):
        plan(base_recipe("ch3"), ["expand=on", "distort=on,off"], data=table)
    best_fc = base_recipe("best-fc")
    assert best_fc.distort  # the preset distorts MNIST; its runs on a table record what they do
    tasks = plan(best_fc, {"eta": [0.1, 0.2]}, data=table, out=tmp_path / "out")
    assert [task["recipe"]["distort"] for task in tasks] == [False, False]
    assert plan(best_fc, {"eta": [0.1]})[0]["recipe"]["distort"]  # MNIST: distorted as before


# ----------------------------------------------- a scheduler address that is not one
HTTP_REPLY = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
OTHER_PROTOCOL = ("answered, but not in dask's protocol, so it is not a dask scheduler (an HTTP "
                  "server, such as dask's dashboard, answers so)")


@contextlib.contextmanager
def loopback_peer(reply):
    """A server on 127.0.0.1 for the block: it accepts every connection and answers ``reply``
    (bytes, after reading the request; None: never says anything).  Yields its address;
    its thread stops by itself within a second of the block's end."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop, accepted = threading.Event(), []

    def serve():
        while not stop.is_set():
            try:
                peer, _ = server.accept()
            except OSError:  # the accept timeout: look at ``stop`` again
                continue
            accepted.append(peer)
            if reply is not None:
                peer.settimeout(1.0)
                with contextlib.suppress(OSError):
                    peer.recv(65536)
                    peer.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for peer in accepted:
            peer.close()
        server.close()


@pytest.mark.parametrize("reply, message", [
    (None, "accepted the connection but gave no dask answer within 2 s, so it is not a dask "
           "scheduler"),
    (HTTP_REPLY, OTHER_PROTOCOL),
    (bytes(range(256)) * 4, OTHER_PROTOCOL),
], ids=["silent", "http", "garbage"])
def test_a_peer_that_is_not_a_dask_scheduler_is_named_within_the_timeout(reply, message):
    """Something that accepts connections but is no dask scheduler: connecting hung forever
    (a silent peer) or failed deep in dask (an HTTP answer read as a 3.07 EiB frame)."""
    with loopback_peer(reply) as address:
        began = time.monotonic()
        with pytest.raises(SchedulerUnreachable) as raised:
            with connect(scheduler=address, timeout=1):
                pass
        waited = time.monotonic() - began
    assert waited < 10 and (reply is not None or waited > 1.9)  # the silent peer: as said
    assert str(raised.value) == (f"scheduler: {address} {message}; pass the address of a running "
                                 "`dask scheduler`, such as tcp://HOST:8786")


def test_more_workers_than_cores_are_refused_before_any_starts(tmp_path, capsys):
    """--workers 1000 started 1000 worker processes on a 2-core machine (minutes, then
    leaked semaphores), where --threads above the cores is refused."""
    too_many = fastnet.checks.cores() + 1
    with pytest.raises(ValueError, match=f"workers: {too_many} worker processes, but this "
                                         f"process may run on {too_many - 1} cores"):
        with connect(workers=too_many):
            pass
    argv = ["sweep", "--grid", "eta=1,2", "--epochs", "1", "--out", str(tmp_path / "out"),
            "--workers", str(too_many)]
    assert main(argv) == 1
    assert f"pass at most {too_many - 1}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_scheduler_address_where_nothing_listens_or_that_is_no_address():
    with socket.create_server(("127.0.0.1", 0)) as server:
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    started = time.monotonic()
    with pytest.raises(SchedulerUnreachable, match=re.escape(
            f"scheduler: nothing listens at {address} (connection refused)")):
        check_scheduler(address, timeout=30)
    assert time.monotonic() - started < 5  # at once, not after dask's retries for 30 s
    for bad in ("localhost", "http://127.0.0.1:8787"):
        with pytest.raises(ValueError, match=f"scheduler: '{bad}' is not a scheduler address"):
            check_scheduler(bad, timeout=1)
    with pytest.raises(ValueError, match="timeout: expected a positive number of seconds"):
        check_scheduler("tcp://127.0.0.1:8786", timeout=0)


def test_a_dask_worker_is_not_taken_for_the_scheduler(client):
    assert check_scheduler(client.scheduler.address, timeout=5) == 5
    worker = next(iter(client.nthreads()))
    with pytest.raises(SchedulerUnreachable, match=f"scheduler: {worker} is a dask Worker, not a "
                                                   "scheduler"):
        check_scheduler(worker, timeout=5)


def test_fastnet_sweep_names_a_scheduler_that_is_not_one_in_one_line(tmp_path, capsys):
    import dask
    with loopback_peer(HTTP_REPLY) as address, \
            dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        status = main(["sweep", "--grid", "eta=1,2", "--epochs", "1", "--scheduler", address,
                       "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 1 and err.splitlines() == [
        f"fastnet: error: scheduler: {address} {OTHER_PROTOCOL}; pass the address of a running "
        "`dask scheduler`, such as tcp://HOST:8786"]


# ----------------------------------------------------- a real dask cluster
@pytest.fixture
def dask_cluster(tmp_path):
    """A ``dask scheduler`` and two ``dask worker`` processes (no nanny) on 127.0.0.1:
    (address, [worker Popen, ...]); every process is ended after the test."""
    processes = []
    file = tmp_path / "scheduler.json"
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    dask = [sys.executable, "-m", "dask"]
    try:
        processes.append(subprocess.Popen(
            dask + ["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                    "--scheduler-file", str(file)], env=env, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        while not file.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(file.read_text())["address"]
        workers = [subprocess.Popen(
            dask + ["worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny",
                    "--no-dashboard", "--death-timeout", "30", "--name", f"w{n}"],
            env=env, stderr=subprocess.DEVNULL) for n in range(2)]
        processes += workers
        with distributed.Client(address) as probe:
            probe.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.mark.mnist
def test_a_worker_killed_mid_sweep_loses_and_duplicates_nothing(mnist_tiny, tmp_path, dask_cluster):
    address, workers = dask_cluster
    out, lines, failure = tmp_path / "sweep", [], []

    def run():
        try:
            fastnet.sweep("ch1", grid={"eta": [0.5, 1.0, 2.0, 3.0]}, seeds=[1, 2], out=out,
                          data=mnist_tiny, scheduler=address, echo=lines.append,
                          **dict(TINY, epochs=3))
        except BaseException as error:  # reported by the main thread
            failure.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 120
    while not (out / "results.json").is_file() and time.monotonic() < deadline:
        time.sleep(0.05)
    workers[0].kill()  # SIGKILL: the worker's running task is lost with it
    thread.join(timeout=240)
    assert not thread.is_alive() and not failure, failure
    rows = load_rows(out)
    assert len(rows) == 8 and len({row["key"] for row in rows}) == 8
    assert all(row["status"] == "done" for row in rows), \
        [(row["label"], row["status"], row["error"]) for row in rows if row["status"] != "done"]
    assert workers[0].poll() is not None
    assert sum(line.startswith("[") for line in lines) == 8


# ------------------------------------------------------------ command line
@pytest.mark.mnist
def test_fastnet_sweep_command_trains_reports_and_plots(mnist_tiny, tmp_path):
    command = [sys.executable, "-m", "fastnet", "sweep", "--preset", "ch3", "--sizes", "784,10,10",
               "--epochs", "1", "--batch-size", "20", "--grid", "eta=0.5,2.5", "--seeds", "1",
               "--data", str(mnist_tiny), "--out", "out", "--workers", "1"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "sweep: 2 runs, 0 finished before, 2 to train" in done.stdout
    assert re.search(r"^rank +eta +seed +val acc +epoch +test acc", done.stdout, re.MULTILINE)
    plots = sorted(os.listdir(tmp_path / "out" / "plots"))
    assert plots == ["accuracy-by-eta.png", "training-cost.png", "validation-accuracy.png"]
    report = subprocess.run([sys.executable, "-m", "fastnet", "sweep", "--report", "out"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert report.returncode == 0 and "out: 2 runs, 2 done, 0 failed" in report.stdout
    assert Results(tmp_path / "out").rows.keys() == {row["key"] for row in load_rows(tmp_path / "out")}


def test_a_sweep_task_trains_on_a_table_as_train_would(tmp_path):
    """A CSV table: the network's ends come from the data, hidden from the grid, and the
    table is split by the run's seed, as ``fastnet train --data t.csv --hidden 8`` does."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    rows = [",".join(f"{v:.4f}" for v in row) + f",{int(row[0] + row[1] > 0)}" for row in X]
    (tmp_path / "t.csv").write_text("a,b,c,d,e,label\n" + "\n".join(rows) + "\n")
    task, = plan(base_recipe("ch3", epochs=3), {"hidden": ["8"]}, seeds=[1],
                 data=tmp_path / "t.csv", out=tmp_path / "out")
    row = run_task(task)
    assert row["status"] == "done", row["error"]
    assert fastnet.Network.load(Path(task["folder"]) / "model.npz").sizes == (5, 8, 2)
    assert row["test_accuracy"] > 0.7


def test_a_local_cluster_leaves_this_process_environment_as_it_was(monkeypatch):
    """The workers run one Numba and one OpenMP thread each, and this process's
    environment is as it was afterwards: left at 1, NUMBA_NUM_THREADS would make
    every later compile here fail once Numba's threads had started."""
    monkeypatch.delenv("NUMBA_NUM_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with connect(workers=1) as connected:
        seen = connected.run(lambda: (os.environ.get("NUMBA_NUM_THREADS"),
                                      os.environ.get("OMP_NUM_THREADS")))
        assert list(seen.values()) == [("1", "1")]
    assert "NUMBA_NUM_THREADS" not in os.environ and "OMP_NUM_THREADS" not in os.environ


def test_numba_compiles_in_this_process_while_a_local_cluster_runs():
    """The workers' variables are taken back as soon as they have started: with
    NUMBA_NUM_THREADS=1 left here, a compile after Numba's threads were launched fails."""
    import numba
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)  # launches Numba's threads, as a fit does
    before = dict(os.environ)
    with connect(workers=1):
        assert dict(os.environ) == before
        assert numba.njit(lambda x: 2 * x)(21) == 42
