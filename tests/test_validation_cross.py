"""Validation of the cross-channel pCF against two_species simulations.

For species A (channel 1) and B (channel 2) of which a fraction `bound`
diffuse together as complexes, every particle has the same intensity
covariance between two pixels, so the cross pCF and the auto pCF of
channel 1, both normalized by the mean signals above the camera offset
and background, have the ratio ``(bound + crosstalk) / (1 + crosstalk)``
at every distance and delay (see :func:`ipcf.simulate.two_species`).
The numbers are in docs/validation.md, "Two channels".
"""

from __future__ import annotations

import functools

import numpy
import pytest

import ipcf
from ipcf.simulate import two_species

SHAPE = (8192, 24, 24)
RADIUS = 2
# the first bins, delays 0 to 6.5 ms, where the curves at 2 px are high
BINS = 4
OPTIONS = {'radius': RADIUS, 'npoints': 8, 'nbins': 16, 'dt': 1e-3}


@functools.cache
def measure(bound: float, crosstalk: float = 0.0, seed: int = 1) -> dict:
    """Return the amplitudes of the cross and auto pCF of a simulation.

    Each pCF is rescaled from the means of the counts ``F`` to those of
    the signal ``S = F - offset - background`` (by ``F_a F_b / (S_a
    S_b)``) and averaged over pixels, points (and both directions) and
    the first delay bins.

    """
    sim = two_species(shape=SHAPE, bound=bound, crosstalk=crosstalk, seed=seed)
    truth = sim.truth
    dark = truth['offset'] + truth['background']
    one = sim.data[:, 0].astype(numpy.float32)
    two = sim.data[:, 1].astype(numpy.float32)
    f1, f2 = float(one.mean()), float(two.mean())
    s1, s2 = f1 - dark, f2 - dark
    options = {**OPTIONS, 'num_threads': 2}
    cross = ipcf.pcf_image(one, neighbour=two, directions='both', **options)
    cross = cross.isel(delay=slice(0, BINS)) * (f1 * f2 / (s1 * s2))
    auto1 = ipcf.pcf_image(one, **options).isel(delay=slice(0, BINS))
    auto2 = ipcf.pcf_image(two, **options).isel(delay=slice(0, BINS))
    g1 = float(auto1.mean()) * (f1 / s1) ** 2
    g2 = float(auto2.mean()) * (f2 / s2) ** 2
    # blocks of 2r + 1 pixels on a side for the standard error
    per_pixel = cross.mean(('direction', 'point', 'delay')).values
    size = 2 * RADIUS + 1
    ny, nx = (n // size for n in per_pixel.shape)
    blocks = per_pixel[: ny * size, : nx * size]
    blocks = blocks.reshape(ny, size, nx, size).mean(axis=(1, 3))
    return {
        'truth': truth,
        'cross': float(cross.mean()),
        'forward': float(cross.sel(direction='forward').mean()),
        'reverse': float(cross.sel(direction='reverse').mean()),
        'error': float(blocks.std(ddof=1) / numpy.sqrt(blocks.size)),
        'auto1': g1,
        'auto2': g2,
    }


@pytest.mark.parametrize('bound', [0.2, 0.5, 0.8])
def test_bound_recovered(bound):
    result = measure(bound)
    truth = result['truth']
    assert truth['cross_ratio'] == truth['bound_simulated']
    assert abs(truth['bound_simulated'] - bound) < 0.01
    ratio = result['cross'] / result['auto1']
    assert abs(ratio - bound) < 0.1
    # without cross-talk, channel 2 gives the same and so does their mean
    assert abs(result['cross'] / result['auto2'] - bound) < 0.1
    geometric = result['cross'] / numpy.sqrt(result['auto1'] * result['auto2'])
    assert abs(geometric - bound) < 0.1
    # the complexes carry light both ways
    for direction in ('forward', 'reverse'):
        assert abs(result[direction] / result['auto1'] - bound) < 0.1


def test_bound_monotonic():
    ratios = [
        measure(b)['cross'] / measure(b)['auto1'] for b in (0, 0.2, 0.5, 0.8)
    ]
    assert ratios == sorted(ratios)


def test_crosstalk():
    """Cross-talk adds A's own correlation to the cross pCF."""
    result = measure(0.5, crosstalk=0.2)
    expected = result['truth']['cross_ratio']
    assert abs(expected - 0.7 / 1.2) < 1e-9
    assert abs(result['cross'] / result['auto1'] - expected) < 0.1
    # well above the bound fraction without cross-talk would suggest
    assert result['cross'] > 1.05 * measure(0.5)['cross']


def test_independent_flat():
    """Independent species: the cross pCF is zero within its noise."""
    result = measure(0.0)
    assert result['truth']['species'][1]['particles'] == 0  # complexes
    assert abs(result['cross']) < 3 * result['error']
    assert abs(result['cross']) < 0.02 * result['auto1']
    assert result['error'] < 0.02 * result['auto1']
