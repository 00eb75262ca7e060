"""Tests of ipcf.analysis.save_maps and load_maps: maps in the store."""

from __future__ import annotations

import numpy
import pytest
import xarray

import ipcf
from ipcf.analysis import load_maps, maps, save_maps

PIXEL = 0.1  # um
PSF = 0.25  # um, 1/e^2 radius
SOURCE = 'series.bin'


@pytest.fixture(scope='module')
def result():
    """A small pCF result that names its source."""
    data = numpy.random.default_rng(0).poisson(100, (1024, 12, 12))
    result = ipcf.pcf_image(data, radius=3, npoints=8, dt=1e-3)
    result.attrs['source'] = SOURCE
    return result


@pytest.fixture(scope='module')
def computed(result):
    return maps(result, pixel_size=PIXEL, w=PSF, window=3, threshold=2.5)


def test_maps_record_source(result, computed):
    assert computed.attrs['source'] == SOURCE
    bare = result.copy()
    bare.attrs.pop('source')
    assert 'source' not in maps(bare, pixel_size=PIXEL, w=PSF).attrs


@pytest.mark.parametrize('suffix', ['.nc', '.h5', '.zarr'])
def test_save_load(tmp_path, computed, suffix):
    if suffix == '.zarr':
        pytest.importorskip('zarr')
    path = save_maps(computed, tmp_path / f'maps{suffix}')
    assert path == tmp_path / f'maps{suffix}'
    loaded = load_maps(path)
    xarray.testing.assert_identical(loaded, computed)
    assert loaded['connected'].dtype == bool
    with pytest.raises(FileExistsError, match='overwrite=True'):
        save_maps(computed, path)
    save_maps(computed, path, overwrite=True)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_h5_and_zarr_identical_with_provenance(tmp_path, result, computed):
    """Maps come back from HDF5 and zarr identical, with provenance."""
    pytest.importorskip('zarr')
    loaded = {}
    for suffix in ('.h5', '.zarr'):
        path = save_maps(computed, tmp_path / f'maps{suffix}')
        assert ipcf.store.result_groups(path) == ['maps']
        loaded[suffix] = load_maps(path)
        xarray.testing.assert_identical(loaded[suffix], computed)
        assert loaded[suffix].encoding['store'] == str(path)
    records = [loaded[suffix].encoding['provenance'] for suffix in loaded]
    for key in ('source', 'parameters', 'call', 'version'):
        assert records[0][key] == records[1][key]
    record = records[0]
    assert record['source'] == SOURCE
    assert record['parameters'] == {
        'pixel_size': PIXEL,
        'w': PSF,
        'window': 3,
        'threshold': 2.5,
        'diffusion_range': computed.attrs['diffusion_range'],
    }
    assert record['call'].startswith('ipcf.maps(result, pixel_size=0.1,')
    assert record['version'] == ipcf.__version__
    # the recorded parameters rerun the maps
    options = dict(record['parameters'])
    options['diffusion_range'] = tuple(options['diffusion_range'])
    xarray.testing.assert_identical(maps(result, **options), computed)


def test_load_result_reads_maps(tmp_path, computed):
    path = save_maps(computed, tmp_path / 'maps.h5')
    stored = ipcf.load_result(path, group='maps')
    xarray.testing.assert_identical(stored, computed)


def test_save_load_errors(tmp_path, result, computed):
    with pytest.raises(ValueError, match='suffix'):
        save_maps(computed, tmp_path / 'maps.txt')
    with pytest.raises(TypeError, match='Dataset'):
        save_maps(computed['D'], tmp_path / 'maps.nc')
    with pytest.raises(TypeError, match='overwrite=1'):
        save_maps(computed, tmp_path / 'maps.nc', overwrite=1)
    with pytest.raises(FileNotFoundError, match='no such file'):
        load_maps(tmp_path / 'missing.h5')
    with pytest.raises(ValueError, match='suffix'):
        load_maps(tmp_path / 'maps.txt')
    # a store without maps, and a netCDF file of another result
    ipcf.save_result(result, tmp_path / 'pcf.h5')
    with pytest.raises(ValueError, match="no result group 'maps'"):
        load_maps(tmp_path / 'pcf.h5')
    ipcf.save_result(result, tmp_path / 'pcf.nc')
    with pytest.raises(ValueError, match='not maps'):
        load_maps(tmp_path / 'pcf.nc')
    assert not list(tmp_path.glob('.*'))


def test_volume_maps_round_trip(tmp_path):
    """Maps of a volume are stored with their axial parameters."""
    data = numpy.random.default_rng(0).poisson(100, (512, 9, 14, 14))
    result = ipcf.pcf_image(data, radius=4, npoints=16, dt=1e-3, z_ratio=2.0)
    volume = maps(result, pixel_size=0.1, w=0.25, w_z=0.5)
    path = save_maps(volume, tmp_path / 'maps.h5')
    loaded = load_maps(path)
    xarray.testing.assert_identical(loaded, volume)
    record = loaded.encoding['provenance']
    assert record['parameters']['w_z'] == 0.5
    assert record['parameters']['pixel_size_z'] == pytest.approx(0.2)
    assert 'w_z=0.5' in record['call']
