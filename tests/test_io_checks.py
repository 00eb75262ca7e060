"""Tests of ipcf.io: nothing missing passes unseen; readers pickle."""

from __future__ import annotations

import logging
import pickle
import time

import numpy
import pytest
import tifffile
from numpy.testing import assert_array_equal

from ipcf import io
from ipcf.convert import convert
from ipcf.io import open_frames, open_series, stores


@pytest.fixture
def series():
    rng = numpy.random.default_rng(7)
    return rng.integers(0, 4000, (30, 12, 10)).astype(numpy.uint16)


# gaps in the numbering of a TIFF series -------------------------------


def write_frames(folder, data, numbers, name='frame{:05d}.tif'):
    folder.mkdir()
    for number, frame in zip(numbers, data, strict=False):
        tifffile.imwrite(folder / name.format(number), frame)
    return folder


def test_missing_frame_refused(tmp_path, series):
    folder = io.imwrite_series(tmp_path / 'frames', series)
    (folder / 'frame00017.tif').unlink()
    for source in (folder, str(folder / 'frame*.tif')):
        with pytest.raises(ValueError, match='frame00017.tif') as info:
            open_series(source)
        text = str(info.value)
        assert '1 file is missing' in text and "gaps='ignore'" in text
        assert text.count('\n') == 0
    # a list of files is taken as given
    files = sorted(folder.iterdir())
    assert open_series(files).shape == (29, 12, 10)


def test_missing_frames_counted(tmp_path, series):
    numbers = [n for n in range(40) if not 10 <= n < 18]
    folder = write_frames(tmp_path / 'f', series, numbers)
    with pytest.raises(ValueError, match='8 files are missing') as info:
        open_series(folder)
    text = str(info.value)
    assert 'frame00010.tif, frame00011.tif' in text
    assert 'and 3 more' in text and 'frame00017' not in text


def test_missing_frames_ignored(tmp_path, series, caplog):
    folder = write_frames(tmp_path / 'f', series, [0, 1, 2, 4, 5])
    with caplog.at_level(logging.WARNING, logger='ipcf'):
        lazy = open_series(folder, gaps='ignore')
    assert 'frame00003.tif' in caplog.text
    assert_array_equal(lazy[:], series[:5])
    with pytest.raises(ValueError, match='gaps='):
        open_series(folder, gaps='warn')


@pytest.mark.parametrize(
    ('numbers', 'name'),
    [
        (range(0, 60, 2), 'frame{:05d}.tif'),  # a constant step
        (range(1, 31), 't{}_c1.tif'),  # unpadded, a fixed second number
        (range(5, 35), 'img_{:03d}.tiff'),
    ],
)
def test_regular_numbering_passes(tmp_path, series, numbers, name):
    folder = write_frames(tmp_path / 'f', series, numbers, name)
    assert open_series(folder).shape == (30, 12, 10)


def test_irregular_numbering(tmp_path, series):
    folder = write_frames(tmp_path / 'f', series, [0, 1, 2, 3, 5, 7, 8])
    with pytest.raises(ValueError, match='missing') as info:
        open_series(folder)
    assert 'frame00004.tif, frame00006.tif' in str(info.value)


@pytest.mark.parametrize('regular', [True, False])
def test_irregular_time_stamps_warned(tmp_path, series, regular, caplog):
    times = numpy.arange(30) * 0.01
    if not regular:
        times[12:] += 0.01  # a frame dropped after frame 11
    path = tmp_path / 'movie.ome.tif'
    tifffile.imwrite(
        path,
        series,
        ome=True,
        photometric='minisblack',
        metadata={'axes': 'TYX', 'Plane': {'DeltaT': list(times)}},
    )
    with caplog.at_level(logging.WARNING, logger='ipcf'):
        lazy = open_series(path)
    assert_array_equal(lazy[:], series)
    assert ('irregular' in caplog.text) != regular
    if not regular:
        assert 'between frames 11 and 12: 0.02 s' in caplog.text


def test_convert_passes_gaps(tmp_path, series):
    folder = io.imwrite_series(tmp_path / 'frames', series)
    (folder / 'frame00003.tif').unlink()
    with pytest.raises(ValueError, match='frame00003.tif'):
        convert(folder, tmp_path / 'out.h5')
    out = convert(folder, tmp_path / 'out.h5', gaps='ignore')
    assert open_series(out).shape == (29, 12, 10)


# missing and damaged zarr chunks --------------------------------------


def zarr_store(path, data, zarr_format):
    import zarr

    root = zarr.open_group(path, mode='w', zarr_format=zarr_format)
    array = root.create_array(
        'data',
        shape=data.shape,
        dtype=data.dtype,
        chunks=(8, 4, 5),
        compressors=None,
        config={'write_empty_chunks': True},
    )
    array[:] = data
    return path


@pytest.mark.parametrize(
    ('zarr_format', 'chunk'), [(3, 'c/1/2/0'), (2, '1.2.0')]
)
def test_missing_zarr_chunk(tmp_path, series, zarr_format, chunk):
    path = zarr_store(tmp_path / 's.zarr', series, zarr_format)
    assert_array_equal(open_series(path)[:], series)
    (path / 'data' / chunk).unlink()
    with pytest.raises(ValueError, match='lacks 1 of its 24 chunks') as info:
        open_series(path)
    text = str(info.value)
    assert repr(chunk) in text and 's.zarr' in text
    assert text.count('\n') == 0
    lazy = open_series(path, gaps='ignore')
    expected = series.copy()
    expected[8:16, 8:12, 0:5] = 0  # the fill value
    assert_array_equal(lazy[:], expected)


def test_many_missing_zarr_chunks(tmp_path, series):
    path = zarr_store(tmp_path / 's.zarr', series, 3)
    for chunk in sorted((path / 'data' / 'c' / '2').rglob('*'))[::-1]:
        if chunk.is_file():
            chunk.unlink()
    with pytest.raises(ValueError, match='lacks 6 of its 24') as info:
        open_series(path)
    assert 'and 1 more' in str(info.value)


@pytest.mark.parametrize('zarr_format', [3, 2])
def test_damaged_zarr_chunk(tmp_path, series, zarr_format):
    path = zarr_store(tmp_path / 's.zarr', series, zarr_format)
    chunk = '0.1.1' if zarr_format == 2 else 'c/0/1/1'
    (path / 'data' / chunk).write_bytes(numpy.random.default_rng(0).bytes(25))
    lazy = open_series(path)
    assert_array_equal(lazy[:, :4], series[:, :4])  # other chunks read
    with pytest.raises(ValueError, match='is damaged') as info:
        lazy[:, 2:9, 3:8]
    text = str(info.value)
    assert repr(chunk) in text and 's.zarr' in text and "'data'" in text
    assert text.count('\n') == 0


def test_written_stores_are_complete(tmp_path):
    """ipcf writes every chunk, those equal to the fill value too."""
    data = numpy.zeros((10, 8, 8), numpy.uint16)
    for path in (
        io.imwrite(tmp_path / 'a.zarr', data, chunks=(5, 4, 4)),
        convert(data, tmp_path / 'b.zarr', chunks=(5, 4, 4)),
    ):
        assert_array_equal(open_series(path)[:], data)


# compression per format -------------------------------------------------


def test_compressions_constant():
    assert set(stores.COMPRESSIONS) == {'hdf5', 'zarr'}
    assert 'lzf' in stores.COMPRESSIONS['hdf5']
    assert 'lzf' not in stores.COMPRESSIONS['zarr']
    assert 'zstd' in stores.COMPRESSIONS['zarr']


@pytest.mark.parametrize(
    ('suffix', 'compression'),
    [
        (suffix, name)
        for suffix, kind in (('.h5', 'hdf5'), ('.zarr', 'zarr'))
        for name in stores.COMPRESSIONS[kind]
    ],
)
def test_every_compression_works(tmp_path, series, suffix, compression):
    out = convert(series, tmp_path / f'c{suffix}', compression=compression)
    assert_array_equal(open_series(out)[:], series)
    path = io.imwrite(tmp_path / f'w{suffix}', series, compression=compression)
    assert_array_equal(open_series(path)[:], series)


def test_compression_refused_per_format(tmp_path, series):
    with pytest.raises(ValueError, match="use None, 'zlib'") as info:
        convert(series, tmp_path / 'c.zarr', compression='lzf')
    assert 'zarr' in str(info.value) and "'lzf'" not in str(info.value)[30:]
    if 'zstd' not in stores.COMPRESSIONS['hdf5']:
        with pytest.raises(ValueError, match='hdf5plugin'):
            convert(series, tmp_path / 'c.h5', compression='zstd')
    assert list(tmp_path.iterdir()) == []


def test_missing_hdf5_filter(tmp_path, series, monkeypatch):
    import h5py

    path = io.imwrite(tmp_path / 'a.h5', series, compression='zlib')
    monkeypatch.setattr(h5py.h5z, 'filter_avail', lambda code: code != 1)
    with pytest.raises(ImportError, match=r'filter .*\(1\).*hdf5plugin'):
        open_series(path)


# readers pickle -----------------------------------------------------------


def _sources(tmp_path, data):
    yield 'tiff series', io.imwrite_series(tmp_path / 'frames', data), {}
    for name, options in (
        ('file.tif', {}),
        ('big.tif', {'byteorder': '>'}),
        ('zlib.tif', {'compression': 'zlib'}),
        ('bigzlib.tif', {'compression': 'zlib', 'byteorder': '>'}),
    ):
        path = tmp_path / name
        tifffile.imwrite(path, data, photometric='minisblack', **options)
        yield name, path, {}
    yield 'raw', io.imwrite(tmp_path / 'a.bin', data), {}
    path = tmp_path / 'big.bin'
    data.astype('>u2').tofile(path)
    yield 'raw big-endian', path, {'shape': data.shape, 'dtype': '>u2'}
    yield 'hdf5', io.imwrite(tmp_path / 'a.h5', data), {}
    yield 'zarr', io.imwrite(tmp_path / 'a.zarr', data), {}


def test_readers_pickle(tmp_path):
    rng = numpy.random.default_rng(1)
    data = rng.integers(0, 4000, (64, 32, 32)).astype(numpy.uint16)
    kinds = []
    for kind, path, options in _sources(tmp_path, data):
        lazy = open_frames(path, **options)
        text = pickle.dumps(lazy)
        assert len(text) < data.nbytes / 4, kind  # the file, not the data
        loaded = pickle.loads(text)
        assert loaded.shape == data.shape and loaded.dtype == data.dtype
        assert_array_equal(loaded[:], data, err_msg=kind)
        assert_array_equal(loaded[5:9, 3:20, 7], data[5:9, 3:20, 7])
        again = pickle.loads(pickle.dumps(loaded))
        assert_array_equal(again[-1], data[-1], err_msg=kind)
        kinds.append(type(lazy).__name__)
    assert len(set(kinds)) >= 5


def test_memmap_view_pickles_its_values(tmp_path, series):
    """Only a whole mapping pickles as its file; a view as its values."""
    lazy = open_frames(io.imwrite(tmp_path / 'a.bin', series))
    view = lazy[3:5, 2:4]
    assert_array_equal(pickle.loads(pickle.dumps(view)), series[3:5, 2:4])
    total = lazy.sum(axis=0)
    assert_array_equal(pickle.loads(pickle.dumps(total)), series.sum(axis=0))


# reading stops at the first bad file --------------------------------------


def test_tiff_series_stops_at_first_error(tmp_path, monkeypatch):
    data = numpy.zeros((200, 4, 4), numpy.uint16)
    folder = io.imwrite_series(tmp_path / 'frames', data)
    lazy = open_frames(folder, num_threads=2)
    reads = []
    original = lazy._read_rows

    def read_rows(frame, start, stop):
        reads.append(frame)
        time.sleep(0.005)
        if frame == 3:
            msg = f'{lazy.files[3]!r} is not a readable TIFF file'
            raise ValueError(msg)
        return original(frame, start, stop)

    monkeypatch.setattr(lazy, '_read_rows', read_rows)
    with pytest.raises(ValueError, match='frame00003.tif'):
        lazy[:]
    assert len(reads) < 50  # the other reads were cancelled
