"""Tests of selecting a channel and a z-plane in ipcf.io.open_series."""

import pickle

import numpy
import pytest
import tifffile
from numpy.testing import assert_array_equal

from ipcf.io import open_frames, open_series

zarr = pytest.importorskip('zarr')


@pytest.fixture
def stack():
    """Seeded (T, Z, C, Y, X) data, two planes and three channels."""
    rng = numpy.random.default_rng(7)
    return rng.integers(0, 4000, (6, 2, 3, 10, 12), dtype=numpy.uint16)


def write_ngff(path, data):
    """Write data of axes 'tczyx' as a one-level OME-Zarr image."""
    root = zarr.open_group(path, mode='w')
    root.attrs['multiscales'] = [
        {
            'version': '0.4',
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
                        {'type': 'scale', 'scale': [0.5, 1, 1, 0.1, 0.1]}
                    ],
                }
            ],
        }
    ]
    array = root.create_array(
        '0', shape=data.shape, dtype=data.dtype, chunks=(2, 1, 1, 10, 12)
    )
    array[:] = data
    return path


def tiff_cases(tmp_path, stack):
    """Yield (path, data as (T, C, Z, Y, X)) of each kind of file."""
    tczyx = stack.transpose(0, 2, 1, 3, 4)
    path = tmp_path / 'tcyx.ome.tif'
    tifffile.imwrite(path, stack[:, 0], ome=True, metadata={'axes': 'TCYX'})
    yield path, tczyx[:, :, :1]
    for name, options in (
        ('tzcyx.ome.tif', {'ome': True}),
        ('zlib.ome.tif', {'ome': True, 'compression': 'zlib'}),
        ('hyperstack.tif', {'imagej': True}),
    ):
        path = tmp_path / name
        tifffile.imwrite(path, stack, metadata={'axes': 'TZCYX'}, **options)
        yield path, tczyx


@pytest.mark.parametrize(
    'kind', ['tcyx.ome', 'tzcyx.ome', 'zlib.ome', 'hyperstack', 'ome-zarr']
)
def test_open_series_selects_channel_and_plane(tmp_path, stack, kind):
    """Each channel and plane reads as data[:, c, z], also after pickling."""
    if kind == 'ome-zarr':
        data = stack.transpose(0, 2, 1, 3, 4)
        cases = [(write_ngff(tmp_path / 'a.zarr', data), data)]
    else:
        cases = list(tiff_cases(tmp_path, stack))
        cases = [cases[['tcyx.ome', 'tzcyx.ome', 'zlib.ome',
                        'hyperstack'].index(kind)]]  # fmt: skip
    path, data = cases[0]
    for c in range(data.shape[1]):
        for z in range(data.shape[2]):
            series = open_series(path, channel=c, z=z)
            assert series.shape == (6, 10, 12)
            assert_array_equal(series[:], data[:, c, z])
            assert_array_equal(
                series[2:5, 3:7, 1:11], data[2:5, c, z, 3:7, 1:11]
            )
            copy = pickle.loads(pickle.dumps(series))
            assert_array_equal(copy[:], data[:, c, z])
    if data.shape[2] == 1:  # a length-1 Z axis needs no z=
        assert_array_equal(open_series(path, channel=1)[:], data[:, 1, 0])


@pytest.mark.parametrize('kind', ['tiff', 'ome-zarr'])
def test_open_series_refuses_unselected_axes(tmp_path, stack, kind):
    """C or Z longer than 1 without channel=/z= names the axes."""
    if kind == 'tiff':
        path = tmp_path / 'a.ome.tif'
        tifffile.imwrite(path, stack, ome=True, metadata={'axes': 'TZCYX'})
        both, only_z = r'Z=2, C=3.*pass channel= and z=', r'Z=2.*pass z='
    else:
        path = write_ngff(tmp_path / 'a.zarr', stack.transpose(0, 2, 1, 3, 4))
        both, only_z = r'c=3, z=2.*pass channel= and z=', r'z=2.*pass z='
    with pytest.raises(ValueError, match=both):
        open_frames(path)
    with pytest.raises(ValueError, match=only_z):
        open_frames(path, channel=0)
    with pytest.raises(ValueError, match=r'channel=5 is out of range.*0 to 2'):
        open_frames(path, channel=5, z=0)
    with pytest.raises(ValueError, match=r'z=-1 is out of range'):
        open_frames(path, channel=0, z=-1)
    with pytest.raises(TypeError, match=r"channel='1' is not an integer"):
        open_frames(path, channel='1', z=0)
    with pytest.raises(TypeError, match=r'z=1.0 is not an integer'):
        open_frames(path, channel=0, z=1.0)


def test_open_series_selection_needs_the_axis(tmp_path, stack):
    """channel= or z= on a file or array without that axis is refused."""
    path = tmp_path / 'a.ome.tif'
    tifffile.imwrite(path, stack[:, 0, 0], ome=True, metadata={'axes': 'TYX'})
    assert_array_equal(open_series(path, channel=0, z=0)[:], stack[:, 0, 0])
    with pytest.raises(ValueError, match=r'channel=1 is out of range'):
        open_series(path, channel=1)
    with pytest.raises(ValueError, match=r'applies to TIFF and OME-Zarr'):
        open_frames(stack[:, 0, 0], channel=0)
    with pytest.raises(ValueError, match=r'channel=1 is out of range'):
        open_series(stack[:, 0, 0], channel=1)
