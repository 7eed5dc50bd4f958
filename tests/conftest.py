"""Shared fixtures: one real Dask LocalCluster (2 worker processes) for the integration tests."""

from __future__ import annotations

import contextlib
import logging
import warnings

import pytest


def local_client(n_workers: int = 2):
    """A client of a new LocalCluster on 127.0.0.1 with single-threaded worker processes."""
    from distributed import Client, LocalCluster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    return Client(cluster, set_as_default=False)


def _serve(client):
    """Yield ``client``, then close it and its cluster."""
    yield client
    cluster = client.cluster
    client.close()
    cluster.close()


@pytest.fixture(scope="session")
def dask_client():
    """A real LocalCluster with two worker processes, shared by the integration tests."""
    yield from _serve(local_client())


@pytest.fixture()
def own_client():
    """A cluster of a test's own (for tests that kill or resize workers)."""
    yield from _serve(local_client())


@pytest.fixture()
def ipython_shell():
    """IPython's InteractiveShell singleton. It installs its own ``__main__`` module, which
    lacks ``__spec__``, and multiprocessing's spawn (new Dask worker processes) then fails:
    the real ``__main__`` is put back afterwards."""
    import sys

    from IPython.core.interactiveshell import InteractiveShell

    main = sys.modules["__main__"]
    shell = InteractiveShell.instance()
    yield shell
    sys.modules["__main__"] = main


@contextlib.contextmanager
def _read_only(*paths):
    """Make ``paths`` unwritable for this process. Root ignores file modes, so as root the
    files are made immutable (``chattr +i``) instead."""
    import os
    import shutil
    import subprocess

    if os.geteuid() != 0:
        for p in paths:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            yield
        finally:
            for p in paths:
                p.chmod(0o755 if p.is_dir() else 0o644)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", *map(str, paths)]).returncode != 0:
        pytest.skip(
            reason="running as root on a file system without chattr +i: no file is read-only"
        )
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", *map(str, paths)], check=True)


@pytest.fixture()
def read_only():
    """``with read_only(path, folder): ...`` makes files and folders unwritable meanwhile."""
    return _read_only


@pytest.fixture()
def external():
    """An :class:`~tests._external.ExternalCluster` under a fresh folder: schedulers and
    workers as separate processes that share nothing with the test; all killed afterwards."""
    import tempfile
    from pathlib import Path

    from _external import ExternalCluster

    with tempfile.TemporaryDirectory(prefix="hpo-external-") as d:
        cluster = ExternalCluster(Path(d))
        try:
            yield cluster
        finally:
            cluster.close()
