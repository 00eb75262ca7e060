"""Tests of the volume series of ipcf.simulate: free and channel in 3-D.

A 4-item shape ``(T, Z, Y, X)`` makes :func:`ipcf.simulate.free` and
:func:`ipcf.simulate.channel` move particles in 3-D and image them
through a 3-D Gaussian PSF; the pCF they give is validated in
test_validation_volume.py.
"""

from __future__ import annotations

import json
import math

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from ipcf import simulate
from ipcf.simulate import channel, free
from ipcf.simulate._domains import CellTube, Periodic
from ipcf.simulate._motion import tracks
from ipcf.simulate._optics import render, render_volume


@pytest.mark.parametrize('function', [free, channel])
def test_volume_shape_truth(function):
    sim = function(shape=(5, 6, 20, 24), pixel_size_z=0.25, psf_z=0.6, seed=1)
    assert sim.data.shape == (5, 6, 20, 24)
    assert sim.data.dtype == numpy.uint16
    assert sim.volume
    truth = sim.truth
    assert json.loads(json.dumps(truth)) == truth
    assert truth['axes'] == 'TZYX'
    assert truth['shape'] == [5, 6, 20, 24]
    assert truth['pixel_size_z'] == 0.25
    assert truth['psf_z'] == 0.6
    assert truth['units']['density'] == 'particles/um^3'
    assert truth['units']['psf_z'] == 'um (1/e^2 radius)'
    assert truth['particles'] > 0
    assert sim.data.min() >= 100
    assert sim.channel_paths('volume.h5')[0].name == 'volume.h5'


def test_volume_defaults():
    """Plane spacing and axial radius default to twice the lateral ones."""
    truth = free(shape=(2, 4, 8, 8), pixel_size=0.08, seed=0).truth
    assert truth['pixel_size_z'] == 0.16
    assert truth['psf_z'] == 0.5
    # the box is larger than the volume by the PSF window along z too
    half_z = math.ceil(2 * 0.5 / 0.16) + 1
    assert truth['geometry']['domain_px'][2] == -(half_z + 1)
    assert truth['geometry']['domain_px'][5] == 4 + half_z + 1


def test_images_unchanged_by_volume_options():
    """Images take no axial options and record none."""
    truth = free(shape=(2, 8, 8), seed=0).truth
    assert 'axes' not in truth
    assert 'pixel_size_z' not in truth
    assert not free(shape=(2, 8, 8), seed=0).volume


@pytest.mark.parametrize('function', [free, channel])
def test_volume_reproducible(function):
    kwargs = {'shape': (40, 4, 12, 12)}  # several chunks of frames
    first = function(seed=7, **kwargs)
    assert_array_equal(function(seed=7, **kwargs).data, first.data)
    assert not numpy.array_equal(function(seed=8, **kwargs).data, first.data)


def test_volume_chunks_agree():
    """Frames made in chunks continue the same walk."""
    sim = free(shape=(300, 3, 40, 48), seed=2)  # chunks of 256 frames
    assert sim.data.shape[0] == 300
    # no seam: the mean of the frames after the first chunk is the same
    signal = sim.data.astype(numpy.float64) - 102.0
    first, second = signal[:256].mean(), signal[256:].mean()
    assert abs(first - second) < 0.25 * first


@pytest.mark.parametrize('density', [5.0, 40.0])
def test_volume_mean_intensity(density):
    """Mean is offset + background + density px² brightness w_z √(π/2)."""
    sim = free(shape=(32, 16, 48, 48), density=density, seed=3)
    signal = density * 0.1**2 * 50.0 * 0.5 * math.sqrt(math.pi / 2)
    mean = sim.data.mean(dtype=numpy.float64)
    assert_allclose(mean - 102.0, signal, rtol=0.1)


def test_render_volume_profile():
    """In focus a plane gets the brightness; others the axial Gaussian."""
    out = numpy.zeros((1, 11, 24, 24))
    render_volume(
        out,
        numpy.array([[[12.3, 11.6, 5.5]]]),
        brightness=50.0,
        width=2.5,
        half=6,
        width_z=2.0,
        half_z=5,
    )
    planes = out[0].sum(axis=(1, 2))
    dz = numpy.arange(11) + 0.5 - 5.5
    # the lateral window loses under 1e-6 of the photons
    assert_allclose(planes, 50.0 * numpy.exp(-2 * dz**2 / 4.0), rtol=1e-5)
    # each plane's spot is that of the 2-D renderer, scaled
    flat = numpy.zeros((1, 24, 24))
    render(
        flat, numpy.array([[[12.3, 11.6]]]), brightness=50.0, width=2.5, half=6
    )
    assert_allclose(out[0, 5], flat[0], rtol=1e-12)
    assert_allclose(out[0, 3], flat[0] * math.exp(-2.0), rtol=1e-12)


def test_render_volume_edges():
    """Spots beyond the volume add nothing; cut spots add what is inside."""
    out = numpy.zeros((2, 4, 10, 10))
    positions = numpy.array(
        [[[5.0, 5.0, -20.0], [5.0, 5.0, 3.9]], [[-30.0, 5.0, 2.0]] * 2]
    )
    render_volume(
        out,
        positions,
        brightness=10.0,
        width=1.0,
        half=3,
        width_z=1.0,
        half_z=3,
    )
    assert out[1].sum() == 0.0
    assert_allclose(out[0, 3].sum(), 10.0 * math.exp(-2 * 0.4**2), rtol=1e-6)


def test_steps_along_z():
    """Steps along z are sqrt(2 D dt) in µm, in planes of pixel_size_z."""
    rng = numpy.random.default_rng(0)
    box = Periodic((0, 0, 0), (1e6, 1e6, 1e6))
    start = numpy.full((2000, 3), 5e5)
    sigma = 1.0  # pixels per frame
    (track,) = tracks(box, start, 1, sigma=sigma, rng=rng, aspect=(1, 1, 0.5))
    step = track[0] - start
    assert_allclose(step.std(axis=0), [1.0, 1.0, 0.5], rtol=0.05)


def test_volume_parameters():
    """Steps in µm are the same along z; planes set the axial window."""
    # one voxel plane per 0.2 µm: 4 µm²/s over 1 ms is 0.089 µm per axis
    params = simulate._parameters.check_parameters(
        {
            'shape': (2, 4, 8, 8),
            'diffusion': 4.0,
            'fraction': None,
            'pixel_size': 0.1,
            'pixel_size_z': 0.2,
            'frame_time': 1e-3,
            'psf_radius': 0.25,
            'psf_z': None,
            'density': 5.0,
            'brightness': 50.0,
            'background': 2.0,
            'offset': 100.0,
            'seed': 0,
            'dtype': 'uint16',
        },
        volume=True,
    )
    assert params.aspect == 0.5
    assert params.half_z == math.ceil(2 * 0.5 / 0.2) + 1
    um = math.sqrt(2 * 4.0 * 1e-3)
    assert_allclose(params.sigma * params.pixel_size, um)


def test_channel_tube_geometry():
    sim = channel(
        shape=(2, 10, 40, 50),
        channel_width=0.6,
        channel_angle=30.0,
        cell=(2.0, 1.5, 0.9),
        seed=0,
    )
    geometry = sim.truth['geometry']
    assert geometry['cell']['shape'] == 'ellipsoid'
    assert geometry['channel']['shape'] == 'tube'
    assert geometry['channel']['width'] == 0.6
    assert_allclose(geometry['channel']['width_px'], 6.0)
    assert_allclose(geometry['cell']['centre'], [2.5, 2.0, 1.0])
    assert_allclose(geometry['cell']['centre_px'], [25.0, 20.0, 5.0])
    assert_allclose(geometry['cell']['semi_axes_px'], [20.0, 15.0, 4.5])
    volume = 4 / 3 * math.pi * 2.0 * 1.5 * 0.9
    assert sim.truth['particles'] == round(5.0 * volume)
    # a sphere for one number; the default fits the volume
    sphere = channel(shape=(2, 10, 40, 50), cell=1.0, seed=0)
    assert sphere.truth['geometry']['cell']['semi_axes'] == [1.0] * 3
    default = channel(shape=(2, 10, 40, 50), seed=0).truth['geometry']
    assert_allclose(default['cell']['semi_axes'], [2.25, 1.52, 0.9])


@pytest.fixture
def tube():
    """A cell 20 px across, a tube of radius 3 px along x, z planes 2 px."""
    return CellTube(
        centre=(20.0, 20.0, 5.0),
        semi_axes=(18.0, 12.0, 9.0),
        angle=0.0,
        radius=3.0,
        depth=2.0,
    )


def test_tube_labels(tube):
    points = numpy.array(
        [
            [20.0, 20.0, 5.0],  # centre: in the tube
            [5.0, 22.0, 5.0],  # along the axis, 2 px off
            [20.0, 20.0, 6.6],  # 3.2 px above the axis (1.6 planes)
            [20.0, 26.0, 5.0],  # beside the tube
            [20.0, 20.0, 9.9],  # 9.8 px above: outside the cell
            [39.0, 20.0, 5.0],  # beyond the cell's end
        ]
    )
    assert tube.label(points).tolist() == [2, 2, 1, 1, 0, 0]


def test_tube_walls_hold(tube):
    """No particle leaves its compartment, the tube or the cell."""
    rng = numpy.random.default_rng(1)
    start = tube.sample(400, rng)
    labels = tube.label(start)
    assert set(labels.tolist()) == {1, 2}
    steps = rng.normal(0.0, 1.5, (300, 400, 3))
    track = tube.walk(start, steps)
    assert_array_equal(
        tube.label(track), numpy.broadcast_to(labels, (300, 400))
    )
    # and they did move
    assert numpy.abs(track[-1] - start).mean() > 3.0


def test_tube_rejects_paths_through_it(tube):
    """A step from one side of the tube to the other is not taken."""
    start = numpy.array([[20.0, 15.0, 5.0]])  # 5 px below the axis
    end = numpy.array([[20.0, 25.0, 5.0]])  # 5 px above it
    assert tube.label(start)[0] == tube.label(end)[0] == 1
    assert tube.through_tube(start, end)[0]
    track = tube.walk(start, (end - start)[None])
    assert_array_equal(track[0], start)
    # beside the tube the same step is taken
    aside = start + (0.0, 0.0, 3.0)  # 6 px above the axis plane
    assert not tube.through_tube(aside, aside + (0.0, 10.0, 0.0))[0]


def test_tube_samples_uniformly(tube):
    rng = numpy.random.default_rng(2)
    points = tube.sample(20000, rng)
    assert (tube.label(points) > 0).all()
    # the tube's share of the cell: a cylinder of the cell's length,
    # less the bits its ends leave out near the cell's surface
    a, b, c = tube.semi_axes
    share = (tube.label(points) == 2).mean()
    expected = math.pi * 3.0**2 * 2 * a / (4 / 3 * math.pi * a * b * c)
    assert 0.85 * expected < share < expected


@pytest.mark.parametrize(
    ('kwargs', 'error', 'match'),
    [
        ({'shape': (4, 8, 8), 'pixel_size_z': 0.2}, ValueError, 'volume'),
        ({'shape': (4, 8, 8), 'psf_z': 0.5}, ValueError, 'psf_z=0.5'),
        ({'shape': (4, 2, 8, 8, 8)}, ValueError, '3 or 4 integers'),
        ({'shape': (4, 0, 8, 8)}, ValueError, r'shape\[1\]'),
        (
            {'shape': (4, 2, 8, 8), 'pixel_size_z': 0.0},
            ValueError,
            'pixel_size_z',
        ),
        ({'shape': (4, 2, 8, 8), 'psf_z': '1'}, TypeError, 'psf_z'),
    ],
)
def test_volume_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        free(seed=0, **kwargs)


def test_volume_only_for_free_and_channel():
    with pytest.raises(ValueError, match='3 integers'):
        simulate.flow(shape=(4, 2, 8, 8), seed=0)
    with pytest.raises(ValueError, match='3 integers'):
        simulate.barrier(shape=(4, 2, 8, 8), seed=0)
    with pytest.raises(TypeError, match='three numbers'):
        channel(shape=(4, 4, 16, 16), cell=(1.0, 1.0), seed=0)
