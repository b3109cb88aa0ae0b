"""fastnet's benchmark suite: pytest-benchmark suites, peer trainers and a comparison script.

Layout:
    data.py             the book's MNIST split as float32 arrays (fastnet.load_mnist when present)
    workloads.py        the timed workloads and the issue's speed targets
    timing.py           perf_counter timing of one epoch, shared by the suites and the script
    peers/              one trainer per file behind a common interface (fastnet included)
    probe.py            subprocess probes: cold/warm JIT start-up and peak RSS
    compare.py          `python -m bench.compare`: every workload, one table, raw JSON
    test_bench_epoch.py `python -m pytest bench --benchmark-only`
    test_peers.py       every peer learns and the hand-written peers agree with each other
    test_smoke.py       seconds-long CI smoke of the harness (`-m smoke`)

Nothing here imports numpy at package import time, so `python -m bench.probe`
can time `import fastnet` from a clean start.
"""
