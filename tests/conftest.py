"""Shared fixtures: one real Dask LocalCluster (2 worker processes) for the integration tests."""

from __future__ import annotations

import logging
import warnings

import pytest


@pytest.fixture(scope="session")
def dask_client():
    """A real LocalCluster on 127.0.0.1 with two single-threaded worker processes."""
    from distributed import Client, LocalCluster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    client = Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()
