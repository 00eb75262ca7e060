"""Imaging FCS and N&B against simulations with known truth.

Free diffusion (ipcf.simulate.free: pixel 0.1 µm, PSF 1/e² radius
0.25 µm, 1 ms frames, 5 particles/µm², background 2 photons, camera
offset 100) fitted by the imaging FCS model must give back D and the
number of particles in the effective area, and a diffusion law through
the origin; N&B must give the brightness of monomers and of dimers,
twice as bright, with photon counting and with an analog EMCCD-like
detector.

The simulated field is periodic, its side the field of view plus the
PSF window (3.8 µm for 30 pixels): correlations at delays where ``4 D
tau`` approaches its square wrap around, so fits stop at 0.2 s.

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


@pytest.fixture(scope='module', params=[1.0, 4.0], ids=['D1', 'D4'])
def free(request):
    return simulate.free(
        shape=(4096, 30, 30),
        diffusion=request.param,
        pixel_size=PIXEL,
        psf_radius=PSF,
        density=DENSITY,
        seed=12,
    )


@pytest.mark.parametrize('correlator', ['log', 'multipletau'])
@pytest.mark.parametrize('binning', [1, 2])
def test_fit_recovers_diffusion_and_number(free, correlator, binning):
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
    d = float(fit['D'].median())
    n = float(fit['N'].median())
    assert d == pytest.approx(diffusion, rel=0.15)
    assert n == pytest.approx(DENSITY * area, rel=0.15)
    assert float(fit['density'].median()) == pytest.approx(DENSITY, rel=0.15)


def test_diffusion_law_of_free_diffusion_passes_through_zero(free):
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
    assert abs(law.attrs['intercept']) < 0.2 * tau_d
    assert abs(law.attrs['intercept']) < 3 * law.attrs['intercept_error']
    assert law.attrs['D_eff'] == pytest.approx(diffusion, rel=0.15)
    assert numpy.allclose(law['D'], diffusion, rtol=0.15)


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
