"""Tests of the maps of results of several planes and channel pairs.

A 2-channel, 2-plane OME-TIFF of particles seen in both channels is
analysed with ipcf.analyze; the maps of the whole result, in memory and
in blocks of a stored one, must equal the maps of each
``result.sel(z=..., channel=..., neighbour_channel=...)``, and the
blocked maps must read one selection's block of rows at a time.
"""

from __future__ import annotations

import pytest
from numpy.testing import assert_allclose, assert_array_equal

import ipcf
from ipcf.analysis import load_maps, maps, select, write_maps
from ipcf.cli import main

UNITS = {'pixel_size': 0.1, 'w': 0.25}
OPTIONS = {'radius': 2, 'npoints': 8, 'nbins': 12, 'bleach': None}
NAMES = ['GFP', 'mCherry']


@pytest.fixture(scope='module')
def cell(tmp_path_factory, two_channel_spots, write_cell):
    stack = two_channel_spots(
        seed=3, frames=512, planes=2, size=18, count=10, step=0.4,
        step_per_plane=0.2,
    )  # fmt: skip
    path = tmp_path_factory.mktemp('cell') / 'cell.ome.tif'
    return write_cell(path, stack, NAMES)


@pytest.fixture(scope='module')
def stored(cell, tmp_path_factory):
    out = tmp_path_factory.mktemp('result') / 'r.h5'
    return ipcf.analyze(cell, out, **OPTIONS)


@pytest.fixture(scope='module')
def result(stored):
    return ipcf.load_result(stored)


@pytest.fixture(scope='module')
def whole(result):
    return maps(result, **UNITS)


def assert_same(actual, expected, rtol=0.0):
    """Maps of one selection equal: every variable and attribute."""
    assert set(actual.data_vars) == set(expected.data_vars)
    for name, var in expected.data_vars.items():
        if var.dtype == bool or rtol == 0:
            assert_array_equal(actual[name], var, err_msg=name)
        else:
            assert_allclose(actual[name], var, rtol=rtol, err_msg=name)
    assert set(actual.attrs) == set(expected.attrs)
    for key, value in expected.attrs.items():
        if isinstance(value, float):
            assert_allclose(actual.attrs[key], value, rtol=1e-12, err_msg=key)
        else:
            assert actual.attrs[key] == value, key


def pairs():
    return [(z, c, n) for z in (0, 1) for c in (0, 1) for n in (0, 1)]


def test_maps_have_the_result_dims(result, whole):
    """z first, the channel dims after x; pooled fit per selection."""
    assert result.dims[:5] == ('z', 'y', 'x', 'channel', 'neighbour_channel')
    assert whole['peak_delay'].dims == (
        'z', 'y', 'x', 'channel', 'neighbour_channel', 'point'
    )  # fmt: skip
    assert whole['D'].dims == ('z', 'y', 'x', 'channel', 'neighbour_channel')
    assert whole['noise'].dims == ('z', 'channel', 'neighbour_channel',
                                   'delay')  # fmt: skip
    assert whole['D_pooled'].dims == ('z', 'channel', 'neighbour_channel')
    assert whole['channel_name'].values.tolist() == NAMES
    rows = whole.attrs['D_pooled_selections']
    assert [(r['z'], r['channel'], r['neighbour_channel']) for r in rows] == (
        pairs()
    )


@pytest.mark.parametrize(('z', 'channel', 'neighbour'), pairs())
def test_each_selection_equals_its_maps(result, whole, z, channel, neighbour):
    """The maps of a selection are the maps of result.sel(...) of it."""
    one = result.sel(z=z, channel=channel, neighbour_channel=neighbour)
    expected = maps(one, **UNITS)
    got = select(whole, z=z, channel=channel, neighbour_channel=neighbour)
    assert_same(got, expected)
    assert int(got['z']) == z and got['channel_name'].item() == NAMES[channel]


def test_stored_maps_in_blocks_equal(stored, whole):
    """Blocks of 3 rows of the stored result give the same maps."""
    blocked = maps(stored, **UNITS, rows=3)
    for z, c, n in pairs():
        at = {'z': z, 'channel': c, 'neighbour_channel': n}
        assert_same(select(blocked, **at), select(whole, **at), rtol=1e-12)


def test_blocked_reads_one_selection_and_block(stored, monkeypatch):
    """Every read is of one plane and channel pair, a block of rows."""
    from ipcf.analysis import _blocked

    reads = []
    original = _blocked._Rows.__getitem__

    def spy(self, key):
        reads.append(key)
        return original(self, key)

    monkeypatch.setattr(_blocked._Rows, '__getitem__', spy)
    maps(stored, **UNITS, rows=4, window=3)
    assert reads
    for key in reads:
        z, rows, columns, channel, neighbour = key[:5]
        assert isinstance(z, int) and isinstance(channel, int)
        assert isinstance(neighbour, int)
        assert rows.stop - rows.start <= 4 + 2  # block and halo
        assert columns == slice(None)


def test_write_maps_and_restrict(stored, whole, tmp_path):
    """write_maps writes the same; z= and channel= restrict the maps."""
    path = write_maps(stored, tmp_path / 'm.h5', **UNITS, rows=5)
    loaded = load_maps(path)
    for name, var in whole.data_vars.items():
        assert_allclose(loaded[name], var, rtol=1e-12, err_msg=name)
    assert (
        loaded.attrs['D_pooled_selections']
        == (whole.attrs['D_pooled_selections'])
    )
    part = write_maps(
        stored, tmp_path / 'p.zarr', **UNITS, z=1, channel=[1],
        neighbour_channel=[0, 1],
    )  # fmt: skip
    part = load_maps(part)
    assert part['D'].dims == ('y', 'x', 'channel', 'neighbour_channel')
    assert_allclose(part['D'], whole['D'].sel(z=1, channel=[1]), rtol=1e-12)
    one = maps(result_of(stored), **UNITS, z=0, channel=1,
               neighbour_channel=0)  # fmt: skip
    at = {'z': 0, 'channel': 1, 'neighbour_channel': 0}
    assert_same(one.drop_vars(['z', 'channel', 'neighbour_channel',
                               'channel_name', 'neighbour_channel_name']),
                select(whole, **at).drop_vars(
                    ['z', 'channel', 'neighbour_channel', 'channel_name',
                     'neighbour_channel_name']))  # fmt: skip
    with pytest.raises(ValueError, match=r'channel=5 is not among'):
        maps(stored, **UNITS, channel=5)


def result_of(path):
    return ipcf.load_result(path)


def test_no_cross_result(cell, tmp_path):
    """Autos only: a channel dim, no neighbour_channel."""
    out = ipcf.analyze(cell, tmp_path / 'a.h5', cross=False, z=1, **OPTIONS)
    autos = ipcf.load_result(out)
    got = maps(out, **UNITS)
    assert got['D'].dims == ('y', 'x', 'channel')
    for c in (0, 1):
        expected = maps(autos.sel(channel=c), **UNITS)
        assert_same(select(got, channel=c).drop_vars(['channel',
                                                      'channel_name']),
                    expected.drop_vars(['channel', 'channel_name']),
                    rtol=1e-12)  # fmt: skip


def test_select_says_what_to_choose(whole, result):
    """One line naming the dims and their labels; the only one is taken."""
    with pytest.raises(ValueError, match=r'z \[0, 1\] and channel \[0, 1\]'):
        select(result, neighbour_channel=1)
    plane = result.sel(z=[1])
    with pytest.raises(ValueError) as info:
        select(plane, channel=0)
    assert '\n' not in str(info.value)
    assert 'neighbour_channel [0, 1]' in str(info.value)
    assert select(plane, channel=0, neighbour_channel=1).dims == (
        'y', 'x', 'point', 'delay'
    )  # fmt: skip
    with pytest.raises(ValueError, match='no z dim'):
        select(result.sel(z=0), z=1)


def test_cli_maps_channel_and_z(stored, whole, tmp_path, capsys):
    """ipcf maps --channel --z: the maps of those, a line each."""
    out = tmp_path / 'cli.h5'
    args = ['maps', str(stored), str(out), '--psf-radius', '0.25',
            '--pixel-size', '0.1', '--channel', '0,1', '--z', '1']  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    lines = [line for line in text.splitlines() if 'neighbour_channel' in line]
    assert len(lines) == 4  # one per channel pair
    got = load_maps(out)
    assert got['D'].dims == ('y', 'x', 'channel', 'neighbour_channel')
    assert_allclose(got['D'], whole['D'].sel(z=1), rtol=1e-12)
