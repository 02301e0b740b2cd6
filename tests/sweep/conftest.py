"""A shared two-worker Dask cluster for the sweep tests that do not kill workers."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(scope="session")
def dask_client():
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=logging.ERROR)
    client = Client(cluster)
    yield client
    client.close()
    cluster.close()
