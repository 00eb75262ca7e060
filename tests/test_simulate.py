"""Tests of ipcf.simulate: data, truth, randomness, walls and physics."""

from __future__ import annotations

import json
import math

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import erf

from ipcf import simulate
from ipcf.simulate import (
    Simulation,
    _CellChannel,
    _Periodic,
    _render,
    _tracks,
    channel,
    free,
)

# D = 4 um^2/s, 1 ms frames, 0.1 um pixels: step sigma in pixels per axis
SIGMA = math.sqrt(2 * 4.0 * 1e-3) / 0.1


def dense_spots(shape, positions, brightness, width):
    """Return spots integrated over every pixel of the field, no window."""
    _, height, size = shape
    scale = math.sqrt(2) / width
    ex = erf((numpy.arange(size + 1) - positions[..., :1]) * scale)
    ey = erf((numpy.arange(height + 1) - positions[..., 1:]) * scale)
    wx = 0.5 * numpy.diff(ex, axis=-1)
    wy = 0.5 * numpy.diff(ey, axis=-1)
    return brightness * numpy.einsum('tpj,tpi->tji', wy, wx)


@pytest.mark.parametrize('dtype', ['uint16', 'int32', 'float32'])
def test_free_shape_dtype(dtype):
    sim = free(shape=(5, 12, 10), seed=1, dtype=dtype)
    assert isinstance(sim, Simulation)
    assert sim.data.shape == (5, 12, 10)
    assert sim.data.dtype == numpy.dtype(dtype)
    assert sim.truth['dtype'] == dtype
    assert sim.truth['shape'] == [5, 12, 10]
    # Poisson counts plus an integral offset are whole numbers
    assert_array_equal(sim.data, numpy.round(sim.data))
    assert sim.data.min() >= 100


def test_channel_shape_dtype():
    sim = channel(shape=numpy.array([3, 20, 24]), cell=[1.0, 0.8], seed=1)
    assert sim.data.shape == (3, 20, 24)
    assert sim.data.dtype == numpy.uint16
    assert sim.truth['kind'] == 'channel'


def test_clipped_to_dtype():
    sim = free(shape=(4, 8, 8), seed=0, dtype='uint8', offset=250.0)
    assert sim.data.max() == 255
    sim = free(shape=(4, 8, 8), seed=0, dtype='float32', offset=250.0)
    assert sim.data.max() > 255


@pytest.mark.parametrize('function', [free, channel])
def test_seed_reproducible(function):
    kwargs = {'shape': (300, 16, 16)}  # more than one chunk of frames
    first = function(seed=7, **kwargs)
    assert_array_equal(function(seed=7, **kwargs).data, first.data)
    assert not numpy.array_equal(function(seed=8, **kwargs).data, first.data)


def test_seed_none_recorded():
    first = free(shape=(4, 8, 8))
    second = free(shape=(4, 8, 8))
    assert first.truth['seed'] != second.truth['seed']
    assert 0 <= first.truth['seed'] < 2**63
    again = free(shape=(4, 8, 8), seed=first.truth['seed'])
    assert_array_equal(again.data, first.data)


@pytest.mark.parametrize('function', [free, channel])
def test_truth_json(function):
    kwargs = {
        'shape': (4, 16, 16),
        'diffusion': 2.0,
        'pixel_size': 0.08,
        'frame_time': 2e-3,
        'psf_radius': 0.3,
        'density': 3.0,
        'brightness': 40.0,
        'background': 1.0,
        'offset': 50.0,
        'seed': 3,
    }
    truth = function(**kwargs).truth
    assert json.loads(json.dumps(truth)) == truth
    for key, value in kwargs.items():
        expected = list(value) if key == 'shape' else value
        assert truth[key] == expected, key
    assert truth['kind'] == function.__name__
    assert truth['particles'] > 0
    assert set(truth['units']) >= {'diffusion', 'pixel_size', 'psf_radius'}


def test_channel_truth_geometry():
    sim = channel(
        shape=(2, 40, 50),
        channel_width=0.6,
        channel_angle=30.0,
        cell=(2.0, 1.5),
        seed=0,
    )
    geometry = sim.truth['geometry']
    assert geometry['channel']['width'] == 0.6
    assert geometry['channel']['angle'] == 30.0
    assert_allclose(geometry['channel']['width_px'], 6.0)
    assert geometry['cell']['semi_axes'] == [2.0, 1.5]
    assert_allclose(geometry['cell']['semi_axes_px'], [20.0, 15.0])
    assert_allclose(geometry['cell']['centre'], [2.5, 2.0])
    assert_allclose(geometry['cell']['centre_px'], [25.0, 20.0])
    assert sim.truth['particles'] == round(5.0 * math.pi * 2.0 * 1.5)


@pytest.mark.parametrize('density', [5.0, 50.0])
def test_free_mean_intensity(density):
    """Mean is offset + background + density * pixel area * brightness."""
    sim = free(shape=(64, 128, 128), density=density, seed=2)
    signal = density * 0.1**2 * 50.0
    mean = sim.data.mean(dtype=numpy.float64)
    assert_allclose(mean, 102.0 + signal, rtol=0.005)
    assert_allclose(mean - 102.0, signal, rtol=0.05 if density < 10 else 0.02)


def test_channel_mean_intensity():
    """Background outside the cell, particles inside."""
    sim = channel(shape=(256, 64, 64), seed=4)
    mean = sim.data.mean(axis=0, dtype=numpy.float64)
    assert_allclose(mean[:4, :4].mean(), 102.0, rtol=0.005)
    assert_allclose(mean[24:40, 16:48].mean(), 104.5, rtol=0.01)


@pytest.mark.parametrize('width', [2.5, 1.0, 4.0])
def test_render_equals_dense(width):
    """The windowed kernel equals the PSF integrated over every pixel."""
    rng = numpy.random.default_rng(0)
    shape = (3, 24, 20)
    positions = rng.uniform(-8.0, 30.0, (3, 40, 2))
    out = numpy.zeros(shape)
    half = math.ceil(2 * width) + 1
    _render(out, positions, brightness=50.0, width=width, half=half)
    expected = dense_spots(shape, positions, 50.0, width)
    assert_allclose(out, expected, rtol=0, atol=1e-4)


def test_render_spot_total():
    """A spot far from the edges holds all its photons."""
    out = numpy.zeros((1, 32, 32))
    _render(
        out, numpy.array([[[16.3, 15.8]]]), brightness=50.0, width=2.5, half=6
    )
    assert_allclose(out.sum(), 50.0, rtol=1e-4)
    assert numpy.unravel_index(out.argmax(), out.shape) == (0, 15, 16)


def walk(domain, count, nframes, *, sigma=SIGMA, seed=0, chunk=64):
    """Return initial positions and the track (nframes, count, 2)."""
    rng = numpy.random.default_rng(seed)
    start = domain.sample(count, rng)
    tracks = _tracks(domain, start, nframes, sigma=sigma, rng=rng, chunk=chunk)
    return start, numpy.concatenate(list(tracks))


@pytest.mark.parametrize('angle', [0.0, 30.0, 90.0, 135.0])
@pytest.mark.parametrize('sigma', [SIGMA, 3.0])
def test_channel_walls_never_crossed(angle, sigma):
    domain = _CellChannel(
        centre=(32.0, 32.0),
        semi_axes=(28.0, 24.0),
        angle=math.radians(angle),
        width=8.0,
    )
    start, track = walk(domain, 400, 1000, sigma=sigma)
    label = domain.label(start)
    assert set(numpy.unique(label)) == {1, 2, 3}
    assert_array_equal(
        domain.label(track), numpy.broadcast_to(label, (1000, 400))
    )
    # particles move, and without the walls many labels would change
    assert numpy.abs(track[-1] - start).mean() > sigma
    steps = numpy.random.default_rng(1).normal(0, sigma, (1000, 400, 2))
    unconstrained = domain.label(start + numpy.cumsum(steps, axis=0))
    assert (unconstrained != label).any(axis=0).mean() > 0.1
    # channel particles travel along the channel, farther than its width
    direction = numpy.array(
        [math.cos(math.radians(angle)), math.sin(math.radians(angle))]
    )
    along = (track[:, label == 2] - 32.0) @ direction
    assert numpy.ptp(along) > 3 * 8.0


def test_channel_density_uniform():
    """Rejection at the walls keeps the density uniform in the channel."""
    domain = _CellChannel(
        centre=(0.0, 0.0), semi_axes=(40.0, 30.0), angle=0.0, width=8.0
    )
    start, track = walk(domain, 4000, 400, sigma=1.0)
    inside = track[:, domain.label(start) == 2]
    across = numpy.abs(inside[..., 1])
    assert across.max() <= 4.0
    # half of the channel's width holds half of its particles
    assert_allclose((across < 2.0).mean(), 0.5, atol=0.02)
    # the cell holds its particles uniformly too
    radius2 = (track[..., 0] / 40.0) ** 2 + (track[..., 1] / 30.0) ** 2
    assert radius2.max() < 1.0
    assert_allclose((radius2 < 0.5).mean(), 0.5, atol=0.02)


def test_free_msd():
    """Mean squared displacement of the free walk is 4 D t."""
    domain = _Periodic((0.0, 0.0), (1000.0, 800.0))
    start, track = walk(domain, 10000, 100, chunk=7)
    assert track.min() >= 0.0
    assert (track < (1000.0, 800.0)).all()
    size = numpy.array([1000.0, 800.0])
    for frames in (1, 10, 100):
        step = track[frames - 1] - start
        step -= size * numpy.round(step / size)  # nearest periodic image
        msd = (step**2).sum(axis=1).mean() * 0.1**2  # um^2
        assert_allclose(msd, 4 * 4.0 * frames * 1e-3, rtol=0.05)


def test_free_autocorrelation_decays():
    """The autocorrelation of the pixels is positive and decays."""
    data = free(shape=(2048, 16, 16), seed=5).data.astype(numpy.float64)
    mean = data.mean(axis=0)
    fluct = data - mean
    acf = [
        (fluct[: -lag or None] * fluct[lag:]).mean(axis=0) / mean**2
        for lag in (1, 4, 64)
    ]
    acf = [a.mean() for a in acf]
    assert acf[0] > acf[1] > 0
    assert acf[2] < 0.2 * acf[0]


def test_repr():
    sim = channel(shape=(2, 8, 8), seed=3)
    assert repr(sim) == (
        "Simulation(kind='channel', shape=(2, 8, 8), dtype=uint16, seed=3)"
    )


def test_progress(capsys):
    sim = free(shape=(4, 8, 8), seed=0, progress=True)
    assert sim.data.shape == (4, 8, 8)
    assert capsys.readouterr().out == ''


@pytest.mark.parametrize(
    ('kwargs', 'error', 'match'),
    [
        ({'shape': (0, 8, 8)}, ValueError, 'shape'),
        ({'shape': (4, 8)}, ValueError, 'shape'),
        ({'shape': (4, -1, 8)}, ValueError, 'shape'),
        ({'shape': (4.0, 8, 8)}, TypeError, 'shape'),
        ({'shape': 8}, TypeError, 'shape'),
        ({'shape': '488'}, TypeError, 'shape'),
        ({'diffusion': 0.0}, ValueError, 'diffusion=0.0 must be > 0'),
        ({'diffusion': -1.0}, ValueError, 'diffusion'),
        ({'diffusion': 'fast'}, TypeError, 'diffusion'),
        ({'pixel_size': 0}, ValueError, 'pixel_size'),
        ({'frame_time': -1e-3}, ValueError, 'frame_time'),
        ({'psf_radius': 0.0}, ValueError, 'psf_radius'),
        ({'psf_radius': math.inf}, ValueError, 'psf_radius'),
        ({'density': -1.0}, ValueError, 'density=-1.0 must be >= 0'),
        ({'density': math.nan}, ValueError, 'density'),
        ({'brightness': -1.0}, ValueError, 'brightness'),
        ({'background': -0.5}, ValueError, 'background'),
        ({'offset': None}, TypeError, 'offset'),
        ({'seed': -1}, ValueError, 'seed'),
        ({'seed': 1.5}, TypeError, 'seed'),
        ({'dtype': 'complex64'}, TypeError, 'dtype'),
        ({'dtype': bool}, TypeError, 'dtype'),
        ({'dtype': 'nonsense'}, TypeError, 'dtype'),
        ({'dtype': None}, TypeError, 'dtype'),
    ],
)
@pytest.mark.parametrize('function', [free, channel])
def test_bad_arguments(function, kwargs, error, match):
    with pytest.raises(error, match=match):
        function(**kwargs)


@pytest.mark.parametrize(
    ('kwargs', 'error', 'match'),
    [
        ({'channel_width': 0.0}, ValueError, 'channel_width'),
        ({'channel_angle': 'up'}, TypeError, 'channel_angle'),
        ({'cell': -1.0}, ValueError, 'cell'),
        ({'cell': (1.0, 0.0)}, ValueError, r'cell\[1\]'),
        ({'cell': (1.0, 2.0, 3.0)}, TypeError, 'cell'),
        ({'cell': 'round'}, TypeError, 'cell'),
    ],
)
def test_channel_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        channel(shape=(2, 8, 8), **kwargs)


def test_public_names():
    assert simulate.__all__ == ['Simulation', 'channel', 'free']
