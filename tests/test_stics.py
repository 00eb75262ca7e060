"""Tests of ipcf.stics: spatiotemporal image correlation."""

import importlib
import math

import numpy
import pytest
from numpy.testing import assert_allclose

from ipcf.stics import stics, stics_delays

# ipcf.stics is the function; the module holds its constants
stics_module = importlib.import_module('ipcf.stics')


def _direct(data, mask, *, delays, shifts, window=None):
    """Return G at the given delays and shifts by explicit sums."""
    data = numpy.asarray(data, numpy.float64)
    nframes, height, width = data.shape
    if window is None:
        fluct = data - data[:, mask].mean()
    else:
        before, after = window // 2, (window - 1) // 2
        csum = numpy.concatenate(
            (numpy.zeros((1, height, width)), numpy.cumsum(data, axis=0))
        )
        t = numpy.arange(nframes)
        lo = numpy.maximum(t - before, 0)
        hi = numpy.minimum(t + after + 1, nframes)
        fluct = data - (csum[hi] - csum[lo]) / (hi - lo)[:, None, None]
    fluct = fluct * mask
    mean = data[:, mask].mean()
    out = {}
    for tau in delays:
        a, b = fluct[: nframes - tau], fluct[tau:]
        for eta, xi in shifts:
            y0, y1 = max(0, -eta), min(height, height - eta)
            x0, x1 = max(0, -xi), min(width, width - xi)
            total = (
                a[:, y0:y1, x0:x1]
                * b[:, y0 + eta : y1 + eta, x0 + xi : x1 + xi]
            ).sum()
            pairs = (
                mask[y0:y1, x0:x1]
                & mask[y0 + eta : y1 + eta, x0 + xi : x1 + xi]
            ).sum()
            out[tau, eta, xi] = total / ((nframes - tau) * pairs * mean**2)
    return out


@pytest.fixture
def series():
    rng = numpy.random.default_rng(7)
    data = rng.poisson(50.0, (120, 12, 10)).astype(numpy.uint16)
    # a correlated patch, so that not every value is noise
    data[:, 3:6, 2:5] += (numpy.arange(120) % 7).astype(numpy.uint16)[
        :, None, None
    ]
    return data


@pytest.mark.parametrize('window', [None, 5])
@pytest.mark.parametrize('masked', [False, True])
def test_stics_equals_direct_sums(series, window, masked, monkeypatch):
    """FFT route equals explicit sums, across small chunks of frames."""
    monkeypatch.setattr(stics_module, '_CHUNK_VALUES', 997)
    mask = numpy.ones(series.shape[1:], bool)
    if masked:
        mask[0, :4] = False
        mask[7:9, 6] = False
    copy = series.copy()
    result = stics(
        series,
        max_delay=40,
        max_shift=4,
        mask=mask if masked else None,
        subtract_immobile=window,
    )
    assert_allclose(series, copy)  # input unchanged
    shifts = [(-4, -2), (0, 0), (3, 4), (1, -3), (-2, 0)]
    expected = _direct(
        series, mask, delays=(0, 1, 17, 40), shifts=shifts, window=window
    )
    for (tau, eta, xi), value in expected.items():
        got = float(result.isel(delay=tau).sel(eta=eta, xi=xi))
        assert got == pytest.approx(value, rel=1e-5, abs=1e-9)


def test_stics_moving_gaussian_pattern():
    """A Gaussian flipping sign each frame: hand-worked G at every shift.

    ``I = mu + a_t g(x)`` with ``a_t = (-1)**t`` and ``g = exp(-r²/w²)``
    has the mean ``mu`` exactly (even T), so ``G(xi, eta, tau) =
    (-1)**tau sum_x g(x) g(x + xi) / (n(xi, eta) mu²)``, and the sum is
    ``pi w² / 2 exp(-|xi|² / (2 w²))`` for a Gaussian well inside.

    """
    nframes, size, w, mu = 64, 33, 2.0, 100.0
    y, x = numpy.indices((size, size), dtype=numpy.float64)
    g = numpy.exp(-((x - 16) ** 2 + (y - 16) ** 2) / w**2)
    sign = (-1.0) ** numpy.arange(nframes)
    data = mu + sign[:, None, None] * g
    result = stics(data, max_delay=3, max_shift=6)
    s = numpy.arange(-6, 7, dtype=numpy.float64)
    eta, xi = numpy.meshgrid(s, s, indexing='ij')
    pairs = (size - numpy.abs(eta)) * (size - numpy.abs(xi))
    profile = math.pi * w**2 / 2 * numpy.exp(-(xi**2 + eta**2) / (2 * w**2))
    for tau in range(4):
        expected = (-1.0) ** tau * profile / (pairs * mu**2)
        assert_allclose(result[tau], expected, rtol=1e-5, atol=1e-12)


def test_stics_peak_follows_drift():
    """A random pattern shifted by (2, -1) pixels a frame peaks at v tau."""
    rng = numpy.random.default_rng(1)
    pattern = rng.random((64, 64)) + 5.0
    frames = [numpy.roll(pattern, (-t, 2 * t), axis=(0, 1)) for t in range(40)]
    data = numpy.stack(frames)[:, 16:48, 16:48]
    result = stics(data, max_delay=4, max_shift=10)
    for tau in range(5):
        image = result[tau]
        j, i = numpy.unravel_index(
            int(numpy.argmax(image.values)), image.shape
        )
        assert (int(result.eta[j]), int(result.xi[i])) == (-tau, 2 * tau)


def test_stics_subtract_immobile_removes_static_pattern():
    """A static pattern correlates at every delay unless subtracted.

    The moving average over ``w`` frames also takes ``1 / w`` of each
    frame's photon noise (variance ``1 / mu`` in units of ``mu²``), which
    leaves ``-(2 / w - (w - tau) / w²) / mu`` at zero shift.

    """
    rng = numpy.random.default_rng(2)
    pattern = 20.0 * rng.random((24, 24))
    data = rng.poisson(100.0 + pattern, (400, 24, 24))
    mu = data.mean()
    plain = stics(data, max_delay=8, max_shift=3)
    cleaned = stics(data, max_delay=8, max_shift=3, subtract_immobile=64)
    static = pattern.var() / mu**2
    assert float(plain.sel(eta=0, xi=0)[8]) == pytest.approx(static, rel=0.1)
    noise = -(2 / 64 - (64 - 8) / 64**2) / mu
    value = float(cleaned.sel(eta=0, xi=0)[8])
    assert value == pytest.approx(noise, abs=0.03 * static)


def test_stics_result_labels():
    data = numpy.random.default_rng(0).poisson(100.0, (64, 16, 20))
    result = stics(
        data, max_delay=30, nbins=5, dt=0.01, pixel_size=0.2, offset=10.0
    )
    assert result.dims == ('delay', 'eta', 'xi')
    assert result.dtype == numpy.float32
    assert result['lag'].values.tolist() == stics_delays(30, nbins=5).tolist()
    assert_allclose(result['delay'], result['lag'] * 0.01)
    assert result.shape == (5, 15, 15)  # max_shift (16 - 1) // 2 = 7
    assert result.attrs['pixel_size'] == 0.2
    assert result.attrs['mean'] == pytest.approx(data.mean() - 10.0)
    # photon noise at zero shift and delay: 1 / <I> with offset 0
    plain = stics(data, max_delay=1)
    assert float(plain.sel(eta=0, xi=0)[0]) == pytest.approx(0.01, rel=0.05)


def test_stics_delays():
    assert stics_delays(3).tolist() == [0, 1, 2, 3]
    assert stics_delays(0, nbins=4).tolist() == [0]
    assert stics_delays(1000, nbins=5).tolist() == [0, 1, 10, 100, 1000]
    with pytest.raises(ValueError, match='below the 10 frames'):
        stics_delays(10, nframes=10)
    with pytest.raises(ValueError, match='nbins=1 must be >= 2'):
        stics_delays(10, nbins=1)


@pytest.mark.parametrize(
    ('kwargs', 'error', 'match'),
    [
        ({'max_delay': 64}, ValueError, 'max_delay=64 must be below'),
        ({'max_delay': -1}, ValueError, 'max_delay=-1 must be >= 0'),
        ({'max_shift': 16}, ValueError, 'max_shift=16 must be below'),
        ({'max_shift': 2.5}, TypeError, 'max_shift=2.5 is not an integer'),
        ({'subtract_immobile': 2}, ValueError, 'subtract_immobile=2'),
        ({'offset': 1000.0}, ValueError, 'mean intensity less the offset'),
        ({'mask': numpy.zeros((16, 16))}, ValueError, 'selects no pixel'),
        ({'dt': 0.0}, ValueError, 'dt=0.0 must be > 0'),
    ],
)
def test_stics_errors(kwargs, error, match):
    data = numpy.full((64, 16, 16), 100, numpy.uint16)
    with pytest.raises(error, match=match):
        stics(data, **kwargs)


def test_stics_rejects_bad_data():
    with pytest.raises(ValueError, match='is not 3-D'):
        stics(numpy.zeros((8, 8)))
    with pytest.raises(TypeError, match='is not an integer or floating'):
        stics(numpy.zeros((8, 8, 8), complex))
    data = numpy.ones((16, 8, 8))
    data[3, 2, 2] = numpy.nan
    with pytest.raises(ValueError, match='NaN or infinite'):
        stics(data, max_delay=2, max_shift=2)


@pytest.mark.parametrize('window', [None, 5])
def test_stics_float_input_unchanged(window):
    data = numpy.random.default_rng(3).normal(100.0, 5.0, (32, 10, 12))
    copy = data.copy()
    stics(data, max_delay=3, max_shift=2, subtract_immobile=window)
    stics(data, max_delay=3, max_shift=2, mask=data[0] > 100.0)
    assert (data == copy).all()
