"""Tests of ipcf.simulate.two_species: channels, species, truth, saving.

The cross-channel pCF of these series is validated against their truth
in test_validation_cross.
"""

from __future__ import annotations

import json

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import ipcf
from ipcf.simulate import Simulation, free, two_species
from ipcf.simulate._species import species_counts


@pytest.mark.parametrize('dtype', ['uint16', 'float32'])
def test_shape_dtype(dtype):
    sim = two_species(shape=(5, 12, 10), seed=1, dtype=dtype)
    assert isinstance(sim, Simulation)
    assert sim.data.shape == (5, 2, 12, 10)
    assert sim.data.dtype == numpy.dtype(dtype)
    assert sim.truth['shape'] == [5, 2, 12, 10]
    assert sim.truth['dtype'] == dtype
    assert sim.data.min() >= 100
    assert 'shape=(5, 2, 12, 10)' in repr(sim)


def test_seed_reproducible():
    kwargs = {'shape': (300, 16, 16), 'bound': 0.4, 'crosstalk': 0.1}
    first = two_species(seed=7, **kwargs)
    assert_array_equal(two_species(seed=7, **kwargs).data, first.data)
    assert not numpy.array_equal(
        two_species(seed=8, **kwargs).data, first.data
    )
    # the channels have their own photon noise
    assert not numpy.array_equal(first.data[:, 0], first.data[:, 1])


def test_truth():
    sim = two_species(shape=(4, 16, 16), bound=0.25, crosstalk=0.1, seed=3)
    truth = json.loads(json.dumps(sim.truth))
    assert truth == sim.truth
    assert truth['kind'] == 'two_species'
    assert truth['channels'] == ['A', 'B']
    assert truth['bound'] == 0.25
    assert truth['crosstalk'] == 0.1
    assert truth['diffusion'] == 4.0
    assert truth['seed'] == 3
    assert truth['geometry']['boundary'] == 'periodic'
    assert [s['name'] for s in truth['species']] == ['A', 'AB', 'B']
    assert [s['channels'] for s in truth['species']] == [[1], [1, 2], [2]]
    species = {s['name']: s['particles'] for s in truth['species']}
    # each species counts the molecules of free: its density over its area
    plain = free(shape=(4, 16, 16), seed=3).truth
    molecules = plain['particles']
    assert species['A'] + species['AB'] == molecules
    assert species['B'] == species['A']
    assert truth['particles'] == species['A'] + species['AB'] + species['B']
    assert species['AB'] == round(0.25 * molecules)
    assert_allclose(truth['bound_simulated'], species['AB'] / molecules)
    # the same format as free's species, over the same area
    for entry in truth['species']:
        assert entry.keys() >= plain['species'][0].keys()
        assert entry['diffusion'] == 4.0
        assert entry['brightness'] == 50.0
        assert_allclose(
            entry['concentration'],
            entry['particles'] / molecules * plain['concentration'],
        )
    assert_allclose(sum(s['fraction'] for s in truth['species']), 1.0)
    assert_allclose(
        truth['species'][1]['fraction'],
        species['AB'] / truth['particles'],
        rtol=0.05,
    )
    assert_allclose(
        truth['cross_ratio'], (truth['bound_simulated'] + 0.1) / 1.1
    )


@pytest.mark.parametrize('bound', [0.0, 1.0])
def test_species_limits(bound):
    counts = species_counts(40, bound)
    assert counts['AB'] == 40 * bound
    assert counts['A'] == counts['B'] == 40 * (1 - bound)
    sim = two_species(shape=(2, 8, 8), bound=bound, seed=0)
    assert sim.truth['bound_simulated'] == bound


def test_channel_means():
    """Each channel is a free series; cross-talk adds A's light to 2."""
    kwargs = {'shape': (64, 24, 24), 'seed': 2, 'dtype': 'float32'}
    sim = two_species(bound=0.5, **kwargs)
    signal = 5.0 * 0.1**2 * 50.0
    assert_allclose(sim.data[:, 0].mean(), 102.0 + signal, rtol=0.02)
    assert_allclose(sim.data[:, 1].mean(), 102.0 + signal, rtol=0.02)
    sim = two_species(bound=0.5, crosstalk=0.4, **kwargs)
    assert_allclose(sim.data[:, 1].mean(), 102.0 + 1.4 * signal, rtol=0.02)


def test_bound_one_same_particles():
    """With every molecule bound, the channels differ by noise only."""
    sim = two_species(
        shape=(4, 16, 16),
        bound=1.0,
        seed=5,
        background=0.0,
        brightness=1e6,
        dtype='float64',
    )
    one, two = sim.data[:, 0] - 100, sim.data[:, 1] - 100
    assert numpy.corrcoef(one.ravel(), two.ravel())[0, 1] > 0.999


@pytest.mark.parametrize(
    ('kwargs', 'error', 'match'),
    [
        ({'bound': -0.1}, ValueError, 'bound'),
        ({'bound': 1.5}, ValueError, 'bound'),
        ({'bound': '0.5'}, TypeError, 'bound'),
        ({'bound': None}, TypeError, 'bound'),
        ({'bound': True}, TypeError, 'bound'),
        ({'crosstalk': -0.2}, ValueError, 'crosstalk'),
        ({'crosstalk': '0.1'}, TypeError, 'crosstalk'),
        ({'diffusion': (1.0, 4.0)}, TypeError, 'diffusion'),
        ({'diffusion': '4'}, TypeError, 'diffusion'),
        ({'diffusion': 0.0}, ValueError, 'diffusion'),
        ({'density': -1.0}, ValueError, 'density'),
        ({'shape': (4, 8)}, ValueError, 'shape'),
        ({'dtype': 'U4'}, TypeError, 'dtype'),
        ({'progress': 'yes'}, TypeError, 'progress'),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        two_species(**{'shape': (2, 8, 8), **kwargs})


def test_keyword_only():
    with pytest.raises(TypeError):
        two_species((2, 8, 8))


@pytest.mark.parametrize('suffix', ['.h5', '.bin', '.tif'])
def test_save_two_files(tmp_path, suffix):
    sim = two_species(shape=(16, 8, 10), bound=0.5, seed=4)
    path = tmp_path / f'cells{suffix}'
    sim.save(path)
    paths = sim.channel_paths(path)
    assert [p.name for p in paths] == [
        f'cells_ch1{suffix}',
        f'cells_ch2{suffix}',
    ]
    assert not path.exists()
    for index, each in enumerate(paths):
        assert_array_equal(
            numpy.asarray(ipcf.io.imread(each)), sim.data[:, index]
        )
    with pytest.raises(FileExistsError):
        sim.save(path)
    sim.save(path, overwrite=True)


def test_save_one_channel_unchanged(tmp_path):
    sim = free(shape=(16, 8, 8), seed=0)
    assert sim.channel_paths(tmp_path / 'a.h5') == [tmp_path / 'a.h5']
    sim.save(tmp_path / 'a.h5')
    assert (tmp_path / 'a.h5').exists()


# free: species of their own brightness, immobile particles, bleaching


def test_free_plain_streams_unchanged():
    """Bleaching draws from its own stream: positions, steps, noise stay."""
    kwargs = {'shape': (300, 16, 16), 'seed': 3, 'diffusion': (1.0, 4.0)}
    plain = free(**kwargs)
    assert_array_equal(free(bleach_time=1e9, **kwargs).data, plain.data)
    assert 'immobile' not in plain.truth
    assert (
        plain.truth['species'][0]['particles']
        == (plain.truth['populations'][0])
    )


def test_free_species_truth_and_mean():
    sim = free(
        shape=(64, 24, 24),
        brightness=(50.0, 100.0),
        fraction=(0.5, 0.5),
        seed=2,
        dtype='float64',
    )
    truth = json.loads(json.dumps(sim.truth))
    assert truth == sim.truth
    species = truth['species']
    assert [s['brightness'] for s in species] == [50.0, 100.0]
    assert sum(s['particles'] for s in species) == truth['particles']
    lower, upper = numpy.array(truth['geometry']['domain']).reshape(2, 2)
    area = float(numpy.prod(upper - lower))
    assert_allclose(truth['concentration'], truth['particles'] / area)
    for s in species:
        assert_allclose(s['concentration'], s['particles'] / area)
    signal = sum(s['concentration'] * s['brightness'] for s in species)
    assert_allclose(sim.data.mean() - 102.0, signal * 0.01, rtol=0.05)
    assert_allclose(truth['signal'], sim.data.mean() - 102.0, rtol=0.02)


def test_free_immobile_particles_stay():
    """All immobile: a pixel's counts vary by photon noise only."""
    sim = free(
        shape=(64, 16, 16),
        immobile=1.0,
        background=0.0,
        brightness=1e4,
        seed=1,
        dtype='float64',
    )
    photons = sim.data - 100.0
    mean = photons.mean(axis=0)
    bright = mean > 100
    ratio = photons.var(axis=0, ddof=1)[bright] / mean[bright]
    assert_allclose(numpy.median(ratio), 1.0, atol=0.15)
    assert sim.truth['immobile_particles'] == sim.truth['particles']
    assert_allclose(sim.truth['immobile_signal'], sim.truth['signal'])
    moving = free(
        shape=(64, 16, 16),
        background=0.0,
        brightness=1e4,
        seed=1,
        dtype='float64',
    ).data
    assert (moving - 100.0).var(axis=0).mean() > 10 * photons.var(
        axis=0
    ).mean()


def test_free_bleaching_fades_exponentially():
    """The signal decays with the bleach time; the truth counts the dark."""
    sim = free(
        shape=(2000, 16, 16),
        bleach_time=1.0,
        density=50.0,
        background=0.0,
        seed=5,
        dtype='float64',
    )
    signal = sim.data.mean(axis=(1, 2)) - 100.0
    time = numpy.arange(2000) * 1e-3
    slope = numpy.polyfit(time, numpy.log(signal), 1)[0]
    assert_allclose(-1.0 / slope, 1.0, rtol=0.15)
    fraction = sim.truth['bleached'] / sim.truth['particles']
    assert_allclose(fraction, 1 - numpy.exp(-2.0), atol=0.05)
    assert sim.truth['bleach_time'] == 1.0


def test_free_species_volume():
    sim = free(shape=(4, 6, 16, 16), brightness=(50, 100), seed=0)
    assert sim.data.shape == (4, 6, 16, 16)
    assert len(sim.truth['species']) == 2


@pytest.mark.parametrize(
    ('kwargs', 'error', 'match'),
    [
        ({'brightness': '50'}, TypeError, 'brightness'),
        ({'brightness': (50, -1)}, ValueError, 'brightness'),
        ({'brightness': ()}, TypeError, 'brightness'),
        (
            {'brightness': (50, 100), 'diffusion': (1, 2, 3)},
            ValueError,
            'diffusion',
        ),
        ({'brightness': (50, 100), 'fraction': 1.5}, ValueError, 'fraction'),
        ({'immobile': 1.5}, ValueError, 'immobile'),
        ({'immobile': '0.3'}, TypeError, 'immobile'),
        ({'bleach_time': 0.0}, ValueError, 'bleach_time'),
        ({'bleach_time': '1'}, TypeError, 'bleach_time'),
    ],
)
def test_free_species_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        free(**{'shape': (2, 8, 8), **kwargs})
