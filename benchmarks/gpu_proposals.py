"""Proposals on a GPU: the latency table of ``suggest_latency`` with the model on CUDA,
beside the same proposals on the CPU of the same machine.

Run on a machine with a CUDA GPU::

    python -m benchmarks.gpu_proposals
    python -m benchmarks.gpu_proposals --sizes 200 1000 5000 --objectives 2 3 --no-cpu

First it checks, and prints, that the default settings (``device="auto"``) put the model on
the GPU, that a proposal there records ``info["device"] == "cuda:0"``, and that its points lie
in the space and repeat no observation. Then it times warm proposals (a batch of 4 on
DTLZ2, the front-heavy history of ``suggest_latency``) with ``--device cuda`` and, unless
``--no-cpu``, ``--device cpu``; the tables go to ``docs/results/suggest_latency_gpu.md`` and
``suggest_latency_gpu_cpu.md``. Exits with status 1 if a check fails, 2 when no GPU is
visible.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def check_gpu_proposal() -> list[str]:
    """Failed checks of one proposal made with the default settings (empty: all passed)."""
    import torch

    from benchmarks.suggest_latency import _history, observations
    from hpo_notebook.optimizers.botorch import BoTorchOptimizer, OptimizeSettings
    from hpo_notebook.optimizers.botorch.candidates import resolve_device

    failed = []
    if resolve_device(OptimizeSettings().device).type != "cuda":
        failed.append("device='auto' did not pick the GPU")
    space, objs, h, _ = _history(observations(100, 2, 0, "front"), 2)
    s = BoTorchOptimizer().suggest(space, objs, h, 4, 0)
    info = s.proposals[0].info
    print(f"proposal kinds {[p.kind for p in s.proposals]}, info {info}")
    if info.get("device") != "cuda:0":
        failed.append(f"info['device'] is {info.get('device')!r}, expected 'cuda:0'")
    U = np.array([space.to_unit(p.params) for p in s.proposals])
    if not ((U >= 0) & (U <= 1)).all():
        failed.append("a proposal lies outside the space")
    if any(not p.kind.startswith("qLogNEHVI") for p in s.proposals):
        failed.append("a proposal is not qLogNEHVI's (a fallback or a repeat)")
    print(f"GPU memory after the proposal: {torch.cuda.max_memory_allocated() / 2**20:.0f} MB")
    return failed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[200, 1000, 5000])
    ap.add_argument("--objectives", type=int, nargs="+", default=[2, 3], choices=[2, 3])
    ap.add_argument("--batches", type=int, nargs="+", default=[4])
    ap.add_argument("--no-cpu", action="store_true", help="skip the CPU run")
    args = ap.parse_args(argv)
    import torch

    if not torch.cuda.is_available():
        print("no CUDA GPU is visible to torch")
        return 2
    print(f"GPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    failed = check_gpu_proposal()
    for f in failed:
        print(f"FAILED: {f}")
    from benchmarks import suggest_latency

    common = ["--sizes", *map(str, args.sizes), "--objectives", *map(str, args.objectives)]
    common += ["--batches", *map(str, args.batches), "--history", "front", "--repeats", "1"]
    common += ["--acquisitions", "qLogNEHVI", "--peers"]
    for device in ["cuda"] + ([] if args.no_cpu else ["cpu"]):
        out = "suggest_latency_gpu" + ("" if device == "cuda" else "_cpu")
        print(f"\n== the model on {device}")
        suggest_latency.main([*common, "--device", device, "--out", out])
    print("\nall checks passed" if not failed else f"\n{len(failed)} check(s) failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
