"""Learning-curve workloads for the pruning benchmark: four model families, five tasks.

Each workload is a real training loop (``fn(params, trial)`` reporting after every step, as a
user's trial function does) with two objectives to minimize, a reference point, and the
number of steps a trial runs unpruned. They differ where pruning is a gamble:

- ``mlp-digits``: the demo's MLP on scikit-learn's digits (27 epochs); the workload the
  pruning defaults were first measured on.
- ``mlp-diabetes``: an MLP regressor on the diabetes data (442 rows, 30 epochs): tiny
  validation set, noisy early curves, and curves that cross (a high Adam learning rate is
  best early and overfits late).
- ``cnn-digits``: a small convolutional net on the 8x8 digit images (20 epochs).
- ``gbdt-synthetic``: histogram gradient boosting on a noisy synthetic classification task,
  10 trees per step (20 steps); a small learning rate looks bad early and wins late.
- ``sgd-digits``: a linear model trained by SGD with an elastic-net penalty (30 epochs);
  objectives validation error and the share of non-zero weights, so the second objective
  moves along the curve too.

Every workload seeds its model and data order from ``trial.seed``: two trials with the same
params differ as two real runs do. The data and their splits are fixed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import hpo_notebook as hn
from hpo_notebook import demo


@dataclass(frozen=True)
class Workload:
    """A learning-curve task: ``fn(params, trial)`` reports both objectives at steps
    1..``max_steps`` and returns them; ``ref`` is the reference point (both minimized)."""

    name: str
    fn: Callable[[dict[str, Any], Any], dict[str, float]]
    space: hn.Space
    objectives: tuple[str, str]
    ref: tuple[float, float]
    max_steps: int


def _split(X: Any, y: Any, seed: int = 0) -> tuple[Any, Any, Any, Any]:
    idx = np.random.default_rng(seed).permutation(len(X))
    n_val = len(X) // 5
    return X[idx[n_val:]], y[idx[n_val:]], X[idx[:n_val]], y[idx[:n_val]]


# ---------------------------------------------------------------- MLP regression (diabetes)


@functools.cache
def _diabetes() -> tuple[Any, Any, Any, Any]:
    import torch
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    Xtr, ytr, Xva, yva = _split(X, y)
    mu, sd = Xtr.mean(0), Xtr.std(0)
    ym, ys = ytr.mean(), ytr.std()
    t = functools.partial(torch.tensor, dtype=torch.float32)
    return t((Xtr - mu) / sd), t((ytr - ym) / ys), t((Xva - mu) / sd), t((yva - ym) / ys)


MLP_REG_SPACE = hn.Space(
    lr=hn.Float(1e-4, 3e-1, log=True),
    width=hn.Int(4, 256, log=True),
    layers=hn.Int(1, 3),
    dropout=hn.Float(0.0, 0.5),
    batch_size=hn.Choice([16, 32, 64]),
    weight_decay=hn.Float(1e-6, 1e-1, log=True),
)


def train_mlp_regressor(params: dict[str, Any], trial: Any, epochs: int = 30) -> dict[str, float]:
    """An MLP on the diabetes data: validation MSE relative to the variance (1.0 = predicting
    the mean) and log10 of the parameter count."""
    import torch
    from torch import nn

    torch.set_num_threads(1)
    Xtr, ytr, Xva, yva = _diabetes()
    torch.manual_seed(trial.seed)
    layers: list[Any] = []
    width_in = Xtr.shape[1]
    for _ in range(params["layers"]):
        layers += [nn.Linear(width_in, params["width"]), nn.ReLU(), nn.Dropout(params["dropout"])]
        width_in = params["width"]
    model = nn.Sequential(*layers, nn.Linear(width_in, 1))
    opt = torch.optim.Adam(model.parameters(), lr=params["lr"], weight_decay=params["weight_decay"])
    gen = torch.Generator().manual_seed(trial.seed)
    size = math.log10(sum(p.numel() for p in model.parameters()))
    var = float(yva.var())
    out: dict[str, float] = {}
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(Xtr), generator=gen)
        for i in range(0, len(Xtr), params["batch_size"]):
            b = order[i : i + params["batch_size"]]
            opt.zero_grad()
            nn.functional.mse_loss(model(Xtr[b]).squeeze(1), ytr[b]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            mse = float(nn.functional.mse_loss(model(Xva).squeeze(1), yva))
        # a diverged run reports a large finite value, as a user's loop would after clipping
        out = {"val_nmse": min(mse / var, 10.0) if math.isfinite(mse) else 10.0,
               "log10_params": size}  # fmt: skip
        trial.report(epoch, **out)
    return out


# ---------------------------------------------------------------- small CNN (digit images)


@functools.cache
def _digit_images() -> tuple[Any, Any, Any, Any]:
    import torch
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    Xtr, ytr, Xva, yva = _split(X / 16.0, y)

    def img(a: Any) -> Any:
        return torch.tensor(a, dtype=torch.float32).reshape(-1, 1, 8, 8)

    return img(Xtr), torch.tensor(ytr), img(Xva), torch.tensor(yva)


CNN_SPACE = hn.Space(
    lr=hn.Float(1e-4, 3e-1, log=True),
    channels1=hn.Int(2, 32, log=True),
    channels2=hn.Int(2, 64, log=True),
    kernel=hn.Choice([3, 5]),
    dropout=hn.Float(0.0, 0.5),
    batch_size=hn.Choice([32, 64, 128]),
    optimizer=hn.Choice(["adam", "sgd"]),
)


def train_cnn(params: dict[str, Any], trial: Any, epochs: int = 20) -> dict[str, float]:
    """Two convolutions, global average pooling, a linear head: validation error and log10
    of the parameter count."""
    import torch
    from torch import nn

    torch.set_num_threads(1)
    Xtr, ytr, Xva, yva = _digit_images()
    torch.manual_seed(trial.seed)
    c1, c2, k = params["channels1"], params["channels2"], params["kernel"]
    model = nn.Sequential(
        nn.Conv2d(1, c1, k, padding=k // 2),
        nn.ReLU(),
        nn.Conv2d(c1, c2, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(params["dropout"]),
        nn.Linear(c2 * 16, 10),
    )
    if params["optimizer"] == "adam":
        opt: Any = torch.optim.Adam(model.parameters(), lr=params["lr"])
    else:
        opt = torch.optim.SGD(model.parameters(), lr=params["lr"], momentum=0.9)
    gen = torch.Generator().manual_seed(trial.seed)
    size = math.log10(sum(p.numel() for p in model.parameters()))
    out: dict[str, float] = {}
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.randperm(len(Xtr), generator=gen)
        for i in range(0, len(Xtr), params["batch_size"]):
            b = order[i : i + params["batch_size"]]
            opt.zero_grad()
            nn.functional.cross_entropy(model(Xtr[b]), ytr[b]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            err = float((model(Xva).argmax(1) != yva).float().mean())
        out = {"val_error": err, "log10_params": size}
        trial.report(epoch, **out)
    return out


# ---------------------------------------------------------------- gradient boosting


@functools.cache
def _synthetic() -> tuple[Any, Any, Any, Any]:
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=4000, n_features=20, n_informative=6, n_redundant=4, flip_y=0.1,
        class_sep=0.8, random_state=0,
    )  # fmt: skip
    return _split(X, y)


GBDT_SPACE = hn.Space(
    learning_rate=hn.Float(0.005, 0.5, log=True),
    max_leaf_nodes=hn.Int(4, 128, log=True),
    min_samples_leaf=hn.Int(2, 100, log=True),
    l2_regularization=hn.Float(1e-4, 10.0, log=True),
    max_features=hn.Float(0.2, 1.0),
)
GBDT_TREES_PER_STEP = 10


def train_gbdt(params: dict[str, Any], trial: Any, steps: int = 20) -> dict[str, float]:
    """Histogram gradient boosting, 10 more trees per step: validation log-loss and log10 of
    the leaves the finished model has (its size)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import log_loss

    Xtr, ytr, Xva, yva = _synthetic()
    model = HistGradientBoostingClassifier(
        warm_start=True, early_stopping=False, random_state=trial.seed % 2**31, **params
    )
    size = math.log10(params["max_leaf_nodes"] * GBDT_TREES_PER_STEP * steps)
    out: dict[str, float] = {}
    for step in range(1, steps + 1):
        model.set_params(max_iter=step * GBDT_TREES_PER_STEP)
        model.fit(Xtr, ytr)
        out = {"val_logloss": float(log_loss(yva, model.predict_proba(Xva))), "log10_leaves": size}
        trial.report(step, **out)
    return out


# ---------------------------------------------------------------- SGD linear model


@functools.cache
def _digits_flat() -> tuple[Any, Any, Any, Any]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return _split(X / 16.0, y)


SGD_SPACE = hn.Space(
    loss=hn.Choice(["log_loss", "hinge", "modified_huber"]),
    alpha=hn.Float(1e-6, 1e-1, log=True),
    l1_ratio=hn.Float(0.0, 1.0),
    eta0=hn.Float(1e-4, 1.0, log=True),
    learning_rate=hn.Choice(["constant", "invscaling", "adaptive"]),
)


def train_sgd(params: dict[str, Any], trial: Any, epochs: int = 30) -> dict[str, float]:
    """A linear classifier on the digits, one SGD pass per step: validation error and the
    share of weights that are not zero (elastic net drives some to exactly zero)."""
    import warnings

    from sklearn.linear_model import SGDClassifier

    Xtr, ytr, Xva, yva = _digits_flat()
    model = SGDClassifier(penalty="elasticnet", random_state=trial.seed % 2**31, **params)
    classes = np.unique(ytr)
    out: dict[str, float] = {}
    for epoch in range(1, epochs + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.partial_fit(Xtr, ytr, classes=classes)
        coef = model.coef_
        ok = bool(np.isfinite(coef).all())
        err = float((model.predict(Xva) != yva).mean()) if ok else 1.0
        density = float((np.abs(coef) > 1e-12).mean()) if ok else 1.0
        out = {"val_error": err, "density": density}
        trial.report(epoch, **out)
    return out


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in [
        Workload(
            "mlp-digits",
            functools.partial(demo.train, epochs=27, size="log10_params"),
            demo.SPACE,
            ("val_error", "log10_params"),
            (1.0, 5.5),
            27,
        ),
        Workload(
            "mlp-diabetes",
            train_mlp_regressor,
            MLP_REG_SPACE,
            ("val_nmse", "log10_params"),
            (1.0, 5.5),
            30,
        ),
        Workload("cnn-digits", train_cnn, CNN_SPACE, ("val_error", "log10_params"), (1.0, 5.0), 20),
        Workload(
            "gbdt-synthetic",
            train_gbdt,
            GBDT_SPACE,
            ("val_logloss", "log10_leaves"),
            (0.7, 4.5),
            20,
        ),
        Workload("sgd-digits", train_sgd, SGD_SPACE, ("val_error", "density"), (1.0, 1.05), 30),
    ]
}
