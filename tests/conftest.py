import numba
import pytest


@pytest.fixture
def one_thread():
    """Run Numba's parallel kernels on one thread for the test.

    On a busy two-core machine every parallel region of ``forward_all`` waits
    ~10 ms for its worker thread; tests that evaluate tiny networks thousands
    of times (finite differences) use this.  Results do not depend on it.
    """
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)
