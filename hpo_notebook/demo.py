"""The demo study: a small PyTorch MLP on scikit-learn's bundled digits data.

Two objectives: validation error (min) and model size in thousands of parameters (min), so
the Pareto front shows how much accuracy each extra parameter buys. Every epoch is reported.

Example:
    >>> from hpo_notebook.demo import SPACE
    >>> sorted(SPACE.names)
    ['batch_size', 'dropout', 'layers', 'lr', 'optimizer', 'width']
"""

from __future__ import annotations

import functools
import math
from typing import Any

from hpo_notebook.objectives import Objective
from hpo_notebook.space import Choice, Float, Int, Space

SPACE = Space(
    lr=Float(1e-4, 3e-1, log=True),
    width=Int(4, 256, log=True),
    layers=Int(1, 3),
    dropout=Float(0.0, 0.5),
    batch_size=Choice([32, 64, 128]),
    optimizer=Choice(["adam", "sgd"]),
)

OBJECTIVES = {
    # thresholds: worse than 50% error, or bigger than 150k parameters, is not worth having
    "val_error": Objective("min", threshold=0.5),
    "kparams": Objective("min", threshold=150.0),
}


@functools.lru_cache(maxsize=1)
def _data() -> tuple[Any, Any, Any, Any]:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError(
            "the demo needs scikit-learn for its bundled digits data: "
            "pip install 'hpo-notebook[demo]'"
        ) from None
    import numpy as np
    import torch

    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)  # a fixed split: trials differ only by their params
    idx = rng.permutation(len(X))
    X = torch.tensor(X[idx] / 16.0, dtype=torch.float32)
    y = torch.tensor(y[idx], dtype=torch.long)
    n_val = len(X) // 5
    return X[n_val:], y[n_val:], X[:n_val], y[:n_val]


def build_model(params: dict[str, Any]) -> Any:
    """The MLP for ``params`` (64 inputs, 10 classes)."""
    from torch import nn

    layers: list[Any] = []
    width_in = 64
    for _ in range(params["layers"]):
        layers += [nn.Linear(width_in, params["width"]), nn.ReLU(), nn.Dropout(params["dropout"])]
        width_in = params["width"]
    layers.append(nn.Linear(width_in, 10))
    return nn.Sequential(*layers)


def train(
    params: dict[str, Any],
    trial: Any,
    epochs: int = 20,
    size: str = "kparams",
    held_out: bool = False,
) -> dict[str, float]:
    """Train for ``epochs`` epochs, reporting validation error and model size after each one
    (both objectives, so multi-objective pruners can rank on both).

    Args:
        size: the size objective: ``"kparams"`` (thousands of parameters) or
            ``"log10_params"``.
        held_out: split the validation data in two halves, validation and test, and return
            ``test_error`` too (declare it ``held_out={"test_error": "val_error"}``).
    """
    import torch

    torch.set_num_threads(1)  # one core per trial: workers share the machine
    Xtr, ytr, Xva, yva = _data()
    model = build_model(params)
    opt_cls = torch.optim.Adam if params["optimizer"] == "adam" else torch.optim.SGD
    opt_kw = {"momentum": 0.9} if params["optimizer"] == "sgd" else {}
    opt = opt_cls(model.parameters(), lr=params["lr"], **opt_kw)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(trial.seed)
    n_params = sum(p.numel() for p in model.parameters())
    size_value = n_params / 1000.0 if size == "kparams" else math.log10(n_params)
    if held_out:
        half = len(Xva) // 2
        Xva, yva, Xte, yte = Xva[:half], yva[:half], Xva[half:], yva[half:]
    val_error = 1.0
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(Xtr), generator=gen)
        for i in range(0, len(Xtr), params["batch_size"]):
            b = order[i : i + params["batch_size"]]
            opt.zero_grad()
            loss = loss_fn(model(Xtr[b]), ytr[b])
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            val_error = float((model(Xva).argmax(1) != yva).float().mean())
            train_loss = float(loss)
        trial.report(epoch, val_error=val_error, train_loss=train_loss, **{size: size_value})
    out = {"val_error": val_error, size: size_value}
    if held_out:
        with torch.no_grad():
            out["test_error"] = float((model(Xte).argmax(1) != yte).float().mean())
    return out
