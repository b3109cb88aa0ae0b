"""Run every benchmark workload for fastnet and each peer in one process; print and save.

    python -m bench.compare                   # full run (several minutes on 2 cores)
    python -m bench.compare --quick           # every table and ratio in under 2 minutes, indicative
    python -m bench.compare --json results.json --ch3-epochs 30
    python -m bench.compare --report results.json   # print an earlier run's table again
    python -m bench.compare --only-fits --workloads 800-b32,1000x2-b32-noisy --epochs 2
                                              # just the whole-fit table, a few workloads
    python -m bench.compare --only-fits --rounds 3
                                              # the whole-fit targets from paired rounds

Prints seconds per epoch (median of ``--repeats`` paired rounds, the peers
alternated, scaled to 50,000 images where a peer or ``--images`` times fewer),
fastnet's speed-up over each peer (the median of the rounds' speed-ups),
the start-up costs of the JIT (cold and warm cache, in fresh subprocesses),
the time to 95% test accuracy, the book's chapter-3 run and the peak RSS while
training, then the issue's targets with PASS / FAIL. ``--json`` writes the raw
numbers with the machine they came from. The whole-fit table (``bench/fits.py``:
every workload of the speed issue, dense inputs included, preparation
included, with each workload's roofline) comes first; ``--workloads`` picks
its rows, ``--epochs`` its epochs per fit, ``--rounds`` how many times each
peer's fit runs (the peers alternated; the speed-ups and the targets are the
median of the rounds' speed-ups, which a noisy machine moves less than any
single fit), ``--fit-images`` caps its images, ``--only-fits`` skips the rest.
``--quick`` (under 2 minutes on 2 cores) runs every table with one round,
5,000 images per epoch or fit and one epoch per fit: every ratio, indicative only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import numpy as np

if not __package__:  # `python bench/compare.py`: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench import data  # noqa: E402
from bench.fits import (COLD_START_SECONDS, FIT_PEERS, FIT_TARGETS, FIT_WORKLOADS,  # noqa: E402
                        format_fits, measure_fits)
from bench.peers import PEER_NAMES, Peer, PeerUnavailable, load_peer  # noqa: E402
from bench.timing import CpuMeter, settle, time_epoch  # noqa: E402
from bench.workloads import (  # noqa: E402
    CH3_SECONDS, EPOCH_WORKLOADS, ETA, RSS_FACTOR, RSS_FACTOR_FIT, SEED, SPEED_TARGETS, TIME_TO_95_SECONDS, Workload,
)

EXTRAS = ("jit", "acc", "ch3", "rss")
PROBE_TIMEOUT_S = 900
BUSY_CORES = 0.2  # warn when other processes used more than this many cores on average


# ---------------------------------------------------------------------------- machine


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=data.REPO_ROOT,
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _versions() -> dict:
    versions = {"python": platform.python_version()}
    for dist in ("numpy", "scipy", "numba", "llvmlite", "torch", "scikit-learn"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    try:
        import fastnet

        versions["fastnet"] = getattr(fastnet, "__version__", None)
    except ImportError:
        versions["fastnet"] = None
    return versions


def _lanes() -> str:
    """fastnet's vector width on this CPU and its BLAS (chosen at import)."""
    try:
        from fastnet.kernels.blas import describe as blas
        from fastnet.kernels.lanes import describe
    except ImportError as exc:
        return f"unknown ({exc})"
    return f"{describe()}, BLAS: {blas()}"


def machine_info() -> dict:
    """CPU model, cores, load, versions and commit: where the numbers came from."""
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "load_average_start": os.getloadavg(),
        "thread_settings": {k: v for k, v in os.environ.items()
                            if k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                     "NUMBA_NUM_THREADS", "NUMBA_THREADING_LAYER")},
        "versions": _versions(),
        "git_commit": _git_commit(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


# ---------------------------------------------------------------------------- measurements


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _ready_peer(name: str, workload: Workload, X, y) -> tuple[Peer, object]:
    """A warmed-up peer for ``workload`` and its prepared data; PeerUnavailable if it cannot run."""
    peer = load_peer(name)(workload.sizes, batch_size=workload.batch_size, eta=workload.eta, seed=SEED)
    peer.warm_up(X, y)
    return peer, peer.prepare(X, y)


def measure_epochs(peers, workloads, X, y, rounds: int) -> list[dict]:
    """One record per (workload, peer): seconds per 50,000-image epoch (scaled from len(X)),
    from ``rounds`` paired rounds: each round times one epoch of every peer, the
    peers in alternating order (as ``fits.measure_fits`` does), so that a slow
    phase of the machine falls on all of them alike.

    ``median_seconds`` is the epoch alone: the peer's own training-only clock where
    it has one (fastnet's ``epoch_seconds``; its ``fit`` converts X on every call),
    else the wall time of ``train_epoch``; ``wall_median_seconds`` is always the wall.
    A peer's record also has ``speedup``: the median of its round-by-round
    seconds over fastnet's (the figure the targets use).
    """
    order = data.epoch_order(len(X), SEED)
    records = []
    for workload in workloads:
        ready, timings, busy, skipped = {}, {}, {}, {}
        for name in peers:
            try:
                ready[name] = _ready_peer(name, workload, X, y)
            except PeerUnavailable as exc:
                skipped[name] = str(exc)
        for round_ in range(rounds):
            for name in ready if round_ % 2 == 0 else list(ready)[::-1]:
                peer, prepared = ready[name]
                settle()
                meter = CpuMeter()
                timing = time_epoch(peer, prepared, order, 1, data.N_TRAIN)
                if name in timings:
                    timings[name].seconds += timing.seconds
                    timings[name].internal_seconds += timing.internal_seconds
                else:
                    timings[name] = timing
                other = meter.other_cores()
                busy[name] = None if other is None else max(other, busy.get(name) or 0.0)
                _log(f"  {workload.label:<24} {name:<13} {timing.epoch_median:8.3f} s/epoch"
                     + ("" if other is None else f"  (other processes: {other:.2f} cores)"))
        ours = timings.get("fastnet")
        for name in peers:
            record = {"workload": workload.id, "sizes": list(workload.sizes),
                      "batch_size": workload.batch_size, "eta": workload.eta, "peer": name,
                      "rounds": rounds}
            if name in skipped:
                records.append({**record, "skipped": skipped[name]})
                continue
            timing = timings[name]
            records.append({**record, "median_seconds": timing.epoch_median,
                            "min_seconds": min(timing.internal_seconds or timing.seconds),
                            "wall_median_seconds": timing.median, "wall_seconds": timing.seconds,
                            "internal_seconds": timing.internal_seconds or None,
                            "images_timed": timing.n_timed, "images_per_epoch": timing.n_images,
                            "other_cores_busy": busy[name]})
            if name != "fastnet" and ours is not None:
                theirs = np.array(timing.internal_seconds or timing.seconds)
                records[-1]["speedup"] = float(np.median(theirs / np.array(ours.internal_seconds or ours.seconds)))
    return records


def _run_probe(args: list[str], env: dict | None = None) -> dict:
    """Run ``python -m bench.probe ARGS`` from the repository root; its JSON or an error."""
    try:
        out = subprocess.run([sys.executable, "-m", "bench.probe", *args], cwd=data.REPO_ROOT,
                             env={**os.environ, **(env or {})}, capture_output=True, text=True,
                             timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"error": f"probe {args} timed out after {PROBE_TIMEOUT_S} s"}
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["exit %d" % out.returncode])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_jit() -> dict:
    """Cold start (empty NUMBA_CACHE_DIR) then warm start (same cache), fresh processes each."""
    with tempfile.TemporaryDirectory(prefix="fastnet-numba-cache-") as cache:
        runs = {}
        for label in ("cold", "warm"):
            run = _run_probe(["jit"], {"NUMBA_CACHE_DIR": cache})
            if "error" not in run:  # start-up overhead: what the first call costs beyond a warm one
                run["overhead_seconds"] = (run["import_seconds"] + run["first_fit_seconds"]
                                           - run["repeat_fit_seconds"])
            runs[label] = run
            _log(f"  jit {label}: {run}")
    if "error" not in runs["cold"] and "error" not in runs["warm"]:
        runs["compile_seconds"] = runs["cold"]["overhead_seconds"] - runs["warm"]["overhead_seconds"]
    return runs


def measure_time_to_accuracy(peers, sizes, eta, batch_size, max_epochs, target, mnist, n) -> list[dict]:
    """Per peer: training seconds and epochs until the test accuracy first reaches ``target``.

    Seconds of training are the peer's own epoch clock where it has one (as in
    ``measure_epochs``); evaluating the test set after each epoch is not counted.
    """
    X, y = mnist.X_train[:n], mnist.y_train[:n]
    results = []
    for name in peers:
        record = {"peer": name, "sizes": list(sizes), "eta": eta, "batch_size": batch_size,
                  "target_accuracy": target, "images": n}
        try:
            peer, prepared = _ready_peer(name, Workload(tuple(sizes), batch_size, eta), X, y)
        except PeerUnavailable as exc:
            results.append({**record, "skipped": str(exc)})
            continue
        meter = CpuMeter()
        epochs = []
        for epoch in range(max_epochs):
            start = time.perf_counter()
            peer.train_epoch(prepared, data.epoch_order(n, SEED, epoch))
            wall = time.perf_counter() - start
            epochs.append({"seconds": peer.last_internal_seconds or wall, "wall_seconds": wall,
                           "test_accuracy": peer.accuracy(mnist.X_test, mnist.y_test)})
            if epochs[-1]["test_accuracy"] >= target:
                break
        reached = epochs[-1]["test_accuracy"] >= target
        results.append({**record, "per_epoch": epochs, "reached": reached, "epochs": len(epochs),
                        "seconds": sum(e["seconds"] for e in epochs) if reached else None,
                        "other_cores_busy": meter.other_cores()})
        _log(f"  time to {target:.0%}: {name} {results[-1]['seconds']} s in {len(epochs)} epochs")
    return results


def measure_ch3(mnist, n: int, epochs: int, eta: float, l2: float) -> dict:
    """The book's chapter-3 run in fastnet: [784,100,10], batch 10, L2; time and test accuracy."""
    record = {"sizes": [784, 100, 10], "batch_size": 10, "eta": eta, "l2": l2, "epochs": epochs,
              "images": n, "cost": "log_likelihood", "output": "softmax"}
    X, y = mnist.X_train[:n], mnist.y_train[:n]
    try:
        peer, _ = _ready_peer("fastnet", Workload((784, 100, 10), 10, eta), X, y)
    except PeerUnavailable as exc:
        return {**record, "skipped": str(exc)}
    meter = CpuMeter()
    start = time.perf_counter()
    history = peer.net.fit(X, y, epochs=epochs, batch_size=10, eta=eta, l2=l2, monitor=False)
    record["wall_seconds"] = time.perf_counter() - start
    record["training_seconds"] = float(sum(history["epoch_seconds"]))
    record["other_cores_busy"] = meter.other_cores()
    record["test_accuracy"] = peer.accuracy(mnist.X_test, mnist.y_test)
    _log(f"  ch3: {record['wall_seconds']:.2f} s, test accuracy {record['test_accuracy']:.4f}")
    return record


def measure_rss(peers, sizes, batch_size: int) -> list[dict]:
    """Peak RSS while each peer trains one epoch, each in its own fresh process."""
    results = []
    for name in peers:
        run = _run_probe(["rss", "--peer", name, "--sizes", ",".join(map(str, sizes)),
                          "--batch-size", str(batch_size)])
        results.append({"peer": name, **run})
        _log(f"  rss {name}: {run}")
    return results


# ---------------------------------------------------------------------------- targets


def training_memory(r: dict) -> int:
    """Bytes of the data and of what training adds to it: the float32 train set
    plus the peak RSS while training minus the RSS just before.  The whole
    process's peak also holds the interpreter with the peer's libraries (144 MiB
    for NumPy, Numba and LLVM) and whatever loading the data left behind, which
    no bound relative to the data could cover."""
    return r["train_set_bytes"] + r["peak_rss_bytes"] - r["rss_before_training_bytes"]


def _record(records, workload_id: str, peer: str) -> dict:
    return next((r for r in records if r["workload"] == workload_id and r["peer"] == peer), {})


def _median(records, workload_id: str, peer: str) -> float | None:
    return _record(records, workload_id, peer).get("median_seconds")


def _noisy(*records: dict) -> bool:
    """Whether other processes took more than BUSY_CORES cores while any of these ran."""
    return any((r.get("other_cores_busy") or 0) > BUSY_CORES for r in records)


def _verdict(ok: bool | None, noisy: bool = False) -> str:
    """PASS / FAIL, with a question mark when the machine was busy; n/a when not measured."""
    return "n/a" if ok is None else ("PASS" if ok else "FAIL") + ("?" if noisy else "")


def evaluate_targets(results: dict) -> list[dict]:
    """The issue's targets, each with the measured value and PASS / FAIL / n/a."""
    targets = []
    records = results.get("epochs", [])
    for t in SPEED_TARGETS:
        ours, theirs = _record(records, t.workload.id, "fastnet"), _record(records, t.workload.id, t.peer)
        ratio = theirs["median_seconds"] / ours["median_seconds"] \
            if "median_seconds" in ours and "median_seconds" in theirs else None
        ratio = theirs.get("speedup", ratio)  # paired rounds where measured
        targets.append({"target": f"{t.workload.label}: >= {t.factor:g}x {t.peer}",
                        "measured": None if ratio is None else f"{ratio:.1f}x",
                        "verdict": _verdict(None if ratio is None else ratio >= t.factor,
                                            _noisy(ours, theirs))})
    fastnet_acc = [r for r in results.get("time_to_accuracy", []) if r["peer"] == "fastnet"]
    if fastnet_acc and "skipped" not in fastnet_acc[0]:
        r = fastnet_acc[0]
        ok = r["reached"] and r["seconds"] < TIME_TO_95_SECONDS
        measured = f"{r['seconds']:.2f} s, {r['epochs']} epochs" if r["reached"] else \
            f"not reached in {r['epochs']} epochs ({r['per_epoch'][-1]['test_accuracy']:.4f})"
    else:
        ok, measured = None, None
    targets.append({"target": f"95% test accuracy in < {TIME_TO_95_SECONDS:g} s of training",
                    "measured": measured, "verdict": _verdict(ok, _noisy(*fastnet_acc))})
    ch3 = results.get("ch3", {})
    ok = None if "training_seconds" not in ch3 else ch3["training_seconds"] < CH3_SECONDS
    targets.append({"target": f"ch3 config ({ch3.get('epochs', '?')} epochs) in < {CH3_SECONDS:g} s",
                    "measured": None if ok is None else
                    f"{ch3['training_seconds']:.1f} s, {ch3['test_accuracy']:.2%}",
                    "verdict": _verdict(ok, _noisy(ch3))})
    rss = [r for r in results.get("rss", []) if r["peer"] == "fastnet" and "peak_rss_bytes" in r]
    for factor in (RSS_FACTOR, RSS_FACTOR_FIT):
        if rss:
            r = rss[0]
            bound = factor * (r["train_set_bytes"] + r["model_bytes"])
            ok = training_memory(r) < bound
            measured = (f"{training_memory(r) / 2**20:.0f} MiB of {bound / 2**20:.0f} (whole "
                        f"process {r['peak_rss_bytes'] / 2**20:.0f} MiB)")
        else:
            ok, measured = None, None
        targets.append({"target": f"train set + RSS added while training < {factor:g} x "
                                  "(float32 train set + model)",
                        "measured": measured, "verdict": _verdict(ok)})
    return targets + _fit_targets(results)


def _fit_targets(results: dict) -> list[dict]:
    """The whole-fit speed targets (``fits.FIT_TARGETS``) and the cold start."""
    targets = []
    records = results.get("fits", {}).get("records", [])
    for workload, peer, factor in FIT_TARGETS:
        ours, theirs = _record(records, workload, "fastnet"), _record(records, workload, peer)
        seconds = "fit_seconds_per_epoch"
        ratio = theirs[seconds] / ours[seconds] if seconds in ours and seconds in theirs else None
        ratio = theirs.get("speedup", ratio)  # paired rounds where measured
        targets.append({"target": f"fit() {ours.get('label', workload)}: >= {factor:g}x {peer}",
                        "measured": None if ratio is None else f"{ratio:.2f}x",
                        "verdict": _verdict(None if ratio is None else ratio >= factor)})
    cold = results.get("jit", {}).get("cold", {})
    total = cold.get("overhead_seconds")
    targets.append({"target": f"cold start < {COLD_START_SECONDS:g} s",
                    "measured": None if total is None else f"{total:.1f} s",
                    "verdict": _verdict(None if total is None else total < COLD_START_SECONDS)})
    return targets


# ---------------------------------------------------------------------------- report


def format_report(results: dict) -> str:
    """The human-readable table: s/epoch and speed-ups per workload, extras, targets."""
    cfg, machine = results["config"], results["machine"]
    lines = [
        f"fastnet bench{' (QUICK: indicative only)' if cfg['quick'] else ''}: one epoch = "
        f"{data.N_TRAIN:,} images, float32, eta {ETA}, median of {cfg['repeats']} paired rounds "
        "(the peers alternated; speed-ups the median of each round's)",
        f"machine: {machine['cpu_model']}, {machine['cpus_usable']} usable cores; load average "
        f"{machine['load_average_start'][0]:.2f} at start, {machine.get('load_average_end', [0])[0]:.2f} at end",
    ]
    busy = machine.get("other_cores_busy")
    if busy is not None:
        lines.append(f"other processes kept {busy:.2f} of {machine['cpus_usable']} cores busy during the run")
        if busy > BUSY_CORES:
            lines.append("WARNING: the machine was not quiet; multi-threaded peers (BLAS, PyTorch) slow "
                         "down many-fold when cores are shared: re-measure on a quiet machine")
    if "vector_width" in machine:
        lines.append(f"fastnet kernels: {machine['vector_width']}")
    if results.get("fits"):
        lines += format_fits(results["fits"])
    if not results.get("epochs"):
        return "\n".join(lines + _format_targets(results))
    lines += ["", f"{'workload':<24} {'peer':<13} {'s/epoch':>9}  fastnet speed-up"]
    records = results.get("epochs", [])
    for workload in dict.fromkeys(r["workload"] for r in records):
        rows = [r for r in records if r["workload"] == workload]
        ours = _median(records, workload, "fastnet")
        for i, r in enumerate(rows):
            head = f"{Workload(tuple(r['sizes']), r['batch_size']).label if i == 0 else '':<24} {r['peer']:<13}"
            if "skipped" in r:
                lines.append(f"{head} {'-':>9}  skipped: {r['skipped']}")
                continue
            notes = []
            if r["images_timed"] != data.N_TRAIN:
                notes.append(f"scaled from {r['images_timed']:,} images")
            if (r.get("other_cores_busy") or 0) > BUSY_CORES:
                notes.append(f"NOISY: other processes used {r['other_cores_busy']:.1f} cores")
            if r["internal_seconds"]:
                notes.append(f"epoch_seconds; whole fit() call {r['wall_median_seconds']:.3f}")
            if r["peer"] == "fastnet":
                speed = "-"
            else:
                speed = f"{r.get('speedup', r['median_seconds'] / ours):.1f}x" if ours else "n/a"
            note = f"  ({'; '.join(notes)})" if notes else ""
            lines.append(f"{head} {r['median_seconds']:>9.3f}  {speed}{note}")
    lines += _format_extras(results)
    return "\n".join(lines + _format_targets(results))


def _format_targets(results: dict) -> list[str]:
    if not results.get("targets"):
        return []
    lines = ["", "targets ('?': other processes were busy, re-measure; n/a: not measured):"]
    for t in results["targets"]:
        lines.append(f"  {t['verdict']:<5} {t['target']:<68} {t['measured'] or ''}")
    return lines


def _format_extras(results: dict) -> list[str]:
    lines = []
    jit = results.get("jit")
    if jit:
        lines.append("")
        if "compile_seconds" in jit:
            c, w = jit["cold"], jit["warm"]
            lines.append(f"JIT: cold start {c['overhead_seconds']:.2f} s (import {c['import_seconds']:.2f} "
                         f"+ first fit {c['first_fit_seconds']:.2f} - warm fit {c['repeat_fit_seconds']:.3f}); "
                         f"warm start {w['overhead_seconds']:.2f} s (import {w['import_seconds']:.2f} + first "
                         f"fit {w['first_fit_seconds']:.2f}); compile = {jit['compile_seconds']:.2f} s")
        else:
            lines.append(f"JIT: {jit['cold'].get('error') or jit['warm'].get('error')}")
    for r in results.get("time_to_accuracy", []):
        head = f"time to {r['target_accuracy']:.0%} test accuracy, {r['peer']:<13}"
        if "skipped" in r:
            lines.append(f"{head}: skipped: {r['skipped']}")
        elif r["reached"]:
            lines.append(f"{head}: {r['seconds']:.2f} s in {r['epochs']} epoch(s) "
                         f"({r['sizes']}, eta {r['eta']}, batch {r['batch_size']})")
        else:
            lines.append(f"{head}: not reached in {r['epochs']} epoch(s), "
                         f"{r['per_epoch'][-1]['test_accuracy']:.4f}")
    ch3 = results.get("ch3")
    if ch3:
        head = f"ch3 [784,100,10] eta {ch3['eta']} l2 {ch3['l2']} batch 10, {ch3['epochs']} epochs"
        lines.append(f"{head}: skipped: {ch3['skipped']}" if "skipped" in ch3 else
                     f"{head}: {ch3['training_seconds']:.1f} s training ({ch3['wall_seconds']:.1f} s fit wall), "
                     f"test accuracy {ch3['test_accuracy']:.2%}")
    for r in results.get("rss", []):
        if "peak_rss_bytes" in r:
            mib = {k: v / 2**20 for k, v in r.items() if k.endswith("_bytes") and v is not None}
            added = mib["peak_rss_bytes"] - mib["rss_before_training_bytes"]
            lines.append(f"peak RSS while training, {r['peer']:<13}: {mib['peak_rss_bytes']:.0f} MiB "
                         f"(after imports {mib.get('rss_after_imports_bytes', 0):.0f}, before training "
                         f"{mib['rss_before_training_bytes']:.0f}, added while training {added:.0f}; "
                         f"float32 train set {mib['train_set_bytes']:.0f} + model "
                         f"{mib['model_bytes']:.1f} MiB)")
        else:
            lines.append(f"peak RSS, {r['peer']}: {r.get('error')}")
    return lines


# ---------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="every table and ratio in under 2 minutes, indicative only: --images 5000 "
                             "--repeats 1 --ch3-epochs 1 --acc-max-epochs 1 --epochs 1 --fit-images 5000")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the raw numbers here")
    parser.add_argument("--report", type=Path, metavar="PATH",
                        help="measure nothing: print the table of an earlier --json file")
    parser.add_argument("--peers", default=",".join(PEER_NAMES), help="comma-separated peers")
    parser.add_argument("--images", type=int, help=f"images per timed epoch (default {data.N_TRAIN})")
    parser.add_argument("--repeats", type=int,
                        help="paired rounds of the epoch table, one epoch of every peer each, the "
                             "peers alternated; the speed-ups are the median of the rounds' (default 3)")
    parser.add_argument("--ch3-epochs", type=int, help="epochs of the chapter-3 run (default 60)")
    parser.add_argument("--ch3-eta", type=float, default=0.1)
    parser.add_argument("--acc-sizes", default="784,100,10", help="network for the time to 95%%")
    parser.add_argument("--acc-eta", type=float, default=0.5)
    parser.add_argument("--acc-batch-size", type=int, default=10)
    parser.add_argument("--acc-max-epochs", type=int, help="give up after this many (default 10)")
    parser.add_argument("--acc-peers", default="fastnet,numpy_matrix")
    parser.add_argument("--rss-peers", default="fastnet,numpy_matrix")
    parser.add_argument("--workloads", default="all",
                        help="whole-fit workloads, comma-separated, 'all' or 'none': "
                        + ",".join(w.id for w in FIT_WORKLOADS))
    parser.add_argument("--epochs", type=int, help="epochs per whole fit (default 3)")
    parser.add_argument("--fit-images", type=int, metavar="N",
                        help="at most N images per whole fit (default: each workload's own)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="whole fits per workload and peer, the peers alternated; the "
                             "speed-ups are the median of the rounds' (default 1)")
    parser.add_argument("--fit-peers", default=",".join(FIT_PEERS))
    parser.add_argument("--only-fits", action="store_true",
                        help="measure only the whole-fit table (about 2 minutes for all workloads)")
    parser.add_argument("--skip", default="", help=f"comma-separated extras to skip: {','.join(EXTRAS)}")
    args = parser.parse_args(argv)
    quick = {"images": 5000, "repeats": 1, "ch3_epochs": 1, "acc_max_epochs": 1, "epochs": 1,
             "fit_images": 5000}
    full = {"images": data.N_TRAIN, "repeats": 3, "ch3_epochs": 60, "acc_max_epochs": 10, "epochs": 3,
            "fit_images": data.N_TRAIN}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.skip = {s for s in args.skip.split(",") if s}
    if args.skip - set(EXTRAS):
        parser.error(f"--skip takes {','.join(EXTRAS)}, not {','.join(sorted(args.skip - set(EXTRAS)))}")
    known = {w.id: w for w in FIT_WORKLOADS}
    chosen = {"all": list(known), "none": []}.get(args.workloads, args.workloads.split(","))
    if set(chosen) - set(known):
        parser.error(f"--workloads: unknown {sorted(set(chosen) - set(known))}; choose from "
                     f"{','.join(known)}, all or none")
    args.workloads = [known[c] for c in chosen]
    for key in ("peers", "acc_peers", "rss_peers", "fit_peers"):
        names = [s for s in getattr(args, key).split(",") if s]
        unknown = set(names) - set(PEER_NAMES)
        if unknown:
            parser.error(f"--{key.replace('_', '-')}: unknown peer(s) {sorted(unknown)}; "
                         f"choose from {','.join(PEER_NAMES)}")
        setattr(args, key, names)
    if not 0 < args.images <= data.N_TRAIN:
        parser.error(f"--images must be between 1 and {data.N_TRAIN}, got {args.images}")
    for key in ("rounds", "repeats", "epochs", "fit_images"):
        if getattr(args, key) < 1:
            parser.error(f"--{key.replace('_', '-')} must be 1 or more, got {getattr(args, key)}")
    return args


def run(args: argparse.Namespace) -> dict:
    """Every measurement selected by ``args``, as one JSON-ready dict."""
    results = {"machine": machine_info(),
               "config": {"quick": args.quick, "images": args.images, "repeats": args.repeats,
                          "peers": args.peers, "skip": sorted(args.skip)}}
    meter = CpuMeter()
    mnist = data.load()
    results["machine"]["vector_width"] = _lanes()
    if args.workloads:
        _log("whole fit() per epoch:")
        results["fits"] = measure_fits(args.fit_peers, args.workloads, mnist, args.epochs, _log,
                                       args.rounds, args.fit_images)
    if args.only_fits:
        results["machine"]["load_average_end"] = os.getloadavg()
        results["machine"]["other_cores_busy"] = meter.other_cores()
        results["targets"] = _fit_targets(results)
        return results
    X, y = mnist.X_train[: args.images], mnist.y_train[: args.images]
    _log("epoch timings:")
    results["epochs"] = measure_epochs(args.peers, EPOCH_WORKLOADS, X, y, args.repeats)
    if "jit" not in args.skip:
        _log("JIT start-up:")
        results["jit"] = measure_jit()
    if "acc" not in args.skip:
        sizes = [int(s) for s in args.acc_sizes.split(",")]
        results["time_to_accuracy"] = measure_time_to_accuracy(
            args.acc_peers, sizes, args.acc_eta, args.acc_batch_size, args.acc_max_epochs, 0.95,
            mnist, args.images)
    if "ch3" not in args.skip:
        results["ch3"] = measure_ch3(mnist, args.images, args.ch3_epochs, args.ch3_eta, 5.0)
    if "rss" not in args.skip:
        results["rss"] = measure_rss(args.rss_peers, [784, 100, 10], 10)
    results["machine"]["load_average_end"] = os.getloadavg()
    results["machine"]["other_cores_busy"] = meter.other_cores()
    results["targets"] = evaluate_targets(results)
    return results


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.report:
        results = json.loads(args.report.read_text())
        results["targets"] = evaluate_targets(results)
        print(format_report(results))
        return results
    results = run(args)
    print(format_report(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nraw numbers: {args.json}")
    return results


if __name__ == "__main__":
    main()
