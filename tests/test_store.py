"""Tests of ipcf.store: saving and loading results."""

import numpy
import pytest
from numpy.testing import assert_array_equal

from ipcf import load_result, pcf_image, save_result
from ipcf.store import fingerprint


@pytest.fixture(scope='module')
def result():
    data = numpy.random.default_rng(3).poisson(80, (32, 9, 8))
    mask = numpy.ones((9, 8), bool)
    mask[4, 4] = False
    return pcf_image(data, radius=2, npoints=6, nbins=5, dt=0.01, mask=mask)


@pytest.mark.parametrize('suffix', ['.h5', '.zarr'])
def test_round_trip(result, tmp_path, suffix):
    if suffix == '.zarr':
        pytest.importorskip('zarr')
    path = save_result(result, tmp_path / f'r{suffix}', source='data.bin')
    assert path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f'r{suffix}']
    loaded = load_result(path)
    assert loaded.dims == result.dims
    assert loaded.dtype == numpy.float32
    assert_array_equal(loaded.values, result.values)  # NaN equal too
    for name in ('y', 'x', 'u', 'v', 'angle', 'distance', 'delay'):
        assert_array_equal(loaded[name].values, result[name].values)
    for key, value in result.attrs.items():
        assert loaded.attrs[key] == value
    assert loaded.attrs['source'] == 'data.bin'


def test_existing_output(result, tmp_path):
    path = tmp_path / 'r.h5'
    path.write_bytes(b'precious')
    with pytest.raises(FileExistsError, match='overwrite'):
        save_result(result, path)
    assert path.read_bytes() == b'precious'
    save_result(result, path, overwrite=True)
    assert load_result(path).shape == result.shape


def test_errors(result, tmp_path):
    with pytest.raises(ValueError, match='unknown suffix'):
        save_result(result, tmp_path / 'r.txt')
    with pytest.raises(FileNotFoundError, match='no such file'):
        load_result(tmp_path / 'missing.h5')
    path = save_result(result, tmp_path / 'r.h5')
    with pytest.raises(ValueError, match="no result group 'other'"):
        load_result(path, group='other')
    (tmp_path / 'bad.h5').write_bytes(b'not hdf5')
    with pytest.raises(OSError, match='bad.h5'):
        load_result(tmp_path / 'bad.h5')


def test_incomplete_store_is_refused(result, tmp_path):
    import json

    import h5py

    path = save_result(result, tmp_path / 'r.h5')
    with h5py.File(path, 'r+') as h5:
        record = json.loads(h5['pcf'].attrs['ipcf'])
        record['complete'] = False
        h5['pcf'].attrs['ipcf'] = json.dumps(record)
    with pytest.raises(ValueError, match='incomplete'):
        load_result(path)


def test_fingerprint():
    assert fingerprint((4, 5, 6), 'uint16') == fingerprint((4, 5, 6), 'u2')
    assert fingerprint((4, 5, 6), 'uint16') != fingerprint((4, 5, 7), 'u2')
    assert len(fingerprint((1,), 'f4')) == 16


def test_result_info(result, tmp_path):
    from ipcf.store import result_info

    path = save_result(result, tmp_path / 'r.h5', source='data.bin')
    info = result_info(path)
    assert info['shape'] == result.shape
    assert info['radius'] == 2
    assert info['source'] == 'data.bin'
    assert result_info(tmp_path / 'missing.h5') is None
    assert result_info(tmp_path / 'r.txt') is None
    (tmp_path / 'bad.h5').write_bytes(b'garbage')
    assert result_info(tmp_path / 'bad.h5') is None


@pytest.mark.parametrize('suffix', ['h5', 'zarr', 'nc'])
def test_dataset_round_trip(tmp_path, suffix):
    import xarray

    maps = xarray.Dataset(
        {
            'D': (('y', 'x'), numpy.arange(6.0).reshape(2, 3), {'unit': 'um'}),
            'connected': (('y', 'x', 'point'), numpy.ones((2, 3, 4), bool)),
        },
        coords={'y': [3, 4], 'x': [3, 4, 5], 'u': ('point', [1, 0, -1, 0])},
        attrs={'D_pooled': 1.5, 'nested': {'a': [1, 2]}},
    )
    path = save_result(maps, tmp_path / f'maps.{suffix}')
    loaded = load_result(path, group='maps')
    assert loaded.identical(maps)
    assert loaded.encoding['store'] == str(path)
    assert loaded.encoding['provenance']['version']


def test_provenance_is_stored(result, tmp_path):
    from ipcf.store import provenance, result_info

    data = numpy.arange(4 * 3 * 2).reshape(4, 3, 2)
    record = provenance(
        source='movie.tif', data=data, parameters={'radius': 1}, call='x()'
    )
    path = save_result(result, tmp_path / 'r.h5', provenance=record)
    loaded = load_result(path)
    assert loaded.identical(result)
    stored = loaded.encoding['provenance']
    assert stored['source'] == 'movie.tif'
    assert stored['source_fingerprint'] == fingerprint(data)
    assert stored['parameters'] == {'radius': 1}
    assert stored['call'] == 'x()'
    assert result_info(path)['provenance'] == stored


def test_fingerprint_sees_first_and_last_frames():
    data = numpy.zeros((5, 2, 2), numpy.uint16)
    before = fingerprint(data)
    data[2] = 1  # a middle frame is not hashed
    assert fingerprint(data) == before
    data[-1, 0, 0] = 1
    assert fingerprint(data) != before


def test_block_record_resume_rules(tmp_path):
    from ipcf.store import BlockRecord, InterruptedRunError

    out = tmp_path / 'r.h5'
    record = BlockRecord(out, {'radius': 2})
    record.save((0, 0, 4, 4), {'pcf': numpy.ones((4, 4))})
    record.save((0, 4, 4, 4), None)
    with pytest.raises(InterruptedRunError, match='resume=True'):
        BlockRecord(out, {'radius': 2})
    with pytest.raises(ValueError, match='other parameters'):
        BlockRecord(out, {'radius': 3}, resume=True)
    again = BlockRecord(out, {'radius': 2}, resume=True)
    assert again.done((0, 0, 4, 4)) and again.done((0, 4, 4, 4))
    assert not again.done((4, 0, 4, 4))
    assert again.load((0, 4, 4, 4)) is None
    assert again.load((0, 0, 4, 4))['pcf'].sum() == 16
    fresh = BlockRecord(out, {'radius': 3}, overwrite=True)
    assert not fresh.done((0, 0, 4, 4))
    fresh.remove()
    assert not fresh.path.exists()


def test_result_writer_abort_leaves_nothing(tmp_path):
    from ipcf.store import ResultWriter, Schema, Variable

    schema = Schema({'D': Variable(('y', 'x'), (2, 2))})
    with pytest.raises(RuntimeError), ResultWriter(tmp_path / 'r.h5', schema):
        raise RuntimeError
    assert list(tmp_path.iterdir()) == []
