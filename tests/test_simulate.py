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
    _Barrier,
    _CellChannel,
    _Periodic,
    _render,
    _tracks,
    barrier,
    channel,
    flow,
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
    names = {'Simulation', 'barrier', 'channel', 'flow', 'free'}
    assert names <= set(simulate.__all__)


# spim ------------------------------------------------------------------


def spim_series(path, **kwargs):
    """Write a small spim series and return (data, truth)."""
    from ipcf.io import imread, read_metadata

    options = {'shape': (6, 48, 80), 'tile': 32, 'seed': 3}
    options.update(kwargs)
    out = simulate.spim(path, **options)
    return imread(out), read_metadata(out)


def test_spim_files(tmp_path):
    import tifffile

    out = simulate.spim(tmp_path / 'cell', shape=(12, 40, 64), tile=24)
    assert out == tmp_path / 'cell'
    names = sorted(p.name for p in out.iterdir())
    assert names == [f'frame{i:05d}.tif' for i in range(12)] + ['truth.json']
    with tifffile.TiffFile(out / 'frame00007.tif') as tif:
        assert tif.byteorder == '>'
        assert tif.pages.first.shape == (40, 64)
        assert tif.pages.first.dtype == numpy.uint16
    # no temporary directory is left beside the output
    assert [p.name for p in tmp_path.iterdir()] == ['cell']


def test_spim_truth(tmp_path):
    data, truth = spim_series(tmp_path / 'cell')
    assert truth == json.loads((tmp_path / 'cell' / 'truth.json').read_text())
    assert truth['kind'] == 'spim'
    assert truth['shape'] == [6, 48, 80]
    assert truth['seed'] == 3
    assert truth['tile'] == 32
    assert truth['particles'] == round(10.0 * 32 * 32 * 0.01)
    cell = truth['geometry']['cell']
    y0, y1, x0, x1 = cell['bbox_px']
    assert 0 < y0 < y1 < 48 and 0 < x0 < x1 < 80
    assert cell['centre_px'] == [40.0, 24.0]
    assert_allclose(cell['semi_axes_px'], [0.36 * 80, 0.34 * 48])
    assert data.dtype == numpy.uint16


def test_spim_cell_brighter_and_bleaching(tmp_path):
    data, truth = spim_series(
        tmp_path / 'cell',
        shape=(64, 48, 80),
        bleach_time=0.032,
        read_noise=0.0,
        background=0.0,
        brightness=200.0,
    )
    y0, y1, x0, x1 = truth['geometry']['cell']['bbox_px']
    outside = numpy.ones((48, 80), bool)
    outside[y0:y1, x0:x1] = False
    assert_array_equal(data[:, outside], 100)  # offset only
    centre = data[:, 20:28, 34:46].astype(numpy.float64) - 100
    # the particles' signal decays with the bleach time, 64 ms / 32 ms
    first, last = centre[:8].mean(), centre[-8:].mean()
    expected = math.exp(-56 / 32)
    assert first > 10
    assert 0.6 * expected < last / first < 1.5 * expected


def test_spim_tiles_are_periodic(tmp_path):
    """Without camera noise, pixels one tile apart inside the cell agree."""
    data, _ = spim_series(
        tmp_path / 'cell',
        shape=(5, 64, 96),
        read_noise=0.0,
        background=0.0,
        border=0.0,
    )
    assert_array_equal(data[:, 24:40, 30:40], data[:, 24:40, 62:72])
    assert data[:, 24:40, 30:40].max() > 100


def test_spim_reproducible(tmp_path):
    first, _ = spim_series(tmp_path / 'a', num_threads=1)
    second, _ = spim_series(tmp_path / 'b', num_threads=2)
    third, _ = spim_series(tmp_path / 'c', seed=4)
    assert_array_equal(first, second)
    assert not numpy.array_equal(first, third)


def test_spim_overwrite(tmp_path):
    out = tmp_path / 'cell'
    spim_series(out)
    with pytest.raises(FileExistsError, match='overwrite=True'):
        spim_series(out)
    spim_series(out, shape=(3, 48, 80), overwrite=True)
    assert len(list(out.glob('*.tif'))) == 3
    (out / 'notes.txt').write_text('keep me')
    with pytest.raises(FileExistsError, match='other files'):
        spim_series(out, overwrite=True)
    assert (out / 'notes.txt').exists()


@pytest.mark.parametrize(
    ('kwargs', 'error', 'match'),
    [
        ({'tile': 4}, ValueError, 'tile=4'),
        ({'tile': 32.0}, TypeError, 'tile'),
        ({'bleach_time': -1.0}, ValueError, 'bleach_time'),
        ({'read_noise': -1.0}, ValueError, 'read_noise'),
        ({'border': float('nan')}, ValueError, 'border'),
        ({'offset': 40000.0}, ValueError, 'offset'),
        ({'diffusion': (1.0, 2.0)}, ValueError, 'one diffusion'),
        ({'shape': (0, 8, 8)}, ValueError, 'shape'),
        ({'prefix': 'a/b'}, ValueError, 'prefix'),
    ],
)
def test_spim_bad_arguments(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        simulate.spim(tmp_path / 'cell', **{'shape': (2, 32, 32), **kwargs})
    assert not (tmp_path / 'cell').exists()


def test_spim_public():
    assert 'spim' in simulate.__all__


# flow, barrier, populations --------------------------------------------


def test_flow_truth():
    sim = flow(shape=(6, 12, 16), velocity=(30.0, -10.0), seed=2)
    assert sim.data.shape == (6, 12, 16)
    assert sim.truth['kind'] == 'flow'
    assert sim.truth['velocity'] == [30.0, -10.0]
    assert sim.truth['units']['velocity'] == 'um/s'
    assert json.loads(json.dumps(sim.truth)) == sim.truth


def test_flow_drift():
    """Tracks move by velocity * frame_time per frame, plus diffusion."""
    domain = _Periodic((0.0, 0.0), (1000.0, 800.0))
    rng = numpy.random.default_rng(0)
    start = numpy.full((4000, 2), 400.0)
    drift = (0.5, -0.25)  # 50 and -25 um/s at 0.1 um, 1 ms
    track = numpy.concatenate(
        list(_tracks(domain, start, 100, sigma=0.3, rng=rng, drift=drift))
    )
    shift = track[-1] - start
    assert_allclose(shift.mean(axis=0), (50.0, -25.0), atol=0.1)
    assert_allclose(shift.std(axis=0), 0.3 * 10, rtol=0.05)


@pytest.mark.parametrize('function', [flow, barrier])
def test_flow_barrier_reproducible(function):
    first = function(shape=(300, 16, 16), seed=7)
    assert_array_equal(function(shape=(300, 16, 16), seed=7).data, first.data)


def test_free_unchanged_by_drift_option():
    """A zero drift leaves the walk of free diffusion as it was."""
    domain = _Periodic((0.0, 0.0), (50.0, 40.0))
    start = domain.sample(20, numpy.random.default_rng(1))
    tracks = [
        numpy.concatenate(
            list(
                _tracks(
                    domain,
                    start,
                    50,
                    sigma=1.0,
                    rng=numpy.random.default_rng(2),
                    drift=drift,
                )
            )
        )
        for drift in (None, (0.0, 0.0))
    ]
    assert_array_equal(tracks[0], tracks[1])


@pytest.mark.parametrize('wall', ['line', 'ring'])
@pytest.mark.parametrize('angle', [0.0, 60.0, 90.0])
def test_barrier_never_crossed(wall, angle):
    domain = _Barrier(
        (-7.0, -7.0),
        (47.0, 47.0),
        wall=wall,
        centre=(20.0, 20.0),
        angle=math.radians(angle),
        radius=8.0,
    )
    rng = numpy.random.default_rng(0)
    start = domain.sample(600, rng)
    label = domain.label(start)
    assert set(numpy.unique(label)) == {1, 2}
    # large steps would often jump over a thin ring without the path test
    track = numpy.concatenate(
        list(_tracks(domain, start, 400, sigma=3.0, rng=rng))
    )
    assert_array_equal(
        domain.label(track), numpy.broadcast_to(label, track.shape[:2])
    )
    assert numpy.abs(track[-1] - start).mean() > 3.0


def test_barrier_ring_path():
    domain = _Barrier(
        (0.0, 0.0), (40.0, 40.0), wall='ring', centre=(20.0, 20.0), radius=5
    )
    start = numpy.array([[10.0, 20.0], [10.0, 10.0]])
    end = numpy.array([[30.0, 20.0], [30.0, 10.0]])
    # both ends outside; the first path goes through the ring
    assert_array_equal(domain.label(end), [2, 2])
    assert_array_equal(domain._through_ring(start, end), [True, False])


def test_barrier_density_uniform():
    """Rejection keeps the density uniform on both sides and in the box."""
    domain = _Barrier(
        (0.0, 0.0), (40.0, 30.0), wall='line', centre=(12.0, 0.0), angle=1.5
    )
    rng = numpy.random.default_rng(3)
    start = domain.sample(4000, rng)
    track = numpy.concatenate(
        list(_tracks(domain, start, 300, sigma=1.0, rng=rng))
    )[-1]
    assert track.min() >= 0.0
    assert (track < (40.0, 30.0)).all()
    # the left and right halves of the box hold half of the particles
    assert_allclose((track[:, 0] < 20.0).mean(), 0.5, atol=0.03)
    assert_allclose((track[:, 1] < 15.0).mean(), 0.5, atol=0.03)


def test_barrier_truth():
    sim = barrier(shape=(2, 40, 50), seed=0, wall_angle=30.0)
    wall = sim.truth['geometry']['wall']
    assert sim.truth['kind'] == 'barrier'
    assert wall == {
        'shape': 'line',
        'centre': [2.5, 2.0],
        'centre_px': [25.0, 20.0],
        'angle': 30.0,
    }
    sim = barrier(
        shape=(2, 40, 50), wall='ring', wall_radius=0.5, wall_centre=(2, 1)
    )
    wall = sim.truth['geometry']['wall']
    assert wall['radius'] == 0.5
    assert_allclose(wall['radius_px'], 5.0)
    assert_allclose(wall['centre_px'], [20.0, 10.0])
    assert json.loads(json.dumps(sim.truth)) == sim.truth


def test_barrier_fills_both_sides():
    """Both sides of a vertical line hold particles alike."""
    sim = barrier(
        shape=(200, 32, 32), seed=1, background=0.0, brightness=200.0
    )
    assert sim.data.shape == (200, 32, 32)
    mean = sim.data.mean(axis=0, dtype=numpy.float64)
    # both halves are populated alike
    assert_allclose(mean[:, :14].mean(), mean[:, 18:].mean(), rtol=0.2)


def test_populations_truth():
    sim = free(shape=(4, 16, 16), diffusion=(0.5, 4.0), fraction=0.25, seed=1)
    truth = sim.truth
    assert truth['diffusion'] == [0.5, 4.0]
    assert truth['fraction'] == [0.25, 0.75]
    assert sum(truth['populations']) == truth['particles']
    assert truth['populations'][0] == round(0.25 * truth['particles'])
    sim = flow(shape=(4, 16, 16), diffusion=[1.0, 2.0, 3.0], seed=1)
    assert_allclose(sim.truth['fraction'], [1 / 3] * 3)
    assert 'fraction' not in free(shape=(4, 8, 8), seed=1).truth


def test_populations_msd():
    """Each population diffuses with its own coefficient."""
    domain = _Periodic((0.0, 0.0), (1000.0, 800.0))
    rng = numpy.random.default_rng(4)
    start = numpy.full((6000, 2), 500.0)
    sigma = numpy.repeat([0.2, 0.8], 3000)
    track = numpy.concatenate(
        list(_tracks(domain, start, 50, sigma=sigma, rng=rng))
    )
    msd = ((track[-1] - start) ** 2).sum(axis=1)
    assert_allclose(msd[:3000].mean(), 2 * 50 * 0.2**2, rtol=0.05)
    assert_allclose(msd[3000:].mean(), 2 * 50 * 0.8**2, rtol=0.05)


@pytest.mark.parametrize(
    ('kwargs', 'error', 'match'),
    [
        ({'fraction': 0.5}, ValueError, 'several diffusion'),
        ({'diffusion': ()}, TypeError, 'diffusion'),
        ({'diffusion': (1.0, 0.0)}, ValueError, r'diffusion\[1\]'),
        ({'diffusion': (1.0, 2.0), 'fraction': 1.5}, ValueError, 'fraction'),
        ({'diffusion': (1.0, 2.0), 'fraction': -0.1}, ValueError, 'fraction'),
        ({'diffusion': (1.0, 2.0), 'fraction': (0.5,)}, ValueError, 'one'),
        ({'diffusion': (1.0, 2.0), 'fraction': (0.5, 0.6)}, ValueError, 'sum'),
        ({'diffusion': (1.0, 2.0), 'fraction': 'a'}, TypeError, 'fraction'),
        ({'velocity': 5.0}, TypeError, 'velocity'),
        ({'velocity': (1.0, math.nan)}, ValueError, r'velocity\[1\]'),
    ],
)
def test_flow_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        flow(shape=(2, 8, 8), **kwargs)


@pytest.mark.parametrize(
    ('kwargs', 'error', 'match'),
    [
        ({'wall': 'square'}, ValueError, 'wall'),
        ({'wall_angle': 'up'}, TypeError, 'wall_angle'),
        ({'wall_radius': 0.0}, ValueError, 'wall_radius'),
        ({'wall_centre': 1.0}, TypeError, 'wall_centre'),
        ({'wall_centre': (1.0, math.inf)}, ValueError, 'wall_centre'),
    ],
)
def test_barrier_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        barrier(shape=(2, 8, 8), **kwargs)


def test_spim_cli(tmp_path, capsys):
    from ipcf.cli import main
    from ipcf.io import open_series

    out = tmp_path / 'cell'
    args = ['simulate', 'spim', str(out), '--frames', '4', '--shape', '32,48']
    assert main([*args, '--tile', '16', '--seed', '1', '--quiet']) == 0
    assert 'MB/s' in capsys.readouterr().out
    assert open_series(out).shape == (4, 32, 48)
    assert main([*args, '--quiet']) == 2  # exists
    assert 'exists' in capsys.readouterr().err
    args = ['simulate', 'free', str(tmp_path / 'f.bin'), '--tile', '16']
    assert main(args) == 2
    assert 'spim only' in capsys.readouterr().err


def test_cli_simulate_flow_barrier(tmp_path, capsys):
    from ipcf.cli import main
    from ipcf.io import read_metadata

    out = tmp_path / 'flow.bin'
    args = ['simulate', 'flow', str(out), '--frames', '4', '--shape', '8,8']
    args += ['--velocity', '10,-5', '--diffusion', '0.5,2', '--fraction']
    assert main([*args, '0.25', '--seed', '1']) == 0
    truth = read_metadata(out)
    assert truth['kind'] == 'flow'
    assert truth['velocity'] == [10.0, -5.0]
    assert truth['diffusion'] == [0.5, 2.0]
    assert truth['fraction'] == [0.25, 0.75]
    out = tmp_path / 'ring.bin'
    args = ['simulate', 'barrier', str(out), '--frames', '3', '--wall']
    assert main([*args, 'ring', '--wall-radius', '0.5', '--seed', '1']) == 0
    wall = read_metadata(out)['geometry']['wall']
    assert wall['shape'] == 'ring'
    assert wall['radius'] == 0.5
    capsys.readouterr()
    args = ['simulate', 'channel', str(tmp_path / 'c.bin'), '--velocity']
    assert main([*args, '1,2']) == 2
    assert "--velocity does not apply to 'channel'" in capsys.readouterr().err
    assert main(['simulate', 'free', str(out), '--diffusion', 'x']) == 2
