"""Tests of ipcf.brightness: number and brightness maps, histograms."""

import numpy
import pytest
import xarray
from numpy.testing import assert_allclose, assert_array_equal

from ipcf.brightness import brightness_histogram, number_brightness


@pytest.fixture(scope='module')
def series():
    """Counts with a known mean and variance per pixel: 4 repeated values."""
    pattern = numpy.array([100.0, 104.0, 110.0, 106.0])  # mean 105, var 70/3
    data = numpy.tile(pattern, 16)[:, None, None] * numpy.ones((1, 3, 4))
    data[:, 1] = 2 * data[:, 1] - 100.0  # mean 110, variance 4 * 70/3
    return data.astype(numpy.uint16)


def test_number_brightness_by_hand(series):
    before = series.copy()
    nb = number_brightness(series, offset=100.0)
    var = numpy.var(numpy.tile([0.0, 4.0, 10.0, 6.0], 16), ddof=1)
    mean = numpy.array([5.0, 10.0, 5.0])[:, None]
    variance = numpy.array([var, 4 * var, var])[:, None]
    assert_allclose(nb['intensity'].values, mean + 0 * nb['x'].values)
    assert_allclose(nb['variance'].values, variance + 0 * nb['x'].values)
    assert_allclose(nb['B_app'].values, (variance / mean).repeat(4, 1))
    assert_allclose(nb['N_app'].values, (mean**2 / variance).repeat(4, 1))
    assert_allclose(nb['epsilon'].values, (variance / mean - 1).repeat(4, 1))
    assert_allclose(
        nb['n'].values, (mean**2 / (variance - mean)).repeat(4, 1), rtol=1e-6
    )
    assert nb['n'].dtype == numpy.float32
    assert nb.attrs['frames'] == 64
    assert_array_equal(series, before)


def test_number_brightness_analog_model(series):
    """Dalal's formulas with offset, gain, readout noise and S."""
    o, g, s, v0 = 100.0, 2.0, 3.0, 1.5
    nb = number_brightness(
        series, offset=o, gain=g, s_factor=s, readout_variance=v0
    )
    data = series.astype(numpy.float64)
    mean = data.mean(axis=0) - o
    excess = data.var(axis=0, ddof=1) - v0
    assert_allclose(nb['B_app'].values, excess / mean, rtol=1e-6)
    assert_allclose(nb['epsilon'].values, (excess / mean - s) / g, rtol=1e-6)
    assert_allclose(nb['n'].values, mean**2 / (excess - s * mean), rtol=1e-5)
    # G = S (no excess noise, the default): epsilon = B / S - 1
    same = number_brightness(series, offset=o, gain=g, readout_variance=v0)
    assert_allclose(same['epsilon'].values, excess / mean / g - 1, rtol=1e-6)
    assert same.attrs['s_factor'] == g


def test_poisson_counts_have_unit_brightness():
    counts = numpy.random.default_rng(0).poisson(200, (4096, 8, 8))
    nb = number_brightness(counts)
    assert_allclose(nb['B_app'].values.mean(), 1.0, atol=0.01)
    assert_allclose(nb['epsilon'].values.mean(), 0.0, atol=0.01)


def test_detrend_boxcar_removes_a_slow_ramp():
    rng = numpy.random.default_rng(1)
    ramp = numpy.linspace(0.0, 200.0, 4000)[:, None, None]
    counts = rng.poisson(300 + ramp, (4000, 4, 4))
    raw = number_brightness(counts)
    boxed = number_brightness(counts, detrend=40)
    assert raw['B_app'].values.min() > 5  # the ramp's variance
    assert_allclose(boxed['B_app'].values.mean(), 1.0, atol=0.02)
    assert boxed.attrs['frames'] == 4000
    assert number_brightness(counts, detrend=3000).attrs['frames'] == 3000


def test_detrend_bleach_method():
    rng = numpy.random.default_rng(2)
    decay = 400.0 * numpy.exp(-numpy.arange(4096) / 2000.0)[:, None, None]
    counts = rng.poisson(100 + decay, (4096, 4, 4)).astype(numpy.uint16)
    nb = number_brightness(counts, detrend='exp')
    assert_allclose(nb['B_app'].values.mean(), 1.0, atol=0.03)
    nb = number_brightness(counts, detrend='filter:64')
    assert nb.attrs['frames'] == 4096 - 128
    assert nb.attrs['detrend'] == 'filter:64'


def test_mask_and_lazy_input(series, tmp_path):
    h5py = pytest.importorskip('h5py')
    mask = numpy.zeros(series.shape[1:], bool)
    mask[1:, 2:] = True
    with h5py.File(tmp_path / 's.h5', 'w') as f:
        f['data'] = series
    with h5py.File(tmp_path / 's.h5', 'r') as f:
        lazy = number_brightness(f['data'], offset=100.0, mask=mask)
    whole = number_brightness(series, offset=100.0)
    for key in ('B_app', 'n'):
        assert numpy.isnan(lazy[key].values[~mask]).all()
        assert_array_equal(lazy[key].values[mask], whole[key].values[mask])


def test_pixels_at_the_offset_are_nan(series):
    nb = number_brightness(series, offset=200.0)
    assert numpy.isnan(nb['B_app'].values).all()
    assert numpy.isnan(nb['n'].values).all()


@pytest.mark.parametrize(
    ('kwargs', 'error', 'match'),
    [
        ({'offset': -1.0}, ValueError, 'offset=-1.0'),
        ({'gain': 0.0}, ValueError, 'gain=0.0'),
        ({'readout_variance': -1.0}, ValueError, 'readout_variance'),
        ({'s_factor': 0.0}, ValueError, 's_factor=0.0'),
        ({'detrend': 1}, ValueError, 'detrend=1'),
        ({'detrend': 100}, ValueError, 'longer than'),
        ({'detrend': 2.5}, TypeError, 'detrend=2.5'),
        ({'detrend': 'filter:64'}, ValueError, 'leaves'),
        ({'detrend': 'smooth'}, ValueError, 'unknown bleach'),
        ({'mask': numpy.zeros((3, 4), bool)}, ValueError, 'no pixel'),
        ({'mask': numpy.ones((2, 2), bool)}, ValueError, 'mask.shape'),
    ],
)
def test_number_brightness_rejects_bad_options(kwargs, error, match, series):
    with pytest.raises(error, match=match):
        number_brightness(series, **kwargs)


def test_number_brightness_rejects_bad_data(series):
    with pytest.raises(ValueError, match='frames'):
        number_brightness(series[:3])
    bad = series.astype(numpy.float64)
    bad[0, 0, 0] = numpy.inf
    with pytest.raises(ValueError, match='NaN or infinite'):
        number_brightness(bad)


def test_brightness_histogram(series):
    nb = number_brightness(series, offset=100.0)
    hist = brightness_histogram(nb, bins=(4, 3))
    assert hist.dims == ('B_app', 'intensity')
    assert hist.shape == (4, 3)
    assert int(hist.sum()) == 12
    # two populations: rows 0 and 2 (mean 5) and row 1 (mean 10)
    assert int(hist[:, 0].sum()) == 8
    assert int(hist[:, -1].sum()) == 4
    edges = hist.attrs['intensity_edge']
    assert_allclose([edges[0], edges[-1]], [5.0, 10.0])
    other = brightness_histogram(
        nb, x='n', y='epsilon', bins=2, range=((0.0, 100.0), (0.0, 1.0))
    )
    assert other.dims == ('epsilon', 'n')
    mask = numpy.zeros((3, 4), bool)
    mask[1] = True
    assert int(brightness_histogram(nb, mask=mask).sum()) == 4


def test_brightness_histogram_rejects_bad_options(series):
    nb = number_brightness(series, offset=100.0)
    with pytest.raises(TypeError, match='Dataset'):
        brightness_histogram(nb['B_app'])
    with pytest.raises(ValueError, match="x='D'"):
        brightness_histogram(nb, x='D')
    with pytest.raises(ValueError, match='bins=0'):
        brightness_histogram(nb, bins=0)
    with pytest.raises(TypeError, match='bins'):
        brightness_histogram(nb, bins='8')
    with pytest.raises(ValueError, match='range'):
        brightness_histogram(nb, range=((1.0, 0.0), (0.0, 1.0)))
    empty = xarray.Dataset(
        {k: (('y', 'x'), numpy.full((2, 2), numpy.nan)) for k in nb}
    )
    with pytest.raises(ValueError, match='no pixel'):
        brightness_histogram(empty)
