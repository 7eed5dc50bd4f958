"""Tests of hpo_notebook/pareto.py: fronts, hypervolume and reference points (max frame)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpo_notebook.pareto import (
    hypervolume,
    hypervolume_history,
    non_dominated_mask,
    reference_point,
)

# ---------------------------------------------------------------------- non-dominated mask


@pytest.mark.parametrize(
    ("Y", "mask"),
    [
        ([[1.0, 0.0], [0.0, 1.0], [0.2, 0.2]], [True, True, True]),  # (0.2, 0.2) is a trade-off
        ([[1.0, 0.0], [0.0, 1.0], [-0.2, -0.2]], [True, True, False]),
        ([[1, 1], [1, 1], [0, 0]], [True, True, False]),  # duplicates both kept
        ([[3, 1], [2, 2], [1, 3], [1, 1], [2, 2]], [True, True, True, False, True]),
        ([[1, 1], [1, 0]], [True, False]),  # equal in one objective, worse in the other
        ([[1, 0], [1, 1]], [False, True]),
        ([[5, 5]], [True]),
        ([[2, 1, 1], [1, 2, 1], [1, 1, 2], [1, 1, 1], [2, 2, 2]], [False] * 4 + [True]),
        ([[2, 1, 1], [1, 2, 1], [1, 1, 2], [1, 1, 1]], [True, True, True, False]),
    ],
)
def test_non_dominated_mask(Y, mask):
    out = non_dominated_mask(Y)
    assert isinstance(out, np.ndarray)
    assert out.dtype == bool
    assert out.tolist() == mask
    assert non_dominated_mask(np.asarray(Y, dtype=float)).tolist() == mask


def test_non_dominated_mask_empty():
    assert non_dominated_mask(np.empty((0, 2))).tolist() == []
    assert non_dominated_mask([]).tolist() == []


# ---------------------------------------------------------------------- hypervolume


@pytest.mark.parametrize(
    ("Y", "ref", "hv"),
    [
        # one box: 2 x 3
        ([[2.0, 3.0]], [0.0, 0.0], 6.0),
        # staircase: 3*1 + 2*1 + 1*1
        ([[3, 1], [2, 2], [1, 3]], [0, 0], 6.0),
        # boxes 2x1 and 1x2 around (-1, -1) overlap in 1x1; (0.2, 0.2) adds 2 * 0.2 * 0.1 + 0.2^2
        ([[1.0, 0.0], [0.0, 1.0]], [-1.0, -1.0], 3.0),
        ([[1.0, 0.0], [0.0, 1.0], [0.2, 0.2]], [-1.0, -1.0], 3.04),
        # duplicates and dominated points change nothing
        ([[3, 1], [2, 2], [1, 3], [2, 2], [1, 1]], [0, 0], 6.0),
        # 3-D: one box 1 x 2 x 3 from ref (1, 1, 1)
        ([[2.0, 3.0, 4.0]], [1.0, 1.0, 1.0], 6.0),
        # 3-D: two boxes of 2 overlapping in 1
        ([[2, 1, 1], [1, 2, 1]], [0, 0, 0], 3.0),
        # 3-D: three boxes of 2, pairwise overlaps 1 each, triple overlap 1: 6 - 3 + 1
        ([[2, 1, 1], [1, 2, 1], [1, 1, 2]], [0, 0, 0], 4.0),
        # 3-D: adding (2, 2, 2) covers everything: 8
        ([[2, 1, 1], [1, 2, 1], [1, 1, 2], [2, 2, 2]], [0, 0, 0], 8.0),
    ],
)
def test_hypervolume_hand_computed(Y, ref, hv):
    assert hypervolume(Y, ref) == pytest.approx(hv, rel=1e-12)
    assert type(hypervolume(Y, ref)) is float


@pytest.mark.parametrize(
    "bad",
    [
        [[5.0, -1.0]],  # worse than ref in objective 2
        [[-1.0, 5.0]],
        [[0.0, 5.0]],  # equal to ref in objective 1: a box of zero width
        [[-3.0, -3.0]],
    ],
)
def test_points_not_dominating_ref_contribute_nothing(bad):
    ref = [0.0, 0.0]
    assert hypervolume(bad, ref) == 0.0
    good = [[2.0, 3.0]]
    assert hypervolume(good + bad, ref) == pytest.approx(6.0)
    assert hypervolume(bad + good, ref) == pytest.approx(6.0)


def test_hypervolume_empty():
    assert hypervolume([], [0.0, 0.0]) == 0.0
    assert hypervolume(np.empty((0, 3)), [0.0, 0.0, 0.0]) == 0.0


def test_hypervolume_history_hand_computed():
    Y = [[-1, 5], [1, 1], [1, 1], [0.5, 0.5], [2, 1], [1, 3], [4, 4]]
    assert hypervolume_history(Y, [0, 0]) == pytest.approx([0, 1, 1, 1, 2, 4, 16])


_coord = st.integers(-3, 6).map(float) | st.floats(-3.0, 6.0, allow_nan=False, width=32).map(float)


@st.composite
def _objective_sets(draw):
    m = draw(st.sampled_from([2, 3]))
    Y = draw(st.lists(st.lists(_coord, min_size=m, max_size=m), min_size=1, max_size=8))
    ref = draw(st.lists(st.integers(-2, 1).map(float), min_size=m, max_size=m))
    return Y, ref


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(_objective_sets())
def test_hypervolume_history_equals_prefix_recomputation(Y_ref):
    Y, ref = Y_ref
    expected = [hypervolume(Y[: k + 1], ref) for k in range(len(Y))]
    got = hypervolume_history(Y, ref)
    assert len(got) == len(Y)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(got))  # never decreases


# ---------------------------------------------------------------------- reference point


def test_reference_point_all_thresholds_used_as_given():
    assert reference_point([[1.0, 2.0], [2.0, 1.0]], [0.1, -0.3]) == [0.1, -0.3]
    # even without data, and even when no point beats them
    assert reference_point([], [0.1, -0.3]) == [0.1, -0.3]
    assert reference_point(np.empty((0, 2)), [5, 5]) == [5.0, 5.0]
    assert reference_point([[1.0, 2.0]], [5.0, 5.0]) == [5.0, 5.0]


def test_reference_point_inferred_from_data():
    # nadir (1, 1) less 10% of the range (1, 1)
    assert reference_point([[1.0, 2.0], [2.0, 1.0]]) == pytest.approx([0.9, 0.9])
    assert reference_point([[1.0, 2.0], [2.0, 1.0]], [None, None]) == pytest.approx([0.9, 0.9])
    # a dominated point does not move the nadir
    assert reference_point([[1.0, 2.0], [2.0, 1.0], [0.0, 0.0]]) == pytest.approx([0.9, 0.9])
    # one point: itself less 10% of its magnitude
    assert reference_point([[1.0, 2.0]]) == pytest.approx([0.9, 1.8])
    assert reference_point([[-10.0, 4.0]]) == pytest.approx([-11.0, 3.6])


def test_reference_point_mixes_given_and_inferred():
    Y = [[1.0, 2.0], [2.0, 1.0]]
    ref = reference_point(Y, [0.5, None])
    assert ref[0] == 0.5
    assert ref[1] == pytest.approx(0.9)
    ref = reference_point(Y, [None, -4.0])
    assert ref[1] == -4.0
    assert ref[0] == pytest.approx(0.9)
    assert all(type(x) is float for x in ref)


def test_reference_point_mixed_keeps_threshold_exactly():
    assert reference_point([[1.0, 2.0], [2.0, 1.0]], [0.1, None])[0] == 0.1


def test_reference_point_mixed_uses_threshold_no_point_beats():
    assert reference_point([[1.0, 2.0], [2.0, 1.0]], [5.0, None])[0] == 5.0


@pytest.mark.parametrize(
    ("Y", "thresholds"),
    [
        ([], None),
        (np.empty((0, 2)), None),
        ([], [0.0, None]),
        (np.empty((0, 2)), [None, None]),
    ],
)
def test_reference_point_without_data_or_thresholds_raises(Y, thresholds):
    with pytest.raises(ValueError, match=r"cannot infer a reference point without observations"):
        reference_point(Y, thresholds)
