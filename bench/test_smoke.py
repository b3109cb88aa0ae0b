"""CI smoke of the bench harness: tiny workloads through the same code as the real runs.

    python -m pytest bench -q --benchmark-disable -m smoke

Nothing here uses the ``benchmark`` fixture, so it is skipped under
``--benchmark-only`` and never pollutes the benchmark tables.
"""

from __future__ import annotations

import json
import math

import pytest

from bench import compare, data
from bench.fits import FIT_TARGETS
from bench.peers import PEER_NAMES
from bench.timing import time_epoch
from bench.workloads import EPOCH_WORKLOADS, SEED, SPEED_TARGETS

pytestmark = pytest.mark.smoke

TINY = 300


@pytest.mark.parametrize("peer_name", PEER_NAMES)
def test_smoke_time_epoch(peer_name, mnist, make_peer):
    peer = make_peer(peer_name, (784, 30, 10), 10)
    X, y = mnist.X_train[:TINY], mnist.y_train[:TINY]
    peer.warm_up(X, y)
    timing = time_epoch(peer, peer.prepare(X, y), data.epoch_order(TINY, SEED), 2, data.N_TRAIN)
    assert len(timing.seconds) == 2 and all(math.isfinite(s) and s > 0 for s in timing.seconds)
    assert timing.n_timed == TINY and timing.n_images == data.N_TRAIN and timing.scaled
    assert 0.0 <= peer.accuracy(mnist.X_test[:500], mnist.y_test[:500]) <= 1.0


def test_smoke_compare_quick(tmp_path, capsys):
    path = tmp_path / "results.json"
    compare.main(["--quick", "--images", "500", "--peers", "fastnet,numpy_matrix,book_loop",
                  "--acc-peers", "numpy_matrix", "--skip", "jit,rss", "--json", str(path)])
    out = capsys.readouterr().out
    results = json.loads(path.read_text())
    assert len(results["epochs"]) == 3 * len(EPOCH_WORKLOADS)
    assert {r["peer"] for r in results["epochs"] if "median_seconds" in r} >= {"numpy_matrix", "book_loop"}
    assert len(results["targets"]) == len(SPEED_TARGETS) + 4 + len(FIT_TARGETS) + 1
    assert results["machine"]["cpu_model"] and results["machine"]["versions"]["numpy"]
    for workload in EPOCH_WORKLOADS:
        assert workload.label in out
    assert "scaled from 500 images" in out and "targets ('?'" in out


def test_smoke_threads(capsys, mnist):
    from bench import threads
    threads.main(["--images", "600", "--epochs", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(threads.WORKLOADS)
    assert all("1 thread" in line and "2 threads" in line and "x)" in line for line in lines)
    assert sum("Hogwild!" in line for line in lines) == sum(w[3] for w in threads.WORKLOADS)


def test_smoke_rss_probe():
    (run,) = compare.measure_rss(["numpy_matrix"], [784, 30, 10], 100)
    assert run["peak_rss_bytes"] >= run["rss_before_training_bytes"] >= run["train_set_bytes"]
    assert run["train_set_bytes"] <= compare.training_memory(run) < run["peak_rss_bytes"]


def test_rss_targets_count_the_data_and_what_training_adds():
    """The bound applies to the train set plus the growth while training; the
    whole process's peak (interpreter and libraries included) is shown beside it."""
    mib = 2**20
    run = {"peer": "fastnet", "train_set_bytes": 150 * mib, "model_bytes": 0,
           "rss_before_training_bytes": 350 * mib, "peak_rss_bytes": 390 * mib}
    rss = [t for t in compare.evaluate_targets({"rss": [run]}) if "RSS" in t["target"]]
    assert [t["verdict"] for t in rss] == ["PASS", "PASS"]  # 190 MiB < 1.3 x 150 < 2 x 150
    assert rss[1]["measured"] == "190 MiB of 195 (whole process 390 MiB)"
    run["peak_rss_bytes"] = 400 * mib
    assert [t["verdict"] for t in compare.evaluate_targets({"rss": [run]})
            if "RSS" in t["target"]] == ["PASS", "FAIL"]


def _epoch(peer, workload, seconds):
    return {"workload": workload.id, "peer": peer, "median_seconds": seconds}


def test_targets_pass_and_fail():
    w30, w100 = EPOCH_WORKLOADS[0], EPOCH_WORKLOADS[2]
    results = {"epochs": [
        _epoch("fastnet", w30, 0.05), _epoch("numpy_matrix", w30, 0.30), _epoch("torch", w30, 0.90),
        _epoch("fastnet", w100, 0.10), _epoch("numpy_matrix", w100, 0.45),
    ]}
    verdicts = [t["verdict"] for t in compare.evaluate_targets(results)]
    # 6x numpy: pass; 18x torch: fail; 4.5x numpy: pass; batch-100 workload and extras not run
    assert verdicts == ["PASS", "FAIL", "PASS"] + ["n/a"] * (5 + len(FIT_TARGETS) + 1)
    results["epochs"][1]["other_cores_busy"] = 1.0  # a neighbour's compile during the NumPy timing
    assert compare.evaluate_targets(results)[0]["verdict"] == "PASS?"


def test_fit_and_cold_start_targets():
    """Whole-fit ratios from the fits records, and the cold start from the JIT probe."""
    fit = lambda peer, seconds: {"workload": "100-b100", "peer": peer,  # noqa: E731
                                 "fit_seconds_per_epoch": seconds}
    results = {"fits": {"records": [fit("fastnet", 0.1), fit("numpy_matrix", 0.35)]},
               "jit": {"cold": {"overhead_seconds": 4.0}}}
    verdicts = {t["target"]: t["verdict"] for t in compare.evaluate_targets(results)}
    assert verdicts["fit() 100-b100: >= 3x numpy_matrix"] == "PASS"
    assert verdicts["fit() 100-b10: >= 4x numpy_matrix"] == "n/a"
    assert verdicts["cold start < 5 s"] == "PASS"
    results["fits"]["records"][1]["fit_seconds_per_epoch"] = 0.25
    results["jit"]["cold"]["overhead_seconds"] = 17.0
    verdicts = {t["target"]: t["verdict"] for t in compare.evaluate_targets(results)}
    assert verdicts["fit() 100-b100: >= 3x numpy_matrix"] == "FAIL"
    assert verdicts["cold start < 5 s"] == "FAIL"


def test_fit_rounds_alternate_the_peers_and_pair_the_speedups(mnist, monkeypatch):
    """Rounds run the peers in alternating order; a peer's speed-up is the
    median of the rounds' ratios, and the targets take it."""
    from bench import fits
    calls, walls = [], iter([1.0, 3.0, 4.0, 2.0, 1.0, 5.0])  # fastnet, numpy per call in order
    fake = lambda name: lambda workload, X, y, epochs: (calls.append(name),  # noqa: E731
                                                        (next(walls) * epochs, 0.5))[1]
    monkeypatch.setattr(fits, "_fastnet_fit", fake("fastnet"))
    monkeypatch.setattr(fits, "_peer_fit", lambda name, *rest: fake(name)(*rest))
    monkeypatch.setattr(fits, "gemm_rate", lambda: 1e11)
    workload = fits.FIT_WORKLOADS[0]
    out = fits.measure_fits(("fastnet", "numpy_matrix"), [workload], mnist, 2, log=lambda _: None,
                            rounds=3)
    assert calls == ["fastnet", "numpy_matrix", "numpy_matrix", "fastnet", "fastnet",
                     "numpy_matrix"]
    ours, theirs = out["records"]
    assert ours["fit_seconds_per_round"] == [1.0, 2.0, 1.0] and ours["fit_seconds_per_epoch"] == 1.0
    assert theirs["fit_seconds_per_round"] == [3.0, 4.0, 5.0]
    assert theirs["speedup"] == 3.0  # median of 3/1, 4/2, 5/1; the medians' ratio would be 4
    verdicts = {t["target"]: t["verdict"] for t in compare._fit_targets({"fits": out})}
    assert verdicts[f"fit() {workload.label}: >= 5x numpy_matrix"] == "FAIL"


def test_epoch_rounds_alternate_the_peers_and_pair_the_speedups(monkeypatch):
    """The epoch table's rounds run the peers in alternating order; a peer's
    speed-up is the median of the rounds' ratios, and the targets take it."""
    from bench.timing import EpochTiming
    calls, seconds = [], iter([1.0, 3.0, 4.0, 2.0, 1.0, 5.0])  # fastnet, numpy per call in order
    monkeypatch.setattr(compare, "_ready_peer", lambda name, workload, X, y: (name, None))
    monkeypatch.setattr(compare, "settle", lambda: None)
    monkeypatch.setattr(compare, "time_epoch", lambda peer, prepared, order, repeats, images: (
        calls.append((peer, repeats)), EpochTiming([next(seconds)], images, len(order)))[1])
    workload = SPEED_TARGETS[0].workload
    records = compare.measure_epochs(("fastnet", "numpy_matrix"), [workload], range(10), None, 3)
    assert calls == [("fastnet", 1), ("numpy_matrix", 1), ("numpy_matrix", 1), ("fastnet", 1),
                     ("fastnet", 1), ("numpy_matrix", 1)]
    ours, theirs = records
    assert ours["wall_seconds"] == [1.0, 2.0, 1.0] and ours["median_seconds"] == 1.0
    assert theirs["wall_seconds"] == [3.0, 4.0, 5.0] and theirs["rounds"] == 3
    assert theirs["speedup"] == 3.0  # median of 3/1, 4/2, 5/1; the medians' ratio would be 4
    assert compare.evaluate_targets({"epochs": records})[0]["measured"] == "3.0x"  # >= 5x: FAIL
    assert "3.0x" in compare.format_report({"epochs": records, "config": {"quick": False, "repeats": 3},
                                            "machine": {"cpu_model": "?", "cpus_usable": 2,
                                                        "load_average_start": [0.0]}})


def test_quick_runs_every_table_smaller():
    """--quick keeps every workload and peer (every ratio) with one round, fewer
    images and one epoch per fit; a flag given beside it wins."""
    quick, full = compare.parse_args(["--quick"]), compare.parse_args([])
    assert (quick.images, quick.repeats, quick.rounds, quick.epochs, quick.fit_images) == (5000, 1, 1, 1, 5000)
    assert (quick.ch3_epochs, quick.acc_max_epochs, quick.skip) == (1, 1, set())
    assert quick.workloads == full.workloads == list(compare.FIT_WORKLOADS)
    assert quick.peers == full.peers == list(PEER_NAMES) and quick.fit_peers == full.fit_peers
    assert (full.images, full.repeats, full.epochs, full.fit_images) == (data.N_TRAIN, 3, 3, data.N_TRAIN)
    mine = compare.parse_args(["--quick", "--repeats", "2", "--fit-images", "1000", "--epochs", "2"])
    assert (mine.images, mine.repeats, mine.epochs, mine.fit_images) == (5000, 2, 2, 1000)
    for flag in ("--fit-images", "--repeats", "--epochs"):
        with pytest.raises(SystemExit):
            compare.parse_args(["--quick", flag, "0"])


def test_compare_rejects_bad_options():
    with pytest.raises(SystemExit):
        compare.parse_args(["--skip", "everything"])
    with pytest.raises(SystemExit):
        compare.parse_args(["--peers", "numpy_matrix,keras"])
    with pytest.raises(SystemExit):
        compare.parse_args(["--rounds", "0"])


def test_smoke_blas(capsys):
    from bench import blas
    blas.main(["--repeats", "2"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 * len(blas.PRODUCTS)
    assert all("fastnet gemm" in line and "NumPy matmul" in line for line in lines)
    assert any("(bound: scipy)" in line for line in lines)


def test_smoke_sparse(capsys):
    """The sparse workload at a tiny size: every contender runs or says why it
    was skipped, and fastnet learns the teacher's signal (chance is 1/CLASSES)."""
    from bench import sparse
    results = sparse.main(["--n", "1500", "--d", "3000", "--density", "0.02", "--epochs", "3"])
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("| ") for line in lines) == 1 + len(sparse.CONTENDERS)
    ran = {r["contender"]: r for r in results}
    assert "fastnet" in ran and "sklearn" in ran
    assert ran["fastnet"]["accuracy"] > 1.5 / sparse.CLASSES
    skipped = [line for line in lines if "skipped" in line]
    assert len(ran) + len(skipped) == len(sparse.CONTENDERS)


def test_smoke_optimizers(capsys):
    """Every optimizer on the tabular problem at the quick size: one row each,
    and each learns above chance (4 classes)."""
    from bench import optimizers
    results = optimizers.main(["--quick", "--epochs", "2", "--problems", "tabular"])
    lines = capsys.readouterr().out.splitlines()
    assert [r["optimizer"] for r in results] == list(optimizers.SETTINGS)
    assert sum(line.startswith("| tabular |") for line in lines) == len(optimizers.SETTINGS)
    assert all(r["accuracy"] > 0.35 and r["seconds"] > 0 for r in results)
    with pytest.raises(SystemExit):
        optimizers.main(["--problems", "imagenet"])
