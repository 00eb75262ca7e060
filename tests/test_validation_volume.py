"""Validation of the 3-D pCF maps against volume simulations.

:func:`ipcf.simulate.free` with a shape ``(T, Z, Y, X)`` simulates free
diffusion in 3-D seen through a 3-D Gaussian PSF (lateral radius w,
axial radius w_z); the 3-D pCF of :func:`ipcf.pcf_image` on a sphere of
neighbours, fitted by :func:`ipcf.maps` with the 3-D free-diffusion
model, must recover D, and the model must match the curves toward
points off the plane (which carry w_z). The numbers are in
docs/validation.md, "Volumes".
"""

from __future__ import annotations

import numpy
import pytest
from numpy.testing import assert_allclose

import ipcf
from ipcf.analysis import maps, pcf_model
from ipcf.analysis._diffusion import fit, templates_volume
from ipcf.analysis._peaks import find_peaks
from ipcf.analysis._result import check_result
from ipcf.simulate import free

PIXEL = 0.1  # um
PLANE = 0.2  # um, z voxel size
PSF = 0.25  # um, lateral 1/e^2 radius
PSF_Z = 0.5  # um, axial 1/e^2 radius
OPTIONS = {'radius': 5, 'npoints': 32, 'dt': 1e-3, 'z_ratio': PLANE / PIXEL}


def analysed(shape, diffusion, seed=1):
    """Return a free volume simulation and its 3-D pCF."""
    sim = free(
        shape=shape,
        diffusion=diffusion,
        pixel_size=PIXEL,
        pixel_size_z=PLANE,
        psf_radius=PSF,
        psf_z=PSF_Z,
        seed=seed,
    )
    return sim, ipcf.pcf_image(sim.data, num_threads=1, **OPTIONS)


@pytest.fixture(scope='module')
def volume4():
    return analysed((8192, 12, 30, 30), 4.0)


@pytest.fixture(scope='module')
def volume1():
    # slow diffusion needs a longer series for the same precision
    return analysed((16384, 12, 30, 30), 1.0)


def offset_classes(result):
    """Return the points grouped by squared lateral and axial offset."""
    info = check_result(result)
    lateral2 = (info['u'] ** 2 + info['v'] ** 2) * PIXEL**2
    axial2 = (info['w'] * PLANE) ** 2
    pairs = numpy.round(numpy.stack([lateral2, axial2], axis=1), 9)
    classes, inverse = numpy.unique(pairs, axis=0, return_inverse=True)
    return classes, inverse.ravel(), info


@pytest.mark.slow
@pytest.mark.parametrize('case', ['volume4', 'volume1'])
def test_validate_volume_diffusion(case, request):
    """Pooled and median voxel D within 10 %; the model check passes."""
    sim, result = request.getfixturevalue(case)
    truth = sim.truth['diffusion']
    # units from the result need w_z; the rest is given
    out = maps(result, pixel_size=PIXEL, w=PSF, w_z=PSF_Z)
    assert out['D'].dims == ('z', 'y', 'x')
    assert out.attrs['pixel_size_z'] == pytest.approx(PLANE)
    assert_allclose(out.attrs['D_pooled'], truth, rtol=0.10)
    assert 0 < out.attrs['D_pooled_error'] < 0.1 * truth
    assert out.attrs['D_pooled_blocks'] >= 4
    assert out.attrs['D_pooled_free']
    assert out.attrs['D_pooled_residual'] < 0.06
    assert_allclose(numpy.nanmedian(out['D']), truth, rtol=0.10)
    # free diffusion has no direction: the mean flow vector is near 0
    flow = numpy.stack([out[f'flow_{k}'].values for k in 'xyz'], axis=-1)
    assert numpy.linalg.norm(numpy.nanmean(flow, axis=(0, 1, 2))) < 0.05


@pytest.mark.slow
def test_validate_volume_curves(volume4):
    """Mean curves follow the 3-D model, off the plane too."""
    sim, result = volume4
    truth = sim.truth['diffusion']
    classes, inverse, info = offset_classes(result)
    mean = result.mean(('z', 'y', 'x')).values.astype(numpy.float64)
    model = pcf_model(
        result, diffusion=truth, pixel_size=PIXEL, w=PSF, w_z=PSF_Z
    ).values
    amplitude = (mean * model).sum() / (model * model).sum()
    delays = result['delay'].values
    checked = 0
    deviations = []
    for index in range(len(classes)):
        sel = inverse == index
        curve = mean[sel].mean(axis=0)
        expected = amplitude * model[sel].mean(axis=0)
        # the curve at one frame: the amplitude of this offset (a class
        # of 2 points is noisy, the median over the classes is not)
        assert_allclose(curve[1], expected[1], rtol=0.15)
        deviations.append(abs(curve[1] / expected[1] - 1.0))
        peak, _, _ = find_peaks(expected, delays)
        if numpy.isfinite(peak) and peak >= 3e-3:
            measured, _, _ = find_peaks(curve, delays)
            assert_allclose(measured, peak, rtol=0.15)
            checked += 1
    assert checked >= 3
    assert numpy.median(deviations) < 0.03


@pytest.mark.slow
def test_validate_volume_axial_radius(volume4):
    """The fit of the mean curves is best at the true w_z (within 15 %)."""
    sim, result = volume4
    _, _, info = offset_classes(result)
    mean = result.mean(('z', 'y', 'x')).values.astype(numpy.float64)
    lateral2 = (info['u'] ** 2 + info['v'] ** 2) * PIXEL**2
    axial2 = (info['w'] * PLANE) ** 2
    w2 = PSF**2 + PIXEL**2 / 3
    grid = numpy.geomspace(1.0, 16.0, 141)
    radii = numpy.linspace(0.3, 0.8, 11)
    residual = []
    found = []
    for radius in radii:
        models = templates_volume(grid, lateral2, axial2, w2, radius**2, info)
        out = fit(mean.reshape(1, -1), models, grid)
        residual.append(float(out['D_residual'][0]))
        found.append(float(out['D'][0]))
    best = int(numpy.argmin(residual))
    assert_allclose(radii[best], PSF_Z, rtol=0.15)
    assert_allclose(found[best], sim.truth['diffusion'], rtol=0.10)
    # a PSF 1.4 times too long or too short fits clearly worse
    assert residual[1] > 2 * residual[best]
    assert residual[-3] > 1.5 * residual[best]
