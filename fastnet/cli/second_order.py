"""``fastnet train --optimizer sgd|adam|adamw|lbfgs|hf`` and the second-order settings as flags.

The choice goes into the recipe as ``optimizer_name`` and, for L-BFGS and
Hessian-free, the flags given as ``optimizer_settings`` (keyword arguments of
``fastnet.LBFGS`` or ``fastnet.HessianFree``); ``--l2`` and
``--early-stopping`` apply to every optimizer.  The mini-batch flags
(``--eta``, ``--batch-size``, ...) are refused next to ``--optimizer lbfgs``
or ``hf``, a flag of one method next to another (``--momentum`` with adam,
``--beta1`` with sgd, ``--weight-decay`` with adam, ``--l2`` with adamw), and ``--optimizer adam``
or ``adamw`` without ``--eta`` trains at Adam's eta 0.001, not the preset's.
"""
from ..optim import Adam
from ..recipe import FIRST_ORDER, OPTIMIZERS

NAMES = OPTIMIZERS
MINI_BATCH = ("batch_size", "eta", "dropout", "schedule", "clip_norm")  # every FIRST_ORDER one's
OWN = {"momentum": ("sgd",), "nesterov": ("sgd",), "l1": ("sgd",), "beta1": ("adam", "adamw"),
       "beta2": ("adam", "adamw"), "weight_decay": ("adamw",)}  # recipe flags of some only
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
    group = train.add_argument_group("optimizer, and second-order training (--optimizer lbfgs or hf)")
    group.add_argument("--optimizer", choices=NAMES,
                       help="sgd (default), adam, adamw (--eta is their learning rate, default "
                            "0.001; see docs/optimizers.md), lbfgs (full-batch L-BFGS) or hf "
                            "(Hessian-free Newton; see docs/second-order.md)")
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
    if name not in FIRST_ORDER:
        sgd_flags = [key for key in (*MINI_BATCH, *OWN) if getattr(args, key, None) is not None]
        if sgd_flags:
            parser.error(f"{_flags(sgd_flags)} set SGD's hyperparameters and do not apply to "
                         f"--optimizer {name}; drop them (see fastnet train --help)")
    others = [key for key, names in OWN.items() if name not in names and getattr(args, key, None) is not None]
    if others:
        parser.error(f"{_flags(others)} does not apply to --optimizer {name}; pass --optimizer "
                     f"{OWN[others[0]][0]} or drop it")
    if name == "adamw" and getattr(args, "l2", None) is not None:
        parser.error("--l2 does not apply to --optimizer adamw, whose weight decay is decoupled "
                     "from the gradient; pass --weight-decay X (the weights shrink by eta*X per "
                     "step), or --optimizer adam or sgd with --l2")
    if args.optimizer is None:
        return {}
    if name in FIRST_ORDER:
        return {"optimizer_name": name, **({"eta": Adam().eta} if name != "sgd" and args.eta is None
                                           else {})}
    return {"optimizer_name": name, "optimizer_settings": settings}


def _flags(keys):
    return ", ".join("--" + key.replace("_", "-") for key in keys)
