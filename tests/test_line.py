"""Tests of the line-scan pCF: engines against the direct reference."""

import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from ipcf import engines
from ipcf.correlate import correlate
from ipcf.line import fit_line, pcf_line, signed_offsets
from ipcf.plan import average_bins, smooth

FAST = [name for name in ('cpu', 'gpu') if name in engines.available()]


@pytest.fixture(scope='module')
def carpet():
    """A (T, X) carpet of Poisson counts with spatially correlated bumps."""
    rng = numpy.random.default_rng(7)
    base = rng.poisson(100, (128, 23)).astype(numpy.float64)
    base[:, 5:9] += 30 * rng.random((128, 1))
    return base.astype(numpy.uint16)


def _hand(a, b, edges, mode='circular'):
    """SPEC's pair curve by ipcf.correlate, binned and smoothed."""
    a = numpy.asarray(a, numpy.float64)
    b = numpy.asarray(b, numpy.float64)
    n = a.size
    if mode == 'circular':
        c = correlate(b, a, mode='circular', backend='numpy_fft')
        g = c[n // 2 : n] / (n * a.mean() * b.mean()) - 1.0
    else:
        c = correlate(b - b.mean(), a - a.mean(), mode='linear')
        g = c[n // 2 : n] / (n * a.mean() * b.mean())
    return smooth(average_bins(g, edges))


@pytest.mark.parametrize('mode', ['circular', 'linear'])
def test_reference_equals_spec_by_correlate(carpet, mode):
    """The direct sums equal SPEC's formula through ipcf.correlate."""
    result = pcf_line(
        carpet, distance=[1, 3], nbins=8, mode=mode, engine='reference'
    )
    edges = result['bin_edge'].values
    for x in (3, 10, 19):
        for offset in (-3, -1, 1, 3):
            expected = _hand(carpet[:, x], carpet[:, x + offset], edges, mode)
            got = result.sel(x=x, offset=offset).values
            assert_allclose(got, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize('engine', FAST)
@pytest.mark.parametrize('mode', ['circular', 'linear'])
@pytest.mark.parametrize('periodic', [False, True])
def test_fast_equals_reference(carpet, engine, mode, periodic):
    """Fast engines equal the reference within 1e-5; input unchanged."""
    before = carpet.copy()
    options = {'distance': [0, 2, 5], 'nbins': 10, 'mode': mode}
    options['periodic'] = periodic
    expected = pcf_line(carpet, engine='reference', **options)
    result = pcf_line(carpet, engine=engine, num_threads=2, **options)
    assert result.dims == ('x', 'offset', 'delay')
    assert_allclose(result, expected, rtol=0, atol=1e-5)
    assert_array_equal(carpet, before)
    assert result.attrs['engine'] == engine


def test_equals_image_reference_engine(carpet):
    """Direct sums equal the image reference engine on the same plan."""
    from ipcf._rows import RowReader
    from ipcf.plan import Plan

    result = pcf_line(carpet, distance=[2, 4], nbins=8, engine='reference')
    offsets = result['offset'].values
    plan = Plan(
        offsets=numpy.stack([offsets, 0 * offsets], axis=1),
        halo=(0, 4),
        nframes=128,
        edges=tuple(result['bin_edge'].values.tolist()),
    )
    out = numpy.zeros(plan.out_shape((1, 23)), numpy.float32)
    engines.get('reference').compute(
        plan, RowReader([carpet[:, None, :]], 128), out
    )
    assert_allclose(result.values, out[0, 0], rtol=0, atol=1e-6)


def test_periodic_wraps_positions(carpet):
    """A periodic orbit equals the carpet rolled so x is an inner centre."""
    periodic = pcf_line(carpet, distance=4, nbins=8, periodic=True)
    assert periodic.sizes['x'] == 23
    for x in (0, 2, 21, 22):
        rolled = numpy.roll(carpet, 11 - x, axis=1)
        inner = pcf_line(rolled, distance=4, nbins=8)
        assert_allclose(periodic.sel(x=x), inner.sel(x=11), rtol=0, atol=1e-6)


def test_symmetry_of_offsets(carpet):
    """G toward x - d from x equals the reverse of G(x - d toward x)."""
    result = pcf_line(carpet, distance=3, nbins=8, engine='reference')
    edges = result['bin_edge'].values
    x = 10
    # curve of centre x toward x - 3 by hand, from correlate(b, a)
    expected = _hand(carpet[:, x], carpet[:, x - 3], edges)
    assert_allclose(result.sel(x=x, offset=-3), expected, atol=1e-6)


@pytest.mark.parametrize('engine', ['reference', *FAST])
def test_several_lines_each_on_its_own(carpet, engine):
    """(T, L, X) gives each line's own result along a line dimension."""
    rng = numpy.random.default_rng(1)
    other = rng.poisson(40, carpet.shape).astype(numpy.uint16)
    lines = numpy.stack([carpet, other], axis=1)
    result = pcf_line(lines, distance=[1, 2], nbins=8, engine=engine)
    assert result.dims == ('line', 'x', 'offset', 'delay')
    assert result['line'].values.tolist() == [0, 1]
    for index, single in enumerate((carpet, other)):
        alone = pcf_line(single, distance=[1, 2], nbins=8, engine=engine)
        assert_allclose(result.sel(line=index), alone, rtol=0, atol=1e-6)
    one = pcf_line(lines[:, :1], distance=1, nbins=8, engine=engine)
    assert one.dims == ('line', 'x', 'offset', 'delay')


@pytest.mark.parametrize('engine', ['reference', *FAST])
def test_mask(carpet, engine):
    """Centres outside the mask are NaN; the others unchanged."""
    mask = numpy.zeros(23, bool)
    mask[[4, 9, 17]] = True
    full = pcf_line(carpet, distance=2, nbins=8, engine=engine)
    masked = pcf_line(carpet, distance=2, nbins=8, mask=mask, engine=engine)
    keep = mask[2:21]
    assert numpy.isnan(masked.values[~keep]).all()
    assert_allclose(masked.values[keep], full.values[keep], atol=1e-6)
    lines = numpy.stack([carpet, carpet], axis=1)
    both = numpy.stack([mask, ~mask], axis=0)
    result = pcf_line(lines, distance=2, nbins=8, mask=both, engine=engine)
    assert numpy.isnan(result.values[0][~keep]).all()
    assert numpy.isnan(result.values[1][keep]).all()


def test_line_time_and_coordinates(carpet):
    """line_time sets the delays; coordinates are input positions."""
    result = pcf_line(carpet[:100], distance=[3], nbins=8, line_time=2e-3)
    assert result.attrs['frames'] == 64
    assert result.attrs['frames_total'] == 100
    assert result.attrs['dt'] == 2e-3
    assert result['x'].values.tolist() == list(range(3, 20))
    assert result['distance'].values.tolist() == [3, 3]
    edges = result['bin_edge'].values
    lower = numpy.concatenate([[0], edges[:-1]])
    assert_allclose(result['delay'], (lower + edges - 1) / 2 * 2e-3)
    same = pcf_line(carpet[:100], distance=3, nbins=8, dt=2e-3)
    assert_array_equal(same, result)
    kept = pcf_line(carpet[:100], distance=3, nbins=8, truncate=False)
    assert kept.attrs['frames'] == 100


def test_line_time_from_metadata(carpet):
    """An input's metadata frame interval is the default line time."""

    class Opened(numpy.ndarray):
        pass

    opened = carpet.view(Opened)
    opened.metadata = type('M', (), {'frame_interval': 5e-4})()
    result = pcf_line(opened, distance=1, nbins=8)
    assert result.attrs['dt'] == 5e-4


def test_zero_and_constant_positions():
    """A zero-mean position gives NaN, a constant one zero."""
    rng = numpy.random.default_rng(3)
    carpet = rng.poisson(50, (64, 12)).astype(numpy.float64)
    carpet[:, 5] = 0.0
    carpet[:, 7] = 80.0
    for engine in ['reference', *FAST]:
        result = pcf_line(carpet, distance=2, nbins=6, engine=engine)
        assert numpy.isnan(result.sel(x=5)).all()
        assert numpy.isnan(result.sel(x=3, offset=2)).all()
        assert_allclose(result.sel(x=7, offset=2), 0.0, atol=1e-7)
        assert_allclose(result.sel(x=9, offset=-2), 0.0, atol=1e-7)
        assert numpy.isfinite(result.sel(x=4)).all()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    nscans=st.integers(16, 80),
    width=st.integers(3, 14),
    nlines=st.integers(1, 3),
    scale=st.sampled_from([1.0, 1e-3, 1e4]),
    kind=st.sampled_from(['poisson', 'spikes', 'uint8', 'steps']),
    periodic=st.booleans(),
    mode=st.sampled_from(['circular', 'linear']),
    data=st.data(),
)
def test_fast_equals_reference_adversarial(
    nscans, width, nlines, scale, kind, periodic, mode, data
):
    """Random shapes, scales and spiky or stepped data: within 1e-5."""
    if not FAST:
        pytest.skip('no fast engine here')
    largest = width - 1 if periodic else (width - 1) // 2
    if largest < 0 or (not periodic and width < 3):
        return
    distance = data.draw(
        st.lists(st.integers(0, largest), min_size=1, max_size=3)
    )
    seed = data.draw(st.integers(0, 2**16))
    rng = numpy.random.default_rng(seed)
    shape = (nscans, nlines, width)
    if kind == 'poisson':
        carpet = rng.poisson(100, shape) * scale
    elif kind == 'spikes':
        carpet = numpy.full(shape, 5.0 * scale)
        carpet[rng.random(shape) < 0.05] += 1000.0 * scale
    elif kind == 'uint8':
        carpet = rng.integers(1, 256, shape).astype(numpy.uint8)
    else:
        carpet = numpy.where(
            numpy.arange(nscans)[:, None, None] < nscans // 3, 10.0, 90.0
        ) * scale + rng.random(shape)
    options = {
        'distance': distance,
        'nbins': data.draw(st.integers(2, 12)),
        'periodic': periodic,
        'mode': mode,
        'truncate': data.draw(st.booleans()),
    }
    expected = pcf_line(carpet, engine='reference', **options)
    result = pcf_line(carpet, engine=FAST[0], num_threads=1, **options)
    assert_allclose(result, expected, rtol=0, atol=1e-5)


def test_signed_offsets():
    """Offsets are signed, increasing, 0 once."""
    assert signed_offsets([3, 0, 1]).tolist() == [-3, -1, 0, 1, 3]


@pytest.mark.parametrize(
    ('kwargs', 'error', 'match'),
    [
        ({'distance': 12}, ValueError, 'must be < 11.5'),
        ({'distance': 23, 'periodic': True}, ValueError, 'must be < 23'),
        ({'distance': -1}, ValueError, 'must be >= 0'),
        ({'distance': '2'}, TypeError, 'not an integer'),
        ({'distance': []}, ValueError, 'holds no distance'),
        ({'distance': 2.0}, TypeError, 'not an integer'),
        ({'distance': 2, 'nbins': 1}, ValueError, 'nbins=1'),
        ({'distance': 2, 'mode': 'other'}, ValueError, 'mode='),
        ({'distance': 2, 'dt': 0.0}, ValueError, 'dt=0.0'),
        ({'distance': 2, 'dt': 2.0, 'line_time': 1.0}, ValueError, 'differ'),
        ({'distance': 2, 'mask': numpy.ones(5, bool)}, ValueError, 'mask'),
        ({'distance': 2, 'mask': numpy.zeros(23, bool)}, ValueError, 'no'),
        ({'distance': 2, 'engine': 'fast'}, ValueError, 'engine='),
        ({'distance': 2, 'periodic': 1}, TypeError, 'periodic=1'),
    ],
)
def test_errors(carpet, kwargs, error, match):
    """Bad options raise one-line errors naming the argument."""
    with pytest.raises(error, match=match):
        pcf_line(carpet, **kwargs)


def test_bad_carpets():
    """Wrong dimensions, too few scans, NaN and complex are refused."""
    with pytest.raises(ValueError, match='is not 2-D'):
        pcf_line(numpy.ones(32), distance=1)
    with pytest.raises(ValueError, match='at least 16'):
        pcf_line(numpy.ones((8, 10)), distance=1)
    bad = numpy.ones((32, 10))
    bad[3, 4] = numpy.nan
    with pytest.raises(ValueError, match='NaN'):
        pcf_line(bad, distance=1)
    with pytest.raises(TypeError, match='dtype'):
        pcf_line(numpy.ones((32, 10), complex), distance=1)


def test_fit_line_recovers_model_parameters():
    """Curves made by the model give back its D and w."""
    from ipcf._pair_model import free_curves

    carpet = numpy.random.default_rng(0).poisson(100, (2048, 24))
    result = pcf_line(carpet, distance=[2, 4, 6], nbins=24, dt=1e-3)
    model = free_curves(
        numpy.abs(result['offset'].values) * 0.1,
        diffusion=2.0,
        w=0.3,
        edges=tuple(result['bin_edge'].values),
        frames=2048,
        mode='circular',
        dt=1e-3,
        amplitude=0.05,
    )
    result.values[:] = model[None].astype(numpy.float32)
    fit = fit_line(result, pixel_size=0.1)
    assert fit['diffusion'] == pytest.approx(2.0, rel=1e-3)
    assert fit['w'] == pytest.approx(0.3, rel=1e-3)
    assert fit['amplitude'] == pytest.approx(0.05, rel=1e-3)
    known = fit_line(result, pixel_size=0.1, w=0.3, offsets=[4, 6])
    assert known['diffusion'] == pytest.approx(2.0, rel=1e-3)
    assert known['offsets'] == [4, 6]


def test_line_scan_simulation_truth_and_mean():
    """The carpet's mean is the background plus the spots' photons."""
    from ipcf.simulate import line_scan

    sim = line_scan(shape=(2048, 32), seed=4, dtype='float32')
    truth = sim.truth
    assert sim.data.shape == (2048, 32)
    assert sim.data.dtype == numpy.float32
    assert truth['kind'] == 'line_scan'
    assert truth['pixel_time'] == pytest.approx(1e-3 / 32)
    assert truth['geometry']['boundary'] == 'periodic'
    w = truth['psf_radius']
    expected = 2.0 + 50.0 * 5.0 * numpy.pi * w * w / 2
    assert sim.data.mean() == pytest.approx(expected, rel=0.05)
    again = line_scan(shape=(2048, 32), seed=4, dtype='float32')
    assert_array_equal(again.data, sim.data)
    other = line_scan(shape=(64, 32), seed=5, offset=100.0)
    assert other.data.min() >= 100


def test_line_scan_positions_sampled_at_their_own_time():
    """Position x sees a particle where it is at t + x * pixel_time."""
    from ipcf.simulate._line import _add_spots

    mean = numpy.zeros((2, 12))
    begin = numpy.array([[3.2, 0.4], [8.0, -1.0]])
    delta = numpy.array([[2.0, 0.0], [-1.0, 0.5]])
    fraction = numpy.arange(12) / 12
    _add_spots(
        mean,
        numpy.array([0, 1]),
        begin,
        delta,
        fraction=fraction,
        reach=12,
        width=2.5,
        brightness=10.0,
    )
    for k in range(2):
        x = begin[k, 0] + fraction * delta[k, 0] - (numpy.arange(12) + 0.5)
        y = begin[k, 1] + fraction * delta[k, 1]
        expected = 10.0 * numpy.exp(-2 * (x * x + y * y) / 2.5**2)
        assert_allclose(mean[k], expected, rtol=1e-12)


@pytest.mark.parametrize('crossing', [0.0, 0.3, 1.0])
def test_barrier_crossing_probability(crossing):
    """Steps across the wall are taken with the crossing probability."""
    from ipcf.simulate._line import _Wall

    rng = numpy.random.default_rng(0)
    wall = _Wall(
        (-10, -10),
        (10, 10),
        wall='line',
        centre=(0.0, 0.0),
        angle=numpy.pi / 2,
        crossing=crossing,
        rng=rng,
    )
    start = numpy.column_stack([numpy.full(20000, -0.5), numpy.zeros(20000)])
    step = numpy.zeros((1, 20000, 2))
    step[0, :, 0] = 1.0  # every particle tries to cross once
    end = wall.walk(start, step)[0]
    crossed = (end[:, 0] > 0).mean()
    assert crossed == pytest.approx(crossing, abs=0.02)
    inside = wall.walk(start, -step)[0]  # toward the reflecting side
    assert_allclose(inside[:, 0], -1.5)


def test_barrier_line_scan_truth():
    """A barrier is recorded in µm and pixels; options are checked."""
    from ipcf.simulate import line_scan

    sim = line_scan(shape=(16, 40), barrier=1.2, crossing=0.1, seed=0)
    geometry = sim.truth['geometry']
    assert geometry['barrier_px'] == pytest.approx(12.0)
    assert geometry['crossing'] == 0.1
    with pytest.raises(ValueError, match='exceeds'):
        line_scan(shape=(16, 40), pixel_time=1e-4)
    with pytest.raises(ValueError, match='crossing=1.5'):
        line_scan(shape=(16, 40), barrier=1.0, crossing=1.5)
    with pytest.raises(ValueError, match='2 integers'):
        line_scan(shape=(16, 4, 40))
    with pytest.raises(TypeError, match='2 integers'):
        line_scan(shape=16)
    with pytest.raises(ValueError, match='one diffusion'):
        line_scan(shape=(16, 40), diffusion=(1.0, 2.0))
