"""The connection to dask.distributed: a given client, a scheduler's address (asked who
it is first), or an embedded LocalCluster of one single-threaded worker per core."""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import re
import socket
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..checks import cores

if TYPE_CHECKING:
    import distributed

EXTRA = "pip install 'fastnet[sweep]'"


class DistributedMissing(ImportError):
    """dask.distributed, the optional ``sweep`` extra, is not installed."""


def require_distributed() -> ModuleType:
    """The ``distributed`` module, or ``DistributedMissing`` saying how to install it."""
    try:
        import distributed
    except ImportError as error:
        raise DistributedMissing(f"sweeps and tuning run on dask.distributed, which is not "
                                 f"installed; install the sweep extra: {EXTRA}") from error
    return distributed


class SchedulerUnreachable(ConnectionError):
    """No dask scheduler answers at the address given (``scheduler``, ``--scheduler``)."""


@contextlib.contextmanager
def connect(client: distributed.Client | None = None, scheduler: str | None = None, workers: int | None = None,
            timeout: float | None = None) -> Iterator[distributed.Client]:
    """A dask client: ``client`` itself, one for ``scheduler`` (an address such as
    tcp://host:8786, default $FASTNET_SCHEDULER), or an embedded LocalCluster of
    ``workers`` processes (default and most: one per core), one thread and one Numba
    thread each, on 127.0.0.1 without a dashboard.

    A scheduler is asked who it is first (``check_scheduler``): an address where
    nothing or something else answers raises ``SchedulerUnreachable`` within
    twice ``timeout`` seconds (default dask's ``distributed.comm.timeouts.connect``,
    30 s)."""
    distributed = require_distributed()
    if client is not None:
        yield client
        return
    scheduler = scheduler or os.environ.get("FASTNET_SCHEDULER")
    if scheduler:
        seconds = check_scheduler(scheduler, timeout)
        with distributed.Client(scheduler, timeout=seconds) as connected:
            yield connected
        return
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers: expected a positive number of worker processes, got {workers!r}")
    if workers is not None and workers > cores():
        raise ValueError(f"workers: {workers} worker processes, but this process may run on "
                         f"{cores()} cores; pass at most {cores()}: each worker trains on a core "
                         "of its own, and more only wait for the cores (and use their memory)")
    import dask
    single = {f"distributed.nanny.pre-spawn-environ.{name}": "1"
              for name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS")}
    with environment_kept() as restore, dask.config.set(single), \
            distributed.LocalCluster(n_workers=workers or cores(), threads_per_worker=1,
                                     processes=True, host="127.0.0.1", dashboard_address=None,
                                     scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # not 8787
                                     silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as connected:
        restore()  # the workers have started with theirs; Numba compiles here need this one's
        yield connected


def check_scheduler(address: str, timeout: float | None = None) -> float:
    """Ask ``address`` for its identity in dask's protocol; return the timeout in seconds
    if a dask scheduler answers, else raise ``SchedulerUnreachable`` naming the address
    and what answered there (nothing, a silent peer, one that speaks another protocol,
    a dask worker).  Connecting may take ``timeout`` seconds (default dask's
    ``distributed.comm.timeouts.connect``), the whole check twice that; an address
    that is not one raises ValueError."""
    require_distributed()
    import dask
    from dask.utils import parse_timedelta
    from distributed.comm import CommClosedError, get_address_host_port
    if timeout is None:
        timeout = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), default="seconds")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout: expected a positive number of seconds, got {timeout!r}")
    if not isinstance(address, str):
        raise TypeError(f"scheduler: expected an address such as tcp://HOST:8786, got {address!r}")
    try:
        get_address_host_port(address)
    except ValueError as error:
        raise ValueError(f"scheduler: {address!r} is not a scheduler address ({error}); pass one "
                         "such as tcp://HOST:8786") from None
    instead = "pass the address of a running `dask scheduler`, such as tcp://HOST:8786"
    if address.startswith("tcp://"):  # a closed port fails at once, not after dask's retries
        host, port = get_address_host_port(address)
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except ConnectionRefusedError:
            raise SchedulerUnreachable(f"scheduler: nothing listens at {address} (connection "
                                       f"refused); {instead}") from None
        except OSError:
            pass  # unreachable or slow: dask's connect below says which, within ``timeout``
    with concurrent.futures.ThreadPoolExecutor(1) as thread:  # an event loop of its own
        try:
            answer = asyncio.wait_for(_identity(address, timeout), 2 * timeout)
            reply = thread.submit(asyncio.run, answer).result()
        except TimeoutError:  # connected (a failed connect ends in OSError after ``timeout``)
            raise SchedulerUnreachable(f"scheduler: {address} accepted the connection but gave no "
                                       f"dask answer within {2 * timeout:g} s, so it is not a dask "
                                       f"scheduler; {instead}") from None
        except CommClosedError:
            raise SchedulerUnreachable(f"scheduler: {address} closed the connection without a dask "
                                       f"handshake, so it is not a dask scheduler; {instead}") from None
        except OSError as error:  # dask's "Timed out trying to connect", caused by the real reason
            reason = re.sub(r"^in <[^>]*>: ", "", str(error.__cause__ or error))
            raise SchedulerUnreachable(f"scheduler: cannot connect to {address} within {timeout:g} s "
                                       f"({reason}); {instead}") from None
        except Exception:  # bytes that are not dask's: a huge frame size, undecodable data, ...
            raise SchedulerUnreachable(f"scheduler: {address} answered, but not in dask's protocol, "
                                       f"so it is not a dask scheduler (an HTTP server, such as "
                                       f"dask's dashboard, answers so); {instead}") from None
    kind = reply.get("type") if isinstance(reply, dict) else None
    if kind != "Scheduler":
        what = f"a dask {kind}" if isinstance(kind, str) else "a dask peer"
        raise SchedulerUnreachable(f"scheduler: {address} is {what}, not a scheduler; {instead}")
    return timeout


async def _identity(address: str, timeout: float) -> Any:
    """The peer's answer to dask's ``identity`` request (``timeout`` seconds to connect)."""
    from distributed.comm import connect as open_comm
    comm = await open_comm(address, timeout=timeout)
    try:
        await comm.write({"op": "identity", "reply": True})
        return await comm.read()
    finally:
        comm.abort()


@contextlib.contextmanager
def environment_kept() -> Iterator[Callable[[], None]]:
    """Yields ``restore``, which sets this process's environment variables back to
    what they were on entry; called again on exit.

    dask's nannies set their workers' variables (``pre-spawn-environ``: the
    thread counts above, OMP/MKL/OpenBLAS, malloc's) in this process's
    environment to spawn them, and leave them there; with NUMBA_NUM_THREADS
    left at 1, every later Numba compile here would fail once Numba's threads
    had started ("Cannot set NUMBA_NUM_THREADS ... once the threads have been
    launched")."""
    saved = dict(os.environ)

    def restore() -> None:
        for name in [name for name in os.environ if name not in saved]:
            del os.environ[name]
        for name, value in saved.items():
            if os.environ.get(name) != value:
                os.environ[name] = value
    try:
        yield restore
    finally:
        restore()
