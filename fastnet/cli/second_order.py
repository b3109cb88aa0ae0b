"""``fastnet train --optimizer sgd|lbfgs|hf`` and the second-order settings as flags.

The choice goes into the recipe as ``optimizer_name`` and the flags given as
``optimizer_settings`` (keyword arguments of ``fastnet.LBFGS`` or
``fastnet.HessianFree``); ``--l2`` and ``--early-stopping`` apply to every
optimizer.  SGD's own flags (``--eta``, ``--batch-size``, ...) are refused
next to ``--optimizer lbfgs`` or ``hf``, and a flag of one second-order method
next to the other.
"""
NAMES = ("sgd", "lbfgs", "hf")
SGD_ONLY = ("batch_size", "eta", "momentum", "nesterov", "l1", "dropout", "schedule")
SETTINGS = {  # flag (as a keyword) -> (type, help, the optimizers that take it)
    "iterations": (int, "iterations per epoch (L-BFGS: default 10; HF: Newton steps, default 5)",
                   ("lbfgs", "hf")),
    "memory": (int, "L-BFGS: curvature pairs kept (default 10)", ("lbfgs",)),
    "gtol": (float, "L-BFGS: stop once the largest gradient entry is below X (default 1e-6)",
             ("lbfgs",)),
    "ftol": (float, "L-BFGS: stop once the relative decrease is below X (default 1e-12)",
             ("lbfgs",)),
    "damping": (float, "HF: initial Levenberg-Marquardt damping lambda (default 0.05)", ("hf",)),
    "curvature_batch": (int, "HF: samples for the Gauss-Newton products of a step "
                             "(default 2000)", ("hf",)),
    "max_cg": (int, "HF: conjugate-gradient iterations per step at most (default 50)", ("hf",)),
    "cg_tolerance": (float, "HF: Martens' CG stopping tolerance (default 5e-4)", ("hf",)),
    "warm_start": (float, "HF: previous direction's weight in the next CG start "
                          "(default 0.95)", ("hf",)),
}


def add_flags(train):
    """Add --optimizer and the second-order settings to the ``train`` parser."""
    group = train.add_argument_group("second-order training (--optimizer lbfgs or hf)")
    group.add_argument("--optimizer", choices=NAMES,
                       help="sgd (default), lbfgs (full-batch L-BFGS) or hf (Hessian-free "
                            "Newton); see docs/second-order.md")
    for name, (kind, text, _) in SETTINGS.items():
        group.add_argument("--" + name.replace("_", "-"), type=kind, metavar="N" if kind is int
                           else "X", help=text)


def given(args):
    """The second-order flags given on the command line, as recipe keys."""
    return [name for name in ("optimizer", *SETTINGS) if getattr(args, name, None) is not None]


def overrides(args, parser):
    """Recipe overrides from the flags: optimizer_name and optimizer_settings."""
    name = args.optimizer or "sgd"
    settings = {key: getattr(args, key) for key in SETTINGS if getattr(args, key) is not None}
    foreign = [key for key in settings if name not in SETTINGS[key][2]]
    if foreign:
        parser.error(f"{_flags(foreign)} does not apply to --optimizer {name}; "
                     f"pass --optimizer {SETTINGS[foreign[0]][2][0]} or drop it")
    if name != "sgd":
        sgd_flags = [key for key in SGD_ONLY if getattr(args, key, None) is not None]
        if sgd_flags:
            parser.error(f"{_flags(sgd_flags)} set SGD's hyperparameters and do not apply to "
                         f"--optimizer {name}; drop them (see fastnet train --help)")
    if args.optimizer is None:
        return {}
    return {"optimizer_name": name, "optimizer_settings": settings}


def _flags(keys):
    return ", ".join("--" + key.replace("_", "-") for key in keys)
