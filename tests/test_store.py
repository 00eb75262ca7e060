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


def _direct_schema():
    from ipcf.store import Schema, Variable

    return Schema(
        {
            'pcf': Variable(('z', 'y', 'x', 'delay'), (2, 5, 6, 3)),
            'count': Variable(('y', 'x'), (5, 6), dtype='int32', fill=-1),
            'delays': Variable(('delay',), (3,), dtype='float64'),
        },
        coords={
            'y': (('y',), numpy.arange(5)),
            'x': (('x',), numpy.arange(6)),
        },
        attrs={'radius': 2},
    )


def _direct_blocks(rng):
    """Blocks (z, y, x, ny, nx, values or None) covering the schema."""
    blocks = []
    for z in range(2):
        for y, ny in ((0, 3), (3, 2)):
            for x, nx in ((0, 4), (4, 2)):
                values = {
                    'pcf': rng.random((ny, nx, 3), dtype=numpy.float32),
                    'count': rng.integers(9, size=(ny, nx), dtype=numpy.int32),
                }
                blocks.append((z, y, x, ny, nx, values))
    blocks[2] = (*blocks[2][:5], None)  # a block without values
    return blocks


def _write_blocks(writer, blocks):
    for z, y, x, ny, nx, values in blocks:
        if values is None:
            writer.fill(ny, nx, y=y, x=x, z=z)
            continue
        writer.write({'pcf': values['pcf']}, y=y, x=x, z=z)
        if z == 0:
            writer.write({'count': values['count']}, y=y, x=x)
    writer.write({'delays': numpy.array([0.1, 0.2, 0.4])})


def _expected(blocks):
    pcf = numpy.full((2, 5, 6, 3), numpy.nan, numpy.float32)
    count = numpy.full((5, 6), -1, numpy.int32)
    for z, y, x, ny, nx, values in blocks:
        if values is not None:
            pcf[z, y : y + ny, x : x + nx] = values['pcf']
            if z == 0:
                count[y : y + ny, x : x + nx] = values['count']
    return pcf, count


def test_direct_writer_equals_the_library(tmp_path):
    """Values put at file offsets read back as written through h5py."""
    from ipcf.store import ResultWriter

    blocks = _direct_blocks(numpy.random.default_rng(0))
    with ResultWriter(tmp_path / 'a.h5', _direct_schema(), direct=True) as w:
        assert w.direct
        _write_blocks(w, blocks)
    with ResultWriter(tmp_path / 'b.h5', _direct_schema()) as w:
        _write_blocks(w, blocks)
    direct, library = (
        load_result(tmp_path / n, group='result') for n in ('a.h5', 'b.h5')
    )
    pcf, count = _expected(blocks)
    assert_array_equal(direct['pcf'].values, pcf)
    assert_array_equal(direct['count'].values, count)
    for key in ('pcf', 'count', 'delays'):
        assert_array_equal(direct[key].values, library[key].values)
        assert direct[key].dtype == library[key].dtype
    assert direct.attrs['radius'] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.h5', 'b.h5']


def test_direct_writer_resumes_into_its_partial_store(tmp_path):
    """A writer closed half-way (a killed run) is reopened and finished."""
    from ipcf.store import ResultWriter

    blocks = _direct_blocks(numpy.random.default_rng(1))
    partial = tmp_path / 'work.h5'
    out = tmp_path / 'r.h5'
    first = ResultWriter(out, _direct_schema(), direct=True, partial=partial)
    _write_blocks(first, blocks[:3])
    first.sync()
    first.close()
    assert partial.is_file() and not out.exists()
    again = ResultWriter(
        out, _direct_schema(), direct=True, partial=partial, resume=True
    )
    assert again.resumed
    _write_blocks(again, blocks[3:])
    again.commit(attrs={'radius': 2, 'timings': {'prepare': 0.5}})
    result = load_result(out, group='result')
    pcf, count = _expected(blocks)
    assert_array_equal(result['pcf'].values, pcf)
    assert_array_equal(result['count'].values, count)
    assert result.attrs['timings'] == {'prepare': 0.5}
    assert not partial.exists()


@pytest.mark.parametrize('damage', ['missing', 'corrupt', 'other', 'done'])
def test_direct_writer_starts_again_from_a_bad_partial(tmp_path, damage):
    from ipcf.store import ResultWriter, Schema, Variable

    partial = tmp_path / 'work.h5'
    out = tmp_path / 'r.h5'
    if damage == 'corrupt':
        partial.write_bytes(b'\x89HDF\r\n\x1a\n' + bytes(100))
    elif damage in ('other', 'done'):
        schema = _direct_schema()
        if damage == 'other':
            schema = Schema({'pcf': Variable(('y', 'x'), (5, 6))})
        w = ResultWriter(out, schema, direct=True, partial=partial)
        if damage == 'done':
            _write_blocks(w, _direct_blocks(numpy.random.default_rng(2)))
            w.commit()
            # a finished store, copied back where a partial one goes
            partial.write_bytes(out.read_bytes())
            out.unlink()
        else:
            w.close()
    writer = ResultWriter(
        out, _direct_schema(), direct=True, partial=partial, resume=True
    )
    assert not writer.resumed
    blocks = _direct_blocks(numpy.random.default_rng(3))
    _write_blocks(writer, blocks)
    writer.commit()
    assert_array_equal(
        load_result(out, group='result')['pcf'].values, _expected(blocks)[0]
    )


def test_direct_writer_refusals(tmp_path, monkeypatch):
    import errno
    import os

    from ipcf.store import ResultWriter

    with pytest.raises(ValueError, match='HDF5'):
        ResultWriter(tmp_path / 'r.zarr', _direct_schema(), direct=True)

    def full(fd, offset, size):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(os, 'posix_fallocate', full, raising=False)
    with pytest.raises(OSError) as caught:
        ResultWriter(tmp_path / 'r.h5', _direct_schema(), direct=True)
    assert caught.value.errno == errno.ENOSPC
    # without posix_fallocate the file is extended instead
    monkeypatch.delattr(os, 'posix_fallocate')
    with ResultWriter(tmp_path / 'r.h5', _direct_schema(), direct=True) as w:
        _write_blocks(w, _direct_blocks(numpy.random.default_rng(4)))
    assert load_result(tmp_path / 'r.h5', group='result')['pcf'].shape == (
        2,
        5,
        6,
        3,
    )
