"""Sweeps: many training runs as independent tasks on dask.distributed.

``fastnet.sweep(recipe, grid=..., seeds=...)`` (``run.sweep``) plans one run
per grid point and seed, trains each as a task into its own run folder and
collects one row per run; ``fastnet.tune`` (``tune.tune``) searches settings
by successive halving with the same tasks.  The package is ``sweeps`` so that
``fastnet.sweep`` stays the function.  Its modules, each one job:

    grid      settings as train flags, values and ranges, the grid's points, seeds
    keys      a run's key: a hash of its recipe and data path
    tasks     planning and training one run in its run folder; the folder lock
    storage   OUT/results.json and OUT/results.csv
    cluster   the connection to dask (a client, a scheduler, an embedded cluster)
    run       ``sweep``: submit the tasks, record each row as it finishes
    report    the sorted table and the chapter-3 plots of a finished sweep
    tune      ``tune``: asynchronous successive halving within a time budget
"""
