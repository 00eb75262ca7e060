"""Number and brightness (N&B) against simulations with known truth.

Every series is ipcf.simulate.free with pixel a = 0.1 µm, PSF 1/e²
radius w = 0.25 µm, 1 ms frames, D = 5 µm²/s, no background and camera
offset 100, so the counts above the offset are photons. A particle of
``b`` photons per frame gives a pixel the brightness and number::

    epsilon = b a² / A_eff,   n = C A_eff

with ``A_eff = a² / f(a / w)²`` (ipcf.fcs.effective_area, 0.2069 µm²)
and ``C`` the truth's concentration per µm². A pixel that sees several
species measures the intensity-weighted brightness ``sum C_i e_i² /
sum C_i e_i`` and the number ``(sum C_i e_i)² / sum C_i e_i²`` times
``A_eff``. Immobile particles add light but no number fluctuations, so
the brightness of the field falls to ``epsilon`` times the mobile
share of the light (Digman et al. 2008).

Brightness of a field is pooled over its pixels, ``sum (sigma² - <I>)
/ sum <I>``, the intensity-weighted mean of the pixel maps: with
immobile particles every pixel has its own share of static light, which
skews the median of the pixel values (0.90 times epsilon at 30 %
immobile, against a field share of 0.7).

"""

import numpy
import pytest

from ipcf import simulate
from ipcf.brightness import number_brightness
from ipcf.fcs import effective_area

PIXEL = 0.1
PSF = 0.25
OFFSET = 100.0
AREA = effective_area(pixel_size=PIXEL, w=PSF)


def series(*, shape, seed, **kwargs):
    """Photon counts of free diffusion at D = 5 µm²/s, no background."""
    return simulate.free(
        shape=shape,
        diffusion=5.0,
        pixel_size=PIXEL,
        psf_radius=PSF,
        background=0.0,
        offset=OFFSET,
        seed=seed,
        dtype='float32',
        **kwargs,
    )


def pixel_epsilon(brightness):
    """Brightness per pixel of a particle of `brightness` photons."""
    return brightness * PIXEL**2 / AREA


def pooled(nb):
    """Brightness of a field: its pixels' epsilon weighted by intensity."""
    intensity = nb['intensity'].values.astype(numpy.float64)
    epsilon = nb['epsilon'].values.astype(numpy.float64)
    return float((epsilon * intensity).sum() / intensity.sum())


def test_separated_monomers_and_dimers():
    """Monomers beside dimers: two populations of epsilon, ratio 2 ± 0.2.

    Half of the particles are monomers (50 photons), half dimers (100),
    in two halves of the field (two simulations side by side, 32 x 16
    pixels each, 2 x 5 particles/µm²). The two halves' medians of
    epsilon are each within 10 % of the truth and their ratio within
    2 ± 0.2; the populations are separated: the threshold halfway
    between the true values, 1.5 monomer brightness, puts at least
    95 % of the pixels of each half on its side.

    """
    shape = (2048, 32, 16)
    monomer = series(shape=shape, brightness=50.0, density=5.0, seed=4)
    dimer = series(shape=shape, brightness=100.0, density=5.0, seed=5)
    data = numpy.concatenate([monomer.data, dimer.data], axis=2)
    nb = number_brightness(data, offset=OFFSET)
    epsilon = nb['epsilon'].values
    left, right = epsilon[:, :16], epsilon[:, 16:]
    eps1, eps2 = float(numpy.median(left)), float(numpy.median(right))
    assert eps1 == pytest.approx(pixel_epsilon(50.0), rel=0.1)
    assert eps2 == pytest.approx(pixel_epsilon(100.0), rel=0.1)
    assert eps2 / eps1 == pytest.approx(2.0, abs=0.2)
    threshold = pixel_epsilon(75.0)
    assert (left < threshold).mean() >= 0.95
    assert (right > threshold).mean() >= 0.95
    number = nb['n'].values
    for half, sim in ((number[:, :16], monomer), (number[:, 16:], dimer)):
        assert float(numpy.median(half)) == pytest.approx(
            sim.truth['concentration'] * AREA, rel=0.1
        )


def test_mixed_monomers_and_dimers_give_weighted_brightness():
    """A 50/50 mixture in every pixel: one weighted brightness, not two.

    ``free(brightness=(50, 100), fraction=0.5)``: each pixel sees both
    species, so N&B measures ``sum C_i e_i² / sum C_i e_i`` (83.3
    photons per particle, 1.67 monomers) within 10 %, and all pixels
    form one population around it.

    """
    sim = series(
        shape=(2048, 32, 32),
        brightness=(50.0, 100.0),
        fraction=0.5,
        density=5.0,
        seed=6,
    )
    species = sim.truth['species']
    assert [s['brightness'] for s in species] == [50.0, 100.0]
    light = sum(s['concentration'] * s['brightness'] for s in species)
    square = sum(s['concentration'] * s['brightness'] ** 2 for s in species)
    nb = number_brightness(sim.data, offset=OFFSET)
    epsilon = nb['epsilon'].values
    assert float(numpy.median(epsilon)) == pytest.approx(
        pixel_epsilon(square / light), rel=0.1
    )
    assert float(numpy.median(nb['n'].values)) == pytest.approx(
        light**2 / square * AREA, rel=0.1
    )
    # one population: most pixels closer to the mixture than to either
    low, high = numpy.percentile(epsilon, [10, 90])
    assert pixel_epsilon(50.0) < low and high < pixel_epsilon(125.0)


@pytest.mark.parametrize('bleach_time', [None, 2.0], ids=['still', 'bleach'])
def test_immobile_particles_and_detrending(bleach_time):
    """30 % immobile particles: detrending removes bleaching, not dilution.

    4096 frames of 32 x 32 pixels, 5 particles/µm² of 50 photons, 30 %
    of them immobile; with ``bleach_time=2`` every particle bleaches
    after an exponential time of mean 2 s (the signal fades to 13 %).
    The truth records the photons that the mobile and the immobile
    particles add to the field of view. After detrending with a
    boxcar of 1024 frames or the bleach filter ``'filter:512'``, the
    brightness of the field is epsilon times the mobile share of the
    light within 10 %, so the mobile particles' brightness, that
    divided by the share, is unbiased within 10 %. Without detrending,
    bleaching makes it visibly too high (more than 20 %). The immobile
    particles' light is no trend: no detrending removes it, and the
    brightness stays below 0.8 epsilon.

    """
    sim = series(
        shape=(4096, 32, 32),
        brightness=50.0,
        density=5.0,
        immobile=0.3,
        bleach_time=bleach_time,
        seed=9,
    )
    truth = sim.truth
    assert truth['immobile_particles'] == round(0.3 * truth['particles'])
    share = 1.0 - truth['immobile_signal'] / truth['signal']
    expected = pixel_epsilon(50.0) * share
    for detrend in (1024, 'filter:512'):
        nb = number_brightness(sim.data, offset=OFFSET, detrend=detrend)
        assert pooled(nb) == pytest.approx(expected, rel=0.1)
        assert pooled(nb) / share == pytest.approx(
            pixel_epsilon(50.0), rel=0.1
        )
        assert pooled(nb) < 0.8 * pixel_epsilon(50.0)
    raw = pooled(number_brightness(sim.data, offset=OFFSET))
    if bleach_time is None:
        assert raw == pytest.approx(expected, rel=0.1)
    else:
        assert raw > 1.2 * expected
