"""Conditional spaces: a Choice whose options bring their own parameters (issue 17, item 1),
and what the model sees of inactive parameters (item 2)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import hpo_notebook as hn
from hpo_notebook.exceptions import SpaceError
from hpo_notebook.magics import trial_source
from hpo_notebook.optimizers.botorch.conditional import InactiveFill
from hpo_notebook.space import INACTIVE_UNIT, Choice, Float, Int, Space
from hpo_notebook.viz import data as D


def tree() -> Space:
    """Three levels: optimizer -> (sgd: momentum, nesterov -> (True: dampening)), adam, plain."""
    sgd = Space(
        momentum=Float(0.0, 0.99),
        nesterov=Choice({True: Space(dampening=Float(0.0, 0.5)), False: None}),
    )
    return Space(
        lr=Float(1e-4, 1e-1, log=True),
        opt=Choice({"sgd": sgd, "adam": Space(beta2=Float(0.9, 0.9999, log=True)), "plain": None}),
        layers=Int(1, 4),
    )


# ---------------------------------------------------------------------- declaring


def test_tree_is_flattened_in_order_with_conditions():
    s = tree()
    assert s.names == ("lr", "opt", "momentum", "nesterov", "dampening", "beta2", "layers")
    assert s.dim == 7 and s.is_conditional
    assert s.conditions == {
        "momentum": ("opt", ("sgd",)),
        "nesterov": ("opt", ("sgd",)),
        "dampening": ("nesterov", (True,)),
        "beta2": ("opt", ("adam",)),
    }
    assert not Space(x=Float(0, 1)).is_conditional
    assert s.top_level().keys() == {"lr", "opt", "layers"}
    assert s["opt"].branch("plain") is None
    assert s["opt"].branch("adam").names == ("beta2",)
    assert Space(s) == s and Space(s).conditions == s.conditions  # a copy, not a flattening


def test_active_names_follow_the_chain():
    s = tree()
    assert s.active_names({"opt": "sgd", "nesterov": True}) == (
        "lr", "opt", "momentum", "nesterov", "dampening", "layers",
    )  # fmt: skip
    assert s.active_names({"opt": "sgd", "nesterov": False}) == (
        "lr", "opt", "momentum", "nesterov", "layers",
    )  # fmt: skip
    # a child of an inactive choice is inactive whatever that choice's stale value says
    assert s.active_names({"opt": "adam", "nesterov": True}) == ("lr", "opt", "beta2", "layers")


def test_a_dict_branch_becomes_a_space_and_none_brings_nothing():
    c = Choice({"a": {"x": Float(0, 1)}, "b": None})
    assert isinstance(c.branch("a"), Space) and c.branch("b") is None
    assert Choice({"a": None, "b": None}).branches == ()  # no sub-spaces: a plain choice
    assert Choice({"a": None, "b": None}) == Choice(["a", "b"])


def test_the_same_parameter_under_two_options_is_one_parameter():
    shared = Space(momentum=Float(0, 0.99))
    s = Space(opt=Choice({"sgd": shared, "nesterov": shared, "adam": None}))
    assert s.names == ("opt", "momentum")
    assert s.conditions == {"momentum": ("opt", ("sgd", "nesterov"))}
    assert s.validate({"opt": "nesterov", "momentum": 0.5}) == {"opt": "nesterov", "momentum": 0.5}


@pytest.mark.parametrize(
    "make, pattern",
    [
        (
            lambda: Space(lr=Float(0, 1), opt=Choice({"sgd": Space(lr=Float(0, 1)), "b": None})),
            r"parameter 'lr' is defined twice \(at the top level and under opt='sgd'\)",
        ),
        (
            lambda: Space(
                opt=Choice({"sgd": Space(lr=Float(0, 1)), "adam": Space(lr=Float(0, 2))})
            ),
            r"'lr' is defined twice \(under opt='sgd' and under opt='adam'\).*'sgd_lr'",
        ),
        (
            lambda: Choice({"sgd": Float(0, 1), "adam": None}),
            r"option 'sgd' must map to an hn.Space .* got Float",
        ),
        (lambda: Choice("abc"), r"options must be a list or tuple of values"),
        (
            lambda: Space(opt=Choice({"a": Space(x=Float(1, 0)), "b": None})),
            r"Float 'x': low must be < high",
        ),
        (
            lambda: Space(opt=Choice({"a": Space(opt=Float(0, 1)), "b": None})),
            r"'opt' is defined twice",
        ),
    ],
)
def test_bad_trees_get_clear_errors(make, pattern):
    with pytest.raises(SpaceError, match=pattern):
        make()


# ---------------------------------------------------------------------- validating


def test_validate_keeps_the_active_parameters_only():
    s = tree()
    got = s.validate({"lr": 0.01, "opt": "adam", "beta2": 0.99, "layers": 2})
    assert got == {"lr": 0.01, "opt": "adam", "beta2": 0.99, "layers": 2}
    # inactive ones may come as None or NaN, as trials_frame() shows them
    row = {"lr": 0.01, "opt": "plain", "momentum": math.nan, "nesterov": None, "layers": 3}
    assert s.validate(row) == {"lr": 0.01, "opt": "plain", "layers": 3}


@pytest.mark.parametrize(
    "params, pattern",
    [
        (
            {"lr": 0.01, "opt": "adam", "beta2": 0.99, "momentum": 0.5, "layers": 1},
            r"parameter 'momentum' is inactive here: it exists only when opt='sgd'; leave it "
            r"out \(got momentum=0.5\)",
        ),
        (
            {"lr": 0.01, "opt": "sgd", "layers": 1},
            r"missing \['momentum', 'nesterov'\].*expected exactly "
            r"\['lr', 'opt', 'momentum', 'nesterov', 'layers'\]",
        ),
        (
            {"lr": 0.01, "opt": "sgd", "momentum": 0.5, "nesterov": True, "layers": 1},
            r"missing \['dampening'\]",
        ),
        (
            {"lr": 0.01, "opt": "sgd", "momentum": None, "nesterov": False, "layers": 1},
            r"missing \['momentum'\]",
        ),
        ({"lr": 0.01, "opt": "rmsprop", "layers": 1}, r"Choice 'opt': value must be one of"),
        ({"lr": 0.01, "opt": "plain", "layers": 1, "wd": 0.1}, r"unknown \['wd'\]"),
        ({"lr": None, "opt": "plain", "layers": 1}, r"Float 'lr': value must be a finite"),
    ],
)
def test_validate_errors_name_the_parameter_and_the_rule(params, pattern):
    with pytest.raises(SpaceError, match=pattern):
        tree().validate(params)


# ---------------------------------------------------------------------- encoding


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=7, max_size=7))
def test_decoding_gives_a_valid_assignment_that_round_trips(u):
    s = tree()
    params = s.from_unit(u)
    assert s.validate(params) == params
    assert tuple(params) == s.active_names(params)
    enc = s.to_unit(params)
    for name, x in zip(s.names, enc):
        if name not in params:
            assert x == INACTIVE_UNIT
    assert s.from_unit(enc) == params
    assert s.validate(s.from_uniform(u)) == s.from_uniform(u)


def test_sobol_draws_each_branch_and_only_its_parameters():
    s = tree()
    points = s.sobol(64, seed=3)
    by_opt = {o: [p for p in points if p["opt"] == o] for o in ("sgd", "adam", "plain")}
    assert all(len(v) >= 15 for v in by_opt.values())
    assert all("beta2" in p and "momentum" not in p for p in by_opt["adam"])
    assert all(set(p) == {"lr", "opt", "layers"} for p in by_opt["plain"])
    assert any("dampening" in p for p in by_opt["sgd"])
    assert any("dampening" not in p for p in by_opt["sgd"])


def test_json_round_trip_equality_and_repr():
    s = tree()
    text = json.dumps(s.to_json())
    back = Space.from_json(text)
    assert back == s and hash(back) == hash(s) and back.conditions == s.conditions
    assert json.loads(text)["opt"]["branches"][2] is None
    flag = Space(b=Choice({True: Space(x=Int(1, 3)), False: None}))
    assert Space.from_json(json.dumps(flag.to_json())) == flag  # bool options stay bools
    assert repr(s["opt"]).startswith("Choice({'sgd': Space(momentum=Float(")
    other = Space.from_json(text.replace("0.9999", "0.999"))
    assert other != s


def test_from_json_rejects_branches_that_do_not_line_up():
    with pytest.raises(SpaceError, match=r"'opt': stored branches must be a list with one entry"):
        Space.from_json({"opt": {"type": "choice", "options": ["a", "b"], "branches": [None]}})


def test_a_widened_tree_must_keep_when_each_parameter_is_active():
    s = Space(opt=Choice({"a": Space(x=Float(0, 1)), "b": None}), y=Float(0, 1))
    wider = Space(opt=Choice({"a": Space(x=Float(-1, 2)), "b": None}), y=Float(0, 2))
    s.check_widening(wider)
    moved = Space(opt=Choice({"a": None, "b": Space(x=Float(0, 1))}), y=Float(0, 1))
    with pytest.raises(SpaceError, match=r"'x': a widened space must keep when it is active"):
        s.check_widening(moved)


# ---------------------------------------------------------------------- the model's view


def test_inactive_fill_sets_every_inactive_coordinate_along_the_chain():
    s = tree()
    fill = InactiveFill.for_space(s, fill=0.25)
    assert InactiveFill.for_space(Space(x=Float(0, 1))) is None
    opt = {o: s["opt"].to_unit(o) for o in ("sgd", "adam", "plain")}
    X = torch.tensor(
        [
            # lr, opt, momentum, nesterov, dampening, beta2, layers
            [0.3, opt["sgd"], 0.9, 0.0, 0.7, 0.8, 0.1],  # nesterov=True: dampening active
            [0.3, opt["sgd"], 0.9, 1.0, 0.7, 0.8, 0.1],  # nesterov=False
            [0.3, opt["adam"], 0.9, 0.0, 0.7, 0.8, 0.1],
            [0.3, opt["plain"], 0.9, 0.0, 0.7, 0.8, 0.1],
        ],
        dtype=torch.float64,
    )
    assert fill.transform(X).tolist() == [
        [0.3, opt["sgd"], 0.9, 0.0, 0.7, 0.25, 0.1],
        [0.3, opt["sgd"], 0.9, 1.0, 0.25, 0.25, 0.1],
        [0.3, opt["adam"], 0.25, 0.25, 0.25, 0.8, 0.1],
        [0.3, opt["plain"], 0.25, 0.25, 0.25, 0.25, 0.1],
    ]
    # batch shapes of the acquisition optimizer (b x q x d) keep their shape
    assert fill.transform(X.view(2, 2, 7)).shape == (2, 2, 7)


@pytest.mark.slow
def test_the_fitted_model_ignores_inactive_coordinates_and_learns_from_active_ones():
    from hpo_notebook.optimizers.botorch.candidates import fit_model

    s = Space(opt=Choice({"a": Space(x=Float(0, 1)), "b": Space(z=Float(0, 1))}), w=Float(0, 1))
    pts = s.sobol(24, seed=1)
    X = torch.tensor([s.to_unit(p) for p in pts], dtype=torch.float64)
    y = [p.get("x", 0.0) * 3 + p.get("z", 0.0) + p["w"] for p in pts]
    Y = torch.tensor(y, dtype=torch.float64).unsqueeze(-1)
    model, _ = fit_model(X, Y, [0], input_transform=InactiveFill.for_space(s))
    at_a = torch.tensor([[0.0, 0.2, 0.1, 0.5], [0.0, 0.2, 0.9, 0.5]], dtype=torch.float64)
    at_b = torch.tensor([[1.0, 0.1, 0.2, 0.5], [1.0, 0.9, 0.2, 0.5]], dtype=torch.float64)
    with torch.no_grad():
        ma = model.posterior(at_a).mean.squeeze(-1)
        mb = model.posterior(at_b).mean.squeeze(-1)
    # z is inactive in branch a, x in branch b: moving them changes nothing
    assert ma[0] == pytest.approx(ma[1].item(), abs=1e-9)
    assert mb[0] == pytest.approx(mb[1].item(), abs=1e-9)
    # and the active one is learned: x moves the prediction by about 3 x 0.8 in branch a
    at_a2 = at_a.clone()
    at_a2[:, 1] = 0.8
    with torch.no_grad():
        assert (model.posterior(at_a2).mean.squeeze(-1) - ma).mean() > 1.5


# ---------------------------------------------------------------------- the study


def _loss(params: dict, trial: object) -> dict:
    x = math.log10(params["lr"]) + 2.5
    if params["opt"] == "sgd":
        extra = (params["momentum"] - 0.9) ** 2 + (params.get("dampening", 0.0) or 0.0)
    elif params["opt"] == "adam":
        extra = 0.3 + 100 * (params["beta2"] - 0.99) ** 2
    else:
        extra = 1.0
    return {"a": x**2 + extra, "b": (x - 1) ** 2 + extra / 2, "seen": sorted(params)}


@pytest.mark.slow
def test_a_study_proposes_and_passes_only_active_parameters(tmp_path):
    s = tree()
    seen: list[dict] = []

    def fn(params: dict, trial: object) -> dict:
        seen.append(dict(params))
        out = _loss(params, trial)
        return {"a": out["a"], "b": out["b"]}

    study = hn.Study(fn, s, objectives={"a": "min", "b": "min"}, seed=0,
                     storage=str(tmp_path / "tree.db"))  # fmt: skip
    study.run(n_trials=22, concurrency=4, cluster=hn.SimulatedCluster(n_workers=4), show=False)
    assert len(seen) == 22
    for p in seen:
        assert tuple(p) == s.active_names(p)  # exactly the active ones, in the space's order
    kinds = {t.proposal.get("kind") for t in study.trials}
    assert any(k and k.startswith("qLog") for k in kinds), kinds  # the model proposed too
    df = study.trials_frame()
    cols = [c for c in df.columns if c.startswith("params_")]
    assert cols == [f"params_{n}" for n in s.names]
    adam = df[df.params_opt == "adam"]
    assert adam.params_momentum.isna().all() and adam.params_beta2.notna().all()
    # the stored study reopens with its tree, and a frame row goes back through validate
    again = hn.load_study(str(tmp_path / "tree.db"))
    assert again.space == s
    row = df.iloc[0]
    assert s.validate({n: row[f"params_{n}"] for n in s.names}) == study.trials[0].params


def test_pending_trials_in_other_branches_are_not_proposed_again():
    s = Space(opt=Choice({"a": Space(x=Int(0, 2)), "b": None}))
    study = hn.Study(None, s, objectives={"y": "min"}, seed=0)
    got = [t.params for t in study.ask(4)]
    # four distinct points exist ({b}, {a,0}, {a,1}, {a,2}); all four are asked for
    assert sorted(map(str, got)) == sorted(
        map(str, [{"opt": "b"}, {"opt": "a", "x": 0}, {"opt": "a", "x": 1}, {"opt": "a", "x": 2}])
    )


@pytest.mark.slow
def test_the_model_finds_the_branch_with_the_optimum():
    """The optimum is in branch 'c' only; after the initial design the model's proposals go
    there more often than a third of the time."""

    def fn(params: dict, trial: object) -> dict:
        base = (params["w"] - 0.3) ** 2
        if params["opt"] == "c":
            return {"y": base + (params["z"] - 0.7) ** 2}
        return {"y": base + 0.5 + params.get("x", 0.0)}

    s = Space(
        w=Float(0, 1),
        opt=Choice({"a": Space(x=Float(0, 1)), "b": None, "c": Space(z=Float(0, 1))}),
    )
    study = hn.Study(fn, s, objectives={"y": "min"}, seed=1)
    study.run(n_trials=30, concurrency=2, cluster=hn.SimulatedCluster(n_workers=2), show=False)
    model = [t for t in study.trials if not t.proposal.get("kind", "").startswith("sobol")]
    assert len(model) >= 10
    share_c = np.mean([t.params["opt"] == "c" for t in model])
    assert share_c > 0.6, share_c
    best = min(study.trials, key=lambda t: t.values["y"])
    assert best.params["opt"] == "c" and best.values["y"] < 0.05


# ---------------------------------------------------------------------- views


def test_magics_unpack_inactive_parameters_as_none():
    src = trial_source("y = momentum", tree(), ["y"])
    assert "momentum = params.get('momentum')" in src and "lr = params['lr']" in src
    ns: dict = {}
    exec(src, ns)
    fn = next(v for k, v in ns.items() if callable(v))
    assert fn({"lr": 0.01, "opt": "plain", "layers": 1}, None) == {"y": None}


@pytest.mark.slow
def test_parallel_coordinates_and_importance_treat_inactive_as_missing():
    s = Space(opt=Choice({"a": Space(x=Float(0, 1)), "b": None}), w=Float(0, 1))
    study = hn.Study(None, s, objectives={"y": "min"}, seed=0)
    rng = np.random.default_rng(0)
    for _ in range(12):
        (t,) = study.ask(1)
        # y follows x where x exists and nothing else
        y = t.params.get("x", 0.5) + 0.01 * rng.normal()
        study.tell(t, {"y": y})
    data = D.parallel_data(study.trials, s, study.objectives)
    on = np.array([t.params["opt"] == "a" for t in study.trials])
    assert np.isnan(data.unit[~on, 1]).all() and not np.isnan(data.unit[on, 1]).any()
    assert data.has_inactive() and (data.placed()[~on, 1] == D.INACTIVE_AT).all()
    imp = D.importance_data(s, None, study.trials, study.objectives)
    assert imp.params[int(np.argmax(imp.importance))] == "x"
    fig = hn.plots.parallel(data)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["inactive", "low", "high"]
    from hpo_notebook.viz import interactive

    dims = interactive.parallel(data).data[0].dimensions
    assert list(dims[1].ticktext) == ["inactive", "0", "1"] and list(dims[0].ticktext) == [
        "a",
        "b",
    ]


def test_boundary_warnings_count_only_trials_where_the_parameter_is_active():
    from hpo_notebook.boundary import boundary_warnings

    s = Space(opt=Choice({"a": Space(x=Float(0, 1)), "b": None}), w=Float(0, 1))
    study = hn.Study(None, s, objectives={"y": "min"}, seed=0)
    for t in study.ask(30):
        study.tell(t, {"y": 0.0})
    trials = []
    for i, t in enumerate(study.trials):
        params = {"opt": "a", "x": 0.99, "w": i / 30} if i % 2 else {"opt": "b", "w": i / 30}
        # branch a, at x's upper bound, is the good half
        trials.append(dataclasses.replace(t, params=params, values={"y": float(i % 2 == 0)}))
    names = {(w.parameter, w.bound) for w in boundary_warnings(s, study.objectives, trials)}
    assert ("x", "upper") in names


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # reading ipydatagrid's .data
def test_the_dashboard_shows_a_tree():
    from hpo_notebook.widgets.dashboard import Dashboard

    s = Space(opt=Choice({"a": Space(x=Float(0, 1)), "b": None}), w=Float(0, 1))
    study = hn.Study(None, s, objectives={"y": "min", "z": "min"}, optimizer="sobol", seed=0)
    for t in study.ask(10):
        study.tell(t, {"y": t.params.get("x", 0.5) + t.params["w"], "z": 1 - t.params["w"]})
    dash = Dashboard(study, autostart=False)
    dash.refresh()
    dims = dash.parallel_fig.data[0].dimensions
    assert [d.label for d in dims] == ["opt", "x", "w", "y"]
    assert list(dims[1].ticktext) == ["inactive", "0", "1"]
    assert set(dash.importance_fig.data[0].y) == {"opt", "x", "w"}
    table = dash.trial_grid.data
    assert list(table.columns[4:7]) == ["opt", "x", "w"]
    b_rows = table[table["opt"] == "b"]
    assert len(b_rows) and b_rows["x"].isna().all()


@pytest.mark.parametrize("pruned_in_model", ["last", "fidelity"])
@pytest.mark.slow
def test_pruning_and_pending_trials_work_across_branches(pruned_in_model):
    """Trials of every branch report, are pruned against each other by ASHA, and (with
    "fidelity") their curves enter the model with the branch's inactive coordinates filled."""

    def fn(params: dict, trial: object) -> dict:
        level = params["w"] + (params["x"] if params["opt"] == "a" else 0.3)
        for epoch in range(1, 10):
            trial.sleep(1.0)
            trial.report(epoch, y=level + 1.0 / epoch)
        return {"y": level + 1.0 / 9}

    s = Space(opt=Choice({"a": Space(x=Float(0, 1)), "b": None}), w=Float(0, 1))
    study = hn.Study(fn, s, objectives={"y": "min"}, seed=0, pruner=hn.ASHA(max_steps=9),
                     pruned_in_model=pruned_in_model)  # fmt: skip
    study.run(n_trials=24, concurrency=4, cluster=hn.SimulatedCluster(n_workers=4), show=False)
    states = [t.state for t in study.trials]
    assert states.count(hn.TrialState.PRUNED) >= 6
    assert states.count(hn.TrialState.COMPLETE) + states.count(hn.TrialState.PRUNED) == 24
    pruned = {t.params["opt"] for t in study.trials if t.state is hn.TrialState.PRUNED}
    assert pruned == {"a", "b"}
    model = [t for t in study.trials if t.proposal.get("kind", "").startswith("qLog")]
    assert model, [t.proposal.get("kind") for t in study.trials]
    if pruned_in_model == "fidelity":
        assert any(t.proposal.get("n_curve_points", 0) > 0 for t in model)
    for t in study.trials:
        assert tuple(t.params) == s.active_names(t.params)


def test_the_initial_design_counts_the_parameters_a_point_has():
    from hpo_notebook.optimizers.botorch import BoTorchOptimizer

    s = (
        tree()
    )  # 7 coordinates; sgd with nesterov has lr, opt, momentum, nesterov, dampening, layers
    assert s.max_active == 6 and Space(x=Float(0, 1), y=Int(0, 3)).max_active == 2
    assert BoTorchOptimizer("qLogNEHVI").initial_design_size(s) == 2 * (6 + 1)
    shared = Space(opt=Choice({"a": Space(m=Float(0, 1)), "b": Space(m=Float(0, 1))}))
    assert shared.dim == 2 and shared.max_active == 2
