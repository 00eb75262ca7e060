"""Tests of ipcf.convert: equality, selection, errors, resume, CLI."""

from __future__ import annotations

import json

import numpy
import pytest
from numpy.testing import assert_array_equal

import ipcf.convert
from ipcf import io
from ipcf.cli import main
from ipcf.convert import convert, parse_frames


@pytest.fixture
def series():
    rng = numpy.random.default_rng(0)
    return rng.integers(0, 4000, (40, 24, 28)).astype(numpy.uint16)


@pytest.fixture
def frames(tmp_path, series):
    return io.imwrite_series(tmp_path / 'frames', series)


def read(path):
    array = io.open_frames(path)
    try:
        return numpy.asarray(array[:]), dict(array.attrs)
    finally:
        if hasattr(array, 'file'):
            array.file.close()


@pytest.mark.parametrize('suffix', ['.h5', '.zarr'])
def test_series_equal(tmp_path, frames, series, suffix):
    out = convert(frames, tmp_path / f'movie{suffix}', chunks=(16, 8, 8))
    data, attrs = read(out)
    assert_array_equal(data, series)
    assert attrs['axes'] == 'TYX'
    assert list(attrs['roi']) == [0, 24, 0, 28]
    assert list(attrs['frames']) == [0, 40]
    record = json.loads(attrs['ipcf_convert'])
    assert record['frames_written'] == 40
    assert record['chunks'] == [16, 8, 8]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'frames',
        f'movie{suffix}',
    ]


@pytest.mark.parametrize(
    'source', ['tif', 'ome.tif', 'bin', 'h5', 'zarr', 'glob', 'list', 'array']
)
def test_sources(tmp_path, frames, series, source):
    if source in {'tif', 'ome.tif', 'bin', 'h5', 'zarr'}:
        src = io.imwrite(tmp_path / f'in.{source}', series)
    elif source == 'glob':
        src = str(frames / '*.tif')
    elif source == 'list':
        src = sorted(frames.iterdir())
    else:
        src = series
    out = convert(src, tmp_path / 'out.h5', frames='5:30', roi='2:20,3:27')
    data, _ = read(out)
    assert_array_equal(data, series[5:30, 2:20, 3:27])


def test_raw_without_sidecar(tmp_path, series):
    path = tmp_path / 'raw.bin'
    series.astype('<u2').tofile(path)
    out = convert(path, tmp_path / 'out.h5', shape=(24, 28), dtype='uint16')
    assert_array_equal(read(out)[0], series)


def test_metadata_copied(tmp_path, series):
    src = io.imwrite(tmp_path / 'in.tif', series, metadata={'frame_time': 2})
    out = convert(src, tmp_path / 'out.zarr')
    assert io.read_metadata(out) == {'frame_time': 2}


@pytest.mark.parametrize(
    ('kwargs', 'index'),
    [
        ({'frames': slice(3, None)}, numpy.s_[3:]),
        ({'frames': (None, 7)}, numpy.s_[:7]),
        ({'frames': ':7'}, numpy.s_[:7]),
        ({'frames': (-10, -2)}, numpy.s_[-10:-2]),
        ({'roi': (4, 12, 0, 28)}, numpy.s_[:, 4:12]),
        ({'roi': ':,5:'}, numpy.s_[:, :, 5:]),
    ],
)
def test_crop_and_frame_range(tmp_path, frames, series, kwargs, index):
    out = convert(frames, tmp_path / 'out.h5', **kwargs)
    assert_array_equal(read(out)[0], series[index])


def test_roi_auto(tmp_path):
    """roi='auto' keeps the detected cell, sides multiples of block."""
    rng = numpy.random.default_rng(1)
    data = rng.poisson(100, (12, 64, 96)).astype(numpy.uint16)
    data[:, 20:40, 30:70] += 200
    out = convert(data, tmp_path / 'out.h5', roi='auto', block=16)
    stored, attrs = read(out)
    y0, y1, x0, x1 = (int(v) for v in attrs['roi'])
    assert y0 <= 20 and y1 >= 40 and x0 <= 30 and x1 >= 70
    assert (y1 - y0) % 16 == 0 and (x1 - x0) % 16 == 0
    assert_array_equal(stored, data[:, y0:y1, x0:x1])


def test_slabs_and_compression(tmp_path, frames, series, monkeypatch):
    """Many small slabs and compression give the same data."""
    monkeypatch.setattr(ipcf.convert, '_SLAB_BYTES', 1)
    for suffix, compression in (('.h5', 'zlib'), ('.zarr', 'zstd')):
        out = convert(
            frames,
            tmp_path / f'out{suffix}',
            chunks=(3, 5, 7),
            compression=compression,
        )
        assert_array_equal(read(out)[0], series)


@pytest.mark.parametrize('damage', ['truncate', 'garbage', 'shape', 'remove'])
@pytest.mark.parametrize('suffix', ['.h5', '.zarr'])
def test_bad_file_stops(tmp_path, frames, series, damage, suffix, monkeypatch):
    """A bad file in the middle stops with its name; no complete output."""
    import tifffile

    files = sorted(frames.iterdir())
    bad = files[25]
    if damage == 'truncate':
        bad.write_bytes(bad.read_bytes()[:-100])
    elif damage == 'garbage':
        bad.write_bytes(b'\x00' * bad.stat().st_size)
    elif damage == 'shape':
        tifffile.imwrite(bad, series[0, :10], byteorder='>')
    else:  # the file goes away during the conversion
        original = ipcf.convert._read_slab

        def read_slab(data, key):
            if key[0].stop > 25:
                bad.unlink(missing_ok=True)
            return original(data, key)

        monkeypatch.setattr(ipcf.convert, '_read_slab', read_slab)
    out = tmp_path / f'out{suffix}'
    with pytest.raises((OSError, ValueError), match=bad.name):
        convert(frames if damage != 'remove' else files, out, chunks=(8, 8, 8))
    assert not out.exists()
    # bad data leave nothing behind; a file that went away keeps the
    # partial output for resume
    partial = tmp_path / f'.out{suffix}.partial'
    assert partial.exists() == (damage == 'remove')
    assert not (tmp_path / f'.out{suffix}.lock').exists()


def test_existing_output(tmp_path, frames, series):
    out = convert(frames, tmp_path / 'out.h5')
    with pytest.raises(FileExistsError, match='overwrite'):
        convert(frames, out, frames='0:5')
    assert read(out)[0].shape == (40, 24, 28)
    convert(frames, out, frames='0:5', overwrite=True)
    assert read(out)[0].shape == (5, 24, 28)
    zout = convert(frames, tmp_path / 'out.zarr')
    convert(frames, zout, frames='0:5', overwrite=True)
    assert read(zout)[0].shape == (5, 24, 28)
    assert not (tmp_path / '.out.zarr.old').exists()


@pytest.mark.parametrize('suffix', ['.h5', '.zarr'])
def test_resume(tmp_path, frames, series, monkeypatch, suffix):
    """An interrupted conversion resumed equals an uninterrupted one."""
    expected = convert(
        frames, tmp_path / f'expected{suffix}', chunks=(8, 8, 8)
    )
    calls = []
    original = ipcf.convert._read_slab

    def failing(data, key):
        if key[0].start >= 16:  # the third slab
            msg = 'disk unplugged'
            raise OSError(msg)
        return original(data, key)

    monkeypatch.setattr(ipcf.convert, '_SLAB_BYTES', 1)
    monkeypatch.setattr(ipcf.convert, '_read_slab', failing)
    out = tmp_path / f'out{suffix}'
    with pytest.raises(OSError, match='disk unplugged'):
        convert(frames, out, chunks=(8, 8, 8))
    assert not out.exists()
    partial = tmp_path / f'.out{suffix}.partial'
    assert partial.exists()

    monkeypatch.setattr(ipcf.convert, '_read_slab', original)
    calls.clear()

    def counting(data, key):
        calls.append(key[0].start)
        return original(data, key)

    monkeypatch.setattr(ipcf.convert, '_read_slab', counting)
    convert(frames, out, chunks=(8, 8, 8), resume=True)
    assert min(calls) == 16  # two slabs of 8 frames were kept
    assert not partial.exists()
    data, attrs = read(out)
    assert_array_equal(data, read(expected)[0])
    assert_array_equal(data, series)


def test_resume_mismatch(tmp_path, frames, monkeypatch):
    def failing(data, key):
        msg = 'stop'
        raise OSError(msg)

    monkeypatch.setattr(ipcf.convert, '_read_slab', failing)
    out = tmp_path / 'out.h5'
    with pytest.raises(OSError, match='stop'):
        convert(frames, out, chunks=(8, 8, 8))
    monkeypatch.undo()
    with pytest.raises(ValueError, match='roi, shape differ'):
        convert(frames, out, chunks=(8, 8, 8), roi='0:8,0:8', resume=True)
    # without resume the partial output is discarded and redone
    convert(frames, out, chunks=(8, 8, 8), roi='0:8,0:8')
    assert read(out)[0].shape == (40, 8, 8)


def test_resume_without_partial_starts(tmp_path, frames, series):
    out = convert(frames, tmp_path / 'out.h5', resume=True)
    assert_array_equal(read(out)[0], series)


@pytest.mark.parametrize(
    ('kwargs', 'error', 'match'),
    [
        ({'output': 'out.tif'}, ValueError, 'unsupported suffix'),
        ({'frames': '5:5'}, ValueError, 'selects none'),
        ({'frames': '1:9:2'}, ValueError, 'START:STOP'),
        ({'frames': slice(0, 9, 2)}, ValueError, 'step 1'),
        ({'frames': 3}, TypeError, 'START:STOP'),
        ({'roi': '0:99,0:4'}, ValueError, 'exceeds'),
        ({'roi': (0, 99, 0, 4)}, ValueError, 'outside'),
        ({'roi': 5}, TypeError, 'roi=5'),
        ({'roi': 5.0}, TypeError, 'roi=5.0'),
        ({'roi': (0, 8.5, 0, 4)}, TypeError, 'roi=8.5'),
        ({'roi': (0, 8, 0)}, TypeError, 'y0, y1, x0, x1'),
        ({'roi': (0, True, 0, 4)}, TypeError, 'roi=True'),
        ({'block': 2.0}, TypeError, 'block=2.0'),
        ({'overwrite': 1}, TypeError, 'overwrite=1'),
        ({'resume': 'yes'}, TypeError, 'resume='),
        ({'chunks': (8, 8)}, TypeError, 'three integers'),
        ({'chunks': (0, 8, 8)}, ValueError, 'positive'),
        ({'compression': 'lzma'}, ValueError, 'compression'),
        ({'block': 0}, ValueError, 'block=0'),
    ],
)
def test_bad_arguments(tmp_path, series, kwargs, error, match):
    output = tmp_path / kwargs.pop('output', 'out.h5')
    with pytest.raises(error, match=match):
        convert(series, output, **kwargs)
    assert not output.exists()


def test_parse_frames():
    assert parse_frames('3:9') == slice(3, 9)
    assert parse_frames(' 3 : ') == slice(3, None)
    assert parse_frames('::1') == slice(None, None)
    for text in ('3', '-1:4', 'a:b', '1:2:3'):
        with pytest.raises(ValueError, match='START:STOP'):
            parse_frames(text)


def test_cli_convert(tmp_path, frames, series, capsys):
    out = tmp_path / 'out.h5'
    args = ['convert', str(frames), str(out), '--frames', '2:30']
    assert main([*args, '--roi', '1:20,2:26', '--quiet']) == 0
    assert str(out) in capsys.readouterr().out
    assert_array_equal(read(out)[0], series[2:30, 1:20, 2:26])
    assert main([*args, '--quiet']) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'exists' in err
    files = [str(p) for p in sorted(frames.iterdir())[:10]]
    zout = tmp_path / 'list.zarr'
    assert main(['convert', *files, str(zout), '--chunks', '4,8,8']) == 0
    assert_array_equal(read(zout)[0], series[:10])


def test_cli_convert_bad_file(tmp_path, frames, capsys):
    bad = sorted(frames.iterdir())[17]
    bad.write_bytes(bad.read_bytes()[:50])
    out = tmp_path / 'out.zarr'
    assert main(['convert', str(frames), str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith('ipcf: error:') and err.count('\n') == 1
    assert bad.name in err
    assert not out.exists()


def test_existing_output_error(tmp_path, series):
    """An existing output raises the shared OutputExistsError."""
    from ipcf._files import OutputExistsError

    out = convert(series, tmp_path / 'out.zarr')
    with pytest.raises(OutputExistsError, match='overwrite=True'):
        convert(series, out)


def test_output_appears_meanwhile(tmp_path, series, monkeypatch):
    """An output made during the conversion is kept; resume finishes."""
    out = tmp_path / 'out.h5'
    original = ipcf.convert._read_slab

    def read_slab(data, key):
        out.write_bytes(b'someone else')
        return original(data, key)

    monkeypatch.setattr(ipcf.convert, '_read_slab', read_slab)
    with pytest.raises(FileExistsError, match='out.h5'):
        convert(series, out)
    assert out.read_bytes() == b'someone else'
    monkeypatch.undo()
    convert(series, out, resume=True, overwrite=True)
    assert_array_equal(read(out)[0], series)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['out.h5']
