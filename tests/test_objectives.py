"""Tests of hpo_notebook/objectives.py: parsing, the max frame, constraints, trial results."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hpo_notebook.exceptions import ConfigError, HpoError, TrialResultError
from hpo_notebook.objectives import Constraint, Objective, Objectives

# ---------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("spec", "names", "directions"),
    [
        ("min", ("value",), ("min",)),
        ("maximize", ("value",), ("max",)),
        (Objective("max", threshold=1.0), ("value",), ("max",)),
        ({"loss": "min", "acc": "max"}, ("loss", "acc"), ("min", "max")),
        ({"loss": "minimize", "acc": "maximize"}, ("loss", "acc"), ("min", "max")),
        ({"loss": "MIN", "acc": "Maximize"}, ("loss", "acc"), ("min", "max")),
        ({"a": Objective("minimize"), "b": Objective()}, ("a", "b"), ("min", "min")),
    ],
)
def test_parse_forms(spec, names, directions):
    objs = Objectives.parse(spec)
    assert objs.names == names
    assert objs.n == len(names)
    assert tuple(o.direction for _, o in objs.objectives) == directions
    assert objs.constraints == ()


@pytest.mark.parametrize(
    ("spec", "pattern"),
    [
        (None, r"objectives are required"),
        ({}, r"objectives must be a non-empty mapping .* got \{\}"),
        (["loss"], r"objectives must be a non-empty mapping .* got \['loss'\]"),
        ({"loss": "up"}, r"objective 'loss': direction must be 'min', 'max' .* got 'up'"),
        ({"loss": 1}, r"objective 'loss': direction must be 'min', 'max' .* got 1"),
        ({"loss": None}, r"objective 'loss': direction must be 'min', 'max' .* got None"),
        ("sideways", r"objective 'value': direction must be .* got 'sideways'"),
        ({"": "min"}, r"objective names must be non-empty strings, got ''"),
        ({3: "min"}, r"objective names must be non-empty strings, got 3"),
    ],
)
def test_parse_errors(spec, pattern):
    with pytest.raises(ConfigError, match=pattern) as info:
        Objectives.parse(spec)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"direction": "down"}, r"Objective: direction must be 'min' or 'max', got 'down'"),
        ({"direction": None}, r"Objective: direction must be 'min' or 'max', got None"),
        (
            {"direction": "min", "threshold": float("nan")},
            r"threshold must be a finite number or None, got nan",
        ),
        (
            {"direction": "min", "threshold": float("inf")},
            r"threshold must be a finite number or None, got inf",
        ),
        ({"direction": "max", "threshold": True}, r"threshold must be .* got True"),
        ({"direction": "max", "threshold": "0.5"}, r"threshold must be .* got '0\.5'"),
    ],
)
def test_objective_errors(kwargs, pattern):
    with pytest.raises(ConfigError, match=pattern):
        Objective(**kwargs)


def test_objective_aliases_and_signs():
    assert Objective("minimize").direction == "min"
    assert Objective("maximize").direction == "max"
    assert Objective("min").sign == -1.0
    assert Objective("max").sign == 1.0
    assert Objective("max", threshold=3).threshold == 3


@pytest.mark.parametrize(
    ("constraints", "pattern"),
    [
        (
            {"latency": ("<", 50)},
            r"constraint 'latency': expected \('<=', bound\) .* got \('<', 50\)",
        ),
        ({"latency": ("<=",)}, r"constraint 'latency': .* got \('<=',\)"),
        ({"latency": ("<=", 1, 2)}, r"constraint 'latency': .* got \('<=', 1, 2\)"),
        ({"latency": ("<=", float("nan"))}, r"constraint 'latency': .* got \('<=', nan\)"),
        ({"latency": ("<=", float("inf"))}, r"constraint 'latency': .* got \('<=', inf\)"),
        ({"latency": ("<=", True)}, r"constraint 'latency': .* got \('<=', True\)"),
        ({"latency": ("<=", "50")}, r"constraint 'latency': .* got \('<=', '50'\)"),
        ({"latency": "<= 50"}, r"constraint 'latency': .* got '<= 50'"),
        ({"": ("<=", 1)}, r"constraint names must be non-empty metric names, got ''"),
        ([("latency", "<=", 50)], r"constraints must be a mapping like"),
    ],
)
def test_constraint_errors(constraints, pattern):
    with pytest.raises(ConfigError, match=pattern):
        Objectives.parse({"loss": "min"}, constraints)


def test_constraints_parsed_and_metric_names():
    objs = Objectives.parse(
        {"loss": "min", "acc": "max"},
        constraints={"latency": ["<=", 50], "acc": (">=", 0.5), "mem": (">=", np.float64(2))},
    )
    assert objs.constraints == (
        Constraint("latency", "<=", 50.0),
        Constraint("acc", ">=", 0.5),
        Constraint("mem", ">=", 2.0),
    )
    assert all(type(c.bound) is float for c in objs.constraints)
    assert objs.metric_names == ("loss", "acc", "latency", "mem")
    assert str(objs.constraints[0]) == "latency <= 50"


# ---------------------------------------------------------------------- frames


def test_to_max_frame_and_thresholds():
    objs = Objectives.parse(
        {
            "loss": Objective("min", threshold=0.3),
            "acc": Objective("max", threshold=0.8),
            "time_s": "min",
        }
    )
    assert objs.signs == [-1.0, 1.0, -1.0]
    assert objs.to_max_frame({"loss": 0.25, "acc": 0.9, "time_s": -2, "other": 5}) == [
        -0.25,
        0.9,
        2.0,
    ]
    assert objs.thresholds_max_frame() == [-0.3, 0.8, None]


def test_max_frame_follows_objective_order_not_dict_order():
    objs = Objectives.parse({"b": "max", "a": "min"})
    assert objs.to_max_frame({"a": 1.0, "b": 2.0}) == [2.0, -1.0]


@pytest.mark.parametrize(
    ("op", "value", "slack", "ok"),
    [
        ("<=", 40.0, -10.0, True),
        ("<=", 50.0, 0.0, True),
        ("<=", 65.0, 15.0, False),
        (">=", 60.0, -10.0, True),
        (">=", 50.0, 0.0, True),
        (">=", 45.0, 5.0, False),
    ],
)
def test_constraint_slack_and_feasibility(op, value, slack, ok):
    c = Constraint("latency", op, 50.0)
    assert c.slack(value) == slack
    assert c.satisfied(value) is ok
    objs = Objectives.parse({"loss": "min"}, {"latency": (op, 50)})
    assert objs.feasible({"loss": 1.0, "latency": value}) is ok


def test_feasible_needs_every_constraint():
    objs = Objectives.parse({"loss": "min"}, {"a": ("<=", 1), "b": (">=", 1)})
    assert objs.feasible({"loss": 0, "a": 1, "b": 1})
    assert not objs.feasible({"loss": 0, "a": 1.5, "b": 1})
    assert not objs.feasible({"loss": 0, "a": 1, "b": 0.5})
    assert Objectives.parse("min").feasible({"value": 1.0})


# ---------------------------------------------------------------------- check_result


@pytest.fixture
def one():
    return Objectives.parse({"loss": "min"})


@pytest.fixture
def two():
    return Objectives.parse({"loss": "min", "acc": "max"}, {"latency": ("<=", 50)})


def test_float_for_one_objective(one):
    out = one.check_result(0.5)
    assert out == {"loss": 0.5}
    assert type(out["loss"]) is float
    assert one.check_result(3) == {"loss": 3.0}
    assert type(one.check_result(3)["loss"]) is float


def test_float_for_two_objectives_raises(two):
    with pytest.raises(
        TrialResultError,
        match=r"single number \(0\.5\) but the study has 2 objectives \['loss', 'acc'\]",
    ) as info:
        two.check_result(0.5)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, HpoError)


@pytest.mark.parametrize(
    ("result", "missing"),
    [
        ({"loss": 1.0, "latency": 3.0}, r"\['acc'\]"),
        ({"loss": 1.0, "acc": 0.5}, r"\['latency'\]"),
        ({"los": 1.0, "acc": 0.5, "latency": 3.0}, r"\['loss'\]"),
        ({}, r"\['loss', 'acc', 'latency'\]"),
    ],
)
def test_missing_metric_is_named(two, result, missing):
    with pytest.raises(TrialResultError, match=r"lacks metric\(s\) " + missing):
        two.check_result(result)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), np.float32("nan")])
@pytest.mark.parametrize("metric", ["loss", "acc", "latency"])
def test_non_finite_metric_is_named(two, metric, bad):
    result = {"loss": 1.0, "acc": 0.5, "latency": 3.0, metric: bad}
    with pytest.raises(TrialResultError, match=rf"metric '{metric}' must be a finite number, got"):
        two.check_result(result)


@pytest.mark.parametrize("bad", ["0.5", None, True, [0.5], np.array([0.5])])
def test_non_number_metric_is_named(one, bad):
    with pytest.raises(TrialResultError, match=r"metric 'loss' must be a finite number"):
        one.check_result({"loss": bad})


@pytest.mark.parametrize("bad", ["0.5", None, [0.5], (0.5,)])
def test_non_dict_result(one, bad):
    with pytest.raises(TrialResultError, match=r"must return a dict of metrics such as"):
        one.check_result(bad)


def test_float_for_one_objective_rejects_nan(one):
    with pytest.raises(TrialResultError, match=r"metric 'loss' must be a finite number, got nan"):
        one.check_result(float("nan"))


@pytest.mark.parametrize(
    "value", [np.float64(0.25), np.float32(0.25), np.int64(2), np.array(0.25), np.int8(-3)]
)
def test_numpy_scalars_are_converted_to_float(one, value):
    for out in (one.check_result(value), one.check_result({"loss": value, "extra": value})):
        assert out["loss"] == float(value)
        assert type(out["loss"]) is float
    assert type(one.check_result({"loss": 1, "extra": value})["extra"]) is float


def test_torch_scalar_is_converted(one):
    import torch  # a dependency of the package: the test must run, not skip

    out = one.check_result({"loss": torch.tensor(0.5, dtype=torch.float64)})
    assert out == {"loss": 0.5}
    assert type(out["loss"]) is float


def test_extra_metrics_kept(two):
    result = {
        "loss": 1,
        "acc": 0.5,
        "latency": 3,
        "epochs": 7,
        "note": "früh gestoppt",
        "cfg": {"layers": [1, 2]},
        "flag": True,
        "nothing": None,
    }
    out = two.check_result(result)
    assert out == {
        "loss": 1.0,
        "acc": 0.5,
        "latency": 3.0,
        "epochs": 7.0,
        "note": "früh gestoppt",
        "cfg": {"layers": [1, 2]},
        "flag": True,
        "nothing": None,
    }
    assert type(out["epochs"]) is float
    assert out["flag"] is True  # bools are not numbers: kept as they are
    assert list(out) == list(result)


def test_non_string_metric_name(one):
    with pytest.raises(TrialResultError, match=r"metric names must be strings, got 3"):
        one.check_result({"loss": 1.0, 3: 2.0})


def test_extra_metric_json_cannot_hold_is_rejected(one):
    with pytest.raises(TrialResultError, match=r"'model'"):
        one.check_result({"loss": 1.0, "model": object()})


def test_numpy_bool_is_not_a_metric(one):
    with pytest.raises(TrialResultError, match=r"metric 'loss' must be a finite number"):
        one.check_result({"loss": np.True_})


# ---------------------------------------------------------------------- JSON


@pytest.mark.parametrize(
    ("objectives", "constraints"),
    [
        ("max", None),
        ({"loss": Objective("min", threshold=0.3), "acc": "max"}, {"latency": ("<=", 50)}),
        ({"ü": Objective("max", threshold=-1)}, {"ü": (">=", -2.5), "mem": ["<=", 1e9]}),
    ],
)
def test_json_round_trip(objectives, constraints):
    objs = Objectives.parse(objectives, constraints)
    data = objs.to_json()
    back = Objectives.from_json(json.loads(json.dumps(data)))
    assert back == objs
    assert back.to_json() == data
    assert back.metric_names == objs.metric_names


def test_json_form():
    objs = Objectives.parse({"loss": Objective("min", 0.3)}, {"latency": ("<=", 50)})
    assert objs.to_json() == {
        "objectives": {"loss": {"direction": "min", "threshold": 0.3}},
        "constraints": {"latency": ["<=", 50.0]},
    }


@pytest.mark.parametrize(
    ("objectives", "constraints"),
    [
        ({"error": "min"}, None),
        ({"loss": "min", "step": "max"}, None),
        ({"loss": "min"}, {"worker": ("<=", 1)}),
        ({"params_lr": "min"}, None),
    ],
)
def test_metric_names_like_frame_columns_are_allowed(objectives, constraints):
    """Their frame columns are renamed instead (see results.metric_column)."""
    objs = Objectives.parse(objectives, constraints)
    assert set(objs.metric_names) == {*objectives, *(constraints or {})}


def test_the_maximization_frame_round_trips_and_checks_its_columns():
    objs = Objectives.parse({"loss": "min", "acc": "max", "size": "min"})
    user = np.array([[0.5, 0.9, 3.0], [0.1, 0.2, 7.0]])
    maxed = objs.to_max_array(user)
    assert maxed.tolist() == [[-0.5, 0.9, -3.0], [-0.1, 0.2, -7.0]]
    assert objs.from_max_array(maxed).tolist() == user.tolist()
    assert objs.to_max_array(user[0]).tolist() == objs.to_max_frame(
        {"loss": 0.5, "acc": 0.9, "size": 3.0}
    )
    with pytest.raises(ValueError, match="expected 3 objective columns"):
        objs.to_max_array([[1.0, 2.0]])
