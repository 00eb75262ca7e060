"""Validation of the line-scan and detector-array pCF on simulations.

Each test simulates data with a known truth, analyses it and compares:

- free diffusion along a scanned line: D from a fit of the
  free-diffusion model to the line pCF within 10 %, and the delay of the
  pCF maximum in the bin of the model's (``tau_max = (d² - w²) / 4D``
  pushed through the same bins and smoothing);
- an impermeable barrier across the line: the correlation across it at
  most 0.2 of the correlation along one side, and its position from the
  dip of the pCF carpet within 2 pixels;
- one spot seen by an Airyscan hexagon and a 5×5 array: D from a fit of
  the distance groups within 10 %.

"""

import numpy
import pytest

from ipcf._pair_model import free_curves
from ipcf.detectors import fit_detectors, pcf_detectors
from ipcf.line import fit_line, pcf_line
from ipcf.simulate import detector_array, line_scan


@pytest.fixture(scope='module')
def free_line():
    """Free diffusion, D = 4 µm²/s, under a line of 64 positions."""
    sim = line_scan(shape=(32768, 64), diffusion=4.0, seed=0)
    result = pcf_line(
        sim.data, distance=[3, 5, 7], line_time=sim.truth['line_time']
    )
    return sim, result


def test_line_free_diffusion(free_line):
    """The fit of the line pCF recovers D within 10 %."""
    sim, result = free_line
    truth = sim.truth
    fit = fit_line(
        result, pixel_size=truth['pixel_size'], w=truth['psf_radius']
    )
    assert fit['diffusion'] == pytest.approx(truth['diffusion'], rel=0.1)


def test_line_peak_delay(free_line):
    """Peaks arrive in the model's bin (tau_max = (d² - w²) / 4D)."""
    sim, result = free_line
    truth = sim.truth
    curves = result.mean('x')
    for d in (5, 7):
        mean = (curves.sel(offset=d) + curves.sel(offset=-d)).values / 2
        model = free_curves(
            numpy.array([d * truth['pixel_size']]),
            diffusion=truth['diffusion'],
            w=truth['psf_radius'],
            edges=tuple(result['bin_edge'].values),
            frames=result.attrs['frames'],
            mode='circular',
            dt=truth['line_time'],
        )[0]
        assert abs(int(numpy.argmax(mean)) - int(numpy.argmax(model))) <= 1
        # and the raw formula within the binning's shift
        tau_max = ((d * 0.1) ** 2 - 0.25**2) / (4 * truth['diffusion'])
        observed = float(result['delay'][int(numpy.argmax(mean))])
        assert observed == pytest.approx(tau_max, rel=0.5)


def test_line_barrier():
    """An impermeable wall: little correlation across it, found in place."""
    w = 0.2
    sim = line_scan(
        shape=(65536, 48),
        diffusion=10.0,
        psf_radius=w,
        barrier=2.4,
        seed=0,
    )
    wall = sim.truth['geometry']['barrier_px']
    d = 6
    result = pcf_line(sim.data, distance=d, line_time=1e-3)
    tau_max = ((d * 0.1) ** 2 - w * w) / (4 * 10.0)
    k = int(numpy.argmin(abs(result['delay'].values - tau_max)))
    # correlation near the free peak, per centre and direction
    amplitude = result.isel(delay=slice(k - 2, k + 3)).mean('delay')
    forward = amplitude.sel(offset=d).values
    backward = amplitude.sel(offset=-d).values
    centre = result['x'].values + 0.5
    reach = w / 0.1  # spots at least w away from the wall
    across = (centre <= wall - reach) & (centre + d >= wall + reach)
    along = (centre + d <= wall - reach) | (centre >= wall + reach)
    back_across = (centre >= wall + reach) & (centre - d <= wall - reach)
    back_along = (centre - d >= wall + reach) | (centre <= wall - reach)
    ratio = (forward[across].mean() + backward[back_across].mean()) / (
        forward[along].mean() + backward[back_along].mean()
    )
    # along one side the correlation is there, across it is not
    assert forward[along].mean() > 0 and backward[back_along].mean() > 0
    assert ratio <= 0.2
    # the pairs (x, x + d) by their left end: the dip is centred on the wall
    pairs = forward[:-d] + backward[d:]
    smooth = numpy.convolve(pairs, numpy.ones(3) / 3, mode='same')
    left = result['x'].values[:-d][1 + int(numpy.argmin(smooth[1:-1]))]
    found = left + 0.5 + d / 2
    assert abs(found - wall) <= 2


@pytest.mark.parametrize(
    ('preset', 'pitch', 'frames'),
    [('airyscan32', 0.05, 262144), ('square5', 0.075, 262144)],
)
def test_detector_array_diffusion(preset, pitch, frames):
    """The fit of the distance groups recovers D within 10 %."""
    sim = detector_array(
        frames=frames,
        positions=preset,
        pitch=pitch,
        diffusion=10.0,
        psf_radius=0.2,
        sample_time=5e-5,
        seed=0,
    )
    result = pcf_detectors(sim.data, preset, pitch=pitch, dt=5e-5)
    fit = fit_detectors(result)
    assert fit['diffusion'] == pytest.approx(10.0, rel=0.1)
    assert fit['w'] == pytest.approx(0.2, rel=0.1)
