"""Tests of ipcf.analysis: maps of diffusion, flow, channels and barriers.

The synthetic tests fill a result with model curves and check each step
(peaks, the fit of D, the moments, the model) and the maps as a whole;
storing maps is tested in test_analysis_store.py. The validation tests at
the end analyse small seeded simulations with known ground truth;
docs/validation.md lists what they measure.

"""

from __future__ import annotations

import math

import numpy
import pytest
import xarray
from numpy.testing import assert_allclose, assert_array_equal

import ipcf
from ipcf import simulate
from ipcf.analysis import load_maps, maps, pcf_model
from ipcf.analysis._model import free_volume
from ipcf.analysis._peaks import find_peaks, noise_level

PIXEL = 0.1  # um
PSF = 0.25  # um, 1/e^2 radius

MAP_VARIABLES = {
    'peak_delay',
    'peak_amplitude',
    'peak_rise',
    'connected',
    'D',
    'D_error',
    'D_residual',
    'fit_amplitude',
    'flow_angle',
    'flow_strength',
    'flow_speed',
    'anisotropy',
    'axis_angle',
    'noise',
}


@pytest.fixture(scope='module')
def skeleton():
    """A small result whose coordinates the synthetic tests reuse."""
    data = numpy.random.default_rng(0).poisson(100, (4096, 16, 16))
    return ipcf.pcf_image(data, radius=5, npoints=16, dt=1e-3)


def synthetic(skeleton, *, diffusion=4.0, velocity=(0.0, 0.0), noise=0.0):
    """Return skeleton filled with model curves, plus Gaussian noise."""
    model = pcf_model(
        skeleton,
        diffusion=diffusion,
        pixel_size=PIXEL,
        w=PSF,
        velocity=velocity,
        amplitude=1e-3,
    )
    values = numpy.broadcast_to(model.values, skeleton.shape).copy()
    rng = numpy.random.default_rng(1)
    values += noise * rng.standard_normal(values.shape)
    return skeleton.copy(data=values.astype(numpy.float32))


def test_maps_layout(skeleton):
    result = synthetic(skeleton)
    out = maps(result, pixel_size=PIXEL, w=PSF)
    assert isinstance(out, xarray.Dataset)
    assert set(out.data_vars) == MAP_VARIABLES
    assert out['peak_delay'].dims == ('y', 'x', 'point')
    assert out['D'].dims == ('y', 'x')
    assert out['noise'].dims == ('delay',)
    assert out['connected'].dtype == bool
    assert out['D'].attrs['units'] == 'um^2/s'
    assert_array_equal(out['y'], result['y'])
    assert_array_equal(out['angle'], result['angle'])
    assert_array_equal(out['delay'], result['delay'])
    for key in ('pixel_size', 'w', 'dt', 'D_pooled', 'D_pooled_error'):
        assert key in out.attrs
    assert out.attrs['D_pooled_pixels'] == result.shape[0] * result.shape[1]
    assert out.attrs['D_pooled_free'] is True
    assert out.attrs['D_pooled_note'].startswith(
        'free-diffusion fit of the mean curves of 36 pixels'
    )
    assert out.attrs['dt'] == 1e-3
    assert 'atan2(v, u)' in out.attrs['angles']


def test_maps_input_unchanged(skeleton):
    result = synthetic(skeleton, noise=1e-5)
    before = result.copy(deep=True)
    maps(
        result,
        pixel_size=PIXEL,
        w=PSF,
        window=3,
        mask=numpy.eye(6, dtype=bool),
    )
    assert result.identical(before)


@pytest.mark.parametrize('diffusion', [0.5, 4.0, 20.0])
def test_fit_recovers_model(skeleton, diffusion):
    """Noise-free model curves give back their D and amplitude."""
    result = synthetic(skeleton, diffusion=diffusion)
    out = maps(result, pixel_size=PIXEL, w=PSF)
    assert_allclose(out['D'], diffusion, rtol=2e-3)
    assert_allclose(out['fit_amplitude'], 1e-3, rtol=2e-3)
    assert_allclose(out.attrs['D_pooled'], diffusion, rtol=2e-3)
    assert_allclose(out.attrs['D_pooled_peak'], diffusion, rtol=2e-3)
    assert out.attrs['D_pooled_free']
    assert out.attrs['D_pooled_residual'] < 1e-2
    assert float(out['D_residual'].max()) < 1e-2


def test_pooled_check_flags_flow(skeleton):
    """Curves of a flow are no free diffusion: fit and peak disagree."""
    result = synthetic(skeleton, diffusion=0.5, velocity=(50.0, 0.0))
    attrs = maps(result, pixel_size=PIXEL, w=PSF).attrs
    # measured: fit 9.65, peak 6.88 um^2/s
    assert attrs['D_pooled_peak'] < attrs['D_pooled'] / 1.15
    assert not attrs['D_pooled_free']
    assert 'apparent D' in attrs['D_pooled_note']


def test_fit_with_noise(skeleton):
    """Per-pixel fits scatter about the truth; their error is sensible."""
    result = synthetic(skeleton, diffusion=4.0, noise=2e-5)
    out = maps(result, pixel_size=PIXEL, w=PSF)
    d = out['D'].values
    assert numpy.isfinite(d).all()
    assert_allclose(numpy.median(d), 4.0, rtol=0.05)
    # the formal error is of the order of the scatter
    ratio = numpy.median(out['D_error']) / numpy.std(d)
    assert 0.2 < ratio < 5.0
    assert_allclose(out.attrs['D_pooled'], 4.0, rtol=0.02)


def test_peaks_parabola():
    """The vertex of a parabola in log delay is found exactly."""
    delays = numpy.array([0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
    x = numpy.log(delays[1:])
    curve = numpy.concatenate(([0.0], 5.0 - (x - math.log(5.0)) ** 2))
    delay, amplitude, index = find_peaks(curve, delays)
    assert_allclose(delay, 5.0)
    assert_allclose(amplitude, 5.0)
    assert index == 3
    # a maximum at the first or last delay is no peak
    delay, amplitude, _ = find_peaks(numpy.arange(7.0)[::-1], delays)
    assert numpy.isnan(delay)
    assert amplitude == 5.0
    delay, amplitude, _ = find_peaks(numpy.arange(7.0), delays)
    assert numpy.isnan(delay)
    assert amplitude == 6.0


def test_peak_delay_matches_model(skeleton):
    result = synthetic(skeleton, diffusion=2.0)
    out = maps(result, pixel_size=PIXEL, w=PSF)
    model = pcf_model(skeleton, diffusion=2.0, pixel_size=PIXEL, w=PSF)
    expected, _, _ = find_peaks(model.values, model['delay'].values)
    assert_allclose(out['peak_delay'][3, 4], expected, rtol=1e-6)
    # the unprocessed peak is (d² - w²) / 4 D, near the processed one
    d2 = (model['distance'].values * PIXEL) ** 2
    assert_allclose(expected, (d2 - PSF**2) / 8.0, rtol=0.1)
    assert out['connected'].all()


@pytest.mark.parametrize('angle', [0.0, 30.0, 90.0, -135.0])
def test_flow_synthetic(skeleton, angle):
    """Pure flow: direction and speed from the model's own curves."""
    theta = math.radians(angle)
    velocity = (50.0 * math.cos(theta), 50.0 * math.sin(theta))
    result = synthetic(skeleton, diffusion=0.0, velocity=velocity)
    out = maps(result, pixel_size=PIXEL, w=PSF)
    error = numpy.angle(numpy.exp(1j * (out['flow_angle'] - theta)))
    assert numpy.degrees(numpy.abs(error)).max() < 3.0
    assert_allclose(out['flow_speed'], 50.0, rtol=0.05)
    assert float(out['flow_strength'].min()) > 0.9
    # against the flow nothing arrives
    against = numpy.cos(out['angle'] - theta) < -0.5
    assert not out['connected'][..., against].any()


def test_moments_channel_like(skeleton):
    """Correlation only along one axis: anisotropy near 1, no flow."""
    result = synthetic(skeleton, diffusion=4.0)
    angle = result['angle'].values
    axis = math.radians(60.0)
    # damp the curves across the axis
    weight = numpy.abs(numpy.cos(angle - axis)) ** 8
    result = result * weight[:, None]
    out = maps(result, pixel_size=PIXEL, w=PSF)
    assert_allclose(out['axis_angle'], axis, atol=math.radians(2))
    assert float(out['anisotropy'].min()) > 0.8
    assert float(out['flow_strength'].max()) < 0.05


def test_isotropic_moments(skeleton):
    out = maps(synthetic(skeleton, diffusion=4.0), pixel_size=PIXEL, w=PSF)
    assert float(out['anisotropy'].max()) < 0.01
    assert float(out['flow_strength'].max()) < 0.01


def test_axis_angle_range(skeleton):
    result = synthetic(skeleton, diffusion=4.0)
    angle = result['angle'].values
    weight = numpy.abs(numpy.cos(angle - math.pi / 2)) ** 8
    out = maps(result * weight[:, None], pixel_size=PIXEL, w=PSF)
    axis = out['axis_angle'].values
    assert (axis > -math.pi / 2).all()
    assert (axis <= math.pi / 2).all()
    assert_allclose(numpy.abs(axis), math.pi / 2, atol=math.radians(2))


def test_mask(skeleton):
    result = synthetic(skeleton, noise=1e-5)
    grid = numpy.zeros(result.shape[:2], bool)
    grid[:3, :4] = True
    out = maps(result, pixel_size=PIXEL, w=PSF, mask=grid)
    assert numpy.isfinite(out['D'].values[grid]).all()
    assert numpy.isnan(out['D'].values[~grid]).all()
    assert numpy.isnan(out['peak_delay'].values[~grid]).all()
    assert not out['connected'].values[~grid].any()
    assert out.attrs['D_pooled_pixels'] == 12
    # an image mask is cropped by the result's coordinates
    image = numpy.zeros((16, 16), numpy.uint8)
    image[5:8, 5:9] = 1
    again = maps(result, pixel_size=PIXEL, w=PSF, mask=image)
    assert again.identical(out)


def test_window(skeleton):
    """Averaging equal curves changes nothing; it lowers noise."""
    clean = synthetic(skeleton, diffusion=4.0)
    out = maps(clean, pixel_size=PIXEL, w=PSF, window=3)
    assert_allclose(out['D'], 4.0, rtol=2e-3)
    noisy = synthetic(skeleton, diffusion=4.0, noise=4e-5)
    one = maps(noisy, pixel_size=PIXEL, w=PSF).attrs
    three = maps(noisy, pixel_size=PIXEL, w=PSF, window=3)
    assert three.attrs['window'] == 3
    assert float(three['noise'][10]) < 0.5 * float(
        maps(noisy, pixel_size=PIXEL, w=PSF)['noise'][10]
    )
    assert one['threshold'] == 2.0


def test_nan_pixels(skeleton):
    """Pixels without data (zero mean, masked) give NaN and no warning."""
    result = synthetic(skeleton, noise=1e-5)
    values = result.values.copy()
    values[2, 3] = numpy.nan
    values[:, 0] = numpy.nan
    out = maps(result.copy(data=values), pixel_size=PIXEL, w=PSF, window=3)
    for name in ('D', 'flow_angle', 'anisotropy', 'flow_speed'):
        assert numpy.isnan(out[name].values[2, 3])
        assert numpy.isnan(out[name].values[:, 0]).all()
    assert numpy.isfinite(out['D'].values[5, 5])
    empty = result.copy(data=numpy.full(result.shape, numpy.nan, 'float32'))
    out = maps(empty, pixel_size=PIXEL, w=PSF)
    assert numpy.isnan(out['D']).all()
    assert numpy.isnan(out.attrs['D_pooled'])
    assert numpy.isnan(out.attrs['D_pooled_peak'])
    assert out.attrs['D_pooled_pixels'] == 0
    assert out.attrs['D_pooled_free'] is False


def test_pcf_model_estimator(skeleton):
    """The model is lowered by its mean over all circular delays."""
    plain = pcf_model(skeleton, diffusion=4.0, pixel_size=PIXEL, w=PSF)
    assert plain.dims == ('point', 'delay')
    assert_array_equal(plain['distance'], skeleton['distance'])
    # the processed curves of a circular estimate end below zero
    assert float(plain[:, -1].max()) < 0
    # symmetric points give the same curve without flow
    assert_allclose(plain[0], plain[8], rtol=1e-12)
    flowing = pcf_model(
        skeleton, diffusion=1.0, pixel_size=PIXEL, w=PSF, velocity=(50, 0)
    )
    assert float(flowing[0].max()) > 10 * float(flowing[8].max())
    linear = skeleton.copy()
    linear.attrs['mode'] = 'linear'
    model = pcf_model(linear, diffusion=4.0, pixel_size=PIXEL, w=PSF)
    assert not numpy.allclose(model, plain)
    assert_allclose(model[:, 1], plain[:, 1], rtol=0.1)


@pytest.mark.parametrize(
    ('kwargs', 'error', 'match'),
    [
        ({'pixel_size': 0.0}, ValueError, 'pixel_size=0.0 must be > 0'),
        ({'pixel_size': '0.1'}, TypeError, 'pixel_size'),
        ({'pixel_size': True}, TypeError, 'pixel_size=True'),
        ({'w': '0.25'}, TypeError, "w='0.25' is not a real number"),
        ({'w': -1.0}, ValueError, 'w=-1.0'),
        ({'w': math.nan}, ValueError, 'w=nan'),
        ({'window': 2}, ValueError, 'window=2 must be odd'),
        ({'window': 0}, ValueError, 'window'),
        ({'window': 1.0}, TypeError, 'window'),
        ({'threshold': 0.0}, ValueError, 'threshold'),
        ({'threshold': '2'}, TypeError, 'threshold'),
        ({'window': True}, TypeError, 'window=True is not an integer'),
        ({'mask': numpy.ones((3, 3), bool)}, ValueError, r'mask.shape'),
        ({'mask': numpy.full((6, 6), 0.5, 'f4')}, TypeError, 'mask.dtype'),
        ({'diffusion_range': (2.0, 1.0)}, ValueError, 'diffusion_range'),
        ({'diffusion_range': 3.0}, TypeError, 'diffusion_range'),
        ({'diffusion_range': ('1', 2)}, TypeError, r'diffusion_range\[0\]'),
    ],
)
def test_maps_bad_arguments(skeleton, kwargs, error, match):
    options = {'pixel_size': PIXEL, 'w': PSF, **kwargs}
    with pytest.raises(error, match=match):
        maps(skeleton, **options)


def test_maps_bad_result(skeleton):
    with pytest.raises(TypeError, match='xarray.DataArray'):
        maps(skeleton.values, pixel_size=PIXEL, w=PSF)
    with pytest.raises(ValueError, match='dims'):
        maps(skeleton.transpose('x', 'y', ...), pixel_size=PIXEL, w=PSF)
    with pytest.raises(ValueError, match='distance'):
        maps(skeleton.drop_vars('distance'), pixel_size=PIXEL, w=PSF)
    with pytest.raises(TypeError, match='velocity'):
        pcf_model(skeleton, diffusion=1.0, pixel_size=PIXEL, w=PSF, velocity=1)
    with pytest.raises(ValueError, match='diffusion'):
        pcf_model(skeleton, diffusion=-1.0, pixel_size=PIXEL, w=PSF)
    with pytest.raises(TypeError, match="diffusion='1'"):
        pcf_model(skeleton, diffusion='1', pixel_size=PIXEL, w=PSF)
    with pytest.raises(TypeError, match='amplitude=True'):
        pcf_model(
            skeleton, diffusion=1, pixel_size=PIXEL, w=PSF, amplitude=True
        )


def test_top_level_name():
    assert ipcf.maps is maps
    assert 'maps' in ipcf.__all__


def test_cli_maps(tmp_path, capsys):
    from ipcf.cli import main

    sim = simulate.free(shape=(1024, 20, 20), seed=0)
    sim.save(tmp_path / 'free.bin')
    result = ipcf.pcf_image(sim.data, radius=4, npoints=8, dt=1e-3)
    store = ipcf.save_result(
        result, tmp_path / 'r.h5', source=str(tmp_path / 'free.bin')
    )
    bare = ipcf.save_result(result, tmp_path / 'bare.h5')
    out = tmp_path / 'maps.nc'
    # pixel size and PSF come from the simulation's truth
    assert main(['maps', str(store), str(out)]) == 0
    assert 'pooled D' in capsys.readouterr().out
    loaded = load_maps(out)
    assert loaded.attrs['pixel_size'] == 0.1
    assert loaded.attrs['w'] == 0.25
    record = loaded.encoding['provenance']
    assert record['source'] == str(tmp_path / 'free.bin')
    assert record['parameters']['w'] == 0.25
    args = ['maps', str(bare), str(tmp_path / 'm.h5')]
    assert main(args) == 2
    assert '--pixel-size is needed' in capsys.readouterr().err
    args += ['--pixel-size', '0.1', '--w', '0.3', '--window', '3']
    assert main(args) == 0
    assert load_maps(tmp_path / 'm.h5').attrs['w'] == 0.3
    assert main(args) == 2  # exists
    assert 'overwrite' in capsys.readouterr().err


# validation on simulations ---------------------------------------------


def analysed(function, shape, *, radius=5, npoints=16, seed=1, **kwargs):
    """Return a simulation and its pCF (engine 'auto')."""
    sim = function(shape=shape, seed=seed, **kwargs)
    result = ipcf.pcf_image(
        sim.data, radius=radius, npoints=npoints, dt=1e-3, num_threads=1
    )
    return sim, result


@pytest.fixture(scope='module')
def free4():
    return analysed(simulate.free, (16384, 48, 48), diffusion=4.0)


@pytest.fixture(scope='module')
def free1():
    # slow diffusion needs a longer series for the same precision
    return analysed(simulate.free, (65536, 40, 40), diffusion=1.0)


@pytest.fixture(scope='module')
def flowing():
    theta = math.radians(30.0)
    velocity = (50.0 * math.cos(theta), 50.0 * math.sin(theta))
    return analysed(
        simulate.flow, (8192, 40, 40), diffusion=0.5, velocity=velocity
    )


@pytest.fixture(scope='module')
def channel30():
    return analysed(
        simulate.channel,
        (16384, 64, 64),
        radius=6,
        npoints=32,
        channel_angle=30.0,
    )


@pytest.fixture(scope='module')
def wall():
    return analysed(simulate.barrier, (8192, 40, 40), radius=6)


@pytest.mark.parametrize('case', ['free4', 'free1'])
def test_validate_free_diffusion(case, request):
    """Pooled D within 10 %, peak delays within 15 % of the model."""
    sim, result = request.getfixturevalue(case)
    truth = sim.truth['diffusion']
    out = maps(result, pixel_size=PIXEL, w=PSF)
    assert_allclose(out.attrs['D_pooled'], truth, rtol=0.10)
    assert 0 < out.attrs['D_pooled_error'] < 0.1 * truth
    assert out.attrs['D_pooled_free']
    assert_allclose(numpy.nanmedian(out['D']), truth, rtol=0.10)
    model = pcf_model(result, diffusion=truth, pixel_size=PIXEL, w=PSF)
    expected, _, _ = find_peaks(model.values, model['delay'].values)
    distance = result['distance'].values
    for value in numpy.unique(distance):
        sel = distance == value
        measured = numpy.nanmedian(out['peak_delay'].values[..., sel])
        assert_allclose(measured, expected[sel][0], rtol=0.15)


def test_validate_flow(flowing):
    """Direction within 10 degrees, speed within 15 %."""
    sim, result = flowing
    vx, vy = sim.truth['velocity']
    out = maps(result, pixel_size=PIXEL, w=PSF)
    angle = out['flow_angle'].values
    mean = numpy.angle(numpy.exp(1j * angle).mean())
    assert abs(math.degrees(mean - math.atan2(vy, vx))) < 10.0
    assert_allclose(
        numpy.median(out['flow_speed']), math.hypot(vx, vy), rtol=0.15
    )
    assert numpy.median(out['flow_strength']) > 0.5
    # downstream connected, upstream not
    cosine = numpy.cos(out['angle'].values - math.atan2(vy, vx))
    connected = out['connected'].values.mean(axis=(0, 1))
    assert connected[cosine > 0.9].min() > 0.9
    assert connected[cosine < -0.5].max() < 0.1


def test_validate_channel(channel30):
    """The axis follows the channel; S inside is well above outside."""
    sim, result = channel30
    geometry = sim.truth['geometry']['channel']
    angle = math.radians(geometry['angle'])
    cx, cy = geometry['centre_px']
    out = maps(result, pixel_size=PIXEL, w=PSF)
    y, x = numpy.meshgrid(result['y'] + 0.5, result['x'] + 0.5, indexing='ij')
    across = (y - cy) * math.cos(angle) - (x - cx) * math.sin(angle)
    along = (x - cx) * math.cos(angle) + (y - cy) * math.sin(angle)
    inside = (numpy.abs(across) < 1.5) & (numpy.abs(along) < 12)
    # beside the channel, further than the circle and PSF reach
    beside = (numpy.abs(across) > 10) & (numpy.abs(across) < 14)
    beside &= numpy.abs(along) < 12
    s_inside = numpy.median(out['anisotropy'].values[inside])
    s_beside = numpy.median(out['anisotropy'].values[beside])
    assert s_inside > 0.25
    assert s_inside > 2 * s_beside
    axis = numpy.median(out['axis_angle'].values[inside])
    assert abs(math.degrees(axis - angle)) < 10.0


def test_validate_barrier(wall):
    """Across a barrier the pCF has no peak; along it, it has."""
    sim, result = wall
    xb = sim.truth['geometry']['wall']['centre_px'][0]
    u = result['u'].values
    out = maps(result, pixel_size=PIXEL, w=PSF)
    ratios = []
    for side in (-1, 1):
        # pixels 2.5 px from the wall: their neighbours across are too
        x = int(xb + side * 2.5 - 0.5)
        across = (x + 0.5 - xb) * (x + u + 0.5 - xb) < 0
        along = u == 0
        curves = result.sel(x=x).values.mean(axis=0)
        delay, peak, _ = find_peaks(curves, result['delay'].values)
        rise = numpy.where(numpy.isfinite(delay), peak - curves[:, 1], 0)
        ratios.append(rise[across].mean() / rise[along].mean())
        connected = out['connected'].sel(x=x).values
        assert connected[:, across].mean() < 0.15
        assert connected[:, along].mean() > 0.5
    assert max(ratios) <= 0.2


def test_validate_bleaching():
    """Uncorrected photobleaching inflates the amplitude and lowers D."""
    sim = simulate.free(shape=(8192, 32, 32), seed=3, dtype='float32')
    time = numpy.arange(8192, dtype=numpy.float32)[:, None, None] * 1e-3
    # the fluorescence fades to exp(-2) over the series
    faded = 100 + (sim.data - 100) * numpy.exp(-time / 4.0)
    found = []
    for data in (sim.data, faded):
        result = ipcf.pcf_image(
            data, radius=5, npoints=16, dt=1e-3, num_threads=1
        )
        found.append(maps(result, pixel_size=PIXEL, w=PSF))
    clean, bleached = found
    amplitude = [float(m['peak_amplitude'].median()) for m in found]
    assert amplitude[1] > 2 * amplitude[0]
    assert_allclose(clean.attrs['D_pooled'], 4.0, rtol=0.1)
    assert bleached.attrs['D_pooled'] < 0.85 * 4.0
    # the slow decay changes the curves' shape: the check says so
    assert clean.attrs['D_pooled_free']
    assert not bleached.attrs['D_pooled_free']


@pytest.mark.parametrize('method', ['filter:512', 'exp'])
def test_validate_bleaching_corrected(method):
    """With the correction, D comes back within 10 %."""
    from ipcf import bleach

    frames = 8192 + 2 * 512
    sim = simulate.free(shape=(frames, 32, 32), seed=3, dtype='float32')
    time = numpy.arange(frames, dtype=numpy.float32)[:, None, None] * 1e-3
    faded = 100 + (sim.data - 100) * numpy.exp(-time / 4.0)
    corrected = bleach.correct(faded, method=method)
    result = ipcf.pcf_image(
        corrected, radius=5, npoints=16, dt=1e-3, num_threads=1
    )
    found = maps(result, pixel_size=PIXEL, w=PSF)
    assert_allclose(found.attrs['D_pooled'], 4.0, rtol=0.1)
    assert found.attrs['D_pooled_free']


def cell_regions(sim, result, reach):
    """Return masks of the channel cell's regions on the result grid.

    ``cell``: pixel centres inside the ellipse; ``channel``: inside the
    channel; ``sides``: outside the channel and further than `reach`
    pixels from its walls and (nearly: the ellipse shrunk by `reach`)
    from the cell's edge. For a channel along the rows.
    """
    geometry = sim.truth['geometry']
    assert geometry['channel']['angle'] == 0.0
    cx, cy = geometry['cell']['centre_px']
    a, b = geometry['cell']['semi_axes_px']
    half = geometry['channel']['width_px'] / 2
    y, x = numpy.meshgrid(result['y'] + 0.5, result['x'] + 0.5, indexing='ij')
    across = numpy.abs(y - cy)

    def ellipse(margin):
        return ((x - cx) / (a - margin)) ** 2 + (
            (y - cy) / (b - margin)
        ) ** 2 < 1

    cell = ellipse(0.0)
    return {
        'cell': cell,
        'channel': cell & (across < half),
        'sides': ellipse(reach) & (across > half + reach),
    }


def test_validate_compartments():
    """In the demo's compartmented cell the pooled D is no D, and says so.

    The cell of ``simulate.channel`` (5.8 x 4.9 um, 110 particles) is cut
    by its 0.8 um channel into compartments of 22-50 particles, none more
    than 2 um across: at radius 6 no pixel is free of walls within twice
    the radius. Free diffusion with the same optics and circle recovers
    D; here every region gives about half of it, the apparent D grows as
    the radius shrinks, and the peak check flags the model.
    """
    sim, result = analysed(
        simulate.channel, (8192, 64, 64), radius=6, npoints=32, seed=42
    )
    truth = sim.truth['diffusion']
    attrs = maps(result, pixel_size=PIXEL, w=PSF).attrs
    # measured: 1.95 (peak 2.70); seeds 1 and 2 gave 2.11 and 2.33
    assert attrs['D_pooled'] < 0.6 * truth
    assert attrs['D_pooled_pixels'] == 52 * 52
    assert attrs['D_pooled_peak'] > 1.15 * attrs['D_pooled']
    assert not attrs['D_pooled_free']
    assert 'apparent D' in attrs['D_pooled_note']
    # no region of the cell is free: cell 1.90, channel 1.05, sides
    # away from walls and edge by more than the radius 2.12
    for name, mask in cell_regions(sim, result, 6).items():
        region = maps(result, pixel_size=PIXEL, w=PSF, mask=mask).attrs
        assert region['D_pooled'] < 0.65 * truth, name
        assert not region['D_pooled_free'], name
    # confinement: the apparent D depends on the distance probed
    # (radius 3: 3.52); for free diffusion it does not (3.92 and 4.40)
    near = ipcf.pcf_image(
        sim.data, radius=3, npoints=None, dt=1e-3, num_threads=1
    )
    nearer = maps(near, pixel_size=PIXEL, w=PSF).attrs['D_pooled']
    assert nearer > 1.4 * attrs['D_pooled']
    # the same optics and circle on free diffusion: 4.40, peak 4.17
    _, control = analysed(
        simulate.free, (8192, 64, 64), radius=6, npoints=32, seed=42
    )
    attrs = maps(control, pixel_size=PIXEL, w=PSF).attrs
    assert_allclose(attrs['D_pooled'], truth, rtol=0.15)
    assert attrs['D_pooled_free']


def test_units_from_the_series(tmp_path):
    sim = ipcf.simulate.free(shape=(2048, 20, 20), seed=0)
    path = tmp_path / 'free.bin'
    sim.save(path)
    out = ipcf.analyze(
        str(path), tmp_path / 'r.h5', radius=4, npoints=8, bleach=None
    )
    result = ipcf.load_result(out)
    found = maps(result)
    given = maps(result, pixel_size=0.1, w=0.25)
    assert found.attrs['pixel_size'] == sim.truth['pixel_size']
    assert found.attrs['w'] == sim.truth['psf_radius']
    assert found.attrs['units_source']['w'].startswith('metadata of')
    assert given.attrs['units_source'] == {'pixel_size': 'given', 'w': 'given'}
    assert found['D'].equals(given['D'])
    # one given, the other found
    mixed = maps(result, w=0.3)
    assert mixed.attrs['w'] == 0.3
    assert mixed.attrs['units_source']['pixel_size'].startswith('metadata')


def test_units_missing_say_so():
    data = numpy.random.default_rng(0).poisson(100, (256, 16, 16))
    result = ipcf.pcf_image(data, radius=2, npoints=8, nbins=8)
    with pytest.raises(ValueError, match='pixel_size= and w= not given'):
        maps(result)
    with pytest.raises(TypeError, match='pixel_size'):
        maps(result, pixel_size='0.1', w=0.25)


# volumes: maps of the 3-D pCF -----------------------------------------

PLANE = 0.2  # um, z voxel size of the volume skeleton
PSF_Z = 0.5  # um, axial 1/e^2 radius

VOLUME_VARIABLES = (MAP_VARIABLES - {'flow_angle'}) | {
    'flow_x',
    'flow_y',
    'flow_z',
    'flow_angle',
    'flow_polar',
    'axis_polar',
}


@pytest.fixture(scope='module')
def volume_skeleton():
    """A small 3-D pCF result (z_ratio 2) whose coordinates tests reuse."""
    data = numpy.random.default_rng(0).poisson(100, (4096, 9, 20, 20))
    return ipcf.pcf_image(
        data, radius=4, npoints=32, dt=1e-3, z_ratio=PLANE / PIXEL
    )


def synthetic_volume(
    skeleton, *, diffusion=4.0, velocity=(0.0, 0.0, 0.0), noise=0.0
):
    """Return the volume skeleton filled with 3-D model curves."""
    model = pcf_model(
        skeleton,
        diffusion=diffusion,
        pixel_size=PIXEL,
        w=PSF,
        w_z=PSF_Z,
        velocity=velocity,
        amplitude=1e-3,
    )
    values = numpy.broadcast_to(model.values, skeleton.shape).copy()
    rng = numpy.random.default_rng(1)
    values += noise * rng.standard_normal(values.shape)
    return skeleton.copy(data=values.astype(numpy.float32))


@pytest.mark.parametrize('spread', [0.0, 0.004, 0.03])
@pytest.mark.parametrize('dz', [0.0, 0.3, 0.7])
def test_volume_model_axial_factor(spread, dz):
    """The axial factor is the overlap of two sampled axial profiles.

    Two planes ``dz`` apart see a molecule through ``exp(-2 z² /
    w_z²)``; between the two frames it moves by a Gaussian step of
    variance ``2 D tau`` (`spread` is ``D tau``). The correlation,
    integrated numerically, is the model's axial factor.
    """
    z = numpy.linspace(-4.0, 4.0, 8001)
    step = z[1] - z[0]
    first = numpy.exp(-2 * z**2 / PSF_Z**2)
    second = numpy.exp(-2 * (z - dz) ** 2 / PSF_Z**2)
    if spread:
        kernel = numpy.exp(-(z**2) / (4 * spread))
        second = numpy.convolve(second, kernel / kernel.sum(), mode='same')
    overlap = (first * second).sum() * step
    zero = (first * first).sum() * step
    expected = free_volume(0.0, dz * dz, spread, 1e12, PSF_Z**2)
    assert_allclose(overlap / zero, expected, rtol=1e-4)


def test_volume_model(volume_skeleton):
    """The 3-D model takes z_ratio and is the image model in the plane."""
    model = pcf_model(
        volume_skeleton, diffusion=4.0, pixel_size=PIXEL, w=PSF, w_z=PSF_Z
    )
    assert model.attrs['pixel_size_z'] == pytest.approx(PLANE)
    assert model.attrs['velocity'] == [0.0, 0.0, 0.0]
    assert 'w' in model.coords
    # points above and below the plane at the same offsets are alike
    u, v, w = (volume_skeleton[k].values for k in 'uvw')
    for i in range(len(u)):
        mirror = numpy.flatnonzero((u == -u[i]) & (v == -v[i]) & (w == -w[i]))
        assert_allclose(model[i], model[mirror[0]], rtol=1e-12)
    # an axial PSF far longer than the points reach: the image model
    again = pcf_model(
        volume_skeleton,
        diffusion=4.0,
        pixel_size=PIXEL,
        w=PSF,
        w_z=1e6,
        velocity=(10.0, 5.0),
        pixel_size_z=PLANE,
    )
    flat = numpy.random.default_rng(0).poisson(100, (4096, 14, 14))
    image = ipcf.pcf_image(flat, radius=4, npoints=32, dt=1e-3)
    reference = pcf_model(
        image, diffusion=4.0, pixel_size=PIXEL, w=PSF, velocity=(10.0, 5.0)
    )
    matched = 0
    for point in numpy.flatnonzero(w == 0):
        same = (image['u'].values == u[point]) & (
            image['v'].values == v[point]
        )
        for match in numpy.flatnonzero(same):
            assert_allclose(again[point], reference[match], rtol=1e-6)
            matched += 1
    assert matched >= 2


def test_volume_maps_layout(volume_skeleton):
    result = synthetic_volume(volume_skeleton)
    out = maps(result, pixel_size=PIXEL, w=PSF, w_z=PSF_Z)
    assert set(out.data_vars) == VOLUME_VARIABLES
    assert out['D'].dims == ('z', 'y', 'x')
    assert out['peak_delay'].dims == ('z', 'y', 'x', 'point')
    assert out['noise'].dims == ('delay',)
    for name in ('z', 'u', 'v', 'w', 'polar', 'distance', 'bin_edge'):
        assert name in out.coords, name
    assert out.attrs['pixel_size_z'] == pytest.approx(PLANE)
    assert out.attrs['w_z'] == PSF_Z
    assert out.attrs['z_ratio'] == 2.0
    assert 'z_ratio' in out.attrs['units_source']['pixel_size_z']
    assert 'voxels' in out.attrs['D_pooled_note']
    # input unchanged
    assert_array_equal(result.values, synthetic_volume(volume_skeleton))


@pytest.mark.parametrize('diffusion', [1.0, 4.0])
def test_volume_fit_recovers_model(volume_skeleton, diffusion):
    result = synthetic_volume(volume_skeleton, diffusion=diffusion)
    out = maps(result, pixel_size=PIXEL, w=PSF, w_z=PSF_Z)
    assert_allclose(out['D'], diffusion, rtol=2e-3)
    assert_allclose(out['fit_amplitude'], 1e-3, rtol=1e-2)
    assert_allclose(out.attrs['D_pooled'], diffusion, rtol=2e-3)
    assert out.attrs['D_pooled_free']
    assert out.attrs['D_pooled_blocks'] == 0  # one block of 5 x 9 x 9
    # a wrong axial radius fits worse and elsewhere
    wrong = maps(result, pixel_size=PIXEL, w=PSF, w_z=2 * PSF_Z)
    assert float(wrong['D_residual'].min()) > 10 * float(
        out['D_residual'].max()
    )


def test_volume_fit_with_noise(volume_skeleton):
    result = synthetic_volume(volume_skeleton, noise=2e-5)
    out = maps(result, pixel_size=PIXEL, w=PSF, w_z=PSF_Z)
    assert_allclose(numpy.nanmedian(out['D']), 4.0, rtol=0.05)
    assert_allclose(out.attrs['D_pooled'], 4.0, rtol=0.02)
    # the noise of G(tau) - G(dt), from voxels 9 pixels apart
    assert_allclose(out['noise'][5:].mean(), 2e-5 * math.sqrt(2), rtol=0.2)


def test_volume_noise_small_maps():
    """Maps narrower than the reach: spread about each point's median."""
    rng = numpy.random.default_rng(0)
    level = numpy.array([0.0, 1.0, 5.0, -3.0])[:, None]  # per point
    curves = level + rng.normal(0.0, 0.1, (4, 6, 6, 4, 3))
    noise = noise_level(curves, (9, 9, 9), per_point=True)
    assert_allclose(noise, 0.1, rtol=0.15)
    assert (noise_level(curves, (9, 9, 9)) > 1.0).all()


@pytest.mark.parametrize(
    'velocity', [(50.0, 0.0, 0.0), (0.0, -50.0, 0.0), (0.0, 0.0, 50.0)]
)
def test_volume_flow_synthetic(volume_skeleton, velocity):
    """Pure flow: the first moment points along it, in 3-D."""
    result = synthetic_volume(
        volume_skeleton, diffusion=0.0, velocity=velocity
    )
    out = maps(result, pixel_size=PIXEL, w=PSF, w_z=PSF_Z)
    direction = numpy.asarray(velocity) / 50.0
    flow = numpy.stack([out[f'flow_{k}'].values for k in 'xyz'], axis=-1)
    unit = flow / numpy.linalg.norm(flow, axis=-1, keepdims=True)
    cosine = (unit * direction).sum(axis=-1)
    assert numpy.degrees(numpy.arccos(cosine.min())) < 10.0
    assert float(out['flow_strength'].min()) > 0.6
    polar = math.acos(direction[2])
    assert_allclose(out['flow_polar'], polar, atol=math.radians(10))
    if direction[2] == 0:
        angle = math.atan2(direction[1], direction[0])
        assert_allclose(out['flow_angle'], angle, atol=math.radians(10))
    assert_allclose(out['flow_speed'], 50.0, rtol=0.15)


def test_volume_axis_synthetic(volume_skeleton):
    """Correlation along one axis only: order S 1, its axis found."""
    result = synthetic_volume(volume_skeleton, diffusion=0.0)
    info = volume_skeleton
    offset = numpy.stack(
        [info['u'] * PIXEL, info['v'] * PIXEL, info['w'] * PLANE], axis=-1
    )
    unit = offset / numpy.linalg.norm(offset, axis=-1, keepdims=True)
    axis = unit[9]
    along = numpy.abs(unit @ axis) > 0.999  # the pair of points 9 and 25
    assert along.sum() == 2
    bump = numpy.exp(-((numpy.log(result['delay'] + 1e-9) + 4.5) ** 2))
    values = numpy.where(along[:, None], 1e-3 * bump.values, 0.0)
    curves = result.copy(data=numpy.broadcast_to(values, result.shape))
    out = maps(curves, pixel_size=PIXEL, w=PSF, w_z=PSF_Z)
    assert_allclose(out['anisotropy'], 1.0, rtol=1e-9)
    assert_allclose(out['flow_strength'], 0.0, atol=1e-9)
    axis = axis if axis[0] > 0 else -axis
    assert_allclose(out['axis_angle'], math.atan2(axis[1], axis[0]), atol=1e-9)
    assert_allclose(out['axis_polar'], math.acos(axis[2]), atol=1e-9)


def test_volume_mask_and_window(volume_skeleton):
    result = synthetic_volume(volume_skeleton, noise=1e-5)
    grid = numpy.zeros(result.shape[:3], bool)
    grid[1:3, :3, :4] = True
    out = maps(result, pixel_size=PIXEL, w=PSF, w_z=PSF_Z, mask=grid)
    assert numpy.isfinite(out['D'].values[grid]).all()
    assert numpy.isnan(out['D'].values[~grid]).all()
    assert out.attrs['D_pooled_pixels'] == 24
    # a mask of the input volume is cropped by the result's coordinates
    volume = numpy.zeros((9, 20, 20), bool)
    z0, y0 = int(result['z'][0]), int(result['y'][0])
    volume[z0 + 1 : z0 + 3, y0 : y0 + 3, y0 : y0 + 4] = True
    again = maps(result, pixel_size=PIXEL, w=PSF, w_z=PSF_Z, mask=volume)
    assert again.identical(out)
    with pytest.raises(ValueError, match='mask.shape'):
        maps(result, pixel_size=PIXEL, w=PSF, w_z=PSF_Z, mask=grid[0])
    clean = synthetic_volume(volume_skeleton)
    cube = maps(clean, pixel_size=PIXEL, w=PSF, w_z=PSF_Z, window=3)
    assert cube.attrs['window'] == 3
    assert_allclose(cube['D'], 4.0, rtol=2e-3)


def test_volume_units(volume_skeleton):
    """Units from the result; axial options only for volumes."""
    result = synthetic_volume(volume_skeleton)
    with pytest.raises(ValueError, match='w_z'):
        maps(result, pixel_size=PIXEL, w=PSF)
    with pytest.raises(ValueError, match='w_z'):
        pcf_model(result, diffusion=1.0, pixel_size=PIXEL, w=PSF)
    result.attrs.update(pixel_size=PIXEL, psf_radius=PSF, psf_z=PSF_Z)
    out = maps(result)
    assert out.attrs['units_source']['w_z'] == 'result attributes'
    assert out.attrs['w_z'] == PSF_Z
    # a z voxel size that the sphere did not assume is used, with a warning
    with pytest.warns(UserWarning, match='not round'):
        other = maps(result, pixel_size_z=0.3)
    assert other.attrs['pixel_size_z'] == 0.3
    with pytest.raises(ValueError, match='pixel_size_z'):
        maps(result, pixel_size_z=-1.0)
    with pytest.raises(TypeError, match='velocity'):
        pcf_model(
            result,
            diffusion=1.0,
            pixel_size=PIXEL,
            w=PSF,
            w_z=PSF_Z,
            velocity=(1.0, 2.0, 3.0, 4.0),
        )


def test_image_results_refuse_axial_options(skeleton):
    with pytest.raises(ValueError, match='w_z=0.5 applies to results of'):
        maps(skeleton, pixel_size=PIXEL, w=PSF, w_z=0.5)
    with pytest.raises(ValueError, match='pixel_size_z'):
        maps(skeleton, pixel_size=PIXEL, w=PSF, pixel_size_z=0.2)
    with pytest.raises(ValueError, match='w_z'):
        pcf_model(skeleton, diffusion=1.0, pixel_size=PIXEL, w=PSF, w_z=0.5)
    with pytest.raises(TypeError, match='velocity'):
        pcf_model(
            skeleton,
            diffusion=1.0,
            pixel_size=PIXEL,
            w=PSF,
            velocity=(1.0, 2.0, 3.0),
        )
