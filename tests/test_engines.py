"""Every engine equals the reference engine (SPEC: within 1e-5).

One suite, parametrized over the engines: ``'cpu'``; ``'gpu-numpy'``, the
gpu engine's arithmetic run with numpy (``gpu._compute(numpy, ...)``) on
small budgets, so that windows, pair tiles and transform batches are
several; and ``'gpu'``, the real engine, where CuPy finds a GPU. Engines
are called as :class:`ipcf.pcf.PcfAnalysis` calls them, with a
:class:`ipcf.plan.Plan` and a :class:`ipcf._rows.RowReader`; a few tests
go through :func:`ipcf.pcf_image`.

"""

import dataclasses

import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from ipcf import engines
from ipcf._rows import RowReader
from ipcf.engines import cpu, gpu, reference
from ipcf.pcf import pcf_image
from ipcf.plan import Plan, circle, logbins

ENGINES = ['cpu', 'gpu-numpy', 'gpu']

ATOL = 1e-5
"""SPEC's tolerance of a fast engine against the reference."""

SAME = 1e-7
"""Tolerance of one engine against itself with other threads or buffers."""

# buffer sizes that cut the work into many small pieces, per engine:
# module constants of the cpu engine, keyword options of the gpu engine
SMALL_BUFFERS = {
    'cpu': [
        {
            # strips of columns, one row of pairs per pass, tiny groups
            '_WINDOW_BYTES': 16 * 2**10,
            '_SERIES_BYTES': 2**10,
            '_BAND_ROWS': 1,
            '_ACC_BYTES': 2**10,
            '_CWIDTH': 3,
            '_FFT_BATCH': 1,
            '_MEAN_BYTES': 1,
        },
        {
            # a ring of rows that wraps, small groups of series
            '_WINDOW_BYTES': 400 * 2**10,
            '_SERIES_BYTES': 40 * 2**10,
            '_BAND_ROWS': 3,
            '_CWIDTH': 5,
            '_FFT_BATCH': 4,
        },
    ],
    'gpu-numpy': [
        {'tile_pixels': 5, 'chunk_pixels': 7, 'budget': 20_000},
        {'tile_pixels': 16, 'chunk_pixels': 1, 'budget': 140_000},
        {'tile_pixels': 3, 'chunk_pixels': 40, 'budget': None},
        {'tile_pixels': 1000, 'chunk_pixels': 1000, 'budget': 1},
    ],
}
SMALL_BUFFERS['gpu'] = SMALL_BUFFERS['gpu-numpy']


def series(shape, mean=100.0, dtype=numpy.uint16, seed=0, offset=0.0):
    """Return Poisson counts around mean (plus a constant offset)."""
    rng = numpy.random.default_rng(seed)
    return (rng.poisson(mean, shape) + offset).astype(dtype)


def image_plan(radius, npoints, nframes, nbins, **options):
    """Return the plan of a circle pCF, with Plan's fields as options."""
    plan = Plan.image(
        radius=radius, npoints=npoints, nframes=nframes, nbins=nbins
    )
    return dataclasses.replace(plan, **options)


def gpu_numpy_options(plan, reader):
    """Return gpu options giving several windows, tiles and batches."""
    nframes, height, width = reader.shape[0], *reader.shape[-2:]
    spectral = gpu._spectral_plan(
        nframes, plan.edges, plan.mode, plan.smoothing
    )
    per_pixel = gpu._pixel_bytes(
        spectral.length,
        2 if plan.cross else 1,
        plan.ndirections * plan.npoints,
        plan.nbins,
    )
    return {
        'budget': per_pixel * max(1, height * width // 2),
        'tile_pixels': 7,
        'chunk_pixels': 13,
    }


def gpu_numpy_compute(
    plan, reader, out, *, mask=None, num_threads=1, progress=None, **options
):
    """Run the gpu engine's arithmetic with numpy, on small budgets."""
    for key, value in gpu_numpy_options(plan, reader).items():
        options.setdefault(key, value)
    gpu._compute(
        numpy, plan, reader, out, mask=mask, progress=progress, **options
    )


def run(name, plan, channels, *, mask=None, num_threads=1, **options):
    """Return out[direction, y, x, point, bin] of an engine.

    As :class:`ipcf.pcf.PcfAnalysis` does: out starts as NaN and centres
    outside the mask are NaN. `options` are the gpu engine's buffer
    sizes (``budget``, ``tile_pixels``, ``chunk_pixels``) or
    ``progress``.

    """
    shape = plan.out_shape(channels[0].shape[1:])
    out = numpy.full(shape, numpy.nan, numpy.float32)
    reader = RowReader(channels, plan.nframes)
    kwargs = {'mask': mask, 'num_threads': num_threads}
    if name == 'gpu-numpy':
        gpu_numpy_compute(plan, reader, out, **kwargs, **options)
    elif name == 'gpu' and set(options) - {'progress'}:
        gpu._run(plan, reader, out, **kwargs, **options)
    else:
        module = {'reference': reference, 'cpu': cpu, 'gpu': gpu}[name]
        module.compute(plan, reader, out, **kwargs, **options)
    if mask is not None:
        out[:, ~mask] = numpy.nan
    return out


def assert_same_curves(result, expected, atol=ATOL):
    """Assert equal NaN positions and values within atol."""
    result = numpy.asarray(result)
    expected = numpy.asarray(expected)
    assert result.dtype == numpy.float32
    assert result.shape == expected.shape
    assert_array_equal(numpy.isnan(result), numpy.isnan(expected))
    assert_allclose(result, expected, rtol=0, atol=atol, equal_nan=True)


def check(engine, plan, channels, *, mask=None, **options):
    """Assert that an engine equals the reference; return its result."""
    channels = [numpy.asarray(c) for c in channels]
    copies = [c.copy() for c in channels]
    result = run(engine, plan, channels, mask=mask, **options)
    expected = run('reference', plan, channels, mask=mask)
    assert_same_curves(result, expected)
    for channel, copy in zip(channels, copies, strict=True):
        assert_array_equal(channel, copy)
        assert channel.dtype == copy.dtype
    return result


@pytest.fixture(scope='module', params=ENGINES)
def engine(request):
    """Name of an engine under test; skip where it cannot run."""
    name = request.param
    if name == 'cpu' and not cpu.available():
        pytest.skip('the cpu engine needs numba, scipy and threadpoolctl')
    if name == 'gpu':
        pytest.importorskip('cupy')
        if 'gpu' not in engines.available():
            pytest.skip('CuPy imports but finds no usable GPU')
    return name


@pytest.fixture
def public(engine, monkeypatch):
    """The engine's name for pcf_image (gpu-numpy stands in for 'gpu')."""
    if engine == 'gpu-numpy':
        monkeypatch.setattr(gpu, '_AVAILABLE', True)
        monkeypatch.setattr(gpu, 'compute', gpu_numpy_compute)
        return 'gpu'
    return engine


@pytest.mark.parametrize('mode', ['circular', 'linear'])
def test_equals_reference(engine, mode):
    data = series((256, 17, 19))
    plan = image_plan(3, 12, 256, 10, mode=mode)
    check(engine, plan, [data], num_threads=2)


@pytest.mark.parametrize('mode', ['circular', 'linear'])
@pytest.mark.parametrize(
    ('mean', 'offset', 'dtype'),
    [
        (1.0, 0.0, numpy.uint8),  # dim, many zeros
        (5.0, 0.0, numpy.uint16),
        (2.0, 10000.0, numpy.uint16),  # bright, small fluctuations
        (100.0, 10000.0, numpy.int32),
        (3.0, 50000.0, numpy.float32),
        (50000.0, 0.0, numpy.uint16),
        (100.0, 0.5, numpy.float64),
    ],
)
def test_intensities(engine, mode, mean, offset, dtype):
    data = series((128, 12, 13), mean, dtype, seed=1, offset=offset)
    check(engine, image_plan(2, 8, 128, 8, mode=mode), [data])


@pytest.mark.parametrize(
    'dtype',
    ['uint8', 'uint16', '>u2', 'int64', 'float16', 'float32', '>f8'],
)
def test_dtypes(engine, dtype):
    data = series((64, 10, 11), 20.0, seed=2).astype(dtype)
    result = check(engine, image_plan(2, 8, 64, 6), [data])
    native = series((64, 10, 11), 20.0, seed=2).astype(numpy.float64)
    assert_allclose(
        result, run(engine, image_plan(2, 8, 64, 6), [native]), atol=SAME
    )


@pytest.mark.parametrize('mode', ['circular', 'linear'])
@pytest.mark.parametrize('nframes', [17, 97, 200, 201, 300])
def test_frames_not_power_of_two(engine, mode, nframes):
    """truncate=False hands any N, odd ones too, to the engine."""
    data = series((nframes, 11, 12), 20.0, seed=nframes)
    check(engine, image_plan(2, 6, nframes, 9, mode=mode), [data])


@pytest.mark.parametrize(
    ('radius', 'npoints'),
    [(1, 32), (2, 32), (2, 7), (3, 5), (2, 1), (1, 5), (3, None)],
)
def test_duplicate_and_odd_points(engine, radius, npoints):
    """Duplicate points, odd counts and points without a negative."""
    data = series((128, 2 * radius + 6, 2 * radius + 5), 10.0, seed=3)
    result = check(engine, image_plan(radius, npoints, 128, 8), [data])
    points = circle(radius, npoints)
    same = (points[:, None] == points).all(axis=-1)
    for i, j in zip(*numpy.nonzero(same), strict=True):
        assert_array_equal(result[..., i, :], result[..., j, :])
    if (radius, npoints) == (1, 32):
        assert len(numpy.unique(points, axis=0)) == 8


@pytest.mark.parametrize('kind', ['random', 'one', 'empty', 'lines'])
def test_masks(engine, kind):
    data = series((128, 14, 15), 10.0, seed=4)
    rng = numpy.random.default_rng(4)
    mask = {
        'random': rng.random((10, 11)) < 0.3,
        'one': numpy.zeros((10, 11), bool),
        'empty': numpy.zeros((10, 11), bool),
        'lines': numpy.ones((10, 11), bool),
    }[kind]
    if kind == 'one':
        mask[7, 3] = True
    if kind == 'lines':
        mask[3] = False
        mask[:, 5] = False
    result = check(engine, image_plan(2, 8, 128, 8), [data], mask=mask)
    assert numpy.isnan(result[:, ~mask]).all()
    assert not numpy.isnan(result[:, mask]).any()


@pytest.mark.parametrize('mode', ['circular', 'linear'])
def test_zero_mean_pixels(engine, mode):
    """Pixels of zero mean give NaN exactly where the reference does."""
    data = series((128, 12, 12), 3.0, seed=6)
    data[:, 5, 6] = 0  # a centre, and a neighbour of others
    data[:, 0, :] = 0  # neighbours only
    data[:, 8, 2:5] = 0
    result = check(engine, image_plan(2, 8, 128, 8, mode=mode), [data])
    assert numpy.isnan(result[0, 3, 4]).all()
    assert numpy.isnan(result[0]).any(axis=(2, 3)).sum() > 10
    assert not numpy.isnan(result[0, 1, 1]).all()
    assert not numpy.isinf(result).any()


@pytest.mark.parametrize('mode', ['circular', 'linear'])
def test_all_zero_image(engine, mode):
    data = numpy.zeros((32, 8, 8), numpy.uint16)
    result = check(engine, image_plan(2, 4, 32, 4, mode=mode), [data])
    assert numpy.isnan(result).all()


@pytest.mark.parametrize(
    ('height', 'width', 'radius'),
    [(3, 3, 1), (5, 17, 2), (17, 5, 2), (4, 9, 1), (6, 6, 2), (7, 40, 3)],
)
def test_small_and_odd_shapes(engine, height, width, radius):
    data = series((64, height, width), 30.0, seed=height * width)
    result = check(engine, image_plan(radius, 8, 64, 6), [data])
    assert result.shape[1:3] == (height - 2 * radius, width - 2 * radius)


@pytest.mark.parametrize('mode', ['circular', 'linear'])
@pytest.mark.parametrize(('radius', 'npoints'), [(2, 8), (1, 32), (3, 5)])
def test_cross_channel(engine, mode, radius, npoints):
    """Centres from one channel, neighbours from another; both ways."""
    data = series((128, 13, 14), 50.0, seed=11)
    rng = numpy.random.default_rng(10)
    second = (data // 2 + rng.poisson(20, data.shape)).astype(data.dtype)
    second[:, 4, 5] = 0
    mask = numpy.ones((13 - 2 * radius, 14 - 2 * radius), bool)
    mask[0, :3] = False
    plan = image_plan(radius, npoints, 128, 10, mode=mode, cross=True)
    forward = check(engine, plan, [data, second], mask=mask)
    both = check(
        engine,
        dataclasses.replace(plan, reverse=True),
        [data, second],
        mask=mask,
    )
    assert both.shape[0] == 2
    assert_allclose(both[:1], forward, rtol=0, atol=SAME)
    swapped = run(engine, plan, [second, data], mask=mask)
    assert_same_curves(both[1:], swapped)
    # no symmetry across channels: the zero pixel is a neighbour only
    # one way round for each point
    assert not numpy.array_equal(numpy.isnan(both[0]), numpy.isnan(both[1]))


def test_cross_channel_of_itself_is_plain(engine):
    data = series((128, 12, 13), 10.0, seed=7)
    plan = image_plan(2, 7, 128, 8)
    alone = run(engine, plan, [data])
    cross = dataclasses.replace(plan, cross=True, reverse=True)
    same = check(engine, cross, [data, data])
    assert_allclose(same[:1], alone, rtol=0, atol=SAME)
    # the reverse curve of point i is the forward one of its negative,
    # seen from the other end of the pair
    assert_allclose(same[1], same[0], rtol=0, atol=ATOL)


@pytest.mark.parametrize('mode', ['circular', 'linear'])
@pytest.mark.parametrize(
    ('cross', 'reverse'), [(False, False), (True, False), (True, True)]
)
def test_offset_zero(engine, mode, cross, reverse):
    """A plan with the zero offset, the autocorrelation of each centre."""
    data = series((96, 9, 11), 40.0, seed=20)
    second = series((96, 9, 11), 60.0, seed=21)
    second[:, 4, 4] = 0
    plan = Plan(
        offsets=numpy.array([[0, 0], [1, 0], [-1, 0]]),
        halo=(1, 1),
        nframes=96,
        edges=tuple(int(e) for e in logbins(48, 8)),
        mode=mode,
        cross=cross,
        reverse=reverse,
    )
    channels = [data, second] if cross else [data]
    check(engine, plan, channels)
    if not cross:
        # the autocorrelation at delay 0 is the relative variance
        a = data[:, 1:-1, 1:-1].astype(numpy.float64)
        variance = a.var(axis=0) / a.mean(axis=0) ** 2
        unsmoothed = run(
            engine, dataclasses.replace(plan, smoothing=False), channels
        )
        assert_allclose(unsmoothed[0, :, :, 0, 0], variance, atol=ATOL)


@pytest.mark.parametrize('mode', ['circular', 'linear'])
@pytest.mark.parametrize(
    ('cross', 'reverse'), [(False, False), (True, False), (True, True)]
)
def test_camera_offset(engine, mode, cross, reverse):
    """A camera offset, with pixels at or below it, as the reference."""
    data = series((128, 12, 13), 20.0, seed=30, offset=100)
    second = series((128, 12, 13), 8.0, seed=31, offset=100)
    rng = numpy.random.default_rng(30)
    data[:, 5, 6] = 90  # a centre, and a neighbour of others
    data[:, 0, :] = 100  # neighbours only, at the offset exactly
    data[:, 8, 2:5] = 90 + rng.poisson(5.0, (128, 3))  # below, not flat
    second[:, 3, 9] = 99
    plan = image_plan(
        2, 8, 128, 8, mode=mode, cross=cross, reverse=reverse, offset=100.0
    )
    channels = [data, second] if cross else [data]
    result = check(engine, plan, channels, num_threads=2)
    assert numpy.isnan(result[0, 3, 4]).all()
    assert numpy.isnan(result[0, 6, 0:3]).all()
    assert numpy.isnan(result[0]).any(axis=(2, 3)).sum() >= 10
    assert not numpy.isnan(result[0, 1, 8]).all()
    assert not numpy.isinf(result).any()
    # the same data and plan without the offset: no NaN, smaller curves
    plain = run(engine, dataclasses.replace(plan, offset=0.0), channels)
    assert not numpy.isnan(plain).any()


@pytest.mark.parametrize('mode', ['circular', 'linear'])
def test_camera_offset_zero(engine, mode):
    """offset=0.0 is the plan without an offset, bit for bit."""
    data = series((64, 10, 11), 30.0, seed=32)
    plan = image_plan(2, 8, 64, 6, mode=mode)
    assert plan.offset == 0.0
    assert_array_equal(
        run(engine, dataclasses.replace(plan, offset=0.0), [data]),
        run(engine, plan, [data]),
    )


@pytest.mark.parametrize('offset', [0.0, 100.0])
@pytest.mark.parametrize(
    ('mode', 'expected'),
    [('circular', [1 / 3, -1 / 3]), ('linear', [1 / 3, -1 / 4])],
)
def test_camera_offset_by_hand(engine, offset, mode, expected):
    """Two pixels, four frames, worked by hand.

    ``a - o = [1, 3, 1, 3]`` and ``b - o = [1, 5, 1, 5]``: ``da = [-1, 1,
    -1, 1]``, ``db = [-2, 2, -2, 2]``, ``(<a> - o)(<b> - o) = 6``. At
    delay 0 ``<da db> / 6 = 1/3``; at delay 1 the circular sum is ``-8 /
    (4 * 6)`` and the linear one ``-6 / (4 * 6)``.

    """
    data = numpy.empty((4, 1, 3), numpy.float64)
    data[:, 0, 0] = 7.0
    data[:, 0, 1] = [1, 3, 1, 3]
    data[:, 0, 2] = [1, 5, 1, 5]
    data += offset
    plan = Plan(
        offsets=numpy.array([[1, 0]]),
        halo=(0, 1),
        nframes=4,
        edges=(1, 2),
        mode=mode,
        smoothing=False,
        offset=offset,
    )
    result = check(engine, plan, [data])
    assert_allclose(result[0, 0, 0, 0], expected, rtol=0, atol=ATOL)
    assert_allclose(
        run('reference', plan, [data])[0, 0, 0, 0], expected, rtol=1e-6
    )


@pytest.mark.parametrize(
    ('offsets', 'halo', 'shape'),
    [
        ([[0, 0]], (0, 0), (5, 6)),  # the autocorrelation of every pixel
        ([[3, 0], [-3, 0]], (0, 3), (2, 12)),  # a line
        ([[0, 1], [0, -1], [2, 0]], (1, 2), (7, 9)),  # unpaired, halo > r
        ([[1, 1], [-1, -1], [1, -1]], (3, 2), (9, 8)),
    ],
)
@pytest.mark.parametrize('cross', [False, True])
def test_other_plans(engine, offsets, halo, shape, cross):
    """Offsets and halos other than a circle's."""
    data = series((64, *shape), 30.0, seed=22)
    second = series((64, *shape), 20.0, seed=23)
    plan = Plan(
        offsets=numpy.array(offsets),
        halo=halo,
        nframes=64,
        edges=tuple(int(e) for e in logbins(32, 6)),
        cross=cross,
        reverse=cross,
    )
    check(engine, plan, [data, second] if cross else [data])


@pytest.mark.parametrize(
    ('cross', 'reverse', 'mode'),
    [(False, False, 'circular'), (True, True, 'linear')],
)
def test_volume_plan(engine, cross, reverse, mode):
    """A sphere plan of a volume series (tests/test_volume.py has more)."""
    data = series((64, 5, 7, 8), 30.0, seed=40)
    second = series((64, 5, 7, 8), 20.0, seed=41)
    plan = Plan.volume(
        radius=1, npoints=10, nframes=64, nbins=6, z_ratio=0.8, mode=mode
    )
    plan = dataclasses.replace(plan, cross=cross, reverse=reverse)
    mask = numpy.random.default_rng(40).random(plan.grid((5, 7, 8))) < 0.5
    channels = [data, second] if cross else [data]
    result = check(engine, plan, channels, mask=mask)
    assert result.shape == (1 + reverse, 3, 5, 6, 10, plan.nbins)


@pytest.mark.parametrize('mode', ['circular', 'linear'])
def test_no_smoothing(engine, mode):
    data = series((128, 11, 12), 30.0, seed=24)
    plan = image_plan(2, 8, 128, 8, mode=mode, smoothing=False)
    result = check(engine, plan, [data])
    smoothed = run(engine, dataclasses.replace(plan, smoothing=True), [data])
    assert not numpy.allclose(result, smoothed, rtol=0, atol=ATOL)


def test_reads_only(engine):
    """Engines never write to their inputs (read-only arrays work)."""
    data = series((64, 12, 13), seed=25)
    second = series((64, 12, 13), 50.0, seed=26)
    mask = numpy.random.default_rng(25).random((8, 9)) < 0.5
    copies = [data.copy(), second.copy(), mask.copy()]
    for array in (data, second, mask):
        array.flags.writeable = False
    plan = image_plan(2, 8, 64, 6, cross=True, reverse=True)
    check(engine, plan, [data, second], mask=mask)
    check(engine, image_plan(2, 8, 64, 6), [data], mask=mask)
    for array, copy in zip((data, second, mask), copies, strict=True):
        assert_array_equal(array, copy)


@pytest.mark.parametrize('cross', [False, True])
def test_num_threads(engine, cross):
    data = series((256, 21, 17), seed=8)
    second = series((256, 21, 17), 60.0, seed=9)
    plan = image_plan(3, 16, 256, 12, cross=cross, reverse=cross)
    channels = [data, second] if cross else [data]
    one = run(engine, plan, channels, num_threads=1)
    two = run(engine, plan, channels, num_threads=2)
    assert_allclose(two, one, rtol=0, atol=SAME)
    assert_same_curves(one, run('reference', plan, channels))


@pytest.mark.parametrize('mode', ['circular', 'linear'])
def test_buffer_sizes(engine, mode, monkeypatch):
    """Results do not depend on how the work is cut into pieces."""
    data = series((64, 19, 23), seed=9)
    second = series((64, 19, 23), 30.0, seed=10)
    mask = numpy.ones((13, 17), bool)
    mask[4, 2:9] = False
    mask[8:, 10:] = False
    plans = [
        (image_plan(3, 12, 64, 6, mode=mode), [data]),
        (
            image_plan(3, 12, 64, 6, mode=mode, cross=True, reverse=True),
            [data, second],
        ),
    ]
    large = {} if engine == 'cpu' else {'budget': 2**30}
    defaults = [
        run(engine, plan, channels, mask=mask, **large)
        for plan, channels in plans
    ]
    for (plan, channels), default in zip(plans, defaults, strict=True):
        assert_same_curves(
            default, run('reference', plan, channels, mask=mask)
        )
    for small in SMALL_BUFFERS[engine]:
        with monkeypatch.context() as patch:
            options = {}
            if engine == 'cpu':
                for name, value in small.items():
                    patch.setattr(cpu, name, value)
            else:
                options = small
            for (plan, channels), default in zip(plans, defaults, strict=True):
                result = run(engine, plan, channels, mask=mask, **options)
                assert_array_equal(numpy.isnan(result), numpy.isnan(default))
                assert_allclose(
                    result, default, rtol=0, atol=SAME, equal_nan=True
                )


@pytest.mark.parametrize('cross', [False, True])
def test_progress(engine, cross):
    """Progress counts directions times centres, each once."""
    data = series((64, 12, 14), seed=27)
    plan = image_plan(2, 8, 64, 6, cross=cross, reverse=cross)
    channels = [data, data[:, ::-1].copy()] if cross else [data]
    done = []
    run(engine, plan, channels, progress=done.append)
    assert sum(done) == plan.ndirections * 8 * 10
    assert all(n > 0 for n in done)
    mask = numpy.zeros((8, 10), bool)
    mask[2:5, 3:7] = True
    done.clear()
    run(engine, plan, channels, mask=mask, progress=done.append)
    assert 0 < sum(done) <= plan.ndirections * 8 * 10


def test_pcf_image_engine(public):
    """The public front door runs the engine and names it."""
    data = series((100, 12, 13), 20.0, seed=12)
    kwargs = {'radius': 2, 'npoints': 8, 'nbins': 8, 'truncate': False}
    result = pcf_image(data, engine=public, num_threads=2, **kwargs)
    expected = pcf_image(data, engine='reference', **kwargs)
    assert result.attrs['engine'] == public
    assert result.attrs['frames'] == 100
    assert_same_curves(result, expected)


@pytest.mark.parametrize('mode', ['circular', 'linear'])
def test_pcf_image_both_directions(public, mode):
    """directions='both': the reverse is the pCF of the channels swapped."""
    data = series((128, 12, 13), 30.0, seed=13)
    second = series((128, 12, 13), 80.0, seed=14)
    mask = numpy.ones((12, 13), bool)
    mask[5, 6] = False
    kwargs = {'radius': 2, 'npoints': 8, 'nbins': 8, 'mode': mode}
    kwargs['mask'] = mask
    both = pcf_image(
        data, neighbour=second, directions='both', engine=public, **kwargs
    )
    assert both.dims == ('y', 'x', 'direction', 'point', 'delay')
    forward = pcf_image(data, neighbour=second, engine=public, **kwargs)
    reverse = pcf_image(second, neighbour=data, engine=public, **kwargs)
    assert_same_curves(both.sel(direction='forward'), forward, atol=SAME)
    assert_same_curves(both.sel(direction='reverse'), reverse)
    expected = pcf_image(
        data,
        neighbour=second,
        directions='both',
        engine='reference',
        **kwargs,
    )
    assert_same_curves(both, expected)


def test_gpu_numpy_cuts_the_work(monkeypatch):
    """The 'gpu-numpy' runs use several windows, pair tiles and batches."""
    windows = []
    spectra = []
    window, transform = gpu._window, gpu._spectra
    monkeypatch.setattr(
        gpu, '_window', lambda *a: windows.append(a[8]) or window(*a)
    )
    monkeypatch.setattr(
        gpu, '_spectra', lambda *a: spectra.append(a[3]) or transform(*a)
    )
    data = series((64, 17, 19), seed=28)
    check('gpu-numpy', image_plan(3, 12, 64, 6), [data])
    assert len(windows) > 2
    boxes = {(y0, x0) for y0, _, x0, _ in windows}
    assert len(boxes) == len(windows)
    assert set(spectra) == {13}


@st.composite
def cases(draw):
    height = draw(st.integers(3, 24))
    width = draw(st.integers(3, 24))
    radius = draw(st.integers(1, (min(height, width) - 1) // 2))
    dtype = draw(
        st.sampled_from(
            ['uint8', 'uint16', '>u2', 'int64', 'float16', 'float32', '>f8']
        )
    )
    top = {'uint8': 200.0, 'float16': 1000.0}.get(dtype, 50000.0)
    return {
        'shape': (draw(st.integers(16, 300)), height, width),
        'truncate': draw(st.booleans()),
        'radius': radius,
        'npoints': draw(st.one_of(st.none(), st.integers(1, 12))),
        'nbins': draw(st.integers(2, 10)),
        'dtype': dtype,
        'mean': draw(st.floats(1.0, top)),
        'bright': draw(st.booleans()),
        'mode': draw(st.sampled_from(['circular', 'linear'])),
        'smoothing': draw(st.booleans()),
        'masked': draw(st.booleans()),
        'zero': draw(st.booleans()),
        'neighbour': draw(st.sampled_from([None, 'forward', 'both'])),
        'seed': draw(st.integers(0, 2**16)),
    }


def case_data(case, rng):
    """Return a series of a case's shape, dtype and intensity."""
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
    return data


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(case=cases())
def test_property_equals_reference(engine, case):
    rng = numpy.random.default_rng(case['seed'])
    nframes = case['shape'][0]
    if case['truncate']:
        nframes = 2 ** int(numpy.log2(nframes))
    cross = case['neighbour'] is not None
    plan = image_plan(
        case['radius'],
        case['npoints'],
        nframes,
        case['nbins'],
        mode=case['mode'],
        smoothing=case['smoothing'],
        cross=cross,
        reverse=case['neighbour'] == 'both',
    )
    channels = [case_data(case, rng)]
    if cross:
        channels.append(case_data(case, rng))
    mask = None
    if case['masked']:
        mask = rng.random(plan.grid(case['shape'][1:])) < 0.6
    check(engine, plan, channels, mask=mask)
