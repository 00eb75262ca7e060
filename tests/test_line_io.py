"""Line-scan carpets from files, and line results in stores."""

from __future__ import annotations

import json

import numpy
import pytest

import ipcf
from ipcf.io import imwrite, open_series
from ipcf.line import open_carpet, pcf_line

tifffile = pytest.importorskip('tifffile')

DISTANCES = [0, 2, 4]


@pytest.fixture(scope='module')
def carpet():
    """A simulated (T, X) carpet with a known line time."""
    sim = ipcf.simulate.line_scan(shape=(256, 24), line_time=2e-3, seed=1)
    return sim.data


def _expected(carpet, **options):
    return pcf_line(carpet[:, None, :], distance=DISTANCES, nbins=8, **options)


def _same(result, expected):
    assert result.dims == expected.dims
    numpy.testing.assert_array_equal(result.values, expected.values)
    for name in ('x', 'offset', 'distance', 'delay', 'bin_edge', 'line'):
        numpy.testing.assert_array_equal(result[name], expected[name])


def test_tiff_of_lines_with_stored_line_time(tmp_path, carpet):
    lines = carpet[:, None, :]
    path = imwrite(tmp_path / 'lines.tif', lines, metadata={'line_time': 2e-3})
    data, line_time = open_carpet(path)
    assert data.shape == (256, 1, 24)
    assert line_time == 2e-3
    result = pcf_line(path, distance=DISTANCES, nbins=8)
    _same(result, _expected(carpet, line_time=2e-3))
    assert result.attrs['dt'] == 2e-3
    # an opened series gives the same, its line time too
    series = open_series(path)
    result = pcf_line(series, distance=DISTANCES, nbins=8)
    _same(result, _expected(carpet, line_time=2e-3))
    del series, data


def test_imagej_frame_interval_is_the_line_time(tmp_path, carpet):
    path = tmp_path / 'lines_ij.tif'
    tifffile.imwrite(
        path,
        carpet[:, None, :].astype(numpy.uint16),
        imagej=True,
        metadata={'axes': 'TYX', 'finterval': 5e-4},
    )
    result = pcf_line(path, distance=DISTANCES, nbins=8)
    assert result.attrs['dt'] == 5e-4
    _same(result, _expected(carpet, line_time=5e-4))
    # an explicit line time wins over the file's
    assert pcf_line(path, distance=2, nbins=8, line_time=1.0).attrs['dt'] == 1


@pytest.mark.parametrize('compression', [None, 'zlib'])
def test_tiff_of_one_page_is_time_by_position(tmp_path, carpet, compression):
    path = tmp_path / 'page.tif'
    tifffile.imwrite(
        path,
        carpet.astype(numpy.uint16),
        compression=compression,
        metadata={'metadata': json.dumps({'line_time': 1e-3})},
    )
    data, line_time = open_carpet(path)
    assert data.shape == (256, 1, 24)
    assert line_time == 1e-3
    numpy.testing.assert_array_equal(numpy.asarray(data)[:, 0], carpet)
    result = pcf_line(path, distance=DISTANCES, nbins=8)
    _same(result, _expected(carpet, line_time=1e-3))
    del data


def test_page_without_metadata_has_no_line_time(tmp_path, carpet):
    path = tmp_path / 'bare.tif'
    tifffile.imwrite(path, carpet.astype(numpy.uint16))
    assert open_carpet(path)[1] is None
    assert pcf_line(path, distance=2, nbins=8).attrs['dt'] == 1.0


def test_simfcs_carpet(tmp_path, carpet):
    pytest.importorskip('lfdfiles')
    lines = carpet.astype('<i2')
    path = tmp_path / 'cell_carpet.b64'
    path.write_bytes(numpy.int32(lines.shape[1]).tobytes() + lines.tobytes())
    series = open_series(path)
    assert series.shape == (256, 1, 24)
    numpy.testing.assert_array_equal(numpy.asarray(series)[:, 0], lines)
    result = pcf_line(path, distance=DISTANCES, nbins=8, line_time=1e-3)
    _same(result, _expected(carpet, line_time=1e-3))
    del series
    # without 'carpet' in its name the same bytes are no image stack
    other = tmp_path / 'cell.b64'
    other.write_bytes(path.read_bytes())
    with pytest.raises(ValueError, match='square images'):
        open_series(other)


def test_file_errors_are_one_line(tmp_path, carpet):
    path = imwrite(tmp_path / 'lines.tif', carpet[:, None, :])
    with pytest.raises(ValueError, match=r'distance=12 must be < 12') as info:
        pcf_line(path, distance=12)
    assert '\n' not in str(info.value)
    with pytest.raises(FileNotFoundError):
        open_carpet(tmp_path / 'missing.tif')
    short = imwrite(tmp_path / 'short.tif', carpet[:8, None, :])
    with pytest.raises(ValueError, match='8 frames; at least 16'):
        pcf_line(short, distance=2)


@pytest.mark.parametrize('suffix', ['h5', 'zarr', 'nc'])
@pytest.mark.parametrize('lines', [False, True])
def test_store_round_trip(tmp_path, carpet, suffix, lines):
    data = numpy.stack([carpet, carpet[:, ::-1]], axis=1) if lines else carpet
    result = pcf_line(data, distance=DISTANCES, nbins=8, line_time=1e-3)
    path = ipcf.save_result(result, tmp_path / f'line.{suffix}')
    loaded = ipcf.load_result(path)
    assert loaded.identical(result)
    assert loaded.attrs['kind'] == 'line'
