"""Tests of ipcf.convert: nothing lost, nothing left, nothing silent.

Inputs are never overwritten; a full disk, bad data, a second writer and
Ctrl-C each end with one clear error and a known state on disk.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import numpy
import pytest
from numpy.testing import assert_array_equal

import ipcf.convert
from ipcf import io
from ipcf._files import OutputBusyError
from ipcf.convert import convert


@pytest.fixture
def series():
    rng = numpy.random.default_rng(3)
    return rng.integers(0, 4000, (40, 24, 28)).astype(numpy.uint16)


@pytest.fixture
def frames(tmp_path, series):
    return io.imwrite_series(tmp_path / 'frames', series)


def read(path):
    array = io.open_frames(path)
    try:
        return numpy.asarray(array[:])
    finally:
        if hasattr(array, 'file'):
            array.file.close()


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def run_python(code, *args, timeout=300):
    """Run code in a fresh interpreter; return the CompletedProcess."""
    return subprocess.run(
        [sys.executable, '-c', textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# the input can be destroyed -------------------------------------------


def test_output_is_the_input_file(tmp_path, series):
    source = io.imwrite(tmp_path / 's.h5', series)
    before = source.read_bytes()
    for overwrite in (False, True):
        with pytest.raises(ValueError, match='would overwrite the input'):
            convert(source, source, overwrite=overwrite)
    assert source.read_bytes() == before
    assert listing(tmp_path) == ['s.h5']


def test_output_holds_the_input_series(tmp_path, series):
    """A store named like the folder of the input files is refused."""
    folder = tmp_path / 'movie.zarr'
    io.imwrite_series(folder, series)
    files = sorted(folder.iterdir())
    for source in (str(folder / '*.tif'), files):
        with pytest.raises(ValueError, match='would overwrite the input'):
            convert(source, folder, overwrite=True)
    assert sorted(folder.iterdir()) == files
    assert_array_equal(read(folder / '*.tif'), series)
    assert listing(tmp_path) == ['movie.zarr']


def test_output_inside_the_input(tmp_path, frames):
    with pytest.raises(ValueError, match='would overwrite the input'):
        convert(frames, frames / 'out.h5')
    assert not (frames / 'out.h5').exists()


def test_output_is_the_file_of_an_open_dataset(tmp_path, series):
    """An open h5py dataset or memmap counts as its file."""
    for name in ('s.h5', 's.bin'):
        source = io.imwrite(tmp_path / name, series)
        dataset = io.open_frames(source)
        if name == 's.h5':
            with pytest.raises(ValueError, match='would overwrite the'):
                convert(dataset, source, overwrite=True)
        with pytest.raises(ValueError, match='would overwrite the input'):
            io.imwrite(source, dataset, overwrite=True)
        del dataset
    assert_array_equal(read(tmp_path / 's.h5'), series)


def test_imwrite_series_over_its_input(tmp_path, frames, series):
    lazy = io.open_frames(frames)
    with pytest.raises(ValueError, match='would overwrite the input'):
        io.imwrite_series(frames, lazy, overwrite=True)
    with pytest.raises(ValueError, match='would overwrite the input'):
        io.imwrite_series(tmp_path, lazy, overwrite=True)
    assert_array_equal(read(frames), series)


# disk full --------------------------------------------------------------


def test_no_space_before_start(tmp_path, series, monkeypatch, caplog):
    """An output larger than the free space is refused up front."""
    monkeypatch.setattr('ipcf._files.free_space', lambda path: 10_000)
    out = tmp_path / 'sub' / 'out.h5'
    with pytest.raises(OSError, match='no space left on device') as info:
        convert(series, out)
    assert info.value.errno == errno.ENOSPC
    assert info.value.filename == str(out)
    text = str(info.value)
    assert '53.8 kB of data' in text and '10 kB is free' in text
    assert listing(tmp_path) == []  # not even the folder
    # compressed data may fit: a warning, then the conversion
    monkeypatch.setattr('ipcf._files.free_space', lambda path: 10_000_000_000)
    monkeypatch.setattr(
        ipcf.convert,
        'check_free_space',
        _refuse_first(ipcf.convert.check_free_space),
    )
    convert(series, out, compression='zlib')
    assert 'may fill the disk' in caplog.text
    assert_array_equal(read(out), series)


def _refuse_first(check):
    calls = []

    def first_refused(path, need, **kwargs):
        calls.append(need)
        if len(calls) == 1:
            check(path, 10**15, **kwargs)
        return check(path, need, **kwargs)

    return first_refused


@pytest.mark.parametrize('suffix', ['.h5', '.zarr'])
@pytest.mark.parametrize('resume', [False, True])
def test_no_space_while_writing(
    tmp_path, frames, series, monkeypatch, suffix, resume
):
    """A write failing with ENOSPC: one OSError; partial removed or kept."""
    import h5py
    import zarr

    cls = h5py.Dataset if suffix == '.h5' else zarr.Array
    original = cls.__setitem__
    writes = []

    def full_disk(self, key, value):
        writes.append(key)
        if len(writes) > 2:
            raise OSError(errno.ENOSPC, 'No space left on device')
        return original(self, key, value)

    monkeypatch.setattr(ipcf.convert, '_SLAB_BYTES', 1)
    monkeypatch.setattr(cls, '__setitem__', full_disk)
    out = tmp_path / f'out{suffix}'
    with pytest.raises(OSError, match='no space left on device') as info:
        convert(frames, out, chunks=(8, 8, 8), resume=resume)
    assert info.value.errno == errno.ENOSPC
    assert info.value.filename == str(out)
    assert str(info.value).count('\n') == 0
    partial = tmp_path / f'.out{suffix}.partial'
    assert partial.exists() == resume
    assert ('kept for resume' in str(info.value)) == resume
    assert not out.exists()
    assert not (tmp_path / f'.out{suffix}.lock').exists()
    monkeypatch.undo()
    convert(frames, out, chunks=(8, 8, 8), resume=True)
    assert_array_equal(read(out), series)


@pytest.fixture
def small_disk(tmp_path):
    """A 20 MB file system, if this process may mount one."""
    folder = tmp_path / 'small'
    folder.mkdir()
    mounted = subprocess.run(
        ['mount', '-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip('cannot mount a small file system here')
    try:
        yield folder
    finally:
        subprocess.run(['umount', '-l', str(folder)], check=False)


@pytest.mark.parametrize('suffix', ['.h5', '.zarr'])
def test_small_disk_refused_up_front(tmp_path, small_disk, suffix):
    data = numpy.zeros((700, 128, 128), numpy.uint16)  # 23 MB
    source = io.imwrite(tmp_path / 'big.h5', data)
    with pytest.raises(OSError, match='no space left on device') as info:
        convert(source, small_disk / f'c{suffix}')
    assert info.value.errno == errno.ENOSPC
    assert 'MB is free' in str(info.value)
    assert listing(small_disk) == []


_FILL_DISK = """
    import errno, json, os, sys
    import numpy
    import ipcf.convert
    from ipcf.convert import convert

    source, out, resume, check = sys.argv[1:5]
    folder = os.path.dirname(out)
    ipcf.convert._SLAB_BYTES = 2**20
    if check == 'no':  # let the writes meet the full disk
        ipcf.convert.check_free_space = lambda *args, **kwargs: None
    read = ipcf.convert._read_slab

    def filling(data, key):
        if key[0].start >= 64:  # something else fills the disk
            with open(os.path.join(folder, 'filler'), 'ab') as fh:
                try:
                    fh.write(b'x' * 30 * 2**20)
                except OSError:
                    pass
        return read(data, key)

    ipcf.convert._read_slab = filling
    try:
        convert(source, out, chunks=(16, 16, 16), resume=resume == 'yes')
    except OSError as exc:
        print(json.dumps([exc.errno, exc.filename, str(exc)]))
    else:
        print(json.dumps(None))
"""


@pytest.mark.parametrize('suffix', ['.h5', '.zarr'])
@pytest.mark.parametrize('check', ['yes', 'no'])
@pytest.mark.parametrize('resume', ['no', 'yes'])
def test_small_disk_fills(tmp_path, small_disk, suffix, check, resume):
    """The disk filling meanwhile: no crash, no noise, a known partial.

    With the free-space check before each slab the writer stops before
    the disk is full; without it the writes fail (HDF5 then cannot close
    the file, which crashed the interpreter at exit).
    """
    rng = numpy.random.default_rng(0)
    data = rng.integers(0, 4000, (300, 128, 128)).astype(numpy.uint16)
    source = io.imwrite(tmp_path / 'src.h5', data)  # 9.8 MB
    out = small_disk / f'c{suffix}'
    done = run_python(_FILL_DISK, str(source), str(out), resume, check)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.count('\n') <= 1, done.stderr[-2000:]
    number, filename, text = json.loads(done.stdout)
    assert number == errno.ENOSPC
    assert filename == str(out)
    assert 'no space left on device' in text
    partial = small_disk / f'.c{suffix}.partial'
    names = set(listing(small_disk)) - {'filler'}
    if resume == 'yes' and 'kept for resume' in text:
        assert names == {partial.name}
        (small_disk / 'filler').unlink()
        convert(source, out, chunks=(16, 16, 16), resume=True)
        assert_array_equal(read(out), data)
    else:
        assert resume == 'no' or 'could not be kept' in text
        assert names == set()
        assert not out.exists()


# stale partials -----------------------------------------------------------


def test_bad_option_leaves_nothing(tmp_path, series):
    out = tmp_path / 'sub' / 'out.h5'
    for kwargs in (
        {'num_threads': -3},
        {'gaps': 'maybe'},
        {'compression': 'lzf', 'output': tmp_path / 'sub' / 'out.zarr'},
    ):
        target = kwargs.pop('output', out)
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            convert(series, target, **kwargs)
    assert listing(tmp_path) == []


@pytest.mark.parametrize('suffix', ['.h5', '.zarr'])
def test_corrupt_file_removes_partial(tmp_path, frames, series, suffix):
    bad = sorted(frames.iterdir())[25]
    good = bad.read_bytes()
    bad.write_bytes(good[:-100])
    out = tmp_path / f'out{suffix}'
    with pytest.raises(ValueError, match=bad.name) as info:
        convert(frames, out, chunks=(8, 8, 8))
    assert 'kept' not in str(info.value)
    assert listing(tmp_path) == ['frames']
    # with resume, the partial output stays, and the message says so
    with pytest.raises(ValueError, match='kept for resume'):
        convert(frames, out, chunks=(8, 8, 8), resume=True)
    assert listing(tmp_path) == [f'.out{suffix}.partial', 'frames']
    bad.write_bytes(good)
    convert(frames, out, chunks=(8, 8, 8), resume=True)
    assert_array_equal(read(out), series)
    assert listing(tmp_path) == ['frames', f'out{suffix}']


def test_gap_in_series_leaves_nothing(tmp_path, frames, series):
    (frames / 'frame00017.tif').unlink()
    out = tmp_path / 'out.h5'
    with pytest.raises(ValueError, match='frame00017.tif'):
        convert(frames, out)
    assert listing(tmp_path) == ['frames']
    convert(frames, out, gaps='ignore')
    assert_array_equal(read(out), numpy.delete(series, 17, axis=0))


# concurrent runs --------------------------------------------------------


def _lock(out, pid):
    lock = out.with_name(f'.{out.name}.lock')
    lock.write_text(json.dumps({'pid': pid, 'host': socket.gethostname()}))
    return lock


@pytest.mark.parametrize('suffix', ['.h5', '.zarr'])
def test_busy_output(tmp_path, series, suffix):
    """A lock held by a live process refuses a second writer."""
    out = tmp_path / f'out{suffix}'
    lock = _lock(out, os.getpid())
    with pytest.raises(OutputBusyError, match=f'process {os.getpid()}'):
        convert(series, out)
    assert listing(tmp_path) == [lock.name]  # the holder's lock stays
    lock.unlink()
    convert(series, out)
    assert listing(tmp_path) == [out.name]


def test_stale_lock_taken_over(tmp_path, series):
    child = subprocess.Popen([sys.executable, '-c', 'pass'])
    child.wait()  # its pid is no process now
    out = tmp_path / 'out.h5'
    _lock(out, child.pid)
    convert(series, out)
    assert listing(tmp_path) == ['out.h5']
    assert_array_equal(read(out), series)


@pytest.mark.parametrize(
    'failure', [None, ValueError('bad frame'), KeyboardInterrupt()]
)
def test_lock_held_while_writing(tmp_path, frames, monkeypatch, failure):
    out = tmp_path / 'out.h5'
    lock = tmp_path / '.out.h5.lock'
    seen = []
    original = ipcf.convert._read_slab

    def read_slab(data, key):
        seen.append(json.loads(lock.read_text())['pid'])
        if failure is not None and key[0].start >= 20:
            raise failure
        return original(data, key)

    monkeypatch.setattr(ipcf.convert, '_read_slab', read_slab)
    if failure is None:
        convert(frames, out, chunks=(8, 8, 8))
    else:
        with pytest.raises(type(failure)):
            convert(frames, out, chunks=(8, 8, 8))
    assert set(seen) == {os.getpid()}
    assert not lock.exists()


# Ctrl-C -------------------------------------------------------------------

_SLOW = """
    import sys, time
    import ipcf.convert
    read = ipcf.convert._read_slab

    def slow(data, key):
        time.sleep(0.1)
        return read(data, key)

    ipcf.convert._read_slab = slow
    ipcf.convert._SLAB_BYTES = 50_000  # slabs of 80 frames, 4 s each
    print('started', flush=True)
    ipcf.convert.convert(
        sys.argv[1], sys.argv[2], chunks=(20, 8, 8), num_threads=2
    )
"""


@pytest.mark.parametrize('suffix', ['.h5', '.zarr'])
def test_ctrl_c_stops_and_resumes(tmp_path, suffix):
    """Ctrl-C stops the reading threads at once and keeps the progress."""
    rng = numpy.random.default_rng(5)
    data = rng.integers(0, 4000, (240, 16, 16)).astype(numpy.uint16)
    frames = io.imwrite_series(tmp_path / 'frames', data)
    out = tmp_path / f'out{suffix}'
    child = subprocess.Popen(
        [sys.executable, '-c', textwrap.dedent(_SLOW), frames, out],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline() == 'started\n'
    partial = tmp_path / f'.out{suffix}.partial'
    time.sleep(5.5)  # the first slab is written, the second half read
    child.send_signal(signal.SIGINT)
    start = time.monotonic()
    try:
        _, stderr = child.communicate(timeout=20)
    finally:
        child.kill()
    assert time.monotonic() - start < 2
    assert child.returncode != 0
    assert stderr.rstrip().endswith('KeyboardInterrupt'), stderr
    assert not out.exists()
    assert not (tmp_path / f'.out{suffix}.lock').exists()
    kind = 'hdf5' if suffix == '.h5' else 'zarr'
    with ipcf.convert.open_root(partial, kind) as root:
        record = json.loads(root['data'].attrs['ipcf_convert'])
    assert record['frames_written'] == 80
    convert(frames, out, chunks=(20, 8, 8), resume=True)
    expected = convert(data, tmp_path / f'direct{suffix}', chunks=(20, 8, 8))
    assert_array_equal(read(out), read(expected))
    assert not partial.exists()
