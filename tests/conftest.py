"""Shared test set-up: one BLAS pool per core when pytest-xdist splits the run.

``make test`` runs the suite on every core with pytest-xdist. Each worker is
a process of its own; left alone, each would also start one BLAS thread per
core, and on a small machine the workers' threads would wait on each other
(OpenBLAS threads spin while they wait). Each worker therefore gets its share
of the cores, as scikit-learn's own test suite does.
"""

import os

from threadpoolctl import threadpool_limits


def pytest_configure(config):
    n_workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if n_workers is not None:
        threads = max((os.cpu_count() or 1) // int(n_workers), 1)
        threadpool_limits(threads)
