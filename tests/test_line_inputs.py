"""Inputs of the line-scan pCF: masks, saved simulations, 2-D pages.

- a mask of positions (array or file; X values or L x X) leaves the
  excluded centres NaN and the others equal to the unmasked result, in
  :func:`ipcf.pcf_line`, :func:`ipcf.line.analyze_line` and ``ipcf
  line --mask``;
- :meth:`ipcf.simulate.Simulation.save` of a line scan, of a detector
  array and of a volume series reads back, with its truth, through
  :func:`ipcf.io.open_series`, :func:`ipcf.line.open_carpet` and
  :func:`ipcf.detectors.read_detectors`;
- :func:`ipcf.io.open_series` refuses a single 2-D TIFF page in one line
  that points to :func:`ipcf.line.open_carpet`, which reads it.

"""

from __future__ import annotations

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import ipcf
from ipcf.cli import main
from ipcf.detectors import read_detectors, read_positions
from ipcf.io import open_series, read_metadata
from ipcf.line import analyze_line, line_mask, open_carpet, pcf_line
from ipcf.simulate import detector_array, free, line_scan
from ipcf.store import load_result

# Blocked and whole results are the same float32 sums, but BLAS picks its
# kernels by the size of each product, and kernels round differently:
# they agree within 1e-6 plus a few float32 roundings of G, not to the bit
FLOAT32 = {'rtol': 4e-6, 'atol': 1e-6}

tifffile = pytest.importorskip('tifffile')

DISTANCES = [1, 3]


@pytest.fixture(scope='module')
def sim():
    """A line scan of 512 scans of 24 positions."""
    return line_scan(shape=(512, 24), line_time=2e-3, seed=4)


@pytest.fixture(scope='module')
def mask():
    """Positions 6..9 and 20 excluded."""
    keep = numpy.ones(24, bool)
    keep[6:10] = False
    keep[20] = False
    return keep


def _masked_equal(result, expected, excluded):
    """Excluded centres NaN, the others equal to the unmasked result."""
    values = numpy.asarray(result)
    x = result['x'].values
    gone = numpy.isin(x, excluded)
    assert numpy.isnan(values[..., gone, :, :]).all()
    kept = values[..., ~gone, :, :]
    assert numpy.isfinite(kept).all()
    assert_allclose(kept, numpy.asarray(expected)[..., ~gone, :, :], **FLOAT32)


def test_line_mask_shapes_and_files(tmp_path, mask):
    two = numpy.stack([mask, ~mask])
    assert_array_equal(line_mask(mask, (1, 24)), mask[None])
    assert_array_equal(line_mask(mask.astype(float), (2, 24)), [mask, mask])
    assert_array_equal(line_mask(two.astype(numpy.uint8), (2, 24)), two)
    numpy.save(tmp_path / 'm.npy', mask)
    assert_array_equal(line_mask(tmp_path / 'm.npy', (1, 24)), mask[None])
    # a TIFF of one row: its axes of length 1 are dropped
    tifffile.imwrite(tmp_path / 'm.tif', mask.astype(numpy.uint8)[None])
    assert_array_equal(line_mask(tmp_path / 'm.tif', (3, 24)), [mask] * 3)
    tifffile.imwrite(tmp_path / 'two.tif', two.astype(numpy.uint8) * 255)
    assert_array_equal(line_mask(str(tmp_path / 'two.tif'), (2, 24)), two)


def test_line_mask_errors(tmp_path, mask):
    with pytest.raises(ValueError, match=r'expected \(24,\) or \(2, 24\)'):
        line_mask(mask[:20], (2, 24))
    with pytest.raises(ValueError, match=r'expected \(24,\), a value'):
        line_mask(numpy.stack([mask, mask]), (1, 24))
    with pytest.raises(TypeError, match='not boolean or integer'):
        line_mask(numpy.full(24, 0.5), (1, 24))
    with pytest.raises(FileNotFoundError, match='mask file not found'):
        line_mask(tmp_path / 'none.npy', (1, 24))
    (tmp_path / 'bad.npy').write_text('not numpy')
    with pytest.raises(ValueError, match='cannot read the mask'):
        line_mask(tmp_path / 'bad.npy', (1, 24))
    with pytest.raises(ValueError, match='selects no pixel'):
        pcf_line(numpy.ones((64, 24)), distance=3, mask=~numpy.ones(24, bool))


@pytest.mark.parametrize('periodic', [False, True])
def test_pcf_line_mask(sim, mask, periodic):
    """2-D and 3-D carpets, the reference and the default engine."""
    options = {'distance': DISTANCES, 'nbins': 8, 'periodic': periodic}
    excluded = numpy.flatnonzero(~mask)
    for engine in ('reference', 'auto'):
        expected = pcf_line(sim.data, engine=engine, **options)
        result = pcf_line(sim.data, mask=mask, engine=engine, **options)
        assert result.dims == expected.dims
        _masked_equal(result, expected, excluded)
    # (T, L, X): a mask of X positions applies to every line
    lines = numpy.stack([sim.data, sim.data[:, ::-1]], axis=1)
    expected = pcf_line(lines, **options)
    result = pcf_line(lines, mask=mask, **options)
    _masked_equal(result, expected, excluded)


def test_analyze_line_and_cli_mask(sim, mask, tmp_path, capsys):
    path = sim.save(tmp_path / 'carpet.tif')
    tifffile.imwrite(tmp_path / 'mask.tif', mask.astype(numpy.uint8))
    expected = pcf_line(sim.data[:, None, :], distance=DISTANCES, nbins=8)
    excluded = numpy.flatnonzero(~mask)
    stored = analyze_line(
        path, tmp_path / 'lib.h5', distance=DISTANCES, nbins=8, mask=mask
    )
    _masked_equal(load_result(stored), expected, excluded)
    out = tmp_path / 'cli.h5'
    argv = ['--quiet', 'line', str(path), str(out), '--distance', '1', '3']
    argv += [
        '--bins',
        '8',
        '--block',
        '7',
        '--mask',
        str(tmp_path / 'mask.tif'),
    ]
    assert main(argv) == 0
    result = load_result(out)
    _masked_equal(result, expected, excluded)
    assert_allclose(result.values, load_result(stored).values, **FLOAT32)
    # a circular orbit: the mask wraps with the positions
    out = tmp_path / 'orbit.h5'
    numpy.save(tmp_path / 'mask.npy', mask)
    argv = ['--quiet', 'line', str(path), str(out), '--distance', '3']
    argv += ['--periodic', '--bins', '8', '--mask', str(tmp_path / 'mask.npy')]
    assert main(argv) == 0
    expected = pcf_line(
        sim.data[:, None, :], distance=3, nbins=8, periodic=True
    )
    _masked_equal(load_result(out), expected, excluded)
    capsys.readouterr()
    # a mask of another length: one line naming the file
    numpy.save(tmp_path / 'short.npy', mask[:10])
    argv[-1] = str(tmp_path / 'short.npy')
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert '\n' not in err
    assert "short.npy' of shape (10,) does not match the carpet" in err


@pytest.mark.parametrize('suffix', ['.tif', '.h5', '.zarr', '.bin'])
def test_save_line_scan_round_trip(sim, tmp_path, suffix):
    if suffix == '.zarr':
        pytest.importorskip('zarr')
    path = sim.save(tmp_path / f'line{suffix}')
    series = open_series(path)
    assert series.shape == (512, 1, 24)
    assert_array_equal(numpy.asarray(series)[:, 0], sim.data)
    del series
    assert read_metadata(path) == sim.truth
    carpet, line_time = open_carpet(path)
    assert line_time == sim.truth['line_time'] == 2e-3
    assert_array_equal(numpy.asarray(carpet)[:, 0], sim.data)
    del carpet
    # the pCF of the file is that of the array, with its line time
    result = pcf_line(path, distance=2, nbins=8)
    expected = pcf_line(sim.data[:, None, :], distance=2, nbins=8, dt=2e-3)
    assert_array_equal(result.values, expected.values)
    assert result.attrs['dt'] == 2e-3
    with pytest.raises(FileExistsError):
        sim.save(path)
    assert sim.save(path, overwrite=True) == path


@pytest.mark.parametrize('suffix', ['.tif', '.h5'])
def test_save_detector_array_round_trip(tmp_path, suffix):
    sim = detector_array(frames=256, positions='square5', pitch=0.1, seed=2)
    path = sim.save(tmp_path / f'array{suffix}')
    counts, metadata = read_detectors(path)
    assert_array_equal(counts, sim.data)
    assert metadata == sim.truth
    assert_allclose(
        metadata['positions'],
        ipcf.detectors.detector_positions('square5', pitch=0.1),
    )


@pytest.mark.parametrize('name', ['volume.tif', 'volume.ome.tif'])
def test_save_volume_round_trip(tmp_path, name):
    sim = free(shape=(16, 3, 10, 12), seed=5)
    assert sim.volume
    path = sim.save(tmp_path / name)
    series = open_series(path)
    assert series.dims == ('T', 'Z', 'Y', 'X')
    assert_array_equal(numpy.asarray(series), sim.data)
    del series
    assert read_metadata(path)['kind'] == 'free'
    assert {
        k: v for k, v in read_metadata(path).items() if k in sim.truth
    } == (sim.truth)
    # the 3-D pCF of the file is that of the array
    # (its plane spacing taken from the file's truth)
    ratio = sim.truth['pixel_size_z'] / sim.truth['pixel_size']
    options = {'radius': 2, 'npoints': 4, 'nbins': 4}
    result = ipcf.pcf_image(path, **options)
    expected = ipcf.pcf_image(sim.data, z_ratio=ratio, **options)
    assert result.dims == expected.dims
    assert_array_equal(result.values, expected.values)
    with pytest.raises(FileExistsError):
        sim.save(path)


def test_save_volume_refuses_other_formats(tmp_path):
    sim = free(shape=(4, 2, 8, 8), seed=0)
    with pytest.raises(ValueError, match=r'written as a TIFF') as info:
        sim.save(tmp_path / 'volume.h5')
    assert '\n' not in str(info.value)
    assert not (tmp_path / 'volume.h5').exists()


def test_single_page_points_to_the_carpet_reader(sim, tmp_path, capsys):
    path = tmp_path / 'page.tif'
    tifffile.imwrite(path, sim.data)
    with pytest.raises(ValueError, match='ipcf.line.open_carpet') as info:
        open_series(path)
    assert '\n' not in str(info.value)
    assert 'holds a single (512, 24) image' in str(info.value)
    carpet, line_time = open_carpet(path)
    assert carpet.shape == (512, 1, 24) and line_time is None
    assert_array_equal(carpet[:, 0], sim.data)
    del carpet
    # the command that reads series says the same in one line
    assert main(['analyze', str(path), str(tmp_path / 'out.h5')]) == 2
    err = capsys.readouterr().err.strip()
    assert '\n' not in err and 'ipcf line' in err


def test_read_positions(tmp_path):
    xy = numpy.array([[0.0, 0.0], [0.05, 0.0], [-0.025, 0.0433]])
    (tmp_path / 'a.csv').write_text(
        'x, y\n' + ''.join(f'{x}, {y}\n' for x, y in xy)
    )
    (tmp_path / 'b.txt').write_text(
        '# element centres in um\n' + ''.join(f'{x} {y}\n' for x, y in xy)
    )
    numpy.save(tmp_path / 'c.npy', xy)
    for name in ('a.csv', 'b.txt', 'c.npy'):
        assert_array_equal(read_positions(tmp_path / name), xy)
    (tmp_path / 'bad.csv').write_text('x,y\n0,0\nz,1\n')
    with pytest.raises(ValueError, match="line 3 is not numbers: 'z,1'"):
        read_positions(tmp_path / 'bad.csv')
    numpy.save(tmp_path / 'three.npy', numpy.zeros((4, 3)))
    with pytest.raises(ValueError, match=r'\(4, 3\); expected \(ndet, 2\)'):
        read_positions(tmp_path / 'three.npy')
    with pytest.raises(FileNotFoundError, match='positions file not found'):
        read_positions(tmp_path / 'none.csv')
