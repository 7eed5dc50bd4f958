"""Where the model runs: ``OptimizeSettings.device`` ("auto", "cpu", "cuda", "cuda:N").

This machine has no GPU: the CUDA side is checked by mocking what torch reports, and by the
last test on a machine with one (and ``benchmarks/gpu_proposals.py``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hpo_notebook.exceptions import ConfigError
from hpo_notebook.objectives import Objectives
from hpo_notebook.optimizers import History
from hpo_notebook.optimizers.botorch import BoTorchOptimizer, OptimizeSettings
from hpo_notebook.optimizers.botorch.candidates import resolve_device
from hpo_notebook.testing.problems import UNIT_2D, branin_currin_values

OBJS = Objectives.parse({"f0": "min", "f1": "min"})


def _history(n: int = 12, seed: int = 0) -> History:
    X = np.random.default_rng(seed).random((n, 2))
    Y = np.array([list(branin_currin_values(*x)) for x in X])
    return History(X, Y, np.zeros((0, 2)), n)


@pytest.mark.parametrize("bad", ["mps", "gpu", "cuda:", "cuda:x", "CPU", "", 0, None])
def test_device_names_are_checked(bad):
    with pytest.raises(ValueError, match="device=") as err:
        OptimizeSettings(device=bad)
    assert repr(bad) in str(err.value) and "'cuda:N'" in str(err.value)


def test_auto_is_the_first_gpu_when_torch_sees_one(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda:0")
    assert resolve_device("cpu") == torch.device("cpu")


def test_a_gpu_torch_does_not_see_is_refused_when_the_optimizer_is_made(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"device='cuda', but torch sees 0 CUDA GPU"):
        BoTorchOptimizer(settings=OptimizeSettings(device="cuda"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ConfigError, match=r"'cuda:1'.*sees 1 CUDA.*'cuda:0' to 'cuda:0'"):
        BoTorchOptimizer(settings=OptimizeSettings(device="cuda:1"))
    BoTorchOptimizer(settings=OptimizeSettings(device="cuda:0"))  # seen: accepted
    BoTorchOptimizer(settings=OptimizeSettings(device="cpu"))


@pytest.mark.slow
def test_a_proposal_records_the_device_it_ran_on(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    h = _history()
    auto = BoTorchOptimizer().suggest(UNIT_2D, OBJS, h, 2, 3)
    cpu = BoTorchOptimizer(settings=OptimizeSettings(device="cpu")).suggest(UNIT_2D, OBJS, h, 2, 3)
    assert [p.info["device"] for p in auto.proposals] == ["cpu", "cpu"]
    assert [p.params for p in auto.proposals] == [p.params for p in cpu.proposals]
    # the warm start's hyperparameters are plain numbers, whatever the device
    hp = auto.state["hyperparameters"]
    assert all(isinstance(v, (float, list)) for v in hp.values()), hp


@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_proposals_on_the_gpu():
    h = _history(16)
    opt = BoTorchOptimizer(settings=OptimizeSettings(device="cuda"))
    first = opt.suggest(UNIT_2D, OBJS, h, 4, 3)
    again = opt.suggest(UNIT_2D, OBJS, h, 4, 4, first.state)  # the warm start, on the GPU
    for s in (first, again):
        assert [p.kind for p in s.proposals] == ["qLogNEHVI"] * 4
        assert {p.info["device"] for p in s.proposals} == {"cuda:0"}
        U = np.array([UNIT_2D.to_unit(p.params) for p in s.proposals])
        assert ((U >= 0) & (U <= 1)).all()
