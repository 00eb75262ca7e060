"""Tests of ipcf.bleach: SPEC's filter exactly, fits, arguments."""

from __future__ import annotations

import math

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from ipcf.bleach import METHODS, correct, frames_dropped, parse_method


def reference_filter(series, size, *, floor=False):
    """SPEC's filter correction of one pixel, sample by sample (floats)."""
    nframes = len(series)
    f0 = 1.0 / size
    f1 = 1.0 - f0
    s = [0.0] * nframes
    s[0] = float(series[0])
    for t in range(1, nframes):
        s[t] = f0 * float(series[t]) + f1 * s[t - 1]
    for t in range(nframes - 2, -1, -1):
        s[t] = f0 * s[t] + f1 * s[t + 1]
    if isinstance(series[0], int):
        total = sum(series)
        m = float(total // nframes) if floor else total / nframes
    else:
        total = 0.0
        for v in series:
            total += v
        m = float(math.floor(total / nframes)) if floor else total / nframes
    result = []
    for t in range(size, nframes - size):
        if s[t] == 0.0:
            result.append(m)
        else:
            result.append(math.sqrt(abs(m / s[t])) * (series[t] - s[t]) + m)
    return result


def reference(data, size, *, floor=False):
    """Apply reference_filter to every pixel; round and clip integers."""
    data = numpy.asarray(data)
    out = numpy.empty((data.shape[0] - 2 * size, *data.shape[1:]), data.dtype)
    for index in numpy.ndindex(*data.shape[1:]):
        column = data[(slice(None), *index)]
        if data.dtype.kind in 'ui':
            info = numpy.iinfo(data.dtype)
            values = reference_filter(
                [int(v) for v in column], size, floor=floor
            )
            values = [min(max(round(v), info.min), info.max) for v in values]
        else:
            values = reference_filter(
                [float(v) for v in column], size, floor=floor
            )
        out[(slice(None), *index)] = values
    return out


@pytest.fixture
def counts():
    return numpy.random.default_rng(0).poisson(100, (40, 3, 5))


@pytest.mark.parametrize('dtype', ['uint16', 'uint8', 'int16', 'int32'])
@pytest.mark.parametrize('mean', ['float', 'floor'])
def test_filter_equals_reference(counts, dtype, mean):
    """The filter equals SPEC's formula sample by sample, bit for bit."""
    data = counts.astype(dtype)
    original = data.copy()
    result = correct(data, method='filter', param=4, mean=mean)
    assert result.dtype == data.dtype
    assert result.shape == (32, 3, 5)
    assert_array_equal(result, reference(data, 4, floor=mean == 'floor'))
    assert_array_equal(data, original)


@pytest.mark.parametrize('dtype', ['float32', 'float64'])
def test_filter_float_not_rounded(counts, dtype):
    data = (counts + 0.25).astype(dtype)
    result = correct(data, param=3, num_threads=2)
    assert result.dtype == data.dtype
    assert_allclose(result, reference(data, 3), rtol=1e-6)
    assert not numpy.array_equal(result, numpy.round(result))


def test_filter_threads_and_layout():
    """Threads, strided input and long rows give the same result."""
    rng = numpy.random.default_rng(1)
    data = rng.poisson(50, (30, 4, 600)).astype(numpy.uint16)
    expected = correct(data, param=5, num_threads=1)
    assert_array_equal(correct(data, param=5, num_threads=2), expected)
    view = numpy.asfortranarray(data)[:, ::2, 1::3]
    assert_array_equal(correct(view, param=5), expected[:, ::2, 1::3])
    swapped = data.astype('>u2')
    assert_array_equal(correct(swapped, param=5), expected)


def test_filter_one_and_two_dimensional(counts):
    data = counts.astype(numpy.uint16)
    full = correct(data, param=4)
    assert_array_equal(correct(data[:, 1, 2], param=4), full[:, 1, 2])
    assert_array_equal(correct(data[:, 1], param=4), full[:, 1])


def test_filter_clips_to_dtype():
    """Large relative fluctuations are clipped to the dtype's range."""
    rng = numpy.random.default_rng(3)
    data = rng.choice(numpy.array([0, 255], numpy.uint8), (30, 2, 3))
    result = correct(data, param=2)
    assert_array_equal(result, reference(data, 2))
    raw = numpy.array(
        [
            reference_filter([int(v) for v in data[:, y, x]], 2)
            for y in range(2)
            for x in range(3)
        ]
    )
    assert raw.min() < -0.5 and raw.max() > 255.5
    assert result.min() == 0 and result.max() == 255


def test_zero_pixel_stays_zero():
    data = numpy.zeros((12, 2, 2), numpy.uint16)
    data[:, 1, 1] = 7
    result = correct(data, param=2)
    assert_array_equal(result[:, 0, 0], 0)
    assert_array_equal(result[:, 1, 1], 7)
    assert_array_equal(correct(data, method='poly')[:, 0, 0], 0)


def test_flat_series_unchanged():
    data = numpy.full((20, 2, 3), 123, numpy.uint16)
    for method in ('filter:4', 'exp', 'exp2', 'poly:2'):
        result = correct(data, method=method)
        assert_array_equal(result, 123)


def test_out_argument(counts):
    data = counts.astype(numpy.uint16)
    out = numpy.empty((32, 3, 5), numpy.float32)
    result = correct(data, param=4, out=out)
    assert result is out
    assert_array_equal(out, reference(data, 4))


@pytest.mark.parametrize('method', ['none', 'filter:0'])
def test_disabled_returns_data(counts, method):
    data = counts.astype(numpy.uint16)
    assert correct(data, method=method) is data
    assert correct(data, method='filter', param=0) is data
    out = numpy.empty_like(data)
    assert correct(data, method=method, out=out) is out
    assert_array_equal(out, data)


def test_method_string_sets_param(counts):
    data = counts.astype(numpy.uint16)
    assert_array_equal(
        correct(data, method='filter:4'), correct(data, param=4)
    )
    # an explicit param wins over the one in the string
    assert correct(data, method='filter:4', param=3).shape[0] == 34


@pytest.mark.parametrize(
    ('method', 'trend'),
    [
        ('exp', lambda t: 300 * numpy.exp(-t / 1500) + 100),
        (
            'exp2',
            lambda t: (
                150 * numpy.exp(-t / 200) + 200 * numpy.exp(-t / 3000) + 100
            ),
        ),  # noqa: E501
        ('poly:2', lambda t: 400 - 0.08 * t + 1e-5 * t**2),
        ('filter:256', lambda t: 300 * numpy.exp(-t / 1500) + 100),
    ],
)
def test_trend_removed(method, trend):
    """A known decay is removed: the corrected series is flat."""
    rng = numpy.random.default_rng(2)
    t = numpy.arange(4096)
    data = rng.poisson(trend(t)[:, None, None], (4096, 4, 4))
    data = data.astype(numpy.uint16)
    result = correct(data, method=method).astype(numpy.float64)
    assert result.shape[0] == 4096 - frames_dropped(method)
    means = result.reshape(8, -1, 16).mean(axis=(1, 2))
    # the trend spans hundreds of counts; the filter lags a little where
    # the decay curves
    tolerance = 4.0 if method.startswith('filter') else 2.0
    assert numpy.ptp(means) < tolerance
    # the level is each pixel's mean and the fluctuations keep their size
    assert abs(result.mean() - data.mean()) < tolerance
    assert 0.8 < result[:512].std() / numpy.sqrt(data.mean()) < 1.3


def test_fit_float_data_exact_model():
    """Noise-free exponential data are fitted almost exactly."""
    t = numpy.arange(2000.0)
    trend = 50 * numpy.exp(-t / 700) + 20
    data = numpy.repeat(trend[:, None], 3, axis=1) * [1.0, 2.0, 0.5]
    result = correct(data, method='exp')
    assert_allclose(result, data.mean(axis=0) * numpy.ones((2000, 1)), 1e-4)


def test_parse_method():
    assert parse_method('filter') == ('filter', 1024)
    assert parse_method('Filter:256') == ('filter', 256)
    assert parse_method('filter:0') == ('none', None)
    assert parse_method('poly') == ('poly', 2)
    assert parse_method('poly:0') == ('poly', 0)
    assert parse_method('exp2') == ('exp2', None)
    assert parse_method('none') == ('none', None)
    assert parse_method(None) == ('none', None)
    for text in METHODS:
        assert parse_method(text)[0] == text


@pytest.mark.parametrize(
    ('text', 'error', 'match'),
    [
        ('gauss', ValueError, 'unknown bleach correction'),
        ('filter:-1', ValueError, 'filter size'),
        ('filter:abc', ValueError, 'filter size'),
        ('poly:x', ValueError, 'polynomial degree'),
        ('exp:3', ValueError, 'takes no parameter'),
        (3, TypeError, 'not a string'),
    ],
)
def test_parse_method_errors(text, error, match):
    with pytest.raises(error, match=match):
        parse_method(text)


def test_frames_dropped():
    assert frames_dropped('filter') == 2048
    assert frames_dropped('filter', 16) == 32
    assert frames_dropped('filter:16') == 32
    assert frames_dropped('filter', 0) == 0
    for method in ('exp', 'exp2', 'poly', 'poly:3', 'none'):
        assert frames_dropped(method) == 0


@pytest.mark.parametrize(
    ('kwargs', 'error', 'match'),
    [
        ({'param': -1}, ValueError, 'param=-1'),
        ({'param': 2.5}, TypeError, 'not an integer'),
        ({'param': 20}, ValueError, 'too few for the bleach filter'),
        ({'param': 21}, ValueError, 'more than 42 are needed'),
        ({'method': 'exp', 'param': 3}, ValueError, 'does not apply'),
        ({'method': 'poly', 'param': 40}, ValueError, 'too few'),
        ({'method': 'median'}, ValueError, 'unknown bleach'),
        ({'mean': 'median'}, ValueError, "mean='median'"),
        ({'num_threads': 0.5}, TypeError, 'num_threads'),
    ],
)
def test_bad_arguments(counts, kwargs, error, match):
    with pytest.raises(error, match=match):
        correct(counts, **kwargs)


def test_bad_data_and_out(counts):
    with pytest.raises(TypeError, match='dtype bool'):
        correct(counts > 100, param=2)
    with pytest.raises(ValueError, match='time first'):
        correct(counts[None], param=2)
    with pytest.raises(ValueError, match='out.shape'):
        correct(counts, param=2, out=numpy.empty_like(counts))
    with pytest.raises(TypeError, match='not a numpy array'):
        correct(counts, param=2, out=[0])
    with pytest.raises(ValueError, match='overlaps'):
        correct(counts, method='exp', out=counts)


@pytest.mark.parametrize('method', ['filter:3', 'exp', 'exp2', 'poly:3'])
def test_layouts_agree(method):
    """Strided views and contiguous copies give the same result."""
    rng = numpy.random.default_rng(4)
    data = rng.poisson(80, (50, 6, 20)).astype(numpy.uint16)
    view = data[:, 1::2, ::3]
    expected = correct(numpy.ascontiguousarray(view), method=method)
    assert_array_equal(correct(view, method=method), expected)
    assert_array_equal(correct(view, method=method, num_threads=2), expected)
    out = numpy.empty((expected.shape[0], 3, 20), numpy.uint16)[:, :, ::3]
    correct(view, method=method, out=out)
    assert_array_equal(out, expected)


@pytest.mark.parametrize(
    ('method', 'param'),
    [('filter', 16), ('exp', None), ('poly', 2), ('none', None)],
)
def test_correct_head_is_first_frames(method, param):
    """_correct_head writes the first frames of correct(), into any layout."""
    from ipcf.bleach import _correct_head

    rng = numpy.random.default_rng(1)
    data = rng.poisson(100, (200, 5, 6)).astype(numpy.uint16)
    whole = correct(data, method=method, param=param)
    for nframes in (1, 40, whole.shape[0]):
        out = numpy.full((nframes, 5, 6), 7, data.dtype)
        _correct_head(data, out, method, param, num_threads=2)
        assert_array_equal(out, whole[:nframes])
    # a view whose frames are not contiguous (a slab of a wider buffer)
    buffer = numpy.zeros((40, 9, 6), data.dtype)
    _correct_head(data, buffer[:, 2:7], method, param, num_threads=1)
    assert_array_equal(buffer[:, 2:7], whole[:40])
    assert not buffer[:, :2].any() and not buffer[:, 7:].any()
