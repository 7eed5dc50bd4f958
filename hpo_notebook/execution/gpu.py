"""GPU workers: one Dask worker per visible GPU, each pinned with ``CUDA_VISIBLE_DEVICES`` and
declaring the resource ``{"GPU": 1}``, so ``study.run(resources={"GPU": 1})`` runs one trial
per GPU at a time.

Example:
    >>> visible_gpus({"CUDA_VISIBLE_DEVICES": "2,3"})
    ['2', '3']
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from hpo_notebook.exceptions import ConfigError


def visible_gpus(environ: Mapping[str, str] | None = None) -> list[str]:
    """GPU ids this process may use: ``CUDA_VISIBLE_DEVICES`` if set, else what torch sees."""
    env = os.environ if environ is None else environ
    if "CUDA_VISIBLE_DEVICES" in env:
        return [g.strip() for g in env["CUDA_VISIBLE_DEVICES"].split(",") if g.strip()]
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return []
    return [str(i) for i in range(torch.cuda.device_count())]


def local_gpu_cluster(gpus: list[str] | None = None, threads_per_worker: int = 1) -> Any:
    """Start a local Dask cluster with one worker process per GPU.

    Uses ``dask_cuda.LocalCUDACluster`` when installed (it also sets up CUDA memory
    management); otherwise a ``SpecCluster`` whose workers each see one GPU through
    ``CUDA_VISIBLE_DEVICES``. Every worker declares ``resources={"GPU": 1}``.

    Args:
        gpus: GPU ids to use (default: all visible ones).
        threads_per_worker: threads per worker; trials that ask for ``{"GPU": 1}`` still run
            one at a time per GPU, the other threads serve CPU work.

    Raises:
        ConfigError: no GPU is visible.
    """
    ids = gpus if gpus is not None else visible_gpus()
    if not ids:
        raise ConfigError(
            "local_gpu_cluster: no GPU is visible (CUDA_VISIBLE_DEVICES is empty and torch "
            "sees no device); on a CPU machine use the default cluster"
        )
    try:
        from dask_cuda import LocalCUDACluster
    except ImportError:
        LocalCUDACluster = None
    if LocalCUDACluster is not None:
        return LocalCUDACluster(
            CUDA_VISIBLE_DEVICES=",".join(ids),
            threads_per_worker=threads_per_worker,
            resources={"GPU": 1},
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    return cluster_with_resources(
        [{"CUDA_VISIBLE_DEVICES": g} for g in ids], {"GPU": 1}, threads_per_worker
    )


def cluster_with_resources(
    worker_env: list[dict[str, str]], resources: Mapping[str, float], threads_per_worker: int = 1
) -> Any:
    """A local cluster of one worker process per entry of ``worker_env`` (its environment),
    each declaring ``resources``. The building block of :func:`local_gpu_cluster`, usable on
    CPU machines to test resource-limited placement."""
    from distributed import Nanny, Scheduler, SpecCluster

    workers = {
        f"gpu-{i}": {
            "cls": Nanny,
            "options": {
                "nthreads": threads_per_worker,
                "resources": dict(resources),
                "env": dict(env),
                "host": "127.0.0.1",
                "silence_logs": logging.ERROR,
            },
        }
        for i, env in enumerate(worker_env)
    }
    scheduler = {
        "cls": Scheduler,
        "options": {"host": "127.0.0.1", "dashboard_address": None},
    }
    return SpecCluster(workers=workers, scheduler=scheduler, silence_logs=logging.ERROR)
