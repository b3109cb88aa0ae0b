"""Second-order optimizers: L-BFGS and Hessian-free Newton (Martens 2010).

Both are full-batch methods that plug into the same loop as SGD
(``net.fit(X, y, epochs, optimizer=fastnet.LBFGS())``).  The objective is the
mean cost over the training data (weighted with ``sample_weight``: Σ w_i·C_i /
Σ w_i) plus the book's L2 term l2/(2n)·Σw²
(biases are not regularised), the same number ``training_cost`` reports.

One *epoch* of a second-order method is a fixed number of its own
iterations (``iterations``, an "epoch-equivalent"), after which the Trainer
measures, records and checkpoints as it does for SGD:

- ``LBFGS``: one call of ``scipy.optimize.minimize(method="L-BFGS-B")`` with
  ``maxiter=iterations``, started from the current weights.  The curvature
  memory (the last ``memory`` pairs) is rebuilt in every epoch; in exchange
  an epoch depends on the weights alone, so a resumed run is bit-identical to
  an uninterrupted one.  SciPy's message of every epoch is kept in
  ``result``; convergence ends the run with it as ``stop_reason``, and so does
  a line search that fails — never silently.
- ``HessianFree``: ``iterations`` Newton-CG steps.  Each takes the gradient on
  all the training data, then solves (G + λI)·p = −∇f by conjugate gradient
  with Gauss-Newton products G·v on a curvature mini-batch
  (``curvature_batch`` samples, drawn anew every step), warm-started from the
  previous direction, stopped by Martens' relative-progress rule, backtracks
  over the CG iterates, adapts the damping λ by the reduction ratio ρ
  (Levenberg-Marquardt) and ends with an Armijo line search, so the
  objective never increases.  λ, the step count and the last direction are
  its state: checkpoints resume it exactly.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from . import engine
from .checks import integer, positive_int, real
from .optim import HISTORY_KEYS, Optimizer

if TYPE_CHECKING:  # network imports this module
    from .dataset import Dataset
    from .network import Network

MAX_MEMORY = 100  # L-BFGS pairs: 3 to 20 is usual; SciPy's work arrays grow as memory × parameters
MAX_DAMPING = 1e6  # a first step of about gradient/λ: beyond this, too small to move the weights

try:  # optional: keeps BLAS on one thread for vectors of a few 10^4 numbers
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None


def one_blas_thread():
    """A context in which BLAS (NumPy's dot, L-BFGS-B's Fortran) runs on one
    thread: for vectors this short, waking more threads only costs time, and
    their spinning competes with the compiled kernels' threads."""
    if threadpool_limits is None:
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


class Objective:
    """f(θ) = mean cost over ``data`` + l2/(2n)·Σw² for ``net``, with n = data.n.

    Works on padded vectors laid out like the parameters ``net.parameters.theta``
    (``fastnet.engine.Parameters``); the regularised prefix is its weights.
    """

    def __init__(self, net, data, l2):
        self.net, self.data = net, data
        self.rate = l2 / data.n
        self.theta = net.parameters.theta
        self.n_weights = net.parameters.n_weights
        self.grad = np.empty_like(self.theta)
        self.evaluations = 0

    def penalty(self, theta):
        w = theta[:self.n_weights].astype(float, copy=False)
        return 0.5 * self.rate * float(w @ w)

    def value(self):
        """f at the network's current parameters."""
        self.evaluations += 1
        return engine.cost(self.net, self.data) + self.penalty(self.theta)

    def value_gradient(self):
        """(f, ∇f) at the network's current parameters; ∇f is a buffer reused next call."""
        self.evaluations += 1
        f = engine.cost_gradient(self.net, self.data, self.grad) + self.penalty(self.theta)
        if self.rate:
            self.grad[:self.n_weights] += self.rate * self.theta[:self.n_weights]
        return f, self.grad

    def curvature(self, data, v, out):
        """out = (G + l2/n·I_w)·v over ``data``, in the network's dtype."""
        engine.curvature_product(self.net, data, v, out, gauss_newton=True)
        if self.rate:
            out[:self.n_weights] += self.rate * v[:self.n_weights]
        return out


# ------------------------------------------------------------------ L-BFGS
class LBFGS(Optimizer):
    """Full-batch L-BFGS through ``scipy.optimize.minimize(method="L-BFGS-B")``.

    l2: the book's L2 coefficient (adds l2/(2n)·Σw² to the cost).
    memory: curvature pairs kept (SciPy's ``maxcor``), 1 to ``MAX_MEMORY``.
    iterations: L-BFGS iterations per epoch (the memory is rebuilt each epoch).
    gtol, ftol: SciPy's tolerances; reaching either ends the run
        (``stop_reason`` then holds SciPy's message).
    max_evaluations: cost-and-gradient evaluations per epoch at most (SciPy's
        ``maxfun``); running out ends the run too.
    early_stopping: patience in epochs, as for SGD.
    """
    name = "lbfgs"
    history_keys = HISTORY_KEYS + ("iterations", "evaluations", "gradient_norm")

    def __init__(self, l2: float = 5.0, memory: int = 10, iterations: int = 10, gtol: float = 1e-6,
                 ftol: float = 1e-12, max_evaluations: int = 15000,
                 early_stopping: int | None = None) -> None:
        super().__init__(early_stopping)
        self.l2 = real("l2", l2)
        self.memory = integer("memory", memory, 1, MAX_MEMORY)
        self.iterations = positive_int("iterations", iterations)
        self.gtol = real("gtol", gtol)
        self.ftol = real("ftol", ftol)
        self.max_evaluations = positive_int("max_evaluations", max_evaluations)
        self.result = None

    def hyperparameters(self) -> dict[str, Any]:
        return {"l2": self.l2, "memory": self.memory, "iterations": self.iterations,
                "gtol": self.gtol, "ftol": self.ftol, "max_evaluations": self.max_evaluations,
                "early_stopping": self.early_stopping}

    def regularisation(self) -> tuple[float, float]:
        return self.l2, 0.0

    def start(self, net: Network, data: Dataset, epochs: int | None, seconds: float | None = None) -> None:
        """Refuse a network other than the one this run trained (its last
        result has another number of parameters)."""
        if self.result is not None and len(self.result.x) != net.n_parameters:
            raise ValueError(
                f"optimizer: this LBFGS trained a network of {len(self.result.x)} parameters, but "
                f"this network has {net.n_parameters}; it belongs to another network: pass a "
                "fresh optimizer, e.g. fastnet.LBFGS(**optimizer.hyperparameters())")
        self.check_state_shape(net)

    def stop_reason_before_epoch(self) -> str | None:
        """SciPy's message once it converged or failed (None while it only ran
        out of this epoch's iterations)."""
        if self.result is None or self.result.status == 1:
            return None
        kind = "converged" if self.result.success else "stopped"
        return f"L-BFGS {kind} after {self.result.nit} iterations of epoch {self.epoch}: " \
               f"{self.result.message}"

    def train_epoch(self, net: Network, data: Dataset,
                    progress: Callable[[int, int], Any] | None = None) -> dict[str, Any]:
        began = time.perf_counter()
        objective = Objective(net, data, self.l2)
        theta, index = net.parameters.theta, net.parameters.flat_index

        def fun(x):
            theta[index] = x
            f, grad = objective.value_gradient()
            return f, grad[index].astype(float)

        done = [0]

        def step(_):
            done[0] += 1
            if progress is not None:
                progress(done[0], self.iterations)

        with one_blas_thread():
            result = minimize(fun, theta[index].astype(float), jac=True,
                              method="L-BFGS-B", callback=step,
                              options={"maxcor": self.memory, "maxiter": self.iterations,
                                       "gtol": self.gtol, "ftol": self.ftol,
                                       "maxfun": self.max_evaluations})
        theta[index] = result.x  # the last evaluation need not be the result
        self.result = result
        return {"epoch_seconds": time.perf_counter() - began, "iterations": int(result.nit),
                "evaluations": int(result.nfev),
                "gradient_norm": float(np.linalg.norm(result.jac))}


# ------------------------------------------------------------------ Hessian-free
class HessianFree(Optimizer):
    """Hessian-free Newton (Martens 2010): damped Gauss-Newton steps by CG.

    l2: the book's L2 coefficient (adds l2/(2n)·Σw² to the cost).
    damping: the initial Levenberg-Marquardt λ (then adapted every step), in
        (0, ``MAX_DAMPING``].
    iterations: Newton-CG steps per epoch.
    curvature_batch: samples for the G·v products of one step (all if fewer).
    max_cg: CG iterations per step at most.
    cg_tolerance: Martens' stop rule: stop once the quadratic model improved
        by less than this fraction over the last 10 % of the iterations.
    warm_start: the previous direction, times this, starts the next CG.
    early_stopping: patience in epochs, as for SGD.
    """
    name = "hf"
    history_keys = HISTORY_KEYS + ("damping", "cg_iterations", "step_size", "reduction_ratio")

    def __init__(self, l2: float = 5.0, damping: float = 0.05, iterations: int = 5, curvature_batch: int = 2000,
                 max_cg: int = 50, cg_tolerance: float = 5e-4, warm_start: float = 0.95,
                 early_stopping: int | None = None) -> None:
        super().__init__(early_stopping)
        self.l2 = real("l2", l2)
        self.damping = real("damping", damping, 0.0, MAX_DAMPING, low_open=True)
        self.iterations = positive_int("iterations", iterations)
        self.curvature_batch = positive_int("curvature_batch", curvature_batch)
        self.max_cg = positive_int("max_cg", max_cg)
        self.cg_tolerance = real("cg_tolerance", cg_tolerance, 0.0, low_open=True)
        self.warm_start = real("warm_start", warm_start, 0.0, 1.0)
        self.lam = self.damping   # the adapted λ
        self.steps = 0            # Newton steps taken, numbers the curvature batches
        self.direction: NDArray | None = None  # the last CG solution, padded like the parameters
        self.last_step: dict[str, Any] | None = None  # details of the last step (dict), for users

    def hyperparameters(self) -> dict[str, Any]:
        return {"l2": self.l2, "damping": self.damping, "iterations": self.iterations,
                "curvature_batch": self.curvature_batch, "max_cg": self.max_cg,
                "cg_tolerance": self.cg_tolerance, "warm_start": self.warm_start,
                "early_stopping": self.early_stopping}

    def regularisation(self) -> tuple[float, float]:
        return self.l2, 0.0

    def start(self, net: Network, data: Dataset, epochs: int | None, seconds: float | None = None) -> None:
        if self.direction is None:
            self.direction = np.zeros_like(net.parameters.theta)
        self.check_state_shape(net)

    def state_values(self) -> dict[str, Any]:
        return {"damping": self.lam, "steps": self.steps}

    def state_arrays(self) -> dict[str, NDArray]:
        return {} if self.direction is None else {"direction": self.direction}

    def set_state(self, values: dict[str, Any], arrays: dict[str, NDArray]) -> None:
        self.lam = float(values.get("damping", self.damping))
        self.steps = integer("steps", values.get("steps", 0))
        self.direction = arrays.get("direction")

    def stop_reason_before_epoch(self) -> str | None:
        if self.last_step is not None and self.last_step["gradient_norm"] == 0.0:
            return f"Hessian-free converged after {self.steps} steps: the gradient is zero"
        return None

    def train_epoch(self, net: Network, data: Dataset,
                    progress: Callable[[int, int], Any] | None = None) -> dict[str, Any]:
        began = time.perf_counter()
        objective = Objective(net, data, self.l2)
        cg_total, sizes, ratios = 0, [], []
        for k in range(self.iterations):
            with one_blas_thread():
                info = self.step(net, data, objective)
            cg_total += info["cg_iterations"]
            sizes.append(info["step_size"])
            ratios.append(info["reduction_ratio"])
            if progress is not None:
                progress(k + 1, self.iterations)
        return {"epoch_seconds": time.perf_counter() - began, "damping": self.lam,
                "cg_iterations": cg_total, "step_size": float(np.mean(sizes)),
                "reduction_ratio": float(np.mean(ratios))}

    def curvature_data(self, net: Network, data: Dataset) -> Dataset:
        """This step's curvature mini-batch: ``curvature_batch`` distinct samples,
        drawn from the network's seed and the step number."""
        if data.n <= self.curvature_batch:
            return data
        rng = np.random.default_rng((net.seed, 2010, self.steps))
        return subset(data, np.sort(rng.choice(data.n, self.curvature_batch, replace=False)))

    def step(self, net: Network, data: Dataset, objective: Objective) -> dict[str, Any]:
        """One damped Newton-CG step on ``net``; returns what happened (a dict)."""
        theta = net.parameters.theta
        theta0 = theta.copy()
        f0, grad = objective.value_gradient()
        g = grad.astype(float)
        batch = self.curvature_data(net, data)
        out = np.empty_like(theta)
        lam = self.lam

        def apply(v, damped=True):
            product = objective.curvature(batch, v.astype(net.dtype), out).astype(float)
            return product + lam * v if damped else product

        assert self.direction is not None, "start() makes the direction"
        x0 = self.warm_start * self.direction.astype(float)
        if not g @ x0 < 0.0:  # an uphill warm start helps nobody
            x0[:] = 0.0
        x, saved, cg_iterations = conjugate_gradient(apply, -g, x0, self.max_cg, self.cg_tolerance)
        # Backtrack over the CG iterates: the latest that keeps lowering f.
        best: Any = None  # the latest CG iterate that lowers f
        f_best = np.inf
        for candidate in reversed(saved):
            theta[:] = theta0 + candidate.astype(net.dtype)
            f = objective.value()
            if f >= f_best:
                break
            best, f_best = candidate, f
        # Levenberg-Marquardt: trust the quadratic model more or less.
        model = g @ best + 0.5 * best @ apply(best, damped=False)
        rho = (f_best - f0) / model if model < 0.0 else 0.0
        if rho < 0.25:
            self.lam *= 1.5
        elif rho > 0.75:
            self.lam *= 2.0 / 3.0
        # Armijo backtracking, so that f never increases.
        theta[:] = theta0 + best.astype(net.dtype)
        slope, alpha, f_new = g @ best, 1.0, f_best
        while f_new > f0 + 1e-2 * alpha * slope and alpha > 1e-4:
            alpha *= 0.8
            theta[:] = theta0 + (alpha * best).astype(net.dtype)
            f_new = objective.value()
        if not f_new <= f0:
            alpha, f_new = 0.0, f0
            theta[:] = theta0
        self.direction = x.astype(net.dtype)
        self.steps += 1
        self.last_step = step = {"cost_before": f0, "cost": f_new, "cg_iterations": cg_iterations,
                          "step_size": alpha, "reduction_ratio": float(rho),
                          "damping": self.lam, "gradient_norm": float(np.linalg.norm(g))}
        return step


def conjugate_gradient(apply, b, x0, max_iterations, tolerance):
    """Approximately minimise φ(x) = ½xᵀAx − bᵀx by CG from x0, A = ``apply``.

    Stops after ``max_iterations``, on a non-positive curvature, or by
    Martens' rule: at iteration i, with k = max(10, i/10), once φ < 0 and
    (φ_i − φ_{i−k}) / φ_i < k·tolerance.  Returns (x, iterates saved at
    i = ⌈1.3^j⌉ and the last, iterations run).
    """
    x = x0.copy()
    r = b - apply(x)
    p = r.copy()
    rr = r @ r
    phis, saved = [], []
    save_at = {int(np.ceil(1.3 ** j)) for j in range(64)}
    i = 0
    while i < max_iterations and rr > 0.0:
        Ap = apply(p)
        curvature = p @ Ap
        if not curvature > 0.0:
            break
        alpha = rr / curvature
        x += alpha * p
        r -= alpha * Ap
        i += 1
        phis.append(-0.5 * x @ (r + b))
        if i in save_at:
            saved.append(x.copy())
        k = max(10, i // 10)
        if i > k and phis[-1] < 0.0 and (phis[-1] - phis[-1 - k]) / phis[-1] < k * tolerance:
            break
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
    if not saved or not np.array_equal(saved[-1], x):
        saved.append(x.copy())
    return x, saved, i


def subset(data, rows):
    """The prepared ``data`` restricted to ``rows`` (sorted int array), same kind."""
    return data.take(rows)
