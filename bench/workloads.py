"""The timed workloads (issue 4) and the speed targets fastnet is held to.

Every workload is one epoch of plain SGD over the book's 50,000 training
images, float32, sigmoid hidden layers, softmax + log-likelihood output, eta 0.1.
"""

from __future__ import annotations

from dataclasses import dataclass

ETA = 0.1
SEED = 1


@dataclass(frozen=True)
class Workload:
    """One network shape and mini-batch size; ``id`` names its benchmark group."""

    sizes: tuple[int, ...]
    batch_size: int
    eta: float = ETA

    @property
    def id(self) -> str:
        return "-".join(map(str, self.sizes)) + f"/b{self.batch_size}"

    @property
    def label(self) -> str:
        return f"[{','.join(map(str, self.sizes))}] batch {self.batch_size}"


EPOCH_WORKLOADS = (
    Workload((784, 30, 10), 10),
    Workload((784, 30, 10), 100),
    Workload((784, 100, 10), 10),
    Workload((784, 100, 10), 100),
)


@dataclass(frozen=True)
class SpeedTarget:
    """fastnet must be at least ``factor`` times faster per epoch than ``peer`` on ``workload``."""

    workload: Workload
    peer: str
    factor: float


SPEED_TARGETS = (
    SpeedTarget(EPOCH_WORKLOADS[0], "numpy_matrix", 5.0),
    SpeedTarget(EPOCH_WORKLOADS[0], "torch", 20.0),
    SpeedTarget(EPOCH_WORKLOADS[2], "numpy_matrix", 4.0),
    SpeedTarget(EPOCH_WORKLOADS[3], "numpy_matrix", 2.5),
)

# Whole-run targets (seconds of training, and a memory bound as a multiple of data + model).
TIME_TO_95_SECONDS = 1.0
CH3_SECONDS = 15.0
RSS_FACTOR = 2.0
RSS_FACTOR_FIT = 1.3  # the tighter bound of the whole-fit round
