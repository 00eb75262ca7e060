"""Tests of ipcf.simulate's in-memory series: data, truth and arguments.

The parts behind them have their own modules: test_simulate_domains,
test_simulate_motion, test_simulate_optics, test_simulate_parameters and
test_simulate_spim (the light-sheet writer).
"""

from __future__ import annotations

import inspect
import json
import math
import re
import subprocess
import sys

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import ipcf
from ipcf import simulate
from ipcf.simulate import Simulation, barrier, channel, flow, free

PUBLIC = [free, channel, flow, barrier, simulate.spim, simulate.two_species]


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


@pytest.mark.parametrize('function', [free, channel, flow, barrier])
def test_progress(function, capsys):
    """The progress bar goes to stderr, and only when asked for."""
    sim = function(shape=(4, 8, 8), seed=0, progress=True)
    assert sim.data.shape == (4, 8, 8)
    captured = capsys.readouterr()
    assert f'simulate {function.__name__}' in captured.err
    assert '/4 ' in captured.err  # the bar counts frames
    assert captured.out == ''
    function(shape=(4, 8, 8), seed=0)
    assert capsys.readouterr().err == ''


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
        # a number given as a string or a bool is a TypeError
        ({'shape': (4, True, 8)}, TypeError, r'shape\[1\]'),
        ({'diffusion': True}, TypeError, 'diffusion=True'),
        ({'diffusion': ('1', 2.0)}, TypeError, r'diffusion\[0\]'),
        ({'pixel_size': '0.1'}, TypeError, 'pixel_size'),
        ({'frame_time': True}, TypeError, 'frame_time'),
        ({'density': True}, TypeError, 'density'),
        ({'brightness': '50'}, TypeError, 'brightness'),
        ({'offset': '100'}, TypeError, 'offset'),
        ({'seed': True}, TypeError, 'seed'),
        ({'seed': '1'}, TypeError, 'seed'),
        ({'progress': 1}, TypeError, 'progress'),
        ({'progress': 'yes'}, TypeError, 'progress'),
    ],
)
@pytest.mark.parametrize('function', [free, channel, flow, barrier])
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
        ({'cell': True}, TypeError, 'cell'),
        ({'channel_width': '0.8'}, TypeError, 'channel_width'),
    ],
)
def test_channel_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        channel(shape=(2, 8, 8), **kwargs)


def test_public_names():
    names = {
        'Simulation',
        'barrier',
        'channel',
        'flow',
        'free',
        'spim',
        'two_species',
        'detector_array',
        'line_scan',
        'anomalous',
        'confined',
        'immobile',
    }
    assert set(simulate.__all__) == names
    assert all(hasattr(simulate, name) for name in names)


def test_through_package():
    """ipcf.simulate loads with ipcf, without numba until it renders."""
    code = (
        'import sys, ipcf\n'
        'sim = ipcf.simulate.channel\n'
        'assert "numba" not in sys.modules\n'
        'print(ipcf.simulate.free(shape=(2, 8, 8), seed=1).truth["kind"])\n'
    )
    result = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == 'free\n'
    assert ipcf.simulate.free is free


@pytest.mark.parametrize('function', PUBLIC)
def test_documented(function):
    """The rendered docstring documents every parameter, with its default."""
    doc = inspect.getdoc(function)
    assert not re.search(r'^ *\{\w+\}$', doc, re.MULTILINE)
    for name, parameter in inspect.signature(function).parameters.items():
        entry = re.search(rf'^{name} : (.*)$', doc, re.MULTILINE)
        assert entry, name
        if parameter.default not in (None, inspect.Parameter.empty):
            assert f'default: {parameter.default!r}' in entry.group(1), name


# flow, barrier, populations --------------------------------------------


def test_flow_truth():
    sim = flow(shape=(6, 12, 16), velocity=(30.0, -10.0), seed=2)
    assert sim.data.shape == (6, 12, 16)
    assert sim.truth['kind'] == 'flow'
    assert sim.truth['velocity'] == [30.0, -10.0]
    assert sim.truth['units']['velocity'] == 'um/s'
    assert json.loads(json.dumps(sim.truth)) == sim.truth


@pytest.mark.parametrize('function', [flow, barrier])
def test_flow_barrier_reproducible(function):
    first = function(shape=(300, 16, 16), seed=7)
    assert_array_equal(function(shape=(300, 16, 16), seed=7).data, first.data)


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
        ({'velocity': (1.0, '2')}, TypeError, r'velocity\[1\]'),
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
        ({'wall': 1}, TypeError, 'wall'),
        ({'wall_radius': '1'}, TypeError, 'wall_radius'),
    ],
)
def test_barrier_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        barrier(shape=(2, 8, 8), **kwargs)


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


# bleaching: every image simulation takes bleach_time, as free does

BLEACHING = {
    'free': {},
    'channel': {'density': 4000.0},
    'flow': {'velocity': (20.0, 0.0)},
    'barrier': {'wall': 'ring'},
    'two_species': {'bound': 0.5},
    'confined': {'hop': 0.1},
    'immobile': {'fraction': 0.3},
    'anomalous': {'alpha': 0.7},
}


@pytest.mark.parametrize('kind', list(BLEACHING))
def test_bleaching_fades_with_the_bleach_time(kind):
    """The mean intensity decays as exp(-t / bleach_time), within 5 %."""
    function = getattr(simulate, kind)
    kwargs = {'density': 1200.0, **BLEACHING[kind]}
    sim = function(
        shape=(20, 32, 32),
        frame_time=0.05,
        bleach_time=0.5,
        background=0.0,
        offset=0.0,
        dtype='float64',
        seed=1,
        **kwargs,
    )
    data = sim.data[:, None] if sim.data.ndim == 3 else sim.data
    time = numpy.arange(20) * 0.05
    for channel_data in numpy.moveaxis(data, 1, 0):
        signal = channel_data.mean(axis=(1, 2))
        slope = numpy.polyfit(time, numpy.log(signal), 1)[0]
        assert_allclose(-1.0 / slope, 0.5, rtol=0.05)
    truth = sim.truth
    assert truth['bleach_time'] == 0.5
    assert truth['units']['bleach_time'].startswith('s ')
    # dark by the last frame, 19 frame times after the first
    assert_allclose(
        truth['bleached'] / truth['particles'],
        1.0 - math.exp(-19 * 0.05 / 0.5),
        atol=0.02,
    )
    assert json.loads(json.dumps(truth)) == truth


@pytest.mark.parametrize('kind', list(BLEACHING))
def test_bleaching_keeps_the_other_streams(kind):
    """Bleaching draws from its own stream: positions, steps, noise stay."""
    function = getattr(simulate, kind)
    kwargs = {'shape': (300, 12, 12), 'seed': 4, **BLEACHING[kind]}
    plain = function(**kwargs)
    assert 'bleached' not in plain.truth
    never = function(bleach_time=1e9, **kwargs)
    assert_array_equal(never.data, plain.data)
    assert never.truth['bleached'] == 0
    assert not numpy.array_equal(
        function(bleach_time=0.01, **kwargs).data, plain.data
    )


@pytest.mark.parametrize('kind', list(BLEACHING))
@pytest.mark.parametrize('value', [0.0, -1.0, '1', True])
def test_bleach_time_checked(kind, value):
    function = getattr(simulate, kind)
    error = ValueError if isinstance(value, float) else TypeError
    with pytest.raises(error, match='bleach_time'):
        function(shape=(2, 8, 8), bleach_time=value)


def test_two_species_complexes_bleach_in_both_channels():
    """A complex goes dark in both channels at once: with every molecule
    bound, the channels stay the same particles as they fade."""
    sim = simulate.two_species(
        shape=(40, 16, 16),
        bound=1.0,
        bleach_time=0.01,
        background=0.0,
        brightness=1e6,
        seed=5,
        dtype='float64',
    )
    one, two = sim.data[:, 0] - 100, sim.data[:, 1] - 100
    assert one[-1].sum() < 0.2 * one[0].sum()
    assert numpy.corrcoef(one.ravel(), two.ravel())[0, 1] > 0.999
    species = {s['name']: s for s in sim.truth['species']}
    assert species['AB']['bleached'] == sim.truth['bleached']
