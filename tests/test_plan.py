"""Tests of ipcf.plan: the circle, the bins, the smoothing and Plan."""

import dataclasses
import math

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from ipcf.plan import (
    Plan,
    average_bins,
    bin_delays,
    circle,
    logbins,
    smooth,
    smoothing_matrix,
)


def smooth_loop(s):
    """SPEC's smoothing, written out."""
    s = list(s)
    s[0] = s[1]
    for k in range(1, len(s)):
        s[k] = 0.3 * s[k] + 0.7 * s[k - 1]
    for k in range(len(s) - 2, -1, -1):
        s[k] = 0.3 * s[k] + 0.7 * s[k + 1]
    return s


def test_circle_spec_values():
    assert circle(6, 32)[:8].tolist() == [
        [6, 0], [6, 1], [6, 2], [5, 3], [4, 4], [3, 5], [2, 6], [1, 6],
    ]  # fmt: skip


@pytest.mark.parametrize('radius', [1, 2, 3, 6, 7, 12])
def test_circle_symmetry(radius):
    points = circle(radius, 32)
    assert points.dtype == numpy.intp
    assert_array_equal(points[16:], -points[:16])
    assert numpy.abs(points).max() == radius


@pytest.mark.parametrize(
    ('radius', 'count'), [(1, 4), (4, 24), (6, 32), (12, 68)]
)
def test_circle_default_count(radius, count):
    points = circle(radius, None)
    assert len(points) == count == 4 * math.floor(math.sqrt(2) * radius + 0.5)
    # no duplicate points up to radius 12
    assert len({tuple(p) for p in points}) == count


def test_circle_odd_count():
    points = circle(3, 5)
    assert points.shape == (5, 2)
    assert points[0].tolist() == [3, 0]
    # no point is the negative of another
    assert not (points[:, None] == -points).all(axis=-1).any()


def test_circle_bad_arguments():
    with pytest.raises(ValueError, match='radius=0'):
        circle(0)
    with pytest.raises(ValueError, match='npoints=0'):
        circle(3, 0)
    with pytest.raises(TypeError, match='radius'):
        circle(2.5)


def test_logbins_spec_values():
    assert logbins(8192, 32).tolist() == [
        1, 2, 3, 4, 5, 7, 10, 13, 18, 24, 32, 43, 58, 78, 104, 139, 187,
        250, 334, 447, 598, 800, 1070, 1432, 1915, 2561, 3425, 4580, 6125,
        8192,
    ]  # fmt: skip
    assert len(logbins(16384 // 2, 32)) == 30


def test_logbins_cover_all_delays():
    for size in (1, 2, 3, 7, 100, 1000):
        edges = logbins(size, 8)
        assert edges[0] == 1
        assert edges[-1] == size
        assert (numpy.diff(edges) > 0).all()


def test_logbins_bad_arguments():
    with pytest.raises(ValueError, match='nbins=1'):
        logbins(100, 1)
    with pytest.raises(ValueError, match='size=0'):
        logbins(0, 8)


def test_average_bins_by_hand():
    curves = numpy.array([[1.0, 2.0, 4.0, 6.0, 8.0], [0, 0, 3, 3, 9]])
    assert_allclose(average_bins(curves, [1, 2, 5]), [[1, 2, 6], [0, 0, 5]])
    with pytest.raises(ValueError, match='fewer than'):
        average_bins(curves, [1, 6])


def test_bin_delays():
    assert_allclose(bin_delays([1, 2, 4, 8]), [0, 1, 2.5, 5.5])


def test_smooth_by_hand():
    # s = [a, b, c]: s0 = b; forward s1 = b, s2 = .3c + .7b;
    # backward s1 = .3b + .7 s2, s0 = .3b + .7 s1
    s = smooth([5.0, 1.0, 2.0])
    s2 = 0.3 * 2 + 0.7 * 1
    s1 = 0.3 * 1 + 0.7 * s2
    s0 = 0.3 * 1 + 0.7 * s1
    assert_allclose(s, [s0, s1, s2])
    rng = numpy.random.default_rng(0)
    curves = rng.random((3, 4, 9))
    expected = [[smooth_loop(c) for c in row] for row in curves]
    before = curves.copy()
    assert_allclose(smooth(curves), expected, rtol=1e-14)
    assert_array_equal(curves, before)
    out = smooth(curves, out=curves)
    assert out is curves
    assert_allclose(curves, expected, rtol=1e-14)


def test_smooth_preserves_constants():
    assert_allclose(smooth(numpy.full(7, 2.5)), 2.5)


def test_smooth_integers_and_too_few_bins():
    assert smooth([1, 3, 3]).dtype == numpy.float64
    assert_allclose(smooth([1, 3, 3]), smooth_loop([1.0, 3.0, 3.0]))
    with pytest.raises(ValueError, match='at least 2 bins'):
        smooth([1.0])


@pytest.mark.parametrize('nbins', [2, 3, 8, 30])
def test_smoothing_matrix(nbins):
    """S applied from the right smooths, as smooth does."""
    matrix = smoothing_matrix(nbins)
    assert matrix.shape == (nbins, nbins)
    assert matrix.dtype == numpy.float64
    rng = numpy.random.default_rng(nbins)
    curves = rng.normal(size=(5, nbins))
    assert_allclose(curves @ matrix, smooth(curves), rtol=0, atol=1e-14)
    expected = [smooth_loop(c) for c in curves]
    assert_allclose(curves @ matrix, expected, rtol=0, atol=1e-14)
    # the first bin is replaced by the second; constants are kept
    assert not matrix[0].any()
    assert_allclose(numpy.ones(nbins) @ matrix, 1.0)


def test_smoothing_matrix_bad_arguments():
    with pytest.raises(ValueError, match='nbins=1'):
        smoothing_matrix(1)
    with pytest.raises(TypeError, match='nbins'):
        smoothing_matrix(2.0)


def test_plan_image():
    plan = Plan.image(radius=2, npoints=4, nframes=64, nbins=8)
    assert plan.offsets.tolist() == [[2, 0], [0, 2], [-2, 0], [0, -2]]
    assert plan.halo == (2, 2)
    assert plan.nframes == 64
    assert plan.edges == tuple(int(e) for e in logbins(32, 8))
    assert all(type(e) is int for e in plan.edges)
    assert (plan.mode, plan.smoothing) == ('circular', True)
    assert (plan.cross, plan.reverse) == (False, False)
    assert (plan.npoints, plan.nbins, plan.ndirections) == (4, 7, 1)


def test_plan_image_options():
    plan = Plan.image(
        radius=6,
        npoints=None,
        nframes=201,
        nbins=32,
        mode='linear',
        cross=True,
        reverse=True,
    )
    assert_array_equal(plan.offsets, circle(6, None))
    assert plan.edges[-1] == 100  # N // 2 delays of 201 frames
    assert (plan.mode, plan.cross, plan.reverse) == ('linear', True, True)
    assert plan.ndirections == 2


@pytest.mark.parametrize(
    ('halo', 'reverse', 'shape', 'grid', 'out'),
    [
        ((2, 2), False, (9, 10), (5, 6), (1, 5, 6, 4, 7)),
        ((2, 2), True, (9, 10), (5, 6), (2, 5, 6, 4, 7)),
        ((0, 3), False, (2, 12), (2, 6), (1, 2, 6, 4, 7)),
        ((1, 2), True, (3, 5), (1, 1), (2, 1, 1, 4, 7)),
    ],
)
def test_plan_grid_and_out_shape(halo, reverse, shape, grid, out):
    plan = dataclasses.replace(
        Plan.image(radius=2, npoints=4, nframes=64, nbins=8),
        halo=halo,
        cross=reverse,
        reverse=reverse,
    )
    assert plan.grid(shape) == grid
    assert plan.out_shape(shape) == out
    assert plan.grid(numpy.array(shape)) == grid
    assert all(type(n) is int for n in plan.grid(numpy.array(shape)))
    with pytest.raises(ValueError):
        plan.grid((*shape, 4))  # one size per spatial axis


def test_plan_is_frozen():
    plan = Plan.image(radius=1, npoints=4, nframes=16, nbins=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.nframes = 32
