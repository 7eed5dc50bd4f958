"""A short real GPU study: one Dask worker per visible GPU, each trial on its own GPU.

Run on a machine with at least one CUDA GPU::

    python -m benchmarks.gpu_check --trials 8

It checks, and prints, that every trial ran on a CUDA device, that no two trials used the same
GPU at the same time, that at most one trial per GPU ran at once, and how long the study took.
Exits with status 1 if a check fails (status 2 when no GPU is visible).
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from typing import Any


def gpu_trial(params: dict[str, Any], trial: Any, epochs: int = 5) -> dict[str, float]:
    """The digits MLP of the demo, trained on the worker's GPU."""
    import os

    import torch

    from hpo_notebook import demo

    device = torch.device("cuda")
    Xtr, ytr, Xva, yva = (t.to(device) for t in demo._data())
    model = demo.build_model(params).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=params["lr"])
    loss_fn = torch.nn.CrossEntropyLoss()
    started = time.time()
    val_error = 1.0
    for epoch in range(1, epochs + 1):
        for i in range(0, len(Xtr), params["batch_size"]):
            opt.zero_grad()
            loss_fn(
                model(Xtr[i : i + params["batch_size"]]), ytr[i : i + params["batch_size"]]
            ).backward()
            opt.step()
        with torch.no_grad():
            val_error = float((model(Xva).argmax(1) != yva).float().mean())
        trial.report(epoch, val_error=val_error)
    return {
        "val_error": val_error,
        "gpu": float(os.environ.get("CUDA_VISIBLE_DEVICES", "-1").split(",")[0] or -1),
        "cuda": float(torch.cuda.is_available() and next(model.parameters()).is_cuda),
        "t0": started,
        "t1": time.time(),
    }


def main(argv: list[str] | None = None) -> int:
    import hpo_notebook as hn
    from hpo_notebook import demo
    from hpo_notebook.execution.gpu import visible_gpus

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args(argv)
    gpus = visible_gpus()
    if not gpus:
        print("no GPU visible: nothing to check")
        return 2
    cluster = hn.local_gpu_cluster()
    from distributed import Client

    client = Client(cluster, set_as_default=False)
    try:
        study = hn.Study(
            functools.partial(gpu_trial, epochs=args.epochs),
            demo.SPACE,
            objectives={"val_error": "min"},
            seed=0,
        )
        t0 = time.time()
        study.run(n_trials=args.trials, cluster=client, resources={"GPU": 1})
        wall = time.time() - t0
    finally:
        client.close()
        cluster.close()
    done = [t for t in study.trials if t.state.value == "COMPLETE"]
    on_cuda = all(t.values["cuda"] == 1.0 for t in done)
    clash = 0
    for a in done:
        for b in done:
            same = a.number < b.number and a.values["gpu"] == b.values["gpu"]
            if same and a.values["t0"] < b.values["t1"] and b.values["t0"] < a.values["t1"]:
                clash += 1
    print(
        f"GPUs {gpus}; {len(done)}/{args.trials} trials complete in {wall:.1f} s; "
        f"all on CUDA: {on_cuda}; overlapping trials on one GPU: {clash}"
    )
    print(study.trials_frame()[["state", "val_error", "gpu", "worker"]].to_string())
    return 0 if on_cuda and clash == 0 and len(done) == args.trials else 1


if __name__ == "__main__":
    sys.exit(main())
