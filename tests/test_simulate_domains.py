"""Tests of ipcf.simulate._domains: walls, barriers and cell outlines."""

from __future__ import annotations

import math

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from ipcf.simulate._domains import (
    RIM,
    Barrier,
    CellChannel,
    cell_outline,
)
from ipcf.simulate._motion import tracks

# D = 4 um^2/s, 1 ms frames, 0.1 um pixels: step sigma in pixels per axis
SIGMA = math.sqrt(2 * 4.0 * 1e-3) / 0.1


def walk(domain, count, nframes, *, sigma=SIGMA, seed=0, chunk=64):
    """Return initial positions and the track (nframes, count, 2)."""
    rng = numpy.random.default_rng(seed)
    start = domain.sample(count, rng)
    steps = tracks(domain, start, nframes, sigma=sigma, rng=rng, chunk=chunk)
    return start, numpy.concatenate(list(steps))


@pytest.mark.parametrize('angle', [0.0, 30.0, 90.0, 135.0])
@pytest.mark.parametrize('sigma', [SIGMA, 3.0])
def test_channel_walls_never_crossed(angle, sigma):
    domain = CellChannel(
        centre=(32.0, 32.0),
        semi_axes=(28.0, 24.0),
        angle=math.radians(angle),
        width=8.0,
    )
    start, track = walk(domain, 400, 1000, sigma=sigma)
    label = domain.label(start)
    assert set(numpy.unique(label)) == {1, 2, 3}
    assert_array_equal(
        domain.label(track), numpy.broadcast_to(label, (1000, 400))
    )
    # particles move, and without the walls many labels would change
    assert numpy.abs(track[-1] - start).mean() > sigma
    steps = numpy.random.default_rng(1).normal(0, sigma, (1000, 400, 2))
    unconstrained = domain.label(start + numpy.cumsum(steps, axis=0))
    assert (unconstrained != label).any(axis=0).mean() > 0.1
    # channel particles travel along the channel, farther than its width
    direction = numpy.array(
        [math.cos(math.radians(angle)), math.sin(math.radians(angle))]
    )
    along = (track[:, label == 2] - 32.0) @ direction
    assert numpy.ptp(along) > 3 * 8.0


def test_channel_density_uniform():
    """Rejection at the walls keeps the density uniform in the channel."""
    domain = CellChannel(
        centre=(0.0, 0.0), semi_axes=(40.0, 30.0), angle=0.0, width=8.0
    )
    start, track = walk(domain, 4000, 400, sigma=1.0)
    inside = track[:, domain.label(start) == 2]
    across = numpy.abs(inside[..., 1])
    assert across.max() <= 4.0
    # half of the channel's width holds half of its particles
    assert_allclose((across < 2.0).mean(), 0.5, atol=0.02)
    # the cell holds its particles uniformly too
    radius2 = (track[..., 0] / 40.0) ** 2 + (track[..., 1] / 30.0) ** 2
    assert radius2.max() < 1.0
    assert_allclose((radius2 < 0.5).mean(), 0.5, atol=0.02)


@pytest.mark.parametrize('wall', ['line', 'ring'])
@pytest.mark.parametrize('angle', [0.0, 60.0, 90.0])
def test_barrier_never_crossed(wall, angle):
    domain = Barrier(
        (-7.0, -7.0),
        (47.0, 47.0),
        wall=wall,
        centre=(20.0, 20.0),
        angle=math.radians(angle),
        radius=8.0,
    )
    rng = numpy.random.default_rng(0)
    start = domain.sample(600, rng)
    label = domain.label(start)
    assert set(numpy.unique(label)) == {1, 2}
    # large steps would often jump over a thin ring without the path test
    track = numpy.concatenate(
        list(tracks(domain, start, 400, sigma=3.0, rng=rng))
    )
    assert_array_equal(
        domain.label(track), numpy.broadcast_to(label, track.shape[:2])
    )
    assert numpy.abs(track[-1] - start).mean() > 3.0


def test_barrier_ring_path():
    domain = Barrier(
        (0.0, 0.0), (40.0, 40.0), wall='ring', centre=(20.0, 20.0), radius=5
    )
    start = numpy.array([[10.0, 20.0], [10.0, 10.0]])
    end = numpy.array([[30.0, 20.0], [30.0, 10.0]])
    # both ends outside; the first path goes through the ring
    assert_array_equal(domain.label(end), [2, 2])
    assert_array_equal(domain.through_ring(start, end), [True, False])


def test_barrier_density_uniform():
    """Rejection keeps the density uniform on both sides and in the box."""
    domain = Barrier(
        (0.0, 0.0), (40.0, 30.0), wall='line', centre=(12.0, 0.0), angle=1.5
    )
    rng = numpy.random.default_rng(3)
    start = domain.sample(4000, rng)
    track = numpy.concatenate(
        list(tracks(domain, start, 300, sigma=1.0, rng=rng))
    )[-1]
    assert track.min() >= 0.0
    assert (track < (40.0, 30.0)).all()
    # the left and right halves of the box hold half of the particles
    assert_allclose((track[:, 0] < 20.0).mean(), 0.5, atol=0.03)
    assert_allclose((track[:, 1] < 15.0).mean(), 0.5, atol=0.03)


def test_cell_outline():
    """The rim is the cell's outer band; the truth describes the cell."""
    cell = cell_outline(
        48,
        80,
        semi_axes=(28.8, 16.32),
        pixel_size=0.1,
        rng=numpy.random.default_rng(0),
    )
    inside = cell.inside
    assert inside.shape == (48, 80)
    assert inside[24, 40] and not inside[0, 0]
    rim = numpy.zeros(inside.size, bool)
    rim[cell.rim] = True
    rim = rim.reshape(inside.shape)
    assert (inside | ~rim).all()  # the rim is inside the cell
    assert not rim[24, 40]  # and not at its centre
    assert rim[24].sum() == 2 * RIM  # the centre row crosses it twice
    geometry = cell.geometry
    assert geometry['area_px'] == inside.sum()
    y0, y1, x0, x1 = geometry['bbox_px']
    assert inside[y0:y1, x0:x1].sum() == inside.sum()
    assert_allclose(geometry['centre'], [4.0, 2.4])
    assert len(geometry['modulation']) == 2
