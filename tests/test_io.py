"""Tests of ipcf.io: readers and writers of image series."""

import json
import os
import sys

import numpy
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from ipcf.io import (
    TiffSeries,
    _output,
    imread,
    imwrite,
    imwrite_series,
    info,
    open_frames,
    open_series,
    read_metadata,
    tiff,
)
from ipcf.io._lazy import ArrayView

METADATA = {'frame_time': 0.001, 'truth': {'diffusion': 4.0, 'seed': [1, 2]}}
SUFFIXES = ['.bin', '.tif', '.ome.tif', '.h5', '.zarr']


@pytest.fixture
def series():
    """Small seeded uint16 series (T, H, W)."""
    rng = numpy.random.default_rng(42)
    return rng.integers(0, 4000, (12, 9, 7), dtype=numpy.uint16)


@pytest.fixture
def frames_dir(tmp_path, series):
    """Directory of one big-endian TIFF per frame, unpadded names."""
    directory = tmp_path / 'frames'
    directory.mkdir()
    for t, frame in enumerate(series):
        tifffile.imwrite(directory / f'frame{t}.tif', frame, byteorder='>')
    return directory


def listing(directory):
    return sorted(os.listdir(directory))


def assert_slices(lazy, expected):
    """Basic slices of a lazy series equal those of numpy.

    h5py and zarr arrays, returned as they are, take no negative steps.
    """
    negative = not any(
        c.__module__.startswith(('h5py', 'zarr')) for c in type(lazy).__mro__
    )
    keys = [
        (slice(None),),
        (3,),
        (-1,),
        (slice(2, 9, 3), slice(1, 8), slice(None, None, 2)),
        (slice(None, None, -2), 4, slice(6, 0, -3)),
        (slice(10, 3, -2), slice(None, None, -1), -1),
        (Ellipsis, 2),
        (5, 3, 2),
        (slice(3, 3), slice(None), slice(None)),
        (slice(1, 4), slice(2, 2)),
        (numpy.int64(2), slice(-3, None)),
    ]
    for key in keys:
        if not negative and any(
            isinstance(k, slice) and (k.step or 1) < 0 for k in key
        ):
            continue
        result = lazy[key]
        assert isinstance(result, numpy.ndarray | numpy.generic), key
        assert_array_equal(result, expected[key], err_msg=str(key))
        assert numpy.asarray(result).dtype == expected.dtype
    assert_array_equal(numpy.asarray(lazy), expected)


@pytest.mark.parametrize('suffix', SUFFIXES)
@pytest.mark.parametrize('dtype', ['uint8', 'uint16', 'int32', 'float32'])
def test_round_trip(tmp_path, series, suffix, dtype):
    data = series.astype(dtype)
    original = data.copy()
    path = imwrite(tmp_path / f'movie{suffix}', data, metadata=METADATA)
    assert path == tmp_path / f'movie{suffix}'
    assert_array_equal(data, original)
    lazy = open_series(path)
    assert lazy.shape == data.shape
    assert lazy.ndim == 3
    assert numpy.dtype(lazy.dtype) == data.dtype
    assert_slices(lazy, data)
    assert read_metadata(path) == METADATA
    assert_array_equal(imread(path), data)


@pytest.mark.parametrize(
    ('suffix', 'compression'),
    [
        ('.tif', 'zlib'),
        ('.tif', 'lzma'),
        ('.h5', 'zlib'),
        ('.h5', 'lzf'),
        ('.zarr', 'zlib'),
        ('.zarr', 'zstd'),
    ],
)
def test_round_trip_compressed(tmp_path, series, suffix, compression):
    path = tmp_path / f'movie{suffix}'
    imwrite(path, series, compression=compression, metadata={'a': 1})
    lazy = open_series(path)
    assert_slices(lazy, series)
    assert read_metadata(path) == {'a': 1}


def test_bigtiff(tmp_path, series, monkeypatch):
    path = imwrite(tmp_path / 'classic.tif', series)
    with tifffile.TiffFile(path) as tif:
        assert not tif.is_bigtiff
    monkeypatch.setattr(tiff, '_BIGTIFF_BYTES', series.nbytes - 1)
    path = imwrite(tmp_path / 'big.tif', series, metadata=METADATA)
    with tifffile.TiffFile(path) as tif:
        assert tif.is_bigtiff
    assert_slices(open_series(path), series)
    assert read_metadata(path) == METADATA


@pytest.mark.parametrize('suffix', ['.h5', '.zarr'])
def test_chunks(tmp_path, series, suffix):
    path = imwrite(tmp_path / f'movie{suffix}', series)
    assert info(path)['chunks'] == (12, 9, 7)
    big = numpy.zeros((600, 40, 20), numpy.uint16)
    path = imwrite(tmp_path / f'big{suffix}', big)
    assert info(path)['chunks'] == (512, 16, 16)
    path = imwrite(tmp_path / f'own{suffix}', series, chunks=(5, 4, 100))
    assert info(path)['chunks'] == (5, 4, 7)
    assert_array_equal(open_series(path)[:], series)


def test_chunks_errors(tmp_path, series):
    with pytest.raises(ValueError, match='HDF5 and zarr'):
        imwrite(tmp_path / 'a.tif', series, chunks=(1, 2, 3))
    with pytest.raises(TypeError, match='three integers'):
        imwrite(tmp_path / 'a.h5', series, chunks=(1, 2))
    with pytest.raises(ValueError, match='positive'):
        imwrite(tmp_path / 'a.h5', series, chunks=(0, 2, 2))
    with pytest.raises(ValueError, match="compression='lzf'"):
        imwrite(tmp_path / 'a.tif', series, compression='lzf')
    with pytest.raises(ValueError, match='not supported for raw'):
        imwrite(tmp_path / 'a.bin', series, compression='zlib')
    assert listing(tmp_path) == []


def test_raw_sidecar(tmp_path, series):
    path = imwrite(tmp_path / 'Simulation_Channel.bin', series, metadata={})
    sidecar = tmp_path / 'Simulation_Channel.bin.json'
    content = json.loads(sidecar.read_text())
    assert content['shape'] == [12, 9, 7]
    assert content['dtype'] == 'uint16'
    assert content['byteorder'] == '<'
    assert content['metadata'] == {}
    assert path.read_bytes() == series.astype('<u2').tobytes()
    lazy = open_frames(path)
    assert isinstance(lazy, numpy.memmap)
    # <stem>.json is accepted too
    sidecar.rename(tmp_path / 'Simulation_Channel.json')
    assert open_frames(path).shape == series.shape


def test_raw_without_sidecar(tmp_path, series):
    path = tmp_path / 'raw.bin'
    series.astype('<u2').tofile(path)
    with pytest.raises(ValueError, match='shape') as exc:
        open_series(path)
    assert 'raw.bin' in str(exc.value)
    assert_array_equal(open_series(path, shape=series.shape)[:], series)
    assert_array_equal(open_series(path, shape=(9, 7))[:], series)
    assert read_metadata(path) == {}
    # explicit dtypes, little- and big-endian
    as_float = series.astype('<f4')
    as_float.tofile(path)
    lazy = open_series(path, shape=(9, 7), dtype='float32')
    assert_array_equal(lazy[:], as_float)
    series.astype('>u2').tofile(path)
    lazy = open_series(path, shape=(9, 7), dtype='>u2')
    assert lazy.dtype == numpy.uint16
    assert lazy[2].dtype.isnative
    assert_slices(lazy, series)


def test_raw_wrong_size(tmp_path, series):
    path = imwrite(tmp_path / 'movie.bin', series)
    with open(path, 'r+b') as fh:
        fh.truncate(path.stat().st_size - 10)
    with pytest.raises(ValueError, match='truncated') as exc:
        open_series(path)
    message = str(exc.value)
    assert 'movie.bin' in message
    assert str(series.nbytes) in message
    assert str(series.nbytes - 10) in message
    assert '\n' not in message
    with pytest.raises(ValueError, match='multiple'):
        open_series(path, shape=(9, 7))
    with pytest.raises(ValueError, match='2 or 3 integers'):
        open_series(path, shape=(2, 3, 4, 5))


def test_raw_options_elsewhere(tmp_path, series):
    path = imwrite(tmp_path / 'movie.tif', series)
    with pytest.raises(ValueError, match='raw'):
        open_series(path, shape=(12, 9, 7))
    with pytest.raises(ValueError, match='HDF5 and zarr'):
        open_series(path, key='data')


@pytest.mark.parametrize('byteorder', ['<', '>'])
@pytest.mark.parametrize('compression', [None, 'zlib'])
def test_tiff_file_byteorder(tmp_path, series, byteorder, compression):
    path = tmp_path / 'movie.tif'
    tifffile.imwrite(
        path, series, byteorder=byteorder, compression=compression
    )
    lazy = open_series(path)
    assert lazy.dtype == numpy.uint16
    assert_slices(lazy, series)
    assert lazy[1].dtype.isnative


def test_tiff_file_without_zarr(tmp_path, series, monkeypatch):
    path = tmp_path / 'movie.tif'
    tifffile.imwrite(path, series, compression='zlib')
    monkeypatch.setitem(sys.modules, 'zarr', None)
    assert_slices(open_series(path), series)


def test_tiff_file_shapes(tmp_path, series):
    # ImageJ hyperstack with singleton Z and C
    path = tmp_path / 'imagej.tif'
    tifffile.imwrite(path, series[:, None, None], imagej=True)
    assert_slices(open_series(path), series)
    # a 4-D series with a singleton dimension is squeezed
    path = tmp_path / 'four.tif'
    tifffile.imwrite(path, series[:, None], metadata={'axes': 'TZYX'})
    assert open_series(path).shape == series.shape
    # one frame written by imwrite keeps T = 1
    path = imwrite(tmp_path / 'one.tif', series[:1])
    assert open_series(path).shape == (1, 9, 7)
    # OME-TIFF
    path = tmp_path / 'ome.ome.tif'
    tifffile.imwrite(path, series, metadata={'axes': 'TYX'})
    assert_slices(open_series(path), series)
    # BigTIFF
    path = tmp_path / 'big.tif'
    tifffile.imwrite(path, series, bigtiff=True)
    assert_slices(open_series(path), series)


def test_tiff_file_not_a_series(tmp_path, series):
    path = tmp_path / 'single.tif'
    tifffile.imwrite(path, series[0])
    with pytest.raises(ValueError, match='single') as exc:
        open_series(path)
    assert 'single.tif' in str(exc.value)
    path = tmp_path / 'rgb.tif'
    tifffile.imwrite(path, numpy.zeros((4, 8, 8, 3), numpy.uint8))
    with pytest.raises(ValueError, match=r'expected \(T, H, W\)'):
        open_series(path)
    path = tmp_path / 'five.tif'
    tifffile.imwrite(
        path,
        numpy.zeros((2, 3, 4, 5, 6), numpy.uint8),
        photometric='minisblack',
    )
    with pytest.raises(ValueError, match=r'\(2, 3, 4, 5, 6\)'):
        open_series(path)


def test_tiff_file_truncated_and_corrupt(tmp_path, series):
    path = tmp_path / 'movie.tif'
    for compression in (None, 'zlib'):
        tifffile.imwrite(path, series, compression=compression)
        with open(path, 'r+b') as fh:
            fh.truncate(600)
        with pytest.raises(ValueError, match='movie.tif.*truncated'):
            open_series(path)[:]
    path.write_bytes(b'garbage' * 20)
    with pytest.raises(ValueError, match='not a readable TIFF') as exc:
        open_series(path)
    assert 'movie.tif' in str(exc.value)


@pytest.mark.parametrize('kind', ['directory', 'glob', 'list', 'tuple'])
def test_tiff_series_sources(frames_dir, series, kind):
    names = listing(frames_dir)
    assert names[:3] == ['frame0.tif', 'frame1.tif', 'frame10.tif']
    if kind == 'directory':
        source = frames_dir
    elif kind == 'glob':
        source = str(frames_dir / 'frame*.tif')
    else:
        files = [frames_dir / f'frame{t}.tif' for t in range(len(series))]
        source = files if kind == 'list' else tuple(map(str, files))
    lazy = open_frames(source, num_threads=2)
    assert isinstance(lazy, TiffSeries)
    assert lazy.shape == series.shape
    assert lazy.dtype == numpy.uint16
    assert lazy.dtype.isnative
    assert_slices(lazy, series)
    assert lazy[:].dtype.isnative
    assert lazy.files[2].endswith('frame2.tif')
    assert lazy.files[10].endswith('frame10.tif')


def test_tiff_series_natural_sort(tmp_path, series):
    for t in (10, 2, 1):
        tifffile.imwrite(tmp_path / f'frame{t}.tif', series[t])
    (tmp_path / '._frame3.tif').write_bytes(b'resource fork')
    (tmp_path / 'notes.txt').write_text('not a frame')
    lazy = open_frames(tmp_path, gaps='ignore')  # 3 to 9 are missing
    assert [os.path.basename(f) for f in lazy.files] == [
        'frame1.tif',
        'frame2.tif',
        'frame10.tif',
    ]
    assert_array_equal(lazy[:], series[[1, 2, 10]])


def test_tiff_series_threads(frames_dir, series):
    for num_threads in (1, 3):
        lazy = open_series(frames_dir, num_threads=num_threads)
        assert_array_equal(lazy[1:11, 2:5, 3], series[1:11, 2:5, 3])


def test_tiff_series_compressed(tmp_path, series):
    imwrite_series(tmp_path / 'out', series, compression='zlib')
    assert_slices(open_series(tmp_path / 'out'), series)


def bad_file(path, kind, series):
    """Turn one frame file of the series into a bad one."""
    if kind == 'garbage':
        path.write_bytes(b'\x00garbage' * 50)
    elif kind == 'missing':
        path.unlink()
    elif kind == 'truncated':
        data = path.read_bytes()
        path.write_bytes(data[: len(data) - 20])
    elif kind == 'shape':
        tifffile.imwrite(path, series[0, :5])
    elif kind == 'dtype':
        tifffile.imwrite(path, series[0].astype(numpy.float32))
    elif kind == 'pages':
        tifffile.imwrite(path, series[:2])


@pytest.mark.parametrize(
    'kind', ['garbage', 'missing', 'truncated', 'shape', 'dtype', 'pages']
)
def test_tiff_series_bad_file(frames_dir, series, kind):
    lazy = open_series(frames_dir)
    bad = frames_dir / 'frame7.tif'
    bad_file(bad, kind, series)
    assert_array_equal(lazy[:7], series[:7])
    with pytest.raises((OSError, ValueError)) as exc:
        lazy[:]
    message = str(exc.value)
    assert 'frame7.tif' in message
    assert '\n' not in message
    expected = {
        'garbage': 'not a readable TIFF',
        'missing': 'not found',
        'truncated': 'truncated',
        'shape': 'shape (5, 7)',
        'dtype': 'dtype float32',
        'pages': 'one 2-D frame',
    }[kind]
    assert expected in message
    if kind == 'missing':
        assert isinstance(exc.value, FileNotFoundError)
        with pytest.raises(FileNotFoundError, match='frame7.tif'):
            open_series(sorted(frames_dir.iterdir()) + [bad])


def test_tiff_series_bad_first_file(tmp_path, series):
    tifffile.imwrite(tmp_path / 'a.tif', series[:3], photometric='minisblack')
    with pytest.raises(ValueError, match='one 2-D frame per file'):
        open_series([tmp_path / 'a.tif'])
    with pytest.raises(FileNotFoundError, match='no files match'):
        open_series(str(tmp_path / 'nothing*.tif'))
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match='no TIFF files'):
        open_series(empty)
    with pytest.raises(ValueError, match='empty'):
        open_series([])


def test_imwrite_series(tmp_path, series):
    out = imwrite_series(tmp_path / 'spim', series, metadata=METADATA)
    names = listing(out)
    assert names[0] == 'frame00000.tif' and names[-1] == 'frame00011.tif'
    with tifffile.TiffFile(out / 'frame00003.tif') as tif:
        assert tif.byteorder == '>'
        assert tif.pages[0].shape == (9, 7)
    assert read_metadata(out) == METADATA
    lazy = open_series(out)
    assert_slices(lazy, series)
    summary = info(out)
    assert summary['format'] == 'tiff-series'
    assert summary['files'] == 12
    assert summary['chunks'] == (1, 9, 7)
    assert summary['metadata'] == METADATA
    assert summary['path'] == str(out)
    files = [out / name for name in names[:3]]
    assert info(files)['path'] == str(out)
    out = imwrite_series(
        tmp_path / 'little',
        series,
        byteorder='<',
        prefix='img_',
        digits=3,
        num_threads=1,
    )
    assert listing(out)[0] == 'img_000.tif'
    with tifffile.TiffFile(out / 'img_000.tif') as tif:
        assert tif.byteorder == '<'
    assert read_metadata(out) == {}
    assert listing(tmp_path) == ['little', 'spim']


def test_imwrite_series_overwrite(tmp_path, series):
    out = imwrite_series(tmp_path / 'spim', series)
    with pytest.raises(FileExistsError, match='spim'):
        imwrite_series(out, series[:2])
    imwrite_series(out, series[:2], overwrite=True)
    assert listing(out) == ['frame00000.tif', 'frame00001.tif']
    (out / 'notes.txt').write_text('keep me')
    with pytest.raises(FileExistsError, match='other files'):
        imwrite_series(out, series, overwrite=True)
    assert listing(tmp_path) == ['spim']
    with pytest.raises(ValueError, match='byteorder'):
        imwrite_series(tmp_path / 'x', series, byteorder='big')
    with pytest.raises(ValueError, match='prefix'):
        imwrite_series(tmp_path / 'x', series, prefix='a/b')
    with pytest.raises(ValueError, match='digits'):
        imwrite_series(tmp_path / 'x', series, digits=1)


def test_hdf5_key(tmp_path, series):
    h5py = pytest.importorskip('h5py')
    path = tmp_path / 'many.h5'
    with h5py.File(path, 'w') as h5:
        h5['first'] = series
        h5['group/second'] = series[::-1]
        h5['flat'] = series[0]
    with pytest.raises(ValueError, match='several 3-D') as exc:
        open_frames(path)
    message = str(exc.value)
    assert "'first' (12, 9, 7)" in message
    assert "'group/second' (12, 9, 7)" in message
    assert 'many.h5' in message
    dataset = open_frames(path, key='group/second')
    assert isinstance(dataset, h5py.Dataset)
    assert_array_equal(dataset[2:5, 1], series[::-1][2:5, 1])
    with pytest.raises(ValueError, match="dataset 'flat' has shape"):
        open_frames(path, key='flat')
    with pytest.raises(ValueError, match="no dataset key='nope'") as exc:
        open_frames(path, key='nope')
    assert "'flat' (9, 7)" in str(exc.value)
    # the only 3-D dataset is chosen
    path = tmp_path / 'one.h5'
    with h5py.File(path, 'w') as h5:
        h5['image'] = series
        h5['mask'] = series[0] > 0
    assert_array_equal(open_frames(path)[:], series)
    with h5py.File(path, 'w') as h5:
        h5['mask'] = series[0] > 0
    with pytest.raises(ValueError, match='no 3-D dataset'):
        open_frames(path)


def test_hdf5_stays_open(tmp_path, series):
    import gc

    path = imwrite(tmp_path / 'movie.h5', series)
    dataset = open_frames(path)
    gc.collect()
    assert_array_equal(dataset[3], series[3])
    dataset.file.close()


def test_zarr_key(tmp_path, series):
    zarr = pytest.importorskip('zarr')
    path = tmp_path / 'many.zarr'
    group = zarr.open_group(path, mode='w')
    group.create_array('a', data=series)
    group.create_array('b', data=series + 1)
    with pytest.raises(ValueError, match="several 3-D.*'a'.*'b'"):
        open_series(path)
    assert_array_equal(open_series(path, key='b')[:], series + 1)
    # a bare array
    path = tmp_path / 'bare.zarr'
    zarr.create_array(path, data=series)
    assert_array_equal(open_series(path)[1:3], series[1:3])
    with pytest.raises(ValueError, match='not a group'):
        open_series(path, key='data')


def test_info(tmp_path, series):
    path = imwrite(tmp_path / 'movie.h5', series, metadata=METADATA)
    summary = info(path)
    assert summary == {
        'path': str(path),
        'format': 'hdf5',
        'shape': (12, 9, 7),
        'dtype': 'uint16',
        'frames': 12,
        'chunks': (12, 9, 7),
        'nbytes': series.nbytes,
        'metadata': METADATA,
        'files': 1,
    }
    for suffix, fmt in (('.bin', 'raw'), ('.tif', 'tiff'), ('.zarr', 'zarr')):
        path = imwrite(tmp_path / f'movie{suffix}', series)
        summary = info(path)
        assert summary['format'] == fmt
        assert summary['shape'] == (12, 9, 7)
        assert summary['metadata'] == {}
    summary = info(series)
    assert summary['format'] == 'array'
    assert summary['path'] is None
    assert summary['files'] is None
    assert summary['chunks'] is None
    path = tmp_path / 'raw.bin'
    series.tofile(path)
    assert info(path, shape=(9, 7))['frames'] == 12


def test_dask_passes_through(series):
    da = pytest.importorskip('dask.array')
    lazy = da.from_array(series, chunks=(4, 9, 7))
    assert open_frames(lazy) is lazy
    assert info(lazy)['chunks'] == (4, 9, 7)
    assert read_metadata(lazy) == {}


def test_arrays_pass_through(tmp_path, series):
    assert open_frames(series) is series
    memmap = numpy.lib.format.open_memmap(
        tmp_path / 'a.npy', mode='w+', dtype=series.dtype, shape=series.shape
    )
    assert open_frames(memmap) is memmap
    with pytest.raises(TypeError, match='dtype bool'):
        open_frames(series > 0)
    with pytest.raises(TypeError, match='dtype complex64'):
        open_frames(series.astype(numpy.complex64))
    with pytest.raises(ValueError, match=r'shape \(9, 7\); expected 3-D'):
        open_frames(series[0])
    with pytest.raises(TypeError, match='list source'):
        open_frames([[1, 2], [3, 4]])
    with pytest.raises(TypeError, match='not a path'):
        open_frames(42)


def test_lazy_index_errors(frames_dir):
    lazy = open_series(frames_dir)
    with pytest.raises(IndexError, match='out of bounds'):
        lazy[12]
    with pytest.raises(IndexError, match='too many'):
        lazy[1, 2, 3, 4]
    with pytest.raises(TypeError, match='only integers'):
        lazy[[1, 2]]


def test_missing_and_unknown(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.tif'):
        open_series(tmp_path / 'nothing.tif')
    path = tmp_path / 'movie.avi'
    path.write_bytes(b'')
    with pytest.raises(ValueError, match='supported: raw') as exc:
        open_series(path)
    assert 'movie.avi' in str(exc.value)
    path = tmp_path / 'bad.h5'
    path.write_bytes(b'not hdf5')
    with pytest.raises(OSError, match='bad.h5.*not a readable HDF5'):
        open_series(path)


def test_imwrite_checks(tmp_path, series):
    with pytest.raises(TypeError, match='dtype bool'):
        imwrite(tmp_path / 'a.tif', series > 0)
    with pytest.raises(TypeError, match='dtype complex128'):
        imwrite(tmp_path / 'a.tif', series.astype(complex))
    with pytest.raises(ValueError, match='expected 3-D'):
        imwrite(tmp_path / 'a.tif', series[0])
    with pytest.raises(ValueError, match='empty'):
        imwrite(tmp_path / 'a.tif', series[:0])
    with pytest.raises(ValueError, match='suffix'):
        imwrite(tmp_path / 'a.avi', series)
    with pytest.raises(TypeError, match='metadata must be a dict'):
        imwrite(tmp_path / 'a.tif', series, metadata=[1, 2])
    with pytest.raises(TypeError, match='not JSON-serializable'):
        imwrite(tmp_path / 'a.tif', series, metadata={'a': object()})
    assert listing(tmp_path) == []


@pytest.mark.parametrize('suffix', SUFFIXES)
def test_imwrite_overwrite(tmp_path, series, suffix):
    path = imwrite(tmp_path / f'movie{suffix}', series, metadata={'a': 1})
    before = listing(tmp_path)
    with pytest.raises(FileExistsError, match=f'movie{suffix}'):
        imwrite(path, series[:3])
    assert listing(tmp_path) == before
    imwrite(path, series[:3], overwrite=True)
    assert listing(tmp_path) == before
    assert open_series(path).shape == (3, 9, 7)
    assert read_metadata(path) == {}


def test_imwrite_numpy_metadata(tmp_path, series):
    metadata = {'n': numpy.int64(3), 'v': numpy.arange(3), 'p': tmp_path}
    path = imwrite(tmp_path / 'a.h5', series, metadata=metadata)
    assert read_metadata(path) == {
        'n': 3,
        'v': [0, 1, 2],
        'p': str(tmp_path),
    }


def test_imwrite_no_leftovers_on_error(tmp_path, series, monkeypatch):
    monkeypatch.setattr(_output, '_BLOCK_BYTES', series[0].nbytes * 2)

    class Failing:
        shape = series.shape
        dtype = series.dtype
        ndim = 3

        def __getitem__(self, key):
            if key.start and key.start >= 4:
                msg = 'read failed'
                raise RuntimeError(msg)
            return series[key]

    for suffix in SUFFIXES:
        with pytest.raises(RuntimeError, match='read failed'):
            chunks = (2, 4, 4) if suffix in {'.h5', '.zarr'} else None
            imwrite(tmp_path / f'a{suffix}', Failing(), chunks=chunks)
    with pytest.raises(RuntimeError, match='read failed'):
        imwrite_series(tmp_path / 'frames', Failing())
    assert listing(tmp_path) == []


def test_imwrite_lazy_inputs(tmp_path, series, monkeypatch):
    # small write blocks: frames go out in several blocks
    monkeypatch.setattr(_output, '_BLOCK_BYTES', series[0].nbytes * 5)
    source = imwrite_series(tmp_path / 'frames', series)
    lazy = open_series(source)
    for suffix in ('.bin', '.tif'):
        path = imwrite(tmp_path / f'copy{suffix}', lazy, progress=True)
        assert_array_equal(open_series(path)[:], series)
    path = imwrite(tmp_path / 'copy.h5', lazy, chunks=(5, 4, 4))
    assert_array_equal(open_series(path)[:], series)
    da = pytest.importorskip('dask.array')
    path = imwrite(tmp_path / 'dask.zarr', da.from_array(series, chunks=3))
    assert_array_equal(open_series(path)[:], series)
    big_endian = series.astype('>u2')
    path = imwrite(tmp_path / 'be.bin', big_endian)
    assert path.read_bytes() == series.astype('<u2').tobytes()
    assert big_endian.dtype.str == '>u2'


def test_imwrite_creates_parents(tmp_path, series):
    path = imwrite(tmp_path / 'a' / 'b' / 'movie.tif', series)
    assert path.is_file()


def test_imwrite_lists(tmp_path):
    data = [[[1, 2], [3, 4]]]
    path = imwrite(tmp_path / 'a.tif', data)
    assert_array_equal(open_series(path)[:], numpy.asarray(data))


def test_import_is_light():
    import subprocess

    code = (
        'import sys, ipcf.io; '
        "heavy = {'h5py', 'zarr', 'tifffile', 'dask'}; "
        'print(sorted(heavy & set(sys.modules)))'
    )
    result = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == '[]'


def index_strategy(size):
    """An int or a slice (any steps, ends out of range) for one axis."""
    bound = st.integers(-size - 2, size + 2) | st.none()
    step = st.integers(-3, 3).filter(bool) | st.none()
    return st.integers(-size, size - 1) | st.builds(slice, bound, bound, step)


@settings(max_examples=200, deadline=None)
@given(
    key=st.tuples(index_strategy(6), index_strategy(5), index_strategy(4))
    | st.tuples(index_strategy(6))
    | st.just(Ellipsis)
)
def test_lazy_view_equals_numpy(key):
    """The lazy view's basic slicing matches numpy's."""
    data = numpy.arange(6 * 5 * 4, dtype='>i4').reshape(6, 5, 4)
    view = ArrayView(lambda k: data[k], data.shape, data.dtype)
    result = view[key]
    assert_array_equal(result, data[key])
    assert type(result) is type(data[key])
    assert result.dtype == numpy.int32
    assert result.dtype.isnative


def test_tifffile_notes(tmp_path, series, caplog):
    """tifffile's complaints become ipcf warnings, or vanish with errors."""
    path = tmp_path / 'movie.tif'
    tifffile.imwrite(path, series)
    size = path.stat().st_size
    with open(path, 'r+b') as fh:  # cut the IFDs after the image data
        fh.truncate(size - 50)
    with caplog.at_level('WARNING'):
        assert_array_equal(open_series(path)[:], series)
    assert [r.name for r in caplog.records] == ['ipcf']
    assert 'movie.tif' in caplog.records[0].getMessage()
    caplog.clear()
    path.write_bytes(b'II*\x00garbage')
    with caplog.at_level('WARNING'), pytest.raises(ValueError) as exc:
        open_series(path)
    assert 'movie.tif' in str(exc.value)
    assert 'first page' in str(exc.value)
    assert caplog.records == []


def test_option_kinds(tmp_path, series):
    """Options of the wrong kind are TypeErrors; nothing is written."""
    with pytest.raises(TypeError, match='overwrite=1'):
        imwrite(tmp_path / 'a.tif', series, overwrite=1)
    with pytest.raises(TypeError, match='progress=None'):
        imwrite(tmp_path / 'a.h5', series, progress=None)
    with pytest.raises(TypeError, match='digits=5.0'):
        imwrite_series(tmp_path / 'x', series, digits=5.0)
    with pytest.raises(TypeError, match='prefix=3'):
        imwrite_series(tmp_path / 'x', series, prefix=3)
    with pytest.raises(TypeError, match='byteorder=None'):
        imwrite_series(tmp_path / 'x', series, byteorder=None)
    assert listing(tmp_path) == []
    path = imwrite(tmp_path / 'a.h5', series)
    with pytest.raises(TypeError, match='key=1'):
        open_series(path, key=1)
    with pytest.raises(TypeError, match='key=1'):
        read_metadata(path, key=1)


def test_output_exists_error(tmp_path, series):
    """An existing output raises the shared OutputExistsError."""
    from ipcf._files import OutputExistsError

    path = imwrite(tmp_path / 'a.zarr', series)
    with pytest.raises(OutputExistsError):
        imwrite(path, series)
    out = imwrite_series(tmp_path / 'frames', series)
    with pytest.raises(OutputExistsError):
        imwrite_series(out, series)
    (tmp_path / 'dir.h5').mkdir()
    with pytest.raises(FileExistsError, match='is a directory'):
        imwrite(tmp_path / 'dir.h5', series, overwrite=True)
    (tmp_path / 'other.zarr').mkdir()
    (tmp_path / 'other.zarr' / 'notes.txt').write_text('keep me')
    with pytest.raises(FileExistsError, match='not a zarr store'):
        imwrite(tmp_path / 'other.zarr', series, overwrite=True)


def test_store_options():
    """The store helpers that convert shares, by kind."""
    from ipcf.io.stores import check_chunks, compression_options

    assert check_chunks(None, (600, 40, 20)) == (512, 16, 16)
    assert check_chunks((5, 4, 100), (12, 9, 7)) == (5, 4, 7)
    assert compression_options('hdf5', None) == {}
    assert compression_options('hdf5', 'lzf') == {
        'compression': 'lzf',
        'shuffle': True,
    }
    with pytest.raises(ValueError, match="compression='zstd'"):
        compression_options('hdf5', 'zstd')
    with pytest.raises(ValueError, match="kind='tiff'"):
        compression_options('tiff', None)
    pytest.importorskip('zarr')
    assert compression_options('zarr', None) == {'compressors': None}
    codec = compression_options('zarr', 'zstd')['compressors']
    assert type(codec).__name__ == 'ZstdCodec'


def test_zarr_uncompressed(tmp_path, series):
    """zarr output without compression has no compressor at all."""
    zarr = pytest.importorskip('zarr')
    path = imwrite(tmp_path / 'a.zarr', series)
    assert zarr.open_group(path)['data'].compressors == ()


def test_zarr_store_by_contents(tmp_path, series):
    """A zarr store opens by its metadata whatever its suffix."""
    from ipcf._files import is_zarr_store

    path = imwrite(tmp_path / 'a.zarr', series)
    renamed = path.rename(tmp_path / 'store')
    assert is_zarr_store(renamed)
    assert not is_zarr_store(tmp_path)
    assert info(renamed)['format'] == 'zarr'
    assert_array_equal(open_series(renamed)[:], series)
