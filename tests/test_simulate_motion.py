"""Tests of ipcf.simulate._motion: diffusion, drift and populations."""

from __future__ import annotations

import math

import numpy
from numpy.testing import assert_allclose, assert_array_equal

from ipcf.simulate._domains import Periodic
from ipcf.simulate._motion import populations, tracks

# D = 4 um^2/s, 1 ms frames, 0.1 um pixels: step sigma in pixels per axis
SIGMA = math.sqrt(2 * 4.0 * 1e-3) / 0.1


def test_free_msd():
    """Mean squared displacement of the free walk is 4 D t."""
    domain = Periodic((0.0, 0.0), (1000.0, 800.0))
    rng = numpy.random.default_rng(0)
    start = domain.sample(10000, rng)
    track = numpy.concatenate(
        list(tracks(domain, start, 100, sigma=SIGMA, rng=rng, chunk=7))
    )
    assert track.min() >= 0.0
    assert (track < (1000.0, 800.0)).all()
    size = numpy.array([1000.0, 800.0])
    for frames in (1, 10, 100):
        step = track[frames - 1] - start
        step -= size * numpy.round(step / size)  # nearest periodic image
        msd = (step**2).sum(axis=1).mean() * 0.1**2  # um^2
        assert_allclose(msd, 4 * 4.0 * frames * 1e-3, rtol=0.05)


def test_flow_drift():
    """Tracks move by velocity * frame_time per frame, plus diffusion."""
    domain = Periodic((0.0, 0.0), (1000.0, 800.0))
    rng = numpy.random.default_rng(0)
    start = numpy.full((4000, 2), 400.0)
    drift = (0.5, -0.25)  # 50 and -25 um/s at 0.1 um, 1 ms
    track = numpy.concatenate(
        list(tracks(domain, start, 100, sigma=0.3, rng=rng, drift=drift))
    )
    shift = track[-1] - start
    assert_allclose(shift.mean(axis=0), (50.0, -25.0), atol=0.1)
    assert_allclose(shift.std(axis=0), 0.3 * 10, rtol=0.05)


def test_free_unchanged_by_drift_option():
    """A zero drift leaves the walk of free diffusion as it was."""
    domain = Periodic((0.0, 0.0), (50.0, 40.0))
    start = domain.sample(20, numpy.random.default_rng(1))
    walks = [
        numpy.concatenate(
            list(
                tracks(
                    domain,
                    start,
                    50,
                    sigma=1.0,
                    rng=numpy.random.default_rng(2),
                    drift=drift,
                )
            )
        )
        for drift in (None, (0.0, 0.0))
    ]
    assert_array_equal(walks[0], walks[1])


def test_populations_msd():
    """Each population diffuses with its own coefficient."""
    domain = Periodic((0.0, 0.0), (1000.0, 800.0))
    rng = numpy.random.default_rng(4)
    start = numpy.full((6000, 2), 500.0)
    sigma = numpy.repeat([0.2, 0.8], 3000)
    track = numpy.concatenate(
        list(tracks(domain, start, 50, sigma=sigma, rng=rng))
    )
    msd = ((track[-1] - start) ** 2).sum(axis=1)
    assert_allclose(msd[:3000].mean(), 2 * 50 * 0.2**2, rtol=0.05)
    assert_allclose(msd[3000:].mean(), 2 * 50 * 0.8**2, rtol=0.05)


def test_populations_split():
    """Counts are rounded from the fractions and sum to the total."""
    counts, sigma = populations((0.3, 0.3, 0.4), (1.0, 2.0, 3.0), 11)
    assert counts == [3, 4, 4]
    assert_array_equal(sigma, [1.0] * 3 + [2.0] * 4 + [3.0] * 4)
    counts, sigma = populations((1.0, 0.0), (1.0, 2.0), 5)
    assert counts == [5, 0]
    assert len(sigma) == 5
