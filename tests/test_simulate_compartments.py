"""Tests of the confined, hop and immobile simulations."""

import numpy
import pytest
from numpy.testing import assert_array_equal

from ipcf import simulate
from ipcf.simulate._compartments import (
    Compartments,
    Fractional,
    Frozen,
    fractional_noise,
)
from ipcf.simulate._domains import Periodic
from ipcf.simulate._motion import tracks


def _walk(domain, count, nframes, sigma, seed=0):
    rng = numpy.random.default_rng(seed)
    start = domain.sample(count, rng)
    steps = tracks(domain, start, nframes, sigma=sigma, rng=rng, chunk=64)
    return start, numpy.concatenate(list(steps))


def _msd_square(side, diffusion_steps):
    """2-D MSD in a square of side 1 after steps of variance s² per axis.

    ``2 (1/6 - 16/pi⁴ sum_odd n⁻⁴ exp(-n² pi² D t))`` with ``D t =
    steps * s² / 2``.

    """
    n = numpy.arange(1, 400, 2, dtype=numpy.float64)
    dt = diffusion_steps / side**2
    series = (n**-4 * numpy.exp(-(n**2) * numpy.pi**2 * dt)).sum()
    return 2 * side**2 * (1 / 6 - 16 / numpy.pi**4 * series)


def test_compartments_confine_without_hops():
    """hop=0: every particle stays in its square; MSD of a square."""
    domain = Compartments(
        (-4.0, -4.0),
        (-4.0 + 8 * 5.0, -4.0 + 8 * 5.0),
        side=5.0,
        hop=0.0,
        rng=numpy.random.default_rng(1),
    )
    start, track = _walk(domain, 4000, 300, sigma=0.3)
    home = domain.cell(start)
    assert (domain.cell(track) == home).all()
    for lag in (20, 299):
        msd = ((track[lag] - start) ** 2).sum(axis=-1).mean()
        # D t = steps * sigma² / 2 per axis
        expected = _msd_square(5.0, (lag + 1) * 0.3**2 / 2)
        assert msd == pytest.approx(expected, rel=0.05)
    # the density stays uniform: as many particles in each half-square
    inner = (track[-1] - (-4.0)) % 5.0
    assert (inner[:, 0] < 2.5).mean() == pytest.approx(0.5, abs=0.03)


def test_compartments_hop_rate():
    """A step that crosses one wall is taken with probability hop."""
    domain = Compartments(
        (0.0, 0.0),
        (20.0, 20.0),
        side=10.0,
        hop=0.25,
        rng=numpy.random.default_rng(2),
    )
    # one step right across the wall at x = 10 from just before it
    positions = numpy.column_stack(
        (numpy.full(20000, 9.9), numpy.full(20000, 5.0))
    )
    steps = numpy.zeros((1, 20000, 2))
    steps[0, :, 0] = 0.2
    moved = domain.walk(positions, steps)[0, :, 0] > 10.0
    assert moved.mean() == pytest.approx(0.25, abs=0.01)
    # two walls at once (a diagonal step over a corner): hop²
    positions[:, 1] = 9.9
    steps[0, :, 1] = 0.2
    both = (domain.walk(positions, steps)[0] > 10.0).all(axis=-1)
    assert both.mean() == pytest.approx(0.0625, abs=0.01)
    # and across the periodic edge, onto the first column of squares
    positions[:] = (19.9, 5.0)
    steps[0, :, 1] = 0.0
    wrapped = domain.walk(positions, steps)[0, :, 0] < 1.0
    assert wrapped.mean() == pytest.approx(0.25, abs=0.01)


def test_frozen_particles_do_not_move():
    domain = Frozen(Periodic((0.0, 0.0), (30.0, 30.0)), 7)
    start, track = _walk(domain, 20, 50, sigma=1.0)
    assert_array_equal(track[:, :7], numpy.broadcast_to(start[:7], (50, 7, 2)))
    assert (numpy.abs(track[-1, 7:] - start[7:]) > 0).all()
    assert domain.area == 900.0


def test_confined_truth_and_data():
    sim = simulate.confined(
        shape=(16, 20, 24),
        compartment=0.45,
        hop=0.1,
        diffusion=2.0,
        immobile=0.2,
        seed=3,
    )
    truth = sim.truth
    assert sim.data.shape == (16, 20, 24)
    assert sim.data.dtype == numpy.uint16
    assert truth['kind'] == 'confined'
    assert truth['compartment'] == 0.45
    assert truth['hop'] == 0.1
    assert truth['tau_c'] == pytest.approx(0.45**2 / (12 * 2.0))
    geometry = truth['geometry']
    # the field plus 7 pixels on each side, rounded up to whole squares
    assert geometry['grid'] == [8, 9]
    lower, upper = geometry['domain_px'][:2], geometry['domain_px'][2:]
    assert upper[0] - lower[0] == pytest.approx(9 * 4.5)
    assert truth['immobile_particles'] == round(0.2 * truth['particles'])
    again = simulate.confined(
        shape=(16, 20, 24),
        compartment=0.45,
        hop=0.1,
        diffusion=2.0,
        immobile=0.2,
        seed=3,
    )
    assert_array_equal(sim.data, again.data)


def test_immobile_truth_and_static_part():
    sim = simulate.immobile(
        shape=(64, 16, 16), fraction=1.0, background=0.0, seed=4
    )
    assert sim.truth['kind'] == 'immobile'
    assert sim.truth['immobile_particles'] == sim.truth['particles']
    # nothing moves: frames differ by photon noise only
    mean = sim.data.mean(axis=0) - 100.0
    assert sim.data.std(axis=0).mean() == pytest.approx(
        numpy.sqrt(mean).mean(), rel=0.1
    )
    mobile = simulate.immobile(shape=(8, 16, 16), fraction=0.0, seed=4)
    same = simulate.free(shape=(8, 16, 16), seed=4)
    assert_array_equal(mobile.data, same.data)  # nothing frozen: free


@pytest.mark.parametrize(
    ('kwargs', 'error', 'match'),
    [
        ({'compartment': 0.0}, ValueError, 'compartment=0.0 must be > 0'),
        ({'hop': 1.5}, ValueError, 'hop=1.5 must be <= 1.0'),
        ({'immobile': -0.1}, ValueError, 'immobile=-0.1 must be >= 0.0'),
        ({'diffusion': (1.0, 2.0)}, ValueError, 'one diffusion coefficient'),
        ({'hop': '0.1'}, TypeError, "hop='0.1' is not a real number"),
    ],
)
def test_confined_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        simulate.confined(shape=(4, 8, 8), **kwargs)


def test_immobile_errors():
    with pytest.raises(ValueError, match='fraction=2.0 must be <= 1.0'):
        simulate.immobile(shape=(4, 8, 8), fraction=2.0)
    with pytest.raises(ValueError, match='one diffusion coefficient'):
        simulate.immobile(shape=(4, 8, 8), diffusion=(1.0, 2.0))


def test_fractional_noise_covariance():
    """Increments of fBm: var of a k-frame sum is k**alpha, both axes."""
    rng = numpy.random.default_rng(6)
    for alpha in (0.5, 1.0, 1.5):
        noise = fractional_noise(128, 4000, alpha, rng)
        assert noise.shape == (128, 4000, 2)
        for k in (1, 10, 100):
            total = noise[:k].sum(axis=0)
            assert total.var(axis=0) == pytest.approx(
                [k**alpha, k**alpha], rel=0.08
            )
        # x and y independent
        corr = numpy.corrcoef(noise[:, :, 0].ravel(), noise[:, :, 1].ravel())
        assert abs(corr[0, 1]) < 0.01


def test_anomalous_truth_and_msd():
    """The domain applies its own increments: MSD 4 D tau**alpha."""
    domain = Fractional(
        (0.0, 0.0),
        (1000.0, 1000.0),
        nframes=200,
        alpha=0.6,
        scale=0.5,
        rng=numpy.random.default_rng(7),
    )
    start, track = _walk(domain, 3000, 200, sigma=10.0)
    for lag in (0, 9, 99):
        # displacements across the periodic edge unwrapped
        moved = (track[lag] - start + 500.0) % 1000.0 - 500.0
        msd = (moved**2).sum(axis=-1).mean()
        expected = 2 * 0.5**2 * (lag + 1) ** 0.6
        assert msd == pytest.approx(expected, rel=0.08)
    sim = simulate.anomalous(
        shape=(16, 16, 16), alpha=0.6, diffusion=2.0, immobile=0.5, seed=8
    )
    assert sim.truth['alpha'] == 0.6
    assert sim.truth['immobile_particles'] == round(
        0.5 * sim.truth['particles']
    )
    with pytest.raises(ValueError, match='alpha=2.5 must be <= 2.0'):
        simulate.anomalous(shape=(4, 8, 8), alpha=2.5)


def test_frozen_particles_stay_in_a_fractional_domain():
    inner = Fractional(
        (0.0, 0.0),
        (50.0, 50.0),
        nframes=30,
        alpha=0.8,
        scale=1.0,
        rng=numpy.random.default_rng(9),
    )
    start, track = _walk(Frozen(inner, 4), 10, 30, sigma=1.0)
    assert_array_equal(track[:, :4], numpy.broadcast_to(start[:4], (30, 4, 2)))
    assert (track[-1, 4:] != start[4:]).all()
