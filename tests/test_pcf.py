"""Tests of ipcf.pcf: pcf_image, its options and its labels."""

import math

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import ipcf
from ipcf import plan
from ipcf.pcf import bin_delays, circle, logbins, pcf_image


@pytest.fixture
def series():
    """Small Poisson image series, counts ~100."""
    return (
        numpy.random.default_rng(1)
        .poisson(100, (64, 9, 10))
        .astype(numpy.uint16)
    )


def direct_pcf(data, points, edges, mode='circular'):
    """SPEC's formula computed with plain loops, no FFT."""
    data = numpy.asarray(data, dtype=numpy.float64)
    n, height, width = data.shape
    radius = int(numpy.abs(points).max())
    ndelays = n // 2
    out = numpy.empty(
        (height - 2 * radius, width - 2 * radius, len(points), len(edges))
    )
    t = numpy.arange(n)
    for y in range(radius, height - radius):
        for x in range(radius, width - radius):
            a = data[:, y, x]
            for i, (u, v) in enumerate(points):
                b = data[:, y + v, x + u]
                g = numpy.empty(ndelays)
                for tau in range(ndelays):
                    if mode == 'circular':
                        g[tau] = numpy.mean(a * b[(t + tau) % n])
                        g[tau] = g[tau] / (a.mean() * b.mean()) - 1
                    else:
                        da = a - a.mean()
                        db = b - b.mean()
                        g[tau] = numpy.sum(da[: n - tau] * db[tau:])
                        g[tau] /= n * a.mean() * b.mean()
                binned = [
                    g[lo:hi].mean()
                    for lo, hi in zip([0, *edges[:-1]], edges, strict=True)
                ]
                out[y - radius, x - radius, i] = smooth_loop(binned)
    return out


def smooth_loop(s):
    s = list(s)
    s[0] = s[1]
    for k in range(1, len(s)):
        s[k] = 0.3 * s[k] + 0.7 * s[k - 1]
    for k in range(len(s) - 2, -1, -1):
        s[k] = 0.3 * s[k] + 0.7 * s[k + 1]
    return s


@pytest.mark.parametrize('mode', ['circular', 'linear'])
@pytest.mark.parametrize('npoints', [4, 5, 8])
def test_reference_equals_direct_formula(mode, npoints):
    rng = numpy.random.default_rng(npoints)
    data = rng.poisson(50, (32, 7, 8)).astype(numpy.float32)
    result = pcf_image(
        data, radius=2, npoints=npoints, nbins=6, mode=mode,
        engine='reference',
    )  # fmt: skip
    points = circle(2, npoints)
    edges = logbins(16, 6)
    expected = direct_pcf(data, points, edges, mode)
    assert result.dtype == numpy.float32
    assert_allclose(result, expected, rtol=0, atol=1e-6)


def test_pcf_image_labels(series):
    before = series.copy()
    result = pcf_image(series, radius=2, npoints=8, nbins=8, dt=0.5)
    assert_array_equal(series, before)
    assert result.name == 'pcf'
    assert result.dims == ('y', 'x', 'point', 'delay')
    assert result.shape == (5, 6, 8, len(logbins(32, 8)))
    assert result['y'].values.tolist() == [2, 3, 4, 5, 6]
    assert result['x'].values[0] == 2
    assert_array_equal(result['u'], circle(2, 8)[:, 0])
    assert_array_equal(result['v'], circle(2, 8)[:, 1])
    assert_allclose(result['distance'][0], 2)
    assert_allclose(result['angle'][2], math.pi / 2)
    assert_allclose(result['delay'], bin_delays(logbins(32, 8)) * 0.5)
    for key in ('radius', 'npoints', 'nbins', 'dt', 'frames', 'engine'):
        assert key in result.attrs
    assert result.attrs['frames'] == 64
    assert result.attrs['version'] == ipcf.__version__
    assert numpy.asarray(result).dtype == numpy.float32


def test_pcf_image_truncates_to_power_of_two(series):
    data = numpy.concatenate([series, series[:36]])  # 100 frames
    truncated = pcf_image(data, radius=2, npoints=4, nbins=6)
    assert truncated.attrs['frames'] == 64
    assert_allclose(truncated, pcf_image(series, radius=2, npoints=4, nbins=6))
    full = pcf_image(data, radius=2, npoints=4, nbins=6, truncate=False)
    assert full.attrs['frames'] == 100
    assert full['bin_edge'].values[-1] == 50


def test_displaced_pattern_peaks_at_lag():
    """Fluctuations that reappear at (u, v) after `lag` frames."""
    rng = numpy.random.default_rng(7)
    lag, (u, v) = 4, (3, 0)
    noise = rng.normal(0, 10, (256, 16, 16))
    moved = numpy.roll(noise, (lag, v, u), axis=(0, 1, 2))
    data = 1000 + noise + moved
    result = pcf_image(data, radius=3, npoints=4, nbins=12)
    edges = result['bin_edge'].values
    lag_bin = int(numpy.searchsorted(edges, lag, side='right'))
    centre = numpy.asarray(result[4:8, 4:8]).mean(axis=(0, 1))
    toward, away = centre[0], centre[2]  # points (3, 0) and (-3, 0)
    assert numpy.argmax(toward) == lag_bin
    assert toward[lag_bin] > 5e-6  # 1e-4 at the lag, spread by binning
    assert numpy.abs(away).max() < 0.2 * toward[lag_bin]


def test_pcf_image_mask_and_zero_pixels(series):
    data = series.astype(numpy.float64)
    data[:, 4, 5] = 0.0  # zero mean pixel
    mask = numpy.ones(data.shape[1:], bool)
    mask[3, 3] = False
    with numpy.errstate(all='raise'):
        result = pcf_image(data, radius=2, npoints=8, nbins=6, mask=mask)
    values = numpy.asarray(result)
    assert numpy.isnan(values[1, 1]).all()  # masked (y=3, x=3)
    assert numpy.isnan(values[2, 3]).all()  # zero mean centre (4, 5)
    # neighbours of the zero pixel: only the curve toward it is NaN
    assert numpy.isnan(values[2, 1, 0]).all()  # (4, 3) + (2, 0)
    assert not numpy.isnan(values[2, 1, 1:]).any()
    assert not numpy.isinf(values).any()
    # the masked pixel, the zero centre and its 8 circle neighbours
    assert numpy.isnan(values).any(axis=(2, 3)).sum() == 10


@pytest.mark.parametrize('dtype', ['uint8', 'uint16', 'int32', 'float32'])
def test_pcf_image_dtypes(series, dtype):
    expected = pcf_image(series, radius=2, npoints=4, nbins=6)
    result = pcf_image(series.astype(dtype), radius=2, npoints=4, nbins=6)
    assert_allclose(result, expected, rtol=0, atol=1e-6)


def test_pcf_image_lazy_inputs(series, tmp_path):
    expected = pcf_image(series, radius=2, npoints=4, nbins=6)
    path = tmp_path / 'series.raw'
    series.tofile(path)
    memmap = numpy.memmap(path, dtype=series.dtype, shape=series.shape)
    assert_allclose(pcf_image(memmap, radius=2, npoints=4, nbins=6), expected)
    h5py = pytest.importorskip('h5py')
    with h5py.File(tmp_path / 'series.h5', 'w') as h5:
        dataset = h5.create_dataset('data', data=series, chunks=(64, 4, 4))
        result = pcf_image(dataset, radius=2, npoints=4, nbins=6)
    assert_allclose(result, expected)
    da = pytest.importorskip('dask.array')
    lazy = da.from_array(series, chunks=(16, 5, 5))
    assert_allclose(pcf_image(lazy, radius=2, npoints=4, nbins=6), expected)
    zarr = pytest.importorskip('zarr')
    array = zarr.create_array(
        str(tmp_path / 'series.zarr'), shape=series.shape,
        chunks=(64, 4, 4), dtype=series.dtype,
    )  # fmt: skip
    array[...] = series
    assert_allclose(pcf_image(array, radius=2, npoints=4, nbins=6), expected)


@pytest.mark.parametrize(
    ('data', 'options', 'error', 'match'),
    [
        (numpy.ones((64, 8)), {}, ValueError, 'not 3-D'),
        (numpy.ones((15, 8, 8)), {}, ValueError, '15 frames'),
        (numpy.ones((32, 8, 8)), {'radius': 0}, ValueError, 'radius=0'),
        (numpy.ones((32, 8, 8)), {'radius': 4}, ValueError, 'radius=4'),
        (numpy.ones((32, 8, 8)), {'npoints': 0}, ValueError, 'npoints=0'),
        (numpy.ones((32, 8, 8)), {'nbins': 1}, ValueError, 'nbins=1'),
        (numpy.ones((32, 8, 8)), {'dt': 0}, ValueError, 'dt=0'),
        (numpy.ones((32, 8, 8)), {'mode': 'x'}, ValueError, 'mode='),
        (numpy.ones((32, 8, 8)), {'engine': 'x'}, ValueError, 'engine='),
        (
            numpy.ones((32, 8, 8)), {'mask': numpy.ones((8, 7), bool)},
            ValueError, 'mask.shape',
        ),
        (numpy.ones((32, 8, 8), complex), {}, TypeError, 'complex'),
        (numpy.ones((32, 8, 8), bool), {}, TypeError, 'bool'),
        (numpy.full((32, 8, 8), 'a'), {}, TypeError, 'not an integer'),
        (numpy.ones((32, 8, 8)), {'radius': 1.5}, TypeError, 'radius'),
    ],
)  # fmt: skip
def test_pcf_image_bad_input(data, options, error, match):
    options = {'radius': 2, 'npoints': 4, **options}
    with pytest.raises(error, match=match):
        pcf_image(data, **options)


@pytest.mark.parametrize('bad', [numpy.nan, numpy.inf])
def test_pcf_image_rejects_nan(bad):
    data = numpy.ones((32, 8, 8))
    data[3, 4, 4] = bad
    with pytest.raises(ValueError, match='NaN or infinite'):
        pcf_image(data, radius=2, npoints=4)


def test_plan_pieces_importable_from_pcf():
    for name in ('average_bins', 'bin_delays', 'circle', 'logbins', 'smooth'):
        assert getattr(ipcf.pcf, name) is getattr(plan, name)
        assert name in ipcf.pcf.__all__


@pytest.mark.parametrize(
    ('options', 'match'),
    [
        ({'dt': '0.5'}, 'dt'),
        ({'dt': True}, 'dt'),
        ({'truncate': 1}, 'truncate'),
        ({'radius': 2.0}, 'radius'),
        ({'npoints': 4.0}, 'npoints'),
        ({'nbins': True}, 'nbins'),
        ({'mode': 1}, 'mode'),
        ({'directions': None}, 'directions'),
    ],
)
def test_pcf_image_option_types(series, options, match):
    """Numbers given as strings, bools or floats are a TypeError."""
    options = {'radius': 2, 'npoints': 4, **options}
    with pytest.raises(TypeError, match=match):
        pcf_image(series, **options)


@pytest.fixture
def second(series):
    """A second channel of the series' shape."""
    return (
        numpy.random.default_rng(2)
        .poisson(50, series.shape)
        .astype(numpy.uint16)
    )


def test_pcf_image_neighbour_shape_mismatch(series, second):
    with pytest.raises(ValueError, match='neighbour.shape') as info:
        pcf_image(series, neighbour=second[:, :-1], radius=2, npoints=4)
    message = str(info.value)
    assert str(second[:, :-1].shape) in message
    assert str(series.shape) in message
    with pytest.raises(ValueError, match=str(second[:-1].shape)):
        pcf_image(series, neighbour=second[:-1], radius=2, npoints=4)


@pytest.mark.parametrize(
    ('neighbour', 'directions', 'match'),
    [
        (False, 'both', 'needs a second channel'),
        (True, 'bad', "directions='bad'"),
        (False, 'bad', "directions='bad'"),
        (True, 'reverse', "directions='reverse'"),
    ],
)
def test_pcf_image_bad_directions(
    series, second, neighbour, directions, match
):
    other = second if neighbour else None
    with pytest.raises(ValueError, match=match):
        pcf_image(
            series, neighbour=other, directions=directions, radius=2, npoints=4
        )


@pytest.mark.parametrize(
    ('bad', 'error', 'match'),
    [
        (numpy.ones((64, 9, 10), complex), TypeError, 'neighbour'),
        (numpy.ones((64, 9, 10), bool), TypeError, 'neighbour'),
        (numpy.ones((64, 9)), ValueError, 'neighbour'),
    ],
)
def test_pcf_image_bad_neighbour(series, bad, error, match):
    with pytest.raises(error, match=match):
        pcf_image(series, neighbour=bad, radius=2, npoints=4)


def test_pcf_image_neighbour_rejects_nan(series):
    other = series.astype(numpy.float64)
    other[3, 4, 4] = numpy.nan
    with pytest.raises(ValueError, match='NaN or infinite'):
        pcf_image(series, neighbour=other, radius=2, npoints=4)


def test_pcf_image_cross_channel_labels(series, second):
    kwargs = {'radius': 2, 'npoints': 8, 'nbins': 8, 'dt': 0.5}
    forward = pcf_image(series, neighbour=second, **kwargs)
    assert forward.dims == ('y', 'x', 'point', 'delay')
    assert forward.shape == (5, 6, 8, len(logbins(32, 8)))
    assert 'direction' not in forward.coords
    assert forward.attrs['cross'] is True
    assert forward.attrs['directions'] == 'forward'
    both = pcf_image(series, neighbour=second, directions='both', **kwargs)
    assert both.dims == ('y', 'x', 'direction', 'point', 'delay')
    assert both.shape == (5, 6, 2, 8, len(logbins(32, 8)))
    assert both['direction'].values.tolist() == ['forward', 'reverse']
    assert both.attrs['cross'] is True
    assert both.attrs['directions'] == 'both'
    assert both['y'].values.tolist() == [2, 3, 4, 5, 6]
    assert_allclose(both['delay'], forward['delay'])
    assert_array_equal(both['u'], circle(2, 8)[:, 0])
    assert_allclose(both.sel(direction='forward'), forward, atol=1e-6)
    reverse = pcf_image(second, neighbour=series, **kwargs)
    assert_allclose(both.sel(direction='reverse'), reverse, atol=1e-5)
    # without a neighbour no cross attributes at all
    alone = pcf_image(series, **kwargs)
    assert 'cross' not in alone.attrs
    assert 'directions' not in alone.attrs
    # forward is the default
    explicit = pcf_image(
        series, neighbour=second, directions='forward', **kwargs
    )
    assert_array_equal(explicit, forward)


def test_pcf_image_cross_channel_of_itself(series):
    """A channel as its own neighbour gives the plain pCF."""
    kwargs = {'radius': 2, 'npoints': 8, 'nbins': 8, 'engine': 'reference'}
    expected = pcf_image(series, **kwargs)
    result = pcf_image(series, neighbour=series.copy(), **kwargs)
    assert_allclose(result, expected, rtol=0, atol=1e-6)


def test_pcf_image_neighbour_other_dtype(series):
    """Each channel keeps its own values whatever the other's dtype."""
    rng = numpy.random.default_rng(3)
    other = (0.5 * series + rng.random(series.shape) * 3).astype('float32')
    kwargs = {'radius': 2, 'npoints': 4, 'nbins': 6, 'engine': 'reference'}
    expected = pcf_image(
        series.astype(numpy.float64),
        neighbour=other.astype(numpy.float64),
        directions='both',
        **kwargs,
    )
    result = pcf_image(series, neighbour=other, directions='both', **kwargs)
    assert_allclose(result, expected, rtol=0, atol=1e-6)
    small = rng.poisson(100, series.shape).astype(numpy.uint8)
    large = rng.poisson(1000, series.shape).astype(numpy.uint16)
    expected = pcf_image(
        small.astype(numpy.float64), neighbour=large, **kwargs
    )
    assert_allclose(
        pcf_image(small, neighbour=large, **kwargs), expected, atol=1e-6
    )


@pytest.mark.parametrize(
    ('offset', 'error', 'match'),
    [
        (-1.0, ValueError, 'offset=-1.0 must be >= 0'),
        (math.inf, ValueError, 'offset=inf must be finite'),
        (math.nan, ValueError, 'offset=nan must be finite'),
        ('100', TypeError, "offset='100' is not a real number"),
        (True, TypeError, 'offset=True'),
        (None, TypeError, 'offset=None'),
    ],
)
def test_pcf_image_bad_offset(series, offset, error, match):
    with pytest.raises(error, match=match):
        pcf_image(series, radius=2, npoints=4, offset=offset)


def test_pcf_image_offset_zero_is_the_default(series):
    options = {'radius': 2, 'npoints': 8, 'nbins': 8}
    plain = pcf_image(series, **options)
    zero = pcf_image(series, offset=0, **options)
    assert zero.identical(plain)
    assert plain.attrs['offset'] == 0.0
    assert isinstance(zero.attrs['offset'], float)


@pytest.mark.parametrize('mode', ['circular', 'linear'])
def test_pcf_image_offset_scales_each_pair(series, mode):
    """Each curve grows by <a><b> / ((<a> - o)(<b> - o)), NaN at <= o."""
    data = series.copy()
    data[:, 4, 5] = 75  # below the offset: NaN, never inf or a sign flip
    options = {'radius': 2, 'npoints': 8, 'nbins': 8, 'mode': mode}
    offset = 80.0
    plain = pcf_image(data, engine='reference', **options)
    result = pcf_image(data, offset=offset, engine='reference', **options)
    assert result.attrs['offset'] == offset
    mean = data.astype(numpy.float64).mean(axis=0)
    r = 2
    centre = mean[r:-r, r:-r] - offset
    for i, (u, v) in enumerate(circle(2, 8).tolist()):
        partner = mean[r + v : mean.shape[0] - r + v, r + u :][
            :, : centre.shape[1]
        ]
        factor = (centre + offset) * partner / (centre * (partner - offset))
        bad = (centre <= 0) | (partner <= offset)
        expected = numpy.where(bad[..., None], numpy.nan, factor[..., None])
        ratio = result[:, :, i] / plain[:, :, i]
        assert_allclose(ratio, expected * numpy.ones_like(ratio), rtol=1e-4)
    assert numpy.isnan(result.sel(y=4, x=5)).all()
    assert not numpy.isinf(result).any()


def test_simulated_offset_restores_physical_amplitude():
    """offset=truth['offset'] scales the peak by <a><b>/((<a>-o)(<b>-o))."""
    from ipcf import simulate

    sim = simulate.free(shape=(1024, 12, 12), seed=3)
    offset = sim.truth['offset']
    options = {'radius': 2, 'npoints': 8, 'nbins': 16}
    plain = pcf_image(sim.data, **options).values
    physical = pcf_image(sim.data, offset=offset, **options).values
    # the peak of the mean curve of point 0, its pixel's own curve
    k = int(plain[..., 0, 1:].mean(axis=(0, 1)).argmax()) + 1
    y, x = numpy.unravel_index(
        int(plain[:, :, 0, k].argmax()), plain.shape[:2]
    )
    u, v = (int(n) for n in circle(2, 8)[0])
    frames = sim.data[:1024].astype(numpy.float64)
    a = frames[:, y + 2, x + 2].mean()
    b = frames[:, y + 2 + v, x + 2 + u].mean()
    factor = a * b / ((a - offset) * (b - offset))
    assert factor > 10
    peak, peak0 = physical[y, x, 0, k], plain[y, x, 0, k]
    assert float(peak) > float(peak0) > 0
    assert_allclose(float(peak) / float(peak0), factor, rtol=1e-5)
