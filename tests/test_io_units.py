"""Units written by microscopes in OME-TIFF, ImageJ TIFF and OME-Zarr."""

import logging
import pickle

import numpy
import pytest
import tifffile
from numpy.testing import assert_array_equal

import ipcf
from ipcf._sources import physical_units
from ipcf.io import imwrite, open_frames, open_series, read_metadata

zarr = pytest.importorskip('zarr')

SHAPE = (64, 12, 12)


@pytest.fixture
def frames():
    return numpy.random.default_rng(1).poisson(50, SHAPE).astype(numpy.uint16)


def ome(path, data, **metadata):
    tifffile.imwrite(
        path, data, ome=True, metadata={'axes': 'TYX', **metadata}
    )
    return path


def test_ome_units(tmp_path, frames):
    path = ome(
        tmp_path / 'a.ome.tif',
        frames,
        PhysicalSizeX=0.1,
        PhysicalSizeXUnit='µm',
        PhysicalSizeY=0.2,
        PhysicalSizeYUnit='µm',
        TimeIncrement=2.0,
        TimeIncrementUnit='ms',
        Channel={'Name': ['GFP']},
    )
    metadata = read_metadata(path)
    assert metadata['pixel_size'] == 0.1
    assert metadata['pixel_size_y'] == 0.2
    assert metadata['frame_interval'] == 0.002
    assert metadata['channels'] == ['GFP']
    assert metadata['axes'] == 'TZCYX'
    assert metadata['units_source']['frame_interval'] == 'OME TimeIncrement'
    assert 'units_note' not in metadata
    assert physical_units(path) == {
        'pixel_size': 0.1,
        'psf_radius': None,
        'frame_interval': 0.002,
    }


def test_ome_units_nm_and_seconds(tmp_path, frames):
    path = ome(
        tmp_path / 'a.ome.tif',
        frames,
        PhysicalSizeX=65,
        PhysicalSizeXUnit='nm',
        PhysicalSizeZ=0.5,
        PhysicalSizeZUnit='mm',
        TimeIncrement=0.5,
        TimeIncrementUnit='s',
    )
    metadata = read_metadata(path)
    assert metadata['pixel_size'] == pytest.approx(0.065)
    assert metadata['pixel_size_z'] == 500.0
    assert metadata['frame_interval'] == 0.5
    assert 'pixel_size_y' not in metadata


def test_ome_delta_t(tmp_path, frames, caplog):
    stamps = 0.003 * numpy.arange(SHAPE[0])
    path = ome(
        tmp_path / 'a.ome.tif',
        frames,
        PhysicalSizeX=0.1,
        Plane={'DeltaT': stamps.tolist()},
    )
    with caplog.at_level(logging.WARNING, logger='ipcf'):
        metadata = read_metadata(path)
    assert metadata['frame_interval'] == pytest.approx(0.003)
    assert metadata['units_source']['frame_interval'] == 'OME Plane DeltaT'
    assert 'irregular' not in caplog.text


def test_ome_delta_t_irregular(tmp_path, frames, caplog):
    stamps = 0.003 * numpy.arange(SHAPE[0])
    stamps[10:] += 0.0001  # one interval 3 % longer
    path = ome(
        tmp_path / 'a.ome.tif', frames, Plane={'DeltaT': stamps.tolist()}
    )
    with caplog.at_level(logging.WARNING, logger='ipcf'):
        metadata = read_metadata(path)
    assert metadata['frame_interval'] == pytest.approx(0.003)
    assert 'DeltaT intervals are irregular' in caplog.text


def test_ome_without_time(tmp_path, frames):
    path = ome(tmp_path / 'a.ome.tif', frames, PhysicalSizeX=0.1)
    metadata = read_metadata(path)
    assert metadata['pixel_size'] == 0.1
    assert 'frame_interval' not in metadata
    assert 'frame interval is not known' in metadata['units_note']
    assert physical_units(path)['frame_interval'] is None


def test_imagej_units(tmp_path, frames):
    path = tmp_path / 'a.tif'
    tifffile.imwrite(
        path,
        frames,
        imagej=True,
        resolution=(10, 5),
        metadata={'unit': 'um', 'finterval': 0.002, 'axes': 'TYX'},
    )
    metadata = read_metadata(path)
    assert metadata['pixel_size'] == 0.1
    assert metadata['pixel_size_y'] == 0.2
    assert metadata['frame_interval'] == 0.002
    assert metadata['units_source']['frame_interval'] == 'ImageJ finterval'
    assert 'T' in metadata['axes']


def test_imagej_micron_spacing(tmp_path, frames):
    path = tmp_path / 'a.tif'
    tifffile.imwrite(
        path,
        frames,
        imagej=True,
        resolution=(0.01, 0.01),
        metadata={'unit': 'nm', 'spacing': 200, 'axes': 'TYX'},
    )
    metadata = read_metadata(path)
    assert metadata['pixel_size'] == 0.1
    assert metadata['pixel_size_z'] == 0.2
    assert 'frame_interval' not in metadata
    assert 'finterval' in metadata['units_note']


def test_tiff_without_units(tmp_path, frames):
    path = tmp_path / 'plain.tif'
    tifffile.imwrite(path, frames)
    assert read_metadata(path) == {}
    assert physical_units(path)['frame_interval'] is None


def test_stored_metadata_win(tmp_path, frames):
    path = tmp_path / 'a.ome.tif'
    imwrite(path, frames, metadata={'frame_time': 0.01})
    with tifffile.TiffFile(path) as tif:
        xml = tif.ome_metadata
    xml = xml.replace(
        '<Pixels ', '<Pixels TimeIncrement="0.5" PhysicalSizeX="0.2" ', 1
    )
    tifffile.tiffcomment(path, xml.encode())
    metadata = read_metadata(path)
    assert metadata['frame_time'] == 0.01
    assert metadata['pixel_size'] == 0.2
    assert 'frame_interval' not in metadata
    assert metadata['units_source']['frame_interval'] == 'ipcf metadata'
    assert physical_units(path)['frame_interval'] == 0.01


def test_analyze_takes_file_interval(tmp_path, frames):
    path = tmp_path / 'a.tif'
    tifffile.imwrite(
        path,
        frames,
        imagej=True,
        resolution=(10, 10),
        metadata={'unit': 'um', 'finterval': 0.002, 'axes': 'TYX'},
    )
    out = tmp_path / 'r.h5'
    ipcf.analyze(path, out, radius=2, npoints=4, nbins=4, bleach='none')
    assert ipcf.load_result(out).attrs['dt'] == 0.002


def ngff(path, data, *, axes='tyx', scale=(2.0, 0.1, 0.1), levels=1):
    root = zarr.open_group(path, mode='w')
    units = {'t': 'millisecond', 'z': 'micrometer'}
    root.attrs['multiscales'] = [
        {
            'version': '0.4',
            'axes': [
                {
                    'name': a,
                    'type': 'time' if a == 't' else 'space',
                    'unit': units.get(a, 'micrometer'),
                }
                if a != 'c'
                else {'name': 'c', 'type': 'channel'}
                for a in axes
            ],
            'datasets': [
                {
                    'path': str(i),
                    'coordinateTransformations': [
                        {
                            'type': 'scale',
                            'scale': [
                                s * 2**i if a in 'yx' else s
                                for a, s in zip(axes, scale, strict=True)
                            ],
                        }
                    ],
                }
                for i in range(levels)
            ],
        }
    ]
    root.attrs['omero'] = {'channels': [{'label': 'GFP'}]}
    for i in range(levels):
        step = 2**i
        level = data[..., ::step, ::step]
        array = root.create_array(str(i), shape=level.shape, dtype=level.dtype)
        array[...] = level
    return path


def test_ome_zarr(tmp_path, frames):
    path = ngff(tmp_path / 'a.ome.zarr', frames, levels=2)
    series = open_series(path)
    assert series.shape == SHAPE
    assert_array_equal(series[:], frames)
    metadata = read_metadata(path)
    assert metadata['pixel_size'] == 0.1
    assert metadata['pixel_size_y'] == 0.1
    assert metadata['frame_interval'] == 0.002
    assert metadata['channels'] == ['GFP']
    assert metadata['axes'] == 'TYX'
    out = tmp_path / 'r.h5'
    ipcf.analyze(path, out, radius=2, npoints=4, nbins=4, bleach='none')
    assert ipcf.load_result(out).attrs['dt'] == 0.002


def test_ome_zarr_5d(tmp_path, frames):
    data = frames[:, None, None]
    path = ngff(
        tmp_path / 'a.zarr',
        data,
        axes='tczyx',
        scale=(0.5, 1.0, 0.3, 0.1, 0.1),
    )
    series = open_series(path)
    assert series.shape == SHAPE
    assert_array_equal(series[3:5, 2:4, 1:9], frames[3:5, 2:4, 1:9])
    assert_array_equal(pickle.loads(pickle.dumps(series))[:], frames)
    metadata = read_metadata(path)
    assert metadata['axes'] == 'TCZYX'
    assert metadata['frame_interval'] == 0.0005
    assert metadata['pixel_size_z'] == 0.3


def test_ome_zarr_other_axes(tmp_path, frames):
    data = numpy.stack([frames, frames], axis=1)
    path = ngff(tmp_path / 'a.zarr', data, axes='tcyx', scale=(1, 1, 1, 1))
    with pytest.raises(ValueError, match="axes 'tcyx' .*pass channel="):
        open_frames(path)


def test_zarr_stored_metadata_win(tmp_path, frames):
    path = ngff(tmp_path / 'a.zarr', frames)
    root = zarr.open_group(path, mode='a')
    root.attrs['metadata'] = '{"dt": 0.25, "pixel_size": 0.3}'
    metadata = read_metadata(path)
    assert metadata['dt'] == 0.25
    assert metadata['pixel_size'] == 0.3
    assert 'frame_interval' not in metadata
    assert physical_units(path)['frame_interval'] == 0.25
