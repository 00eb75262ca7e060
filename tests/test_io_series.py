"""Tests of the labelled series of ipcf.io.open_series."""

import pickle

import numpy
import pytest
import tifffile
from numpy.testing import assert_array_equal

import ipcf
from ipcf.io import Series, SeriesMetadata, imwrite, open_series

KEYS = [
    (slice(None),),
    (3,),
    (-1, 1),
    (slice(None, None, -2), 0, slice(1, 3)),
    (Ellipsis, 2),
    (slice(1, 5, 2), slice(None), 1, slice(2, 8), slice(None, None, -3)),
    (0, 1, 0, 4, 5),
    (slice(2, 2),),
    (numpy.int64(1), slice(None), slice(None, None, -1)),
]


@pytest.fixture
def stack():
    """Seeded (T, C, Z, Y, X) data: three channels, two planes."""
    rng = numpy.random.default_rng(3)
    return rng.integers(0, 4000, (6, 3, 2, 10, 12), dtype=numpy.uint16)


def ome_tiff(path, stack, **options):
    """Write stack (T, C, Z, Y, X) as an OME-TIFF of axes TZCYX."""
    tifffile.imwrite(
        path,
        stack.transpose(0, 2, 1, 3, 4),
        ome=True,
        metadata={
            'axes': 'TZCYX',
            'PhysicalSizeX': 0.16,
            'PhysicalSizeY': 0.16,
            'PhysicalSizeZ': 0.5,
            'TimeIncrement': 0.002,
            'TimeIncrementUnit': 's',
            'Channel': {'Name': ['GFP', 'RFP', 'Cy5']},
        },
        **options,
    )
    return path


def test_multi_channel_multi_plane_ome_tiff(tmp_path, stack):
    path = ome_tiff(tmp_path / 'cell.ome.tif', stack)
    series = open_series(path)
    assert isinstance(series, Series)
    assert series.dims == ('T', 'C', 'Z', 'Y', 'X')
    assert series.shape == stack.shape
    assert series.sizes == {'T': 6, 'C': 3, 'Z': 2, 'Y': 10, 'X': 12}
    assert series.dtype == numpy.uint16
    assert series.nbytes == stack.nbytes
    for key in KEYS:
        assert_array_equal(series[key], stack[key], err_msg=str(key))
    assert_array_equal(numpy.asarray(series), stack)
    assert_array_equal(series.frames(channel=2, z=1)[:], stack[:, 2, 1])
    meta = series.metadata
    assert meta.pixel_size == pytest.approx(0.16)
    assert meta.pixel_size_z == pytest.approx(0.5)
    assert meta.frame_interval == pytest.approx(0.002)
    assert meta.channels == ('GFP', 'RFP', 'Cy5')
    assert meta.axes == 'TZCYX'
    assert meta.sources['frame_interval'].startswith('OME')
    assert 'frame_interval=0.002' in repr(series)
    copy = pickle.loads(pickle.dumps(series))
    assert_array_equal(copy[:, 1, 0], stack[:, 1, 0])
    assert copy.metadata.channels == meta.channels


def test_selection_drops_or_keeps_axes(tmp_path, stack):
    path = ome_tiff(tmp_path / 'cell.ome.tif', stack, compression='zlib')
    one = open_series(path, channel=1)
    assert one.dims == ('T', 'Z', 'Y', 'X')
    assert_array_equal(one[:], stack[:, 1])
    plane = open_series(path, channel=1, z=0)
    assert plane.dims == ('T', 'Y', 'X')
    assert_array_equal(plane[2:5, 1:4], stack[2:5, 1, 0, 1:4])
    assert_array_equal(plane.data[:], stack[:, 1, 0])
    pair = open_series(path, channel=[2, 0], z=[1])
    assert pair.dims == ('T', 'C', 'Y', 'X')
    assert pair.channel_indices == (2, 0)
    assert_array_equal(pair[:], stack[:, [2, 0], 1])
    assert pair.selection(channel=0, z=0) == {'channel': 2, 'z': 1}


def test_selection_errors(tmp_path, stack):
    path = ome_tiff(tmp_path / 'cell.ome.tif', stack)
    with pytest.raises(ValueError, match=r'channel=3 is out of range.*3 ch'):
        open_series(path, channel=3)
    with pytest.raises(ValueError, match=r'repeats'):
        open_series(path, channel=[0, 0])
    with pytest.raises(ValueError, match=r'empty'):
        open_series(path, z=[])
    with pytest.raises(TypeError, match=r'not an integer'):
        open_series(path, z='1')
    series = open_series(path)
    with pytest.raises(ValueError, match=r'frames\(channel=, z=\)'):
        series.data  # noqa: B018
    with pytest.raises(IndexError, match=r'outside'):
        series.frames(channel=5)


def test_imagej_hyperstack(tmp_path, stack):
    path = tmp_path / 'stack.tif'
    tifffile.imwrite(
        path,
        stack.transpose(0, 2, 1, 3, 4),
        imagej=True,
        resolution=(1 / 0.2, 1 / 0.2),
        metadata={'axes': 'TZCYX', 'finterval': 0.05, 'spacing': 0.7,
                  'unit': 'um'},
    )  # fmt: skip
    series = open_series(path)
    assert series.dims == ('T', 'C', 'Z', 'Y', 'X')
    assert_array_equal(series[:, :, 1], stack[:, :, 1])
    assert series.metadata.frame_interval == pytest.approx(0.05)
    assert series.metadata.pixel_size == pytest.approx(0.2)
    assert series.metadata.pixel_size_z == pytest.approx(0.7)


def test_ome_zarr(tmp_path, stack):
    zarr = pytest.importorskip('zarr')
    root = zarr.open_group(tmp_path / 'a.zarr', mode='w')
    root.attrs['multiscales'] = [
        {
            'axes': [
                {'name': 't', 'type': 'time', 'unit': 'second'},
                {'name': 'c', 'type': 'channel'},
                {'name': 'z', 'type': 'space', 'unit': 'micrometer'},
                {'name': 'y', 'type': 'space', 'unit': 'micrometer'},
                {'name': 'x', 'type': 'space', 'unit': 'micrometer'},
            ],
            'datasets': [
                {
                    'path': '0',
                    'coordinateTransformations': [
                        {'type': 'scale', 'scale': [0.01, 1, 2, 0.1, 0.1]}
                    ],
                }
            ],
        }
    ]
    array = root.create_array('0', shape=stack.shape, dtype=stack.dtype)
    array[:] = stack
    series = open_series(tmp_path / 'a.zarr')
    assert series.dims == ('T', 'C', 'Z', 'Y', 'X')
    assert_array_equal(series[1:3, 2], stack[1:3, 2])
    assert series.metadata.frame_interval == pytest.approx(0.01)
    assert series.metadata.pixel_size_z == pytest.approx(2.0)


@pytest.mark.parametrize('suffix', ['.h5', '.tif', '.bin'])
def test_three_d_files_stay_three_d(tmp_path, suffix):
    data = numpy.arange(5 * 4 * 3, dtype=numpy.uint16).reshape(5, 4, 3)
    path = imwrite(tmp_path / f'a{suffix}', data, metadata={'dt': 0.1})
    series = ipcf.open_series(path)
    assert series.dims == ('T', 'Y', 'X')
    assert series.shape == (5, 4, 3)
    assert series.sizes['C'] == series.sizes['Z'] == 1
    assert_array_equal(series[::-1, 1], data[::-1, 1])
    assert series.metadata.frame_interval == 0.1
    assert series.metadata.note is None or 'frame' in series.metadata.note


def test_array_source():
    data = numpy.ones((16, 4, 4), numpy.float32)
    series = open_series(data)
    assert series.format == 'array'
    assert series.data is data
    assert series.metadata.as_dict() == {}
    assert pickle.loads(pickle.dumps(series))[:].shape == (16, 4, 4)


def test_metadata_record():
    record = SeriesMetadata.from_dict(
        {
            'pixel_size': 0.1,
            'pixel_size_y': 0.12,
            'frame_time': 0.001,
            'channels': ['a'],
            'wavelengths': [510, 'x'],
            'units_note': 'no z step',
        }
    )
    assert record.pixel_size_y == 0.12
    assert record.frame_interval == 0.001
    assert record.wavelengths == (510.0,)
    assert record.as_dict()['note'] == 'no z step'
    assert 'stored' not in record.as_dict()
