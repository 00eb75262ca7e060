"""Imaging FCS and N&B against simulations with known truth.

Free diffusion (ipcf.simulate.free: pixel a = 0.1 µm, PSF 1/e² radius
w = 0.25 µm, 1 ms frames, 5 particles/µm², background 2 photons, camera
offset 100) fitted by the imaging FCS model must give back D and the
number of particles in the effective area within 10 %, and a diffusion
law through the origin; N&B must give the brightness of monomers and
of dimers, twice as bright, with photon counting and with an analog
EMCCD-like detector (more N&B in test_validation_nb).

The number of particles that a (binned) pixel of side ``a`` sees is
the truth's concentration ``C`` (particles simulated per µm²) times its
effective area::

    N = C A_eff,  A_eff = a² / f(a / w)²,
    f(q) = erf(q) + (exp(-q²) - 1) / (sqrt(pi) q)

(ipcf.fcs.effective_area; 0.2069 µm² for a = 0.1 µm, 0.2394 µm² for
a = 0.2 µm), the inverse of the amplitude ``G(0)`` of a pixel's ACF.

The simulated field is periodic, its side the field of view plus the
PSF window (4.0 µm for 32 pixels): correlations at delays where ``4 D
tau`` approaches its square wrap around, so fits stop at 0.2 s. Slow
diffusion needs long series: fluctuations that the whole field shares
do not average out over its pixels, and with 4096 frames of D = 1 the
median D of seeds 1 to 3 scattered by +3 to +17 %; with 16384 frames
(D = 1) and 8192 (D = 4), seeds 1 to 6 stayed within 6 %.

"""

import numpy
import pytest

from ipcf import simulate
from ipcf.brightness import number_brightness
from ipcf.fcs import acf_image, diffusion_law, effective_area, fit_acf

PIXEL = 0.1
PSF = 0.25
DENSITY = 5.0
OFFSET = 102.0  # camera offset plus the mean background
FIT_RANGE = (0.0, 0.2)
FRAMES = {1.0: 16384, 4.0: 8192}


@pytest.fixture(scope='module', params=[1.0, 4.0], ids=['D1', 'D4'])
def free(request):
    return simulate.free(
        shape=(FRAMES[request.param], 32, 32),
        diffusion=request.param,
        pixel_size=PIXEL,
        psf_radius=PSF,
        density=DENSITY,
        seed=12,
    )


@pytest.mark.parametrize('correlator', ['log', 'multipletau'])
@pytest.mark.parametrize('binning', [1, 2])
def test_fit_recovers_diffusion_and_number(free, correlator, binning):
    """D and N = C A_eff within 10 % (medians over the pixels)."""
    diffusion = free.truth['diffusion']
    acf = acf_image(
        free.data,
        dt=free.truth['frame_time'],
        offset=OFFSET,
        binning=binning,
        correlator=correlator,
    )
    fit = fit_acf(acf, pixel_size=PIXEL, w=PSF, fit_range=FIT_RANGE)
    area = effective_area(pixel_size=binning * PIXEL, w=PSF)
    concentration = free.truth['concentration']
    d = float(fit['D'].median())
    n = float(fit['N'].median())
    assert d == pytest.approx(diffusion, rel=0.1)
    assert n == pytest.approx(concentration * area, rel=0.1)
    assert float(fit['density'].median()) == pytest.approx(
        concentration, rel=0.1
    )


def test_diffusion_law_of_free_diffusion_passes_through_zero(free):
    """The intercept is within 0.1 tau_D of the origin, D_eff within 10 %.

    For free diffusion ``tau_D = A_eff / D`` at every binning, so the
    intercept ``tau_0`` is 0; it is compared relative to ``tau_D`` of
    the smallest pixel (0.21 s for D = 1, 0.05 s for D = 4).

    """
    diffusion = free.truth['diffusion']
    law = diffusion_law(
        free.data,
        pixel_size=PIXEL,
        w=PSF,
        dt=free.truth['frame_time'],
        offset=OFFSET,
        fit_range=FIT_RANGE,
    )
    tau_d = float(law['tau_D'][0])
    assert abs(law.attrs['intercept']) < 0.1 * tau_d
    assert abs(law.attrs['intercept']) < 3 * law.attrs['intercept_error']
    assert law.attrs['D_eff'] == pytest.approx(diffusion, rel=0.1)
    assert numpy.allclose(law['D'], diffusion, rtol=0.1)


@pytest.mark.parametrize('binning', [1, 2])
def test_multipletau_equals_multipletau_package(free, binning):
    """The multiple-tau curves equal the package's within 1e-6.

    Both correlate in float64 (they agree to 1e-15); ipcf stores
    float32, whose rounding (6e-8 relative) is all that is left.

    """
    multipletau = pytest.importorskip('multipletau')
    data = free.data[:4096]
    acf = acf_image(
        data, correlator='multipletau', channels=16, binning=binning
    )
    lags = acf['lag'].values
    rng = numpy.random.default_rng(0)
    height, width = acf.shape[:2]
    for y, x in zip(
        rng.integers(height, size=8), rng.integers(width, size=8), strict=True
    ):
        block = data[
            :, binning * y : binning * (y + 1), binning * x : binning * (x + 1)
        ]
        trace = block.astype(numpy.float64).sum(axis=(1, 2))
        ref = multipletau.autocorrelate(trace, m=16, normalize=True)
        index = numpy.searchsorted(ref[:, 0], lags)
        numpy.testing.assert_array_equal(ref[index, 0], lags)
        numpy.testing.assert_allclose(
            acf.values[y, x], ref[index, 1], rtol=1e-6, atol=0
        )
        numpy.testing.assert_allclose(
            acf['acf_zero'].values[y, x], ref[0, 1], rtol=1e-6, atol=0
        )


def oligomer(brightness, density, seed):
    """Photon counts of one species, offset 100, no background."""
    return simulate.free(
        shape=(2048, 16, 16),
        diffusion=5.0,
        pixel_size=PIXEL,
        psf_radius=PSF,
        density=density,
        brightness=brightness,
        background=0.0,
        seed=seed,
    ).data


def analog(counts, *, gain, read_noise, offset, seed):
    """Photon counts through an EMCCD-like gain register: S = 2 G."""
    rng = numpy.random.default_rng(seed)
    photons = counts.astype(numpy.float64) - 100.0
    pulses = numpy.where(
        photons > 0, rng.gamma(numpy.maximum(photons, 1.0), gain), 0.0
    )
    return offset + pulses + rng.normal(0.0, read_noise, photons.shape)


@pytest.fixture(scope='module')
def oligomers():
    """Monomers (50 photons per frame) and dimers (100) at equal dye."""
    return {
        'monomer': oligomer(50.0, 2 * DENSITY, seed=4),
        'dimer': oligomer(100.0, DENSITY, seed=5),
    }


def expected_epsilon(brightness):
    # a pixel sees a molecule's photons times a² / A_eff (see Notes)
    return brightness * PIXEL**2 / effective_area(pixel_size=PIXEL, w=PSF)


def test_brightness_of_monomers_and_dimers_photon_counting(oligomers):
    eps = {}
    for name, counts in oligomers.items():
        nb = number_brightness(counts, offset=100.0)
        eps[name] = float(nb['epsilon'].median())
        density = 2 * DENSITY if name == 'monomer' else DENSITY
        area = effective_area(pixel_size=PIXEL, w=PSF)
        assert float(nb['n'].median()) == pytest.approx(
            density * area, rel=0.1
        )
    assert eps['monomer'] == pytest.approx(expected_epsilon(50.0), rel=0.1)
    assert eps['dimer'] / eps['monomer'] == pytest.approx(2.0, rel=0.1)


def test_brightness_of_monomers_and_dimers_analog(oligomers):
    gain, read_noise = 5.0, 4.0
    eps = {}
    for i, (name, counts) in enumerate(oligomers.items()):
        signal = analog(
            counts, gain=gain, read_noise=read_noise, offset=300.0, seed=i
        )
        nb = number_brightness(
            signal,
            offset=300.0,
            gain=gain,
            s_factor=2 * gain,
            readout_variance=read_noise**2,
        )
        eps[name] = float(nb['epsilon'].median())
        counted = number_brightness(counts, offset=100.0)
        assert eps[name] == pytest.approx(
            float(counted['epsilon'].median()), rel=0.05
        )
    assert eps['monomer'] == pytest.approx(expected_epsilon(50.0), rel=0.1)
    assert eps['dimer'] / eps['monomer'] == pytest.approx(2.0, rel=0.1)
