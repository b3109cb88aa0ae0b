"""Compute the next epoch's augmented data while the current epoch trains.

``Network.fit(..., augment=f)`` calls ``f(X, y, epoch)`` before each epoch.
``Prefetch(f, epochs)`` returns the same results but, as soon as epoch e's
data is handed out, starts computing epoch e+1's in one background thread.
The training loop releases the GIL (its kernels are compiled ``nogil``), and
so do most of NumPy and SciPy's image resampling, so on two cores the
distortion of the next epoch costs almost no wall-clock time.  How long the
trainer still waited for each epoch's data is in the history's
``wait_seconds``.

Only for augmenters that are pure functions of ``(X, y, epoch)``, such as
``fastnet.Distort``: then the prefetched data equals what a direct call would
return, and training is exactly as without ``Prefetch``.
"""
import weakref
from concurrent.futures import ThreadPoolExecutor

from .checks import integer


class Prefetch:
    """``augment(X, y, epoch)`` with epoch+1 computed ahead in a background thread.

    ``epochs``: the epoch count of the fit; nothing is computed for epochs at
    or beyond it (None: no limit, as in a fit against a time budget; the
    epoch after the last is then computed for nothing).  Use as a context manager (or call ``close``) so that the
    thread is released when training ends, also by an exception.
    While one is open, the plan's default trains on one thread
    (``engine.plan.chosen_threads``): its thread keeps a core busy.
    """
    _open: "weakref.WeakSet[Prefetch]" = weakref.WeakSet()  # not closed yet

    def __init__(self, augment, epochs):
        if not callable(augment):
            raise TypeError(f"augment: expected a callable augment(X, y, epoch), got {augment!r}")
        self.augment = augment
        self.epochs = None if epochs is None else integer("epochs", epochs)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fastnet-prefetch")
        self._pending = None  # (epoch, X, y, future)
        self._open.add(self)  # the class's set, shared by every Prefetch

    def __repr__(self):
        return f"Prefetch({self.augment!r}, epochs={self.epochs})"

    def __call__(self, X, y, epoch):
        result = self._take(X, y, epoch)
        if result is None:
            result = self.augment(X, y, epoch)
        if self.epochs is None or epoch + 1 < self.epochs:
            future = self._executor.submit(self.augment, X, y, epoch + 1)
            self._pending = (epoch + 1, X, y, future)
        return result

    def _take(self, X, y, epoch):
        """The prefetched result for these arguments, or None."""
        if self._pending is None:
            return None
        ahead, ahead_X, ahead_y, future = self._pending
        self._pending = None
        if ahead == epoch and ahead_X is X and ahead_y is y:
            return future.result()
        future.cancel()
        return None

    def close(self):
        """Drop any prefetched data and stop the thread (waits for a running computation)."""
        self._pending = None
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._open.discard(self)

    @classmethod
    def any_open(cls):
        """Whether a Prefetch is open (created and not closed) in this process."""
        return len(cls._open) > 0

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
