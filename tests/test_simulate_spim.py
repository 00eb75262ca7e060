"""Tests of ipcf.simulate.spim, the light-sheet TIFF series writer."""

from __future__ import annotations

import json
import math

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from ipcf import simulate


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


def test_spim_overwrite_not_a_directory(tmp_path):
    out = tmp_path / 'cell'
    out.write_text('a file')
    with pytest.raises(FileExistsError, match='not a directory'):
        spim_series(out, overwrite=True)
    assert out.read_text() == 'a file'


def test_spim_progress(tmp_path, capsys):
    """The progress bar of bytes written goes to stderr, only if asked."""
    spim_series(tmp_path / 'a', progress=True)
    captured = capsys.readouterr()
    assert 'writing a' in captured.err
    assert captured.out == ''
    spim_series(tmp_path / 'b')
    assert capsys.readouterr().err == ''


@pytest.mark.parametrize(
    ('kwargs', 'error', 'match'),
    [
        ({'tile': 4}, ValueError, 'tile=4'),
        ({'tile': 32.0}, TypeError, 'tile'),
        ({'bleach_time': -1.0}, ValueError, 'bleach_time'),
        ({'bleach_time': '15'}, TypeError, 'bleach_time'),
        ({'read_noise': -1.0}, ValueError, 'read_noise'),
        ({'read_noise': True}, TypeError, 'read_noise'),
        ({'border': float('nan')}, ValueError, 'border'),
        ({'offset': 40000.0}, ValueError, 'offset'),
        ({'offset': -1.0}, ValueError, 'offset'),
        ({'diffusion': (1.0, 2.0)}, ValueError, 'one diffusion'),
        ({'diffusion': '4'}, TypeError, 'diffusion'),
        ({'shape': (0, 8, 8)}, ValueError, 'shape'),
        ({'cell': (1.0, -1.0)}, ValueError, r'cell\[1\]'),
        ({'prefix': 'a/b'}, ValueError, 'prefix'),
        ({'prefix': 3}, TypeError, 'prefix'),
        ({'overwrite': 1}, TypeError, 'overwrite'),
        ({'progress': 'yes'}, TypeError, 'progress'),
        ({'num_threads': True}, TypeError, 'num_threads'),
        ({'num_threads': -1}, ValueError, 'num_threads'),
    ],
)
def test_spim_bad_arguments(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        simulate.spim(tmp_path / 'cell', **{'shape': (2, 32, 32), **kwargs})
    assert not (tmp_path / 'cell').exists()


def test_spim_public():
    assert 'spim' in simulate.__all__


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
