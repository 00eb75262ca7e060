import time

import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from ipcf import engines
from ipcf.engines import cpu, reference
from ipcf.pcf import circle, logbins, pcf_image

pytestmark = pytest.mark.skipif(
    not cpu.available(), reason='the cpu engine needs numba and scipy'
)

ATOL = 1e-5


def series(shape, mean=100.0, dtype=numpy.uint16, seed=0, offset=0.0):
    """Return Poisson counts around mean (plus a constant offset)."""
    rng = numpy.random.default_rng(seed)
    data = rng.poisson(mean, shape) + offset
    return data.astype(dtype)


def assert_same_curves(result, expected, atol=ATOL):
    """Assert equal NaN positions and values within atol."""
    result = numpy.asarray(result)
    expected = numpy.asarray(expected)
    assert result.dtype == numpy.float32
    assert result.shape == expected.shape
    assert_array_equal(numpy.isnan(result), numpy.isnan(expected))
    assert_allclose(result, expected, rtol=0, atol=atol, equal_nan=True)


def both(data, **kwargs):
    """Return the cpu and reference results of pcf_image."""
    result = pcf_image(data, engine='cpu', **kwargs)
    expected = pcf_image(data, engine='reference', **kwargs)
    return result, expected


def test_engine_contract():
    assert cpu.NAME == 'cpu'
    assert 'cpu' in engines.available()
    names = engines.available()
    assert engines.get('auto').NAME == names[0]
    if 'gpu' not in names:
        assert engines.get('auto') is cpu
    assert cpu.tile_rows(16384, 64, 64, 6) == 52
    assert 1 <= cpu.tile_rows(16384, 1024, 1024, 6) < 1012
    assert cpu.tile_rows(2**20, 4096, 4096, 6) == 1
    assert cpu.tile_rows(16384, 512, 1024, 6) == 4
    assert cpu.tile_rows(16384, 512, 1024, 6, itemsize=2) == 20


@pytest.mark.parametrize('mode', ['circular', 'linear'])
def test_equals_reference(mode):
    data = series((256, 17, 19))
    result, expected = both(
        data, radius=3, npoints=12, nbins=10, mode=mode, num_threads=2
    )
    assert_same_curves(result, expected)
    assert result.attrs['engine'] == 'cpu'


@pytest.mark.parametrize(
    ('mean', 'offset', 'dtype'),
    [
        (5.0, 0.0, numpy.uint16),  # dim
        (1.0, 0.0, numpy.uint8),  # dimmer, many zeros
        (2.0, 10000.0, numpy.uint16),  # bright, small fluctuations
        (3.0, 50000.0, numpy.float32),
        (100.0, 0.0, numpy.int32),
        (100.0, 0.5, numpy.float64),
    ],
)
def test_equals_reference_intensities(mean, offset, dtype):
    data = series((128, 12, 13), mean, dtype, seed=1, offset=offset)
    result, expected = both(data, radius=2, npoints=8, nbins=8)
    assert_same_curves(result, expected)


@pytest.mark.parametrize('mode', ['circular', 'linear'])
def test_zero_pixels_give_nan(mode):
    data = series((64, 12, 12), 3.0, seed=2)
    data[:, 5, 6] = 0  # a centre and a neighbour of others
    data[:, 0, 0] = 0  # outside the centres, never a neighbour at r=2
    data[:, 2, 4] = 0
    result, expected = both(data, radius=2, npoints=8, nbins=6, mode=mode)
    assert_same_curves(result, expected)
    result = numpy.asarray(result)
    assert numpy.isnan(result[3, 4]).all()  # the centre (5, 6)
    assert numpy.isnan(result).any(axis=(2, 3)).sum() > 1
    assert not numpy.isnan(result[7, 0]).any()


def test_all_zero_image():
    data = numpy.zeros((32, 8, 8), numpy.uint16)
    result, expected = both(data, radius=2, npoints=4, nbins=4)
    assert numpy.isnan(result).all()
    assert_same_curves(result, expected)


@pytest.mark.parametrize(
    ('nframes', 'mode'),
    [(200, 'circular'), (201, 'circular'), (97, 'linear'), (300, 'linear')],
)
def test_untruncated_frames(nframes, mode):
    data = series((nframes, 11, 12), seed=3)
    result, expected = both(
        data, radius=2, npoints=6, nbins=9, truncate=False, mode=mode
    )
    assert result.attrs['frames'] == nframes
    assert_same_curves(result, expected)


@pytest.mark.parametrize(
    ('radius', 'npoints'), [(1, 32), (2, 32), (2, 7), (3, 1), (3, None)]
)
def test_duplicate_and_odd_points(radius, npoints):
    points = circle(radius, npoints)
    if npoints == 32:
        assert len(numpy.unique(points, axis=0)) < len(points)
    data = series((64, 10, 11), seed=4)
    result, expected = both(data, radius=radius, npoints=npoints, nbins=6)
    assert_same_curves(result, expected)


def test_mask():
    data = series((128, 16, 18), seed=5)
    mask = numpy.zeros((16, 18), bool)
    mask[4:9, 5:12] = True
    mask[12, 3] = True
    mask[6, 8] = False
    result, expected = both(data, radius=2, npoints=8, nbins=8, mask=mask)
    assert_same_curves(result, expected)
    inside = mask[2:-2, 2:-2]
    assert numpy.isnan(numpy.asarray(result)[~inside]).all()
    assert not numpy.isnan(numpy.asarray(result)[inside]).any()


@pytest.mark.parametrize('dtype', ['>u2', '>f8', 'float16', 'int64'])
def test_other_dtypes(dtype):
    data = series((64, 10, 10), 20.0, seed=12).astype(dtype)
    result, expected = both(data, radius=2, npoints=8, nbins=6)
    assert_same_curves(result, expected)


def test_input_unchanged():
    data = series((64, 12, 12), seed=6)
    original = data.copy()
    pcf_image(data, radius=2, npoints=8, nbins=6, engine='cpu')
    assert_array_equal(data, original)
    neighbour = series((64, 12, 12), seed=7)
    second = neighbour.copy()
    out = numpy.full((8, 8, 8, 5), numpy.nan, numpy.float32)
    cpu.compute(
        data,
        out,
        points=circle(2, 8),
        edges=logbins(32, 6),
        mask=None,
        mode='circular',
        num_threads=2,
        neighbour=neighbour,
    )
    assert_array_equal(data, original)
    assert_array_equal(neighbour, second)


def test_threads_and_tiles_agree(monkeypatch):
    data = series((256, 21, 17), seed=8)
    kwargs = {'radius': 3, 'npoints': 16, 'nbins': 12}
    expected = numpy.asarray(pcf_image(data, engine='cpu', **kwargs))
    one = numpy.asarray(pcf_image(data, engine='cpu', num_threads=1, **kwargs))
    three = numpy.asarray(
        pcf_image(data, engine='cpu', num_threads=3, **kwargs)
    )
    assert_allclose(one, expected, rtol=0, atol=1e-7)
    assert_allclose(three, expected, rtol=0, atol=1e-7)
    for rows in (1, 2, 4):
        monkeypatch.setattr(
            cpu, 'tile_rows', lambda *args, rows=rows, **kw: rows
        )
        tiled = numpy.asarray(pcf_image(data, engine='cpu', **kwargs))
        assert_allclose(tiled, expected, rtol=0, atol=1e-7)
    assert_same_curves(expected, pcf_image(data, engine='reference', **kwargs))


@pytest.mark.parametrize(
    ('window', 'series_bytes', 'band_rows'),
    [
        (16 * 2**10, 2**10, 1),  # strips of columns, one row per pass
        (400 * 2**10, 40 * 2**10, 3),  # ring of rows wraps, small groups
    ],
)
def test_small_buffers(monkeypatch, window, series_bytes, band_rows):
    """Strips, a wrapping ring of rows and small groups change nothing."""
    data = series((64, 19, 23), seed=9)
    kwargs = {'radius': 3, 'npoints': 12, 'nbins': 6}
    expected = numpy.asarray(pcf_image(data, engine='cpu', **kwargs))
    monkeypatch.setattr(cpu, '_WINDOW_BYTES', window)
    monkeypatch.setattr(cpu, '_SERIES_BYTES', series_bytes)
    monkeypatch.setattr(cpu, '_BAND_ROWS', band_rows)
    regions = []
    run = cpu._Region.run
    monkeypatch.setattr(
        cpu._Region, 'run', lambda self: regions.append(self) or run(self)
    )
    for mode in ('circular', 'linear'):
        result = pcf_image(data, engine='cpu', mode=mode, **kwargs)
        if mode == 'circular':
            assert_allclose(result, expected, rtol=0, atol=1e-7)
        assert_same_curves(
            result, pcf_image(data, engine='reference', mode=mode, **kwargs)
        )
    assert (len(regions) > 2) == (window < 2**15)
    mask = numpy.zeros((19, 23), bool)
    mask[5:9, 10:14] = True
    result, expected = both(data, mask=mask, **kwargs)
    assert_same_curves(result, expected)


@pytest.mark.parametrize('mode', ['circular', 'linear'])
@pytest.mark.parametrize(('radius', 'npoints'), [(2, 8), (1, 32), (3, 5)])
def test_neighbour_channel(mode, radius, npoints):
    rng = numpy.random.default_rng(10)
    data = series((128, 13, 14), 50.0, seed=11)
    neighbour = (0.5 * data + rng.poisson(20, data.shape)).astype('float32')
    neighbour[:, 4, 5] = 0
    points = circle(radius, npoints)
    edges = logbins(64, 10)
    shape = (13 - 2 * radius, 14 - 2 * radius, len(points), len(edges))
    result = numpy.full(shape, numpy.nan, numpy.float32)
    expected = result.copy()
    mask = numpy.ones(shape[:2], bool)
    mask[0, :3] = False
    for engine, out in ((cpu, result), (reference, expected)):
        engine.compute(
            data,
            out,
            points=points,
            edges=edges,
            mask=mask,
            mode=mode,
            num_threads=2,
            neighbour=neighbour,
        )
    result[~mask] = numpy.nan
    expected[~mask] = numpy.nan
    assert_same_curves(result, expected)
    # without symmetry across channels: 1->2 differs from 2->1
    assert numpy.isnan(result).any()


def test_concurrent_calls():
    from concurrent.futures import ThreadPoolExecutor

    datas = [series((128, 14, 15), seed=seed) for seed in range(4)]
    kwargs = {'radius': 2, 'npoints': 8, 'nbins': 8, 'engine': 'cpu'}
    expected = [numpy.asarray(pcf_image(d, **kwargs)) for d in datas]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda d: pcf_image(d, **kwargs), datas))
    for result, want in zip(results, expected, strict=True):
        assert_allclose(result, want, rtol=0, atol=1e-7)


def test_compute_skips_masked_tile():
    data = series((32, 9, 9))
    out = numpy.full((5, 5, 4, 4), -1.0, numpy.float32)
    cpu.compute(
        data,
        out,
        points=circle(2, 4),
        edges=logbins(16, 4),
        mask=numpy.zeros((5, 5), bool),
        mode='circular',
        num_threads=1,
    )
    assert (out == -1.0).all()


def test_workspace_released(monkeypatch):
    monkeypatch.setattr(cpu, '_KEEP_SECONDS', 0.05)
    pcf_image(series((32, 9, 9)), radius=2, npoints=4, engine='cpu')
    assert cpu._Workspace._idle
    time.sleep(0.3)
    assert not cpu._Workspace._idle


def test_binning_matrices_exact():
    """M matches its definition as a mean of complex exponentials."""
    nframes, length = 40, 61
    edges = (1, 2, 4, 7, 12, 20)
    mre, mim = cpu._binning_matrices(nframes, length, edges, 32)
    freq = numpy.arange(1, length // 2 + 1)
    lower = (0, *edges[:-1])
    for k in range(1, len(edges)):
        tau = numpy.arange(lower[k], edges[k])
        value = numpy.exp(2j * numpy.pi * freq[:, None] * tau / length)
        value = 2 * value.mean(axis=1) / (length * nframes)
        assert_allclose(mre[: freq.size, k - 1], value.real, atol=1e-12)
        assert_allclose(mim[: freq.size, k - 1], value.imag, atol=1e-12)
    assert not mre[freq.size :].any()
    assert not mre[:, len(edges) - 1 :].any()


@st.composite
def cases(draw):
    nframes = draw(st.integers(16, 300))
    height = draw(st.integers(5, 20))
    width = draw(st.integers(5, 20))
    radius = draw(st.integers(1, (min(height, width) - 1) // 2))
    npoints = draw(st.one_of(st.none(), st.integers(1, 12)))
    nbins = draw(st.integers(2, 12))
    dtype = draw(
        st.sampled_from(['uint8', 'uint16', 'int32', 'float32', 'float64'])
    )
    top = 200 if dtype == 'uint8' else 50000
    mean = draw(st.floats(1.0, top))
    bright = draw(st.booleans())
    mode = draw(st.sampled_from(['circular', 'linear']))
    truncate = draw(st.booleans())
    masked = draw(st.booleans())
    zero = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    return {
        'shape': (nframes, height, width),
        'radius': radius,
        'npoints': npoints,
        'nbins': nbins,
        'dtype': dtype,
        'mean': mean,
        'bright': bright,
        'mode': mode,
        'truncate': truncate,
        'masked': masked,
        'zero': zero,
        'seed': seed,
    }


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(case=cases())
def test_property_equals_reference(case):
    rng = numpy.random.default_rng(case['seed'])
    shape = case['shape']
    if case['bright']:
        # a large constant with small fluctuations
        data = case['mean'] + rng.poisson(2.0, shape)
    else:
        data = rng.poisson(case['mean'], shape)
    if case['dtype'] == 'uint8':
        data = numpy.minimum(data, 255)
    data = data.astype(case['dtype'])
    if case['zero']:
        data[:, rng.integers(shape[1]), rng.integers(shape[2])] = 0
    mask = None
    if case['masked']:
        mask = rng.random(shape[1:]) < 0.6
    original = data.copy()
    kwargs = {key: case[key] for key in ('radius', 'npoints', 'nbins', 'mode')}
    result, expected = both(
        data, mask=mask, truncate=case['truncate'], **kwargs
    )
    assert_same_curves(result, expected)
    assert_array_equal(data, original)


def test_bench_engine_rows():
    from ipcf.bench import ENGINE_COLUMNS, bench_engine, format_table

    rows = bench_engine(
        shape=(64, 12, 13), radius=2, npoints=8, nbins=8, repeat=2
    )
    assert [row['engine'] for row in rows] == [
        'cpu',
        'reference (crop)',
        'numpy per pixel (crop)',
    ]
    cpu_row, reference_row, numpy_row = rows
    assert cpu_row['shape'] == '64x12x13'
    assert cpu_row['curves'] == 8 * 9 * 8
    assert reference_row['shape'] == '64x8x8'
    assert reference_row['curves'] == 4 * 4 * 8
    assert reference_row['vs_reference'] == pytest.approx(1.0)
    assert numpy_row['vs_numpy'] == pytest.approx(1.0)
    for row in rows:
        assert row['seconds'] > 0
        assert row['first_s'] >= row['seconds']
        assert row['us_per_pair'] == pytest.approx(2 * row['us_per_curve'])
        assert row['vs_reference'] == pytest.approx(
            reference_row['us_per_curve'] / row['us_per_curve']
        )
    text = format_table(rows, ENGINE_COLUMNS)
    assert 'x reference (per curve, crop)' in text
    with pytest.raises(ValueError, match='not available'):
        bench_engine(shape=(64, 12, 13), radius=2, engines=['nope'])
    with pytest.raises(ValueError, match='does not fit'):
        bench_engine(shape=(64, 12, 13), radius=6)


def test_numpy_baseline_equals_reference():
    from ipcf.bench import _numpy_pixel_pcf

    data = series((100, 11, 12), seed=13)
    data[:, 4, 4] = 0
    result = _numpy_pixel_pcf(data, radius=2, npoints=8, nbins=8)
    expected = pcf_image(data, radius=2, npoints=8, nbins=8, engine='cpu')
    assert_same_curves(result, expected)
