"""Tests of ipcf.pipeline: blocked, resumable analysis."""

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import ipcf
from ipcf import pipeline
from ipcf.pipeline import analyze, plan_blocks

OPTIONS = {'radius': 2, 'npoints': 8, 'nbins': 8}


@pytest.fixture(scope='module')
def series():
    rng = numpy.random.default_rng(5)
    return rng.poisson(100, (64, 23, 19)).astype(numpy.uint16)


@pytest.fixture(scope='module')
def whole(series):
    return ipcf.pcf_image(series, **OPTIONS)


def test_plan_blocks_cover_grid():
    blocks = plan_blocks((10, 7), 4)
    covered = numpy.zeros((10, 7), int)
    for y, x, ny, nx in blocks:
        covered[y : y + ny, x : x + nx] += 1
    assert (covered == 1).all()


@pytest.mark.parametrize('block', [1, 5, 8, 64])
def test_blocked_equals_whole(series, whole, tmp_path, block):
    before = series.copy()
    path = analyze(
        series, tmp_path / 'r.h5', bleach=None, block=block, **OPTIONS
    )
    assert_array_equal(series, before)
    result = ipcf.load_result(path)
    assert result.shape == whole.shape
    assert_allclose(result, whole, rtol=0, atol=1e-6)
    assert_array_equal(result['y'], whole['y'])
    assert_array_equal(result['x'], whole['x'])
    assert_allclose(result['delay'], whole['delay'])
    assert sorted(p.name for p in tmp_path.iterdir()) == ['r.h5']


def test_blocked_with_mask_and_roi(series, tmp_path):
    mask = numpy.zeros(series.shape[1:], bool)
    mask[5:9, 4:15] = True
    roi = (1, 20, 2, 18)
    path = analyze(
        series, tmp_path / 'r.zarr', bleach=None, block=4, mask=mask,
        roi=roi, **OPTIONS,
    )  # fmt: skip
    result = ipcf.load_result(path)
    crop = series[:, 1:20, 2:18]
    expected = ipcf.pcf_image(crop, mask=mask[1:20, 2:18], **OPTIONS)
    assert_allclose(result, expected, rtol=0, atol=1e-6)
    assert result['y'].values[0] == 1 + 2
    assert result['x'].values[0] == 2 + 2
    # blocks without a masked pixel are all NaN
    assert numpy.isnan(result.values[8:]).all()


def test_blocked_with_bleach_correction(tmp_path):
    from ipcf import bleach

    rng = numpy.random.default_rng(2)
    decay = numpy.exp(-numpy.arange(96) / 200.0)[:, None, None]
    data = rng.poisson(200 * decay, (96, 12, 12)).astype(numpy.uint16)
    path = analyze(
        data, tmp_path / 'r.h5', bleach='filter:16', block=3, **OPTIONS
    )
    result = ipcf.load_result(path)
    corrected = bleach.correct(data, method='filter', param=16)
    assert corrected.shape[0] == 96 - 32
    expected = ipcf.pcf_image(corrected, **OPTIONS)
    assert result.attrs['frames'] == 64
    assert result.attrs['bleach'] == 'filter:16'
    assert_allclose(result, expected, rtol=0, atol=1e-6)


def test_resume_after_interruption(series, whole, tmp_path, interrupt_after):
    out = tmp_path / 'r.h5'
    resume = interrupt_after(3)
    options = {'bleach': None, 'block': 4, 'scheduler': 'synchronous'}
    with pytest.raises(KeyboardInterrupt):
        analyze(series, out, **options, **OPTIONS)
    assert not out.exists()
    work = tmp_path / '.r.h5.work'
    assert len(list((work / 'blocks').iterdir())) == 3
    with pytest.raises(FileExistsError, match='resume'):
        analyze(series, out, **options, **OPTIONS)
    with pytest.raises(ValueError, match='other parameters'):
        analyze(series, out, **options, resume=True, radius=3, npoints=8)
    resume()
    analyze(series, out, **options, resume=True, **OPTIONS)
    assert not work.exists()
    assert_allclose(ipcf.load_result(out), whole, rtol=0, atol=1e-6)


def test_existing_output(series, tmp_path):
    out = tmp_path / 'r.h5'
    out.write_bytes(b'keep')
    with pytest.raises(FileExistsError, match='overwrite'):
        analyze(series, out, bleach=None, **OPTIONS)
    assert out.read_bytes() == b'keep'
    analyze(series, out, bleach=None, overwrite=True, **OPTIONS)
    assert ipcf.load_result(out).shape[0] == 19


def test_processes_from_file(series, whole, tmp_path):
    source = ipcf.io.imwrite(tmp_path / 'series.h5', series)
    path = analyze(
        str(source), tmp_path / 'r.h5', bleach=None, block=8,
        scheduler='processes', num_workers=2, **OPTIONS,
    )  # fmt: skip
    assert_allclose(ipcf.load_result(path), whole, rtol=0, atol=1e-6)


def test_local_cluster(series, whole, tmp_path):
    pytest.importorskip('dask.distributed')
    source = ipcf.io.imwrite(tmp_path / 'series.bin', series)
    path = analyze(
        str(source), tmp_path / 'r.zarr', bleach=None, block=8,
        cluster='local:2', **OPTIONS,
    )  # fmt: skip
    assert_allclose(ipcf.load_result(path), whole, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ('options', 'error', 'match'),
    [
        ({'block': 0}, ValueError, 'block=0'),
        ({'roi': (0, 3, 0, 19)}, ValueError, 'too small'),
        ({'roi': (0, 30, 0, 19)}, ValueError, 'outside'),
        ({'mask': numpy.ones((3, 3), bool)}, ValueError, 'mask.shape'),
        ({'bleach': 'filter:40'}, ValueError, 'frames'),
        ({'cluster': 'remote'}, ValueError, 'local:N'),
        ({'dt': -1.0}, ValueError, 'dt='),
    ],
)
def test_bad_options(series, tmp_path, options, error, match):
    options = {'bleach': None, **OPTIONS, **options}
    with pytest.raises(error, match=match):
        analyze(series, tmp_path / 'r.h5', **options)
    assert not (tmp_path / 'r.h5').exists()


def test_cli_analyze(series, whole, tmp_path, capsys):
    from ipcf.cli import main

    source = ipcf.io.imwrite(tmp_path / 'series.bin', series)
    out = tmp_path / 'r.h5'
    args = [
        'analyze', str(source), str(out), '--radius', '2', '--points', '8',
        '--bins', '8', '--bleach', 'none', '--block', '8', '--quiet',
    ]  # fmt: skip
    assert main(args) == 0
    assert_allclose(ipcf.load_result(out), whole, rtol=0, atol=1e-6)
    assert main(args) == 2
    assert 'exists' in capsys.readouterr().err


def test_memory_stays_bounded(tmp_path):
    """A series larger than the memory budget is analysed within it."""
    import subprocess
    import sys
    import textwrap

    import h5py

    # 210 MB of uint16; HDF5 rather than a memmap, whose pages would count
    # as resident memory although the system can drop them at any time
    shape = (1024, 320, 320)
    path = tmp_path / 'big.h5'
    frame = numpy.random.default_rng(0).poisson(100, shape[1:])
    with h5py.File(path, 'w') as h5:
        dataset = h5.create_dataset(
            'data', shape=shape, dtype='uint16', chunks=(512, 16, 16)
        )
        for t in range(0, shape[0], 128):
            dataset[t : t + 128] = [
                numpy.roll(frame, t + i, axis=1) for i in range(128)
            ]
    script = textwrap.dedent(
        f"""
        import resource, ipcf, ipcf.pipeline, ipcf.engines, numpy, dask
        import h5py
        ipcf.pcf_image(numpy.ones((16, 8, 8)), radius=1, npoints=4)
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        ipcf.pipeline.analyze(
            {str(path)!r}, {str(tmp_path / 'r.h5')!r}, radius=1,
            npoints=4, nbins=4, bleach='filter:64', block=64,
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print((peak - base) / 1024)
        """
    )
    proc = subprocess.run(
        [sys.executable, '-c', script],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    growth_mb = float(proc.stdout.split()[-1])
    # one task's area (256 x 192 result pixels, 1024 frames: 100 MB of
    # uint16) is read a slab of rows at a time, never the whole input
    assert growth_mb < 160, growth_mb
    assert ipcf.load_result(tmp_path / 'r.h5').shape[:2] == (318, 318)


def test_tiff_series_to_store_to_result(tmp_path):
    """The whole chain equals pcf_image of the corrected whole image."""
    from ipcf import bleach
    from ipcf.convert import convert

    rng = numpy.random.default_rng(11)
    decay = numpy.exp(-numpy.arange(96) / 300.0)[:, None, None]
    data = rng.poisson(150 * decay, (96, 18, 17)).astype(numpy.uint16)
    series = ipcf.io.imwrite_series(tmp_path / 'series', data)
    store = convert(str(series), tmp_path / 'series.h5')
    path = analyze(
        str(store), tmp_path / 'r.h5', bleach='filter:16', block=5,
        **OPTIONS,
    )  # fmt: skip
    corrected = bleach.correct(data, method='filter', param=16)
    expected = ipcf.pcf_image(corrected, **OPTIONS)
    assert_allclose(ipcf.load_result(path), expected, rtol=0, atol=1e-6)


def test_unwritable_output(series, tmp_path):
    from ipcf.cli import main

    (tmp_path / 'file').write_text('not a directory')
    out = tmp_path / 'file' / 'r.h5'
    with pytest.raises(OSError):
        analyze(series, out, bleach=None, **OPTIONS)
    source = ipcf.io.imwrite(tmp_path / 'series.h5', series)
    assert main(['analyze', str(source), str(out), '--quiet']) == 2


def test_cli_analyze_with_maps(tmp_path, capsys):
    from ipcf.cli import main

    sim = ipcf.simulate.free(shape=(256, 20, 20), seed=3)
    source = tmp_path / 'free.bin'
    sim.save(source)
    out = tmp_path / 'r.h5'
    args = [
        'analyze', str(source), str(out), '--radius', '3', '--points', '8',
        '--bins', '12', '--bleach', 'none', '--maps', '--quiet',
    ]  # fmt: skip
    assert main(args) == 0
    text = capsys.readouterr().out
    assert 'r_maps.h5' in text
    assert 'pooled D' in text
    maps = ipcf.analysis.load_maps(tmp_path / 'r_maps.h5')
    assert maps['D'].shape == (14, 14)


@pytest.mark.parametrize('directions', ['forward', 'both'])
def test_cross_channel_blocked_equals_whole(series, tmp_path, directions):
    rng = numpy.random.default_rng(9)
    second = rng.poisson(40, series.shape).astype(numpy.uint16)
    path = analyze(
        series, tmp_path / 'r.h5', neighbour=second, directions=directions,
        bleach='exp', block=5, **OPTIONS,
    )  # fmt: skip
    result = ipcf.load_result(path)
    # each channel is bleach-corrected on its own
    from ipcf import bleach

    expected = ipcf.pcf_image(
        bleach.correct(series, method='exp'),
        neighbour=bleach.correct(second, method='exp'),
        directions=directions,
        **OPTIONS,
    )
    assert result.dims == expected.dims
    assert_allclose(result, expected, rtol=0, atol=1e-6)
    assert result.attrs['cross'] is True
    assert result.attrs['neighbour'] == 'ndarray (64, 23, 19)'


def test_cross_channel_needs_same_shapes(series, tmp_path):
    with pytest.raises(ValueError, match='different shapes'):
        analyze(series, tmp_path / 'r.h5', neighbour=series[:, :-1])
    assert list(tmp_path.iterdir()) == []


def test_provenance_of_a_run(series, tmp_path):
    from ipcf.io import imwrite
    from ipcf.store import fingerprint

    folder = tmp_path / 'data'
    folder.mkdir()
    source = imwrite(folder / 's.h5', series)
    out = tmp_path / 'out' / 'r.h5'
    out.parent.mkdir()
    analyze(str(source), out, bleach=None, block=8, **OPTIONS)
    result = ipcf.load_result(out)
    record = result.encoding['provenance']
    # the source is recorded relative to the result, so both can move
    assert result.attrs['source'] == '../data/s.h5'
    assert record['source'] == '../data/s.h5'
    assert record['source_fingerprint'] is None or isinstance(
        record['source_fingerprint'], str
    )
    assert result.attrs['source_fingerprint'] == fingerprint(series)
    assert record['parameters']['radius'] == 2
    assert record['call'].startswith("ipcf.analyze('../data/s.h5'")
    assert record['version'] == ipcf.__version__


def test_bad_input_leaves_nothing(series, tmp_path):
    bad = series.astype(numpy.float32)
    bad[3, 4, 5] = numpy.nan
    with pytest.raises(ValueError, match='NaN'):
        analyze(bad, tmp_path / 'r.h5', bleach=None, block=8, **OPTIONS)
    with pytest.raises(ValueError, match='num_threads'):
        analyze(series, tmp_path / 'r.h5', num_threads=-3, **OPTIONS)
    assert list(tmp_path.iterdir()) == []


def test_output_may_not_be_an_input(series, tmp_path):
    from ipcf.io import imwrite

    source = imwrite(tmp_path / 's.h5', series)
    for output in (source, tmp_path / 's.h5', tmp_path):
        with pytest.raises(ValueError, match='would overwrite the input'):
            analyze(str(source), output, overwrite=True, **OPTIONS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['s.h5']
    assert_array_equal(ipcf.open_series(source)[...], series)


def test_a_second_writer_is_refused(series, tmp_path):
    import json
    import os
    import socket

    from ipcf._files import OutputBusyError

    out = tmp_path / 'r.h5'
    lock = tmp_path / '.r.h5.lock'
    # a live writer: this test's own process
    lock.write_text(
        json.dumps({'pid': os.getppid(), 'host': socket.gethostname()})
    )
    with pytest.raises(OutputBusyError, match='being written by process'):
        analyze(series, out, bleach=None, **OPTIONS)
    assert not (tmp_path / '.r.h5.work').exists()
    # a stale lock (no such process) is taken over
    lock.write_text(
        json.dumps({'pid': 2**22 + 12345, 'host': socket.gethostname()})
    )
    analyze(series, out, bleach=None, **OPTIONS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['r.h5']


def test_result_too_large_for_the_disk(series, tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    usage = namedtuple('usage', 'total used free')
    monkeypatch.setattr(shutil, 'disk_usage', lambda path: usage(1, 1, 1000))
    with pytest.raises(OSError, match='only 1 kB is free'):
        analyze(series, tmp_path / 'r.h5', bleach=None, **OPTIONS)
    assert list(tmp_path.iterdir()) == []


def test_workers_exit_with_a_killed_run(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    psutil = pytest.importorskip('psutil')
    script = f"""
import numpy, ipcf
data = numpy.random.default_rng(0).poisson(100, (4096, 60, 60))
ipcf.analyze(data, {str(tmp_path / 'r.h5')!r}, radius=2, npoints=8,
             bleach=None, block=4, scheduler='processes', num_workers=2)
"""
    run = subprocess.Popen([sys.executable, '-c', script])
    try:
        parent = psutil.Process(run.pid)
        deadline = time.monotonic() + 60
        workers = []
        while time.monotonic() < deadline and len(workers) < 2:
            time.sleep(0.2)
            workers = parent.children(recursive=True)
        assert len(workers) >= 2, 'the run started no workers'
        time.sleep(1.0)  # let them take blocks
        run.send_signal(signal.SIGKILL)
        run.wait(10)
        gone, alive = psutil.wait_procs(workers, timeout=5)
        assert not alive, f'workers still running: {alive}'
    finally:
        if run.poll() is None:
            run.kill()


def test_gaps_in_a_series(series, tmp_path):
    from ipcf.io import imwrite_series

    folder = imwrite_series(tmp_path / 'frames', series)
    files = sorted(folder.iterdir())
    files[10].unlink()
    with pytest.raises(ValueError, match='missing'):
        analyze(str(folder), tmp_path / 'r.h5', bleach=None, **OPTIONS)
    assert not (tmp_path / 'r.h5').exists()
    path = analyze(
        str(folder), tmp_path / 'r.h5', bleach=None, gaps='ignore',
        **OPTIONS,
    )  # fmt: skip
    assert ipcf.load_result(path).attrs['frames_total'] == 63


@pytest.mark.parametrize('block', [3, 64])
def test_blocked_with_offset_equals_whole(series, tmp_path, block):
    """A camera offset: blocked equals whole, recorded, resume checks it."""
    data = series.copy()
    data[:, 6, 7] = 50  # below the offset: NaN
    whole = ipcf.pcf_image(data, offset=60.0, **OPTIONS)
    path = analyze(
        data, tmp_path / 'r.h5', bleach=None, block=block, offset=60.0,
        **OPTIONS,
    )  # fmt: skip
    result = ipcf.load_result(path)
    assert result.attrs['offset'] == 60.0
    assert_array_equal(numpy.isnan(result), numpy.isnan(whole))
    assert numpy.isnan(result.sel(y=6, x=7)).all()
    assert_allclose(result, whole, rtol=0, atol=1e-6)
    record = result.encoding['provenance']
    assert record['parameters']['offset'] == 60.0
    assert 'offset=60.0' in record['call']


def test_resume_refuses_another_offset(series, tmp_path, interrupt_after):
    out = tmp_path / 'r.h5'
    resume = interrupt_after(2)
    options = {'bleach': None, 'block': 4, 'scheduler': 'synchronous'}
    with pytest.raises(KeyboardInterrupt):
        analyze(series, out, offset=50.0, **options, **OPTIONS)
    resume()
    for other in (0.0, 50.5):
        with pytest.raises(ValueError, match='other parameters'):
            analyze(series, out, offset=other, resume=True, **options,
                    **OPTIONS)  # fmt: skip
    analyze(series, out, offset=50.0, resume=True, **options, **OPTIONS)
    expected = ipcf.pcf_image(series, offset=50.0, **OPTIONS)
    assert_allclose(ipcf.load_result(out), expected, rtol=0, atol=1e-6)


def test_bad_offset(series, tmp_path):
    with pytest.raises(ValueError, match='offset=-1.0'):
        analyze(series, tmp_path / 'r.h5', offset=-1.0, **OPTIONS)
    with pytest.raises(TypeError, match='offset='):
        analyze(series, tmp_path / 'r.h5', offset='100', **OPTIONS)
    assert not (tmp_path / 'r.h5').exists()


@pytest.fixture
def two_channel_file(tmp_path):
    """A (T, C, Z, Y, X) OME-TIFF of two channels and two planes."""
    import tifffile

    rng = numpy.random.default_rng(3)
    data = rng.poisson(100, (64, 2, 2, 14, 14)).astype(numpy.uint16)
    path = tmp_path / 'cell.ome.tif'
    tifffile.imwrite(
        path,
        data,
        ome=True,
        metadata={
            'axes': 'TCZYX',
            'TimeIncrement': 0.002,
            'TimeIncrementUnit': 's',
        },
    )
    return path, data


@pytest.mark.parametrize('scheduler', ['synchronous', 'processes'])
def test_cross_channel_of_one_file(two_channel_file, tmp_path, scheduler):
    """Two channels of one file equal pcf_image of the two arrays."""
    path, data = two_channel_file
    out = analyze(
        path, tmp_path / 'cross.h5', channel=0, z=1, neighbour_channel=1,
        directions='both', bleach=None, block=4, scheduler=scheduler,
        num_workers=2, **OPTIONS,
    )  # fmt: skip
    result = ipcf.load_result(out)
    expected = ipcf.pcf_image(
        data[:, 0, 1], neighbour=data[:, 1, 1], directions='both', **OPTIONS
    )
    assert_allclose(result, expected, rtol=0, atol=1e-6)
    assert result.attrs['channel'] == 0
    assert result.attrs['z'] == 1
    assert result.attrs['neighbour_channel'] == 1
    assert result.attrs['dt'] == 0.002  # the OME TimeIncrement


def test_selection_refused_or_kept_on_resume(
    two_channel_file, tmp_path, interrupt_after
):
    """A resumed run must select the same channel and plane."""
    path, data = two_channel_file
    out = tmp_path / 'r.h5'
    resume = interrupt_after(2)
    options = {'bleach': None, 'block': 4, 'scheduler': 'synchronous'}
    with pytest.raises(KeyboardInterrupt):
        analyze(path, out, channel=0, z=0, **options, **OPTIONS)
    resume()
    with pytest.raises(ValueError, match='other parameters'):
        analyze(path, out, channel=1, z=0, resume=True, **options, **OPTIONS)
    with pytest.raises(ValueError, match='pass channel= and z='):
        analyze(path, out, resume=True, **options, **OPTIONS)
    analyze(path, out, channel=0, z=0, resume=True, **options, **OPTIONS)
    expected = ipcf.pcf_image(data[:, 0, 0], **OPTIONS)
    assert_allclose(ipcf.load_result(out), expected, rtol=0, atol=1e-6)


def test_resume_after_the_partial_store_is_lost(
    series, whole, tmp_path, interrupt_after
):
    """Blocks marked done in a lost partial store are computed again."""
    out = tmp_path / 'r.h5'
    resume = interrupt_after(3)
    options = {'bleach': None, 'block': 4, 'scheduler': 'synchronous'}
    with pytest.raises(KeyboardInterrupt):
        analyze(series, out, **options, **OPTIONS)
    work = tmp_path / '.r.h5.work'
    marks = sorted(p.name for p in (work / 'blocks').iterdir())
    assert len(marks) == 3 and all(m.endswith('.done') for m in marks)
    (work / 'result.h5').unlink()
    resume()
    analyze(series, out, **options, resume=True, **OPTIONS)
    result = ipcf.load_result(out)
    assert 'resumed_blocks' not in result.attrs['timings']
    assert_allclose(result, whole, rtol=0, atol=1e-6)
    assert not work.exists()


def test_full_disk_when_the_store_is_made(series, tmp_path, monkeypatch):
    """No space for the result: one error, and nothing left behind."""
    import errno
    import os

    def full(fd, offset, size):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(os, 'posix_fallocate', full, raising=False)
    with pytest.raises(OSError) as caught:
        analyze(series, tmp_path / 'r.h5', bleach=None, **OPTIONS)
    assert caught.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def test_provenance_call_repeats_other_analyses(series, tmp_path, monkeypatch):
    """The recorded call of an ACF or N&B run gives the same result."""
    from ipcf.brightness import NbAnalysis
    from ipcf.fcs import AcfAnalysis

    source = ipcf.io.imwrite(tmp_path / 'series.h5', series)
    monkeypatch.chdir(tmp_path)
    for analysis in (AcfAnalysis(nbins=8), NbAnalysis(offset=1.0)):
        name = analysis.name
        out = pipeline.run(
            analysis, [str(source)], tmp_path / f'{name}.h5', bleach=None,
            block=8,
        )  # fmt: skip
        first = ipcf.load_result(out, group=name)
        call = first.encoding['provenance']['call']
        assert call.startswith('ipcf.pipeline.run(ipcf.')
        again = tmp_path / f'{name}_again.h5'
        exec(call.replace(repr(str(out)), repr(str(again))))  # noqa: S102
        second = ipcf.load_result(again, group=name)
        for key, values in first.data_vars.items():
            assert_array_equal(second[key].values, values.values)


def _count_tasks(monkeypatch):
    """Return the list that gets the block count of every block task."""
    calls = []
    compute = pipeline._compute_block

    def counted(specs, *args):
        calls.append(len(specs))
        return compute(specs, *args)

    monkeypatch.setattr(pipeline, '_compute_block', counted)
    return calls


def test_grouped_blocks_equal_single_blocks(
    series, tmp_path, monkeypatch, interrupt_after
):
    """Blocks computed as one area equal blocks computed one by one.

    Groups of 2 x 2 blocks of 4; the mask leaves some blocks of a group
    without a centre, and an interrupted run resumes in mid-group.
    """
    mask = numpy.zeros(series.shape[1:], bool)
    mask[3:12, 2:9] = True
    mask[15:20, 12:16] = True
    options = {'bleach': 'filter:8', 'block': 4, 'mask': mask}
    options['scheduler'] = 'synchronous'
    monkeypatch.setattr(pipeline, '_GROUP_PIXELS', (1, 1))
    single = ipcf.load_result(analyze(series, tmp_path / 'a.h5', **options))
    monkeypatch.setattr(pipeline, '_GROUP_PIXELS', (8, 8))
    calls = _count_tasks(monkeypatch)
    grouped = ipcf.load_result(analyze(series, tmp_path / 'b.h5', **options))
    assert max(calls) == 4 and len(calls) < 20
    assert_allclose(grouped, single, rtol=4e-6, atol=1e-6)
    assert_array_equal(numpy.isnan(grouped), numpy.isnan(single))
    resume = interrupt_after(5)
    out = tmp_path / 'c.h5'
    with pytest.raises(KeyboardInterrupt):
        analyze(series, out, **options)
    assert len(list((tmp_path / '.c.h5.work' / 'blocks').iterdir())) == 5
    resume()
    resumed = ipcf.load_result(analyze(series, out, resume=True, **options))
    assert_allclose(resumed, single, rtol=4e-6, atol=1e-6)


@pytest.mark.parametrize('bleach', [('filter', 8), ('exp', None)])
def test_corrected_rows_serve_exact_means(series, bleach):
    """A pulled block serves its rows corrected, and the filter its means.

    The means equal those of the corrected rows bit for bit, as the cpu
    engine's own pass would take them.
    """
    from ipcf._rows import RowReader
    from ipcf.bleach import correct

    method, param = bleach
    blocks = pipeline._BlockBuffers.acquire()
    source = pipeline._CorrectedRows(
        series, slice(2, 20), slice(1, 18), 32, bleach,
        num_threads=2, buffers=(blocks, 'test'),
    )  # fmt: skip
    reader = RowReader([source], 32, slab_bytes=32 * 17 * 2 * 5)
    expected = correct(series[:, 2:20, 1:18], method=method, param=param)
    expected = expected[:32]
    assert reader.means(0, 0, 3) is None
    rows = reader.read(0, 0, 3, 0, 17)
    assert_array_equal(rows, expected[:, :3])
    means = reader.means(0, 0, 3)
    if method == 'filter':
        want = expected[:, :3].astype(numpy.float64).sum(axis=0) / 32
        assert_array_equal(means, want)
    else:
        assert means is None
    assert_array_equal(reader.read(0, 2, 9, 3, 8), expected[:, 2:9, 3:8])
    blocks.release()


def test_whole_blocks_for_engines_that_read_them(
    series, tmp_path, monkeypatch
):
    """The reference engine gets each block whole, one per task."""
    calls = _count_tasks(monkeypatch)
    options = {'bleach': None, 'block': 8, 'scheduler': 'synchronous'}
    path = analyze(
        series, tmp_path / 'r.h5', engine='reference', **options, **OPTIONS
    )
    assert calls == [1] * 6  # 19 x 15 result pixels in blocks of 8
    expected = ipcf.pcf_image(series, engine='reference', **OPTIONS)
    assert_allclose(ipcf.load_result(path), expected, rtol=0, atol=1e-6)
