"""Tests of the detector-array pCF: layouts, pairs, groups and the fit."""

import math

import numpy
import pytest
from numpy.testing import assert_allclose

from ipcf import engines
from ipcf.correlate import correlate
from ipcf.detectors import detector_positions, fit_detectors, pcf_detectors
from ipcf.plan import average_bins, smooth

FAST = [name for name in ('cpu', 'gpu') if name in engines.available()]


@pytest.fixture(scope='module')
def counts():
    """Photon counts of 32 elements with a shared fluctuation."""
    rng = numpy.random.default_rng(11)
    common = rng.poisson(3, (256, 1))
    return rng.poisson(4, (256, 32)) + common * (rng.random(32) < 0.5)


def _pair(a, b, edges):
    """SPEC's circular pair curve of a toward b, binned and smoothed."""
    a = numpy.asarray(a, numpy.float64)
    b = numpy.asarray(b, numpy.float64)
    n = a.size
    c = correlate(b, a, mode='circular', backend='numpy_fft')
    g = c[n // 2 : n] / (n * a.mean() * b.mean()) - 1.0
    return smooth(average_bins(g, edges))


def test_square_layout():
    """25 elements a pitch apart, row by row, centred."""
    positions = detector_positions('square5', pitch=0.08)
    assert positions.shape == (25, 2)
    assert_allclose(positions.mean(axis=0), 0.0, atol=1e-12)
    assert_allclose(positions[1] - positions[0], [0.08, 0.0])
    assert_allclose(positions[5] - positions[0], [0.0, 0.08])


def test_airyscan_layout():
    """A hexagonal lattice: rings of 1, 6, 6 + 6, 12 + 1 elements."""
    pitch = 0.05
    positions = detector_positions('airyscan32', pitch=pitch)
    assert positions.shape == (32, 2)
    radius = numpy.hypot(*positions.T) / pitch
    rings = [1.0, math.sqrt(3), 2.0, math.sqrt(7), 3.0]
    counts = [int(numpy.isclose(radius, r).sum()) for r in rings]
    assert counts == [6, 6, 6, 12, 1]
    assert radius[0] == 0.0
    assert_allclose(radius[1:7], 1.0)
    assert_allclose(radius[7:19:2], math.sqrt(3))
    assert_allclose(radius[8:19:2], 2.0)
    assert_allclose(radius[19:31], math.sqrt(7))
    # no two elements closer than the pitch: a lattice, no overlaps
    delta = positions[:, None] - positions[None]
    distance = numpy.hypot(delta[..., 0], delta[..., 1])
    distance[numpy.diag_indices(32)] = numpy.inf
    assert_allclose(distance.min(axis=1), pitch)
    # element 1 is up and to the right of the centre, 6 to the right
    assert positions[1, 0] > 0 > positions[1, 1]
    assert_allclose(positions[6], [pitch, 0.0])
    assert_allclose(positions[31], [3 * pitch, 0.0])


@pytest.mark.parametrize('engine', ['reference', *FAST])
def test_pairs_equal_spec(counts, engine):
    """Each pair's curve is SPEC's, the diagonal the autocorrelation."""
    result = pcf_detectors(
        counts, 'airyscan32', pitch=0.05, nbins=8, engine=engine
    )
    edges = result['bin_edge'].values
    for i, j in [(0, 0), (0, 1), (1, 0), (5, 31), (31, 2), (17, 17)]:
        expected = _pair(counts[:, i], counts[:, j], edges)
        got = result['pcf'].sel(centre=i, neighbour=j).values
        assert_allclose(got, expected, rtol=0, atol=1e-5)
    assert result['distance'].sel(centre=0, neighbour=31) == pytest.approx(
        0.15
    )


@pytest.mark.parametrize('engine', FAST)
def test_fast_equals_reference(counts, engine):
    """Fast engines equal the reference within 1e-5."""
    positions = numpy.random.default_rng(2).random((32, 2))
    expected = pcf_detectors(counts, positions, nbins=10, engine='reference')
    result = pcf_detectors(counts, positions, nbins=10, engine=engine)
    assert_allclose(result['pcf'], expected['pcf'], rtol=0, atol=1e-5)
    linear = pcf_detectors(
        counts, positions, nbins=10, mode='linear', engine=engine
    )
    reference = pcf_detectors(
        counts, positions, nbins=10, mode='linear', engine='reference'
    )
    assert_allclose(linear['pcf'], reference['pcf'], rtol=0, atol=1e-5)


def test_groups_average_pairs_at_equal_distance(counts):
    """Groups are the means of all ordered pairs at one distance."""
    result = pcf_detectors(counts[:, :25], 'square5', pitch=0.1, nbins=8)
    distance = result['distance'].values
    curves = result['pcf'].values
    expected_d = numpy.unique(numpy.round(distance, 9))
    assert_allclose(result['group_distance'], expected_d, atol=1e-9)
    for k, d in enumerate(expected_d):
        chosen = numpy.isclose(distance, d)
        assert result['pairs'][k] == chosen.sum()
        assert_allclose(
            result['grouped'][k], curves[chosen].mean(axis=0), atol=1e-6
        )
    assert int(result['pairs'].sum()) == 625
    assert result['pairs'].values[:4].tolist() == [25, 80, 64, 60]


def test_attrs_and_delays(counts):
    """dt sets the delays; truncation and options are recorded."""
    result = pcf_detectors(counts[:200, :25], 'square5', pitch=0.1, dt=1e-5)
    assert result.attrs['frames'] == 128
    assert result.attrs['frames_total'] == 200
    assert result.attrs['preset'] == 'square5'
    assert float(result['delay'][1]) == pytest.approx(1e-5)


def test_fit_recovers_model():
    """Group curves made by the model give back its D and w."""
    from ipcf._pair_model import free_curves

    counts = numpy.random.default_rng(0).poisson(5, (4096, 32))
    result = pcf_detectors(counts, 'airyscan32', pitch=0.06, nbins=24)
    result = result.assign_attrs(dt=2e-6)
    model = free_curves(
        result['group_distance'].values,
        diffusion=10.0,
        w=0.2,
        edges=tuple(result['bin_edge'].values),
        frames=4096,
        mode='circular',
        dt=2e-6,
        amplitude=0.02,
    )
    result['grouped'].values[:] = model
    fit = fit_detectors(result)
    assert fit['diffusion'] == pytest.approx(10.0, rel=1e-3)
    assert fit['w'] == pytest.approx(0.2, rel=1e-3)
    assert fit['amplitude'] == pytest.approx(0.02, rel=1e-3)
    known = fit_detectors(result, w=0.2, autocorrelation=True)
    assert known['groups'][0] == 0
    assert known['diffusion'] == pytest.approx(10.0, rel=1e-3)
    near = fit_detectors(result, max_distance=0.13)
    assert max(result['group_distance'].values[near['groups']]) <= 0.13


@pytest.mark.parametrize(
    ('args', 'kwargs', 'error', 'match'),
    [
        (('square5',), {}, ValueError, 'pitch'),
        (('hexagon',), {'pitch': 1.0}, ValueError, 'preset='),
        ((numpy.zeros((31, 2)),), {}, ValueError, r'positions.shape'),
        ((numpy.full((32, 2), numpy.nan),), {}, ValueError, 'NaN'),
        (('airyscan32',), {'pitch': 0.0}, ValueError, 'pitch=0.0'),
        (('airyscan32',), {'pitch': 1.0, 'nbins': 1}, ValueError, 'nbins'),
        (('airyscan32',), {'pitch': 1.0, 'dt': -1.0}, ValueError, 'dt='),
    ],
)
def test_errors(counts, args, kwargs, error, match):
    """Bad input raises one-line errors naming the argument."""
    with pytest.raises(error, match=match):
        pcf_detectors(counts, *args, **kwargs)


def test_bad_data():
    """Data must be 2-D with enough samples."""
    with pytest.raises(ValueError, match='2-D'):
        pcf_detectors(numpy.ones((32, 5, 5)), 'square5', pitch=1.0)
    with pytest.raises(ValueError, match='at least 16'):
        pcf_detectors(numpy.ones((8, 25)), 'square5', pitch=1.0)


def test_detector_array_simulation():
    """Counts per element are the background plus the spots' photons."""
    from ipcf.simulate import detector_array

    sim = detector_array(frames=20000, seed=1, background=0.5)
    assert sim.data.shape == (20000, 32)
    truth = sim.truth
    assert truth['kind'] == 'detector_array'
    assert truth['preset'] == 'airyscan32'
    assert truth['pitch'] == pytest.approx(0.05)
    assert_allclose(
        truth['positions'], detector_positions('airyscan32', pitch=0.05)
    )
    expected = 0.5 + 1.0 * 5.0 * numpy.pi * 0.2**2 / 2
    assert sim.data.mean() == pytest.approx(expected, rel=0.05)
    again = detector_array(frames=64, seed=2)
    assert numpy.array_equal(
        again.data, detector_array(frames=64, seed=2).data
    )
    custom = detector_array(frames=64, positions=[[0, 0], [0.1, 0]], seed=0)
    assert custom.data.shape == (64, 2)
    with pytest.raises(ValueError, match='not \\(ndet, 2\\)'):
        detector_array(frames=64, positions=[0.0, 1.0])
    with pytest.raises(ValueError, match='frames=0'):
        detector_array(frames=0)
