"""The command line reports every failure in one line, in its own terms.

Interrupts, missing extras, a full disk, too little memory, corrupt
stores and library messages written for Python callers: each reaches the
shell user as one line starting with ``ipcf:`` (``--debug`` shows the
traceback), never as a traceback.

"""

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy
import pytest
from numpy.testing import assert_array_equal

import ipcf
from ipcf import cli
from ipcf.cli import main

ANALYZE = ['--radius', '2', '--points', '8', '--bins', '8', '--block', '8']


def ipcf_process(*args, **kwargs):
    """Start `python -m ipcf` with its output captured."""
    return subprocess.Popen(
        [sys.executable, '-m', 'ipcf', *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def run(*args, **kwargs):
    """Run `python -m ipcf` and return the completed process."""
    return subprocess.run(
        [sys.executable, '-m', 'ipcf', *args],
        capture_output=True,
        text=True,
        timeout=600,
        **kwargs,
    )


def interrupt(proc, *, after):
    """Send SIGINT to proc after `after` seconds; return its outcome."""
    time.sleep(after)
    assert proc.poll() is None, 'the command ended before the interrupt'
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err, time.perf_counter() - sent


def one_line(err):
    """Return the single line of err, which starts with 'ipcf: error:'."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith('ipcf: error: '), err
    assert 'Traceback' not in err
    return lines[0]


@pytest.fixture(scope='module')
def series():
    """A small Poisson series, (96, 20, 20) uint16."""
    rng = numpy.random.default_rng(0)
    return rng.poisson(100, (96, 20, 20)).astype(numpy.uint16)


@pytest.fixture
def store(tmp_path, series):
    """The series in an HDF5 store that records its units."""
    return ipcf.io.imwrite(
        tmp_path / 'series.h5',
        series,
        metadata={'pixel_size': 0.1, 'psf_radius': 0.25},
    )


@pytest.fixture
def bare(tmp_path, series):
    """The series in an HDF5 store without physical units."""
    return ipcf.io.imwrite(tmp_path / 'bare.h5', series)


# Ctrl-C -------------------------------------------------------------------


def test_keyboard_interrupt_of_a_command_without_resume(monkeypatch, capsys):
    def info(source, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr('ipcf.io.info', info)
    monkeypatch.setattr('ipcf.store.result_info', lambda path: None)
    assert main(['info', 'x.h5']) == 130
    assert capsys.readouterr().err == 'ipcf: interrupted\n'


@pytest.mark.parametrize('command', ['analyze', 'convert'])
def test_keyboard_interrupt_says_resume(monkeypatch, capsys, command):
    def interrupted(source, output, /, **kwargs):
        raise KeyboardInterrupt

    module = {'analyze': 'pipeline', 'convert': 'convert'}[command]
    monkeypatch.setattr(f'ipcf.{module}.{command}', interrupted)
    assert main([command, 'a.h5', 'b.h5', '--quiet']) == 130
    err = capsys.readouterr().err
    assert err == 'ipcf: interrupted; continue with --resume\n'


def test_an_interrupt_swallowed_by_a_finalizer_still_stops(capsys):
    """Ctrl-C that lands in a weakref callback is raised again."""

    def command(args):
        # a KeyboardInterrupt raised inside a finalizer is only printed
        # as ignored by Python; the command would go on and succeed
        import weakref

        class Thing:
            pass

        thing = Thing()

        def callback(ref):
            raise KeyboardInterrupt

        ref = weakref.ref(thing, callback)  # noqa: F841
        del thing
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            time.sleep(0.01)
        return 0

    args = cli._parser().parse_args(['info', 'x.h5'])
    args.func = command
    status = cli._run(args)
    assert status == 130
    err = capsys.readouterr().err
    assert err == 'ipcf: interrupted\n', err


@pytest.fixture
def slow_series(tmp_path):
    """A series whose pCF with the reference engine takes seconds."""
    rng = numpy.random.default_rng(3)
    data = rng.poisson(100, (1024, 40, 40)).astype(numpy.uint16)
    return ipcf.io.imwrite(tmp_path / 'slow.h5', data)


@pytest.mark.slow
def test_ctrl_c_stops_analyze_which_resumes(tmp_path, slow_series):
    out = tmp_path / 'r.h5'
    args = ['analyze', str(slow_series), str(out), '--block', '4']
    args += ['--bleach', 'none', '--engine', 'reference', '--threads', '1']
    proc = ipcf_process(*args, '--quiet')
    proc.stdout.readline()  # 'prepare ...': the blocks are running
    status, _, err, seconds = interrupt(proc, after=0.5)
    assert status == 130, err
    assert err == 'ipcf: interrupted; continue with --resume\n'
    assert seconds < 10
    assert not out.exists()
    proc = run(*args, '--quiet')  # without --resume: it says so
    assert proc.returncode == 2
    assert '--resume' in one_line(proc.stderr)
    proc = run(*args, '--quiet', '--resume')
    assert proc.returncode == 0, proc.stderr
    assert ipcf.load_result(out).shape[:2] == (28, 28)


@pytest.mark.slow
def test_ctrl_c_stops_convert_which_resumes(tmp_path):
    # compressed HDF5 output: the time goes into h5py writes, after
    # which Python runs finalizers first, where Ctrl-C used to vanish
    rng = numpy.random.default_rng(4)
    data = rng.integers(0, 4096, (8192, 96, 96), dtype=numpy.uint16)
    source = ipcf.io.imwrite(tmp_path / 'big.bin', data)
    out = tmp_path / 'big.h5'
    args = ['convert', str(source), str(out), '--compression', 'gzip']
    proc = ipcf_process(*args, '--quiet', '--threads', '2')
    deadline = time.monotonic() + 60
    while not any(tmp_path.glob('.big.h5*')) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the partial output appears
    # then into the write of the first slab of frames, some seconds long
    status, _, err, seconds = interrupt(proc, after=1.2)
    assert status == 130, err
    assert err == 'ipcf: interrupted; continue with --resume\n'
    assert seconds < 10
    assert not out.exists()
    proc = run(*args, '--quiet', '--resume')
    assert proc.returncode == 0, proc.stderr
    assert_array_equal(numpy.asarray(ipcf.io.open_series(out)), data)


# disk full and out of memory ----------------------------------------------


def test_disk_full_names_the_file(monkeypatch, store, tmp_path, capsys):
    def write(self, values, /, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), 'out.h5')

    monkeypatch.setattr('ipcf.store.ResultWriter.write', write)
    out = tmp_path / 'r.h5'
    args = ['analyze', str(store), str(out), *ANALYZE, '--quiet']
    assert main([*args, '--bleach', 'none']) == 2
    err = capsys.readouterr().err
    assert err == 'ipcf: error: out.h5: no space left on device\n'
    assert not out.exists()


def disk_full(kind):
    """Return an OSError of a full disk without a file name."""
    if kind == 'errno':
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    if kind == 'wrapped':  # a library's own error, raised from the cause
        error = OSError('cannot write the result')
        error.__cause__ = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return error
    # h5py's words, without an errno
    return OSError(
        "Can't write data (file write failed: errno = 28, error message "
        "= 'No space left on device')"
    )


@pytest.mark.parametrize('kind', ['errno', 'wrapped', 'h5py'])
def test_disk_full_names_the_output(monkeypatch, capsys, kind):
    def convert(source, output, /, **kwargs):
        raise disk_full(kind)

    monkeypatch.setattr('ipcf.convert.convert', convert)
    assert main(['convert', 'a.tif', 'out.zarr']) == 2
    err = capsys.readouterr().err
    assert err == 'ipcf: error: out.zarr: no space left on device\n'


def test_analyze_checks_the_free_space_first(
    monkeypatch, store, tmp_path, capsys
):
    import shutil
    from collections import namedtuple

    usage = namedtuple('usage', 'total used free')
    monkeypatch.setattr(shutil, 'disk_usage', lambda path: usage(1, 1, 1000))
    out = tmp_path / 'r.h5'
    args = ['analyze', str(store), str(out), *ANALYZE, '--bleach', 'none']
    assert main([*args, '--quiet']) == 2
    line = one_line(capsys.readouterr().err)
    assert str(out) in line and 'only 1 kB is free' in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ['series.h5']


def test_convert_checks_the_free_space_first(
    monkeypatch, store, tmp_path, capsys
):
    monkeypatch.setattr('ipcf._files.free_space', lambda path: 10_000)
    out = tmp_path / 'out.h5'
    assert main(['convert', str(store), str(out), '--quiet']) == 2
    line = one_line(capsys.readouterr().err)
    # the file, and how much it needs and how much is free
    assert line.startswith(f'ipcf: error: {out}: no space left on device (')
    assert '10 kB is free' in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ['series.h5']


def test_out_of_memory_is_one_line(monkeypatch, capsys):
    def analyze(source, output, /, **kwargs):
        msg = (
            'Unable to allocate 7.28 TiB for an array with shape '
            '(16, 16, 32, 1000000000000) and data type float32'
        )
        raise MemoryError(msg)

    monkeypatch.setattr('ipcf.pipeline.analyze', analyze)
    assert main(['analyze', 'a.h5', 'r.h5', '--bins', '1000000000000']) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith('ipcf: error: out of memory: Unable to allocate')
    with pytest.raises(MemoryError):
        main(['analyze', 'a.h5', 'r.h5', '--debug'])


def test_huge_bins_are_no_traceback(store, tmp_path):
    out = tmp_path / 'r.h5'
    args = ['analyze', str(store), str(out), '--radius', '2', '--points']
    proc = run(*args, '8', '--bins', '1000000000000', '--bleach', 'none')
    assert 'Traceback' not in proc.stderr
    if proc.returncode:
        one_line(proc.stderr)


def test_bad_alloc_in_matplotlib_is_one_line(monkeypatch, capsys):
    def draw(*args, **kwargs):
        msg = 'std::bad_alloc'
        raise MemoryError(msg)

    monkeypatch.setattr('ipcf.plot.draw', draw)
    assert main(['plot', 'r.h5', '-o', 'x.png']) == 2
    assert capsys.readouterr().err == (
        'ipcf: error: out of memory: std::bad_alloc\n'
    )


@pytest.mark.parametrize('dpi', ['100000', '5', '0'])
def test_dpi_is_checked(capsys, dpi):
    assert main(['plot', 'r.h5', '-o', 'x.png', '--dpi', dpi]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1
    assert 'argument --dpi' in err and '10 to 1200' in err


# corrupt stores ------------------------------------------------------------


@pytest.fixture
def zarr_result(tmp_path, series):
    pytest.importorskip('zarr')
    data = ipcf.io.imwrite(
        tmp_path / 'series.h5',
        series,
        metadata={'pixel_size': 0.1, 'psf_radius': 0.25},
    )
    result = ipcf.pcf_image(series, radius=2, npoints=8, nbins=8, dt=1e-3)
    return ipcf.save_result(result, tmp_path / 'r.zarr', source=str(data))


def corrupt(path, what):
    """Overwrite one file of a zarr result with random bytes."""
    if what == 'chunk':
        files = (path / 'pcf' / 'pcf').rglob('*')
        target = next(
            p for p in files if p.is_file() and p.name != 'zarr.json'
        )
    elif what == 'array':
        target = path / 'pcf' / 'pcf' / 'zarr.json'
    else:
        target = path / 'pcf' / 'zarr.json'
    rng = numpy.random.default_rng(5)
    target.write_bytes(rng.integers(0, 256, 200, dtype=numpy.uint8).tobytes())
    return target


@pytest.mark.parametrize('what', ['chunk', 'array', 'group'])
@pytest.mark.parametrize(
    'command',
    [
        ['plot', '{result}', '-o', '{tmp}/x.png'],
        ['plot', '{result}', '--kind', 'carpet', '-o', '{tmp}/x.png'],
        ['maps', '{result}', '{tmp}/m.nc'],
        ['report', '{result}', '-o', '{tmp}/x.html'],
    ],
)
def test_corrupt_store_is_one_line_naming_it(
    zarr_result, tmp_path, capsys, command, what
):
    corrupt(zarr_result, what)
    args = [a.format(result=zarr_result, tmp=tmp_path) for a in command]
    assert main(args) == 2
    line = one_line(capsys.readouterr().err)
    assert str(zarr_result) in line
    if what == 'chunk':
        assert 'pcf/pcf' in line
    assert 'needs a pCF result' not in line
    assert not any(tmp_path.glob('x.*')) and not (tmp_path / 'm.nc').exists()
    with pytest.raises(Exception):  # noqa: B017 - whatever the library raises
        main([*args, '--debug'])


def test_corrupt_store_in_a_subprocess(zarr_result, tmp_path):
    corrupt(zarr_result, 'array')
    proc = run('report', str(zarr_result), '-o', str(tmp_path / 'x.html'))
    assert proc.returncode == 2
    assert str(zarr_result) in one_line(proc.stderr)


# library messages in command-line terms -----------------------------------


def test_simulate_exists_says_overwrite(tmp_path, capsys):
    out = tmp_path / 'free.bin'
    args = ['simulate', 'free', str(out), '--frames', '32', '--shape', '8,8']
    assert main(args) == 0
    assert main(args) == 2
    line = one_line(capsys.readouterr().err)
    assert '--overwrite' in line and 'overwrite=True' not in line


@pytest.fixture
def border_series(tmp_path):
    """A series whose bright object covers the left half: it touches."""
    rng = numpy.random.default_rng(6)
    data = rng.poisson(10, (32, 32, 32)).astype(numpy.uint16)
    data[:, :, :16] += 200
    return ipcf.io.imwrite(tmp_path / 'border.h5', data)


def test_roi_keep_border(border_series, capsys):
    pytest.importorskip('skimage')
    args = ['roi', str(border_series), '-o', '', '--block', '1']
    assert main(args) == 2
    line = one_line(capsys.readouterr().err)
    assert '--keep-border' in line and 'clear_border' not in line
    assert main([*args, '--keep-border']) == 0
    rows, columns = capsys.readouterr().out.strip().split(',')
    assert rows == '0:32' and columns.startswith('0:1')


@pytest.mark.parametrize('command', ['convert', 'analyze'])
def test_roi_auto_border_hint(border_series, tmp_path, capsys, command):
    pytest.importorskip('skimage')
    args = [command, str(border_series), str(tmp_path / 'o.h5')]
    if command == 'analyze':
        args += ['--bleach', 'none']
    assert main([*args, '--roi', 'auto', '--quiet']) == 2
    line = one_line(capsys.readouterr().err)
    assert 'clear_border' not in line
    assert 'ipcf roi --keep-border' in line


@pytest.fixture
def two_datasets(tmp_path, series):
    import h5py

    path = tmp_path / 'two.h5'
    with h5py.File(path, 'w') as h5:
        h5['a'] = series
        h5['b'] = series[:, ::-1]
    return path


def test_info_key(two_datasets, capsys):
    assert main(['info', str(two_datasets)]) == 2
    line = one_line(capsys.readouterr().err)
    assert '--key' in line and 'by key' not in line
    assert main(['info', str(two_datasets), '--key', 'b']) == 0
    assert '(96, 20, 20)' in capsys.readouterr().out
    assert main(['info', str(two_datasets), '--key', 'c']) == 2
    line = one_line(capsys.readouterr().err)
    assert '--key c' in line and "key='c'" not in line


def test_roi_key(two_datasets, capsys):
    pytest.importorskip('skimage')
    assert main(['roi', str(two_datasets), '-o', '']) == 2
    assert '--key' in one_line(capsys.readouterr().err)


def test_analyze_key_hint(two_datasets, tmp_path, capsys):
    """analyze has no --key: the hint says how to pick a dataset."""
    args = ['analyze', str(two_datasets), str(tmp_path / 'r.h5'), '--quiet']
    assert main(args) == 2
    line = one_line(capsys.readouterr().err)
    assert 'by key' not in line and 'ipcf convert --key' in line


def test_nan_input_does_not_advise_masking(tmp_path, capsys):
    rng = numpy.random.default_rng(8)
    data = rng.poisson(100, (64, 16, 16)).astype(numpy.float32)
    data[:, 7, 7] = numpy.nan
    path = ipcf.io.imwrite(tmp_path / 'nan.h5', data)
    args = ['analyze', str(path), str(tmp_path / 'r.h5'), *ANALYZE]
    assert main([*args, '--bleach', 'none', '--quiet']) == 2
    line = one_line(capsys.readouterr().err)
    assert 'NaN' in line
    assert 'mask' not in line


def test_too_small_images(tmp_path, capsys):
    data = numpy.full((64, 24, 1), 5, numpy.uint16)
    path = ipcf.io.imwrite(tmp_path / 'thin.h5', data)
    args = ['analyze', str(path), str(tmp_path / 'r.h5'), '--quiet']
    assert main([*args, '--bleach', 'none']) == 2
    line = one_line(capsys.readouterr().err)
    assert '24x1 images are too small for a pCF' in line


def test_library_keywords_become_options(capsys):
    text = cli._one_line(
        ValueError('radius=12 must be < 10.0 for 20x20 images; npoints=4'),
        cli._parser().parse_args(['analyze', 'a', 'b']),
    )
    assert text == '--radius 12 must be < 10.0 for 20x20 images; --points 4'


# analyze --maps -------------------------------------------------------------


@pytest.mark.parametrize(
    ('extra', 'missing'),
    [([], '--pixel-size'), (['--pixel-size', '0.1'], '--psf-radius')],
)
def test_analyze_maps_needs_units_before_computing(
    monkeypatch, bare, tmp_path, capsys, extra, missing
):
    calls = []
    monkeypatch.setattr(
        'ipcf.pipeline.analyze', lambda *args, **kwargs: calls.append(args)
    )
    out = tmp_path / 'r.h5'
    assert main(['analyze', str(bare), str(out), '--maps', *extra]) == 2
    line = one_line(capsys.readouterr().err)
    assert missing in line and str(bare) in line
    assert calls == []
    assert list(tmp_path.iterdir()) == [bare]


def test_analyze_maps_units_from_the_source(monkeypatch, store, tmp_path):
    calls = []

    def analyze(source, output, /, **kwargs):
        calls.append(source)
        raise KeyboardInterrupt

    monkeypatch.setattr('ipcf.pipeline.analyze', analyze)
    out = tmp_path / 'r.h5'
    assert main(['analyze', str(store), str(out), '--maps']) == 130
    assert calls == [str(store)]


# optional dependencies ------------------------------------------------------


@pytest.mark.parametrize(
    ('module', 'package', 'command'),
    [
        ('matplotlib', 'matplotlib', ['plot', '{store}', '-o', '{tmp}/x.png']),
        ('matplotlib', 'matplotlib', ['report', '{store}', '{tmp}/x.html']),
        ('matplotlib', 'matplotlib', ['demo', '{tmp}/demo']),
        ('dask', 'dask', ['analyze', '{store}', '{tmp}/r.h5']),
        ('zarr', 'zarr', ['convert', '{store}', '{tmp}/c.zarr']),
        ('skimage', 'scikit-image', ['roi', '{store}', '-o', '']),
        (
            'distributed',
            'distributed',
            ['analyze', '{store}', '{tmp}/r.h5', '--cluster', 'local:1'],
        ),
    ],
)
def test_missing_extra_names_it(
    monkeypatch, store, tmp_path, capsys, module, package, command
):
    monkeypatch.setitem(sys.modules, module, None)
    args = [a.format(store=store, tmp=tmp_path) for a in command]
    assert main([*args, '--quiet']) == 2
    err = capsys.readouterr().err
    assert err == (
        f'ipcf: error: ipcf {args[0]} needs {package}; install it with '
        'pip install "ipcf[all]"\n'
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ['series.h5']


def test_missing_extra_raised_by_the_library(monkeypatch, capsys):
    """An ImportError with a hint, caused by a missing module, is mapped."""

    def draw(*args, **kwargs):
        try:
            import cupy  # noqa: F401
        except ImportError as exc:
            msg = "engine='gpu' needs CuPy; install ipcf[gpu]"
            raise ImportError(msg) from exc

    monkeypatch.setitem(sys.modules, 'cupy', None)
    monkeypatch.setattr('ipcf.plot.draw', draw)
    assert main(['plot', 'r.h5', '-o', 'x.png']) == 2
    assert capsys.readouterr().err == (
        'ipcf: error: ipcf plot needs cupy-cuda12x; install it with '
        'pip install "ipcf[gpu]"\n'
    )


def test_missing_extras_are_the_declared_ones():
    """Each module the CLI maps to an extra is in that extra."""
    import tomllib

    pyproject = Path(__file__).parents[1] / 'pyproject.toml'
    extras = tomllib.loads(pyproject.read_text())['project'][
        'optional-dependencies'
    ]
    for module, (package, extra) in cli._EXTRAS.items():
        names = [r.split('>')[0].split('[')[0] for r in extras[extra]]
        assert package in names, (module, package, extra)


# a cluster is quiet with --quiet -------------------------------------------


@pytest.mark.slow
def test_cluster_quiet_is_quiet(tmp_path, series):
    pytest.importorskip('distributed')
    path = ipcf.io.imwrite(tmp_path / 'series.h5', series)
    out = tmp_path / 'r.h5'
    args = ['analyze', str(path), str(out), *ANALYZE, '--bleach', 'none']
    proc = run(*args, '--cluster', 'local:2', '--quiet')
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ''
    assert ipcf.load_result(out).shape[:2] == (16, 16)


@pytest.mark.slow
def test_ctrl_c_in_a_terminal_stops_a_cluster_quietly(tmp_path, slow_series):
    """A terminal's Ctrl-C reaches the workers too: they leave it to ipcf."""
    pytest.importorskip('distributed')
    out = tmp_path / 'r.h5'
    args = ['analyze', str(slow_series), str(out), '--block', '4']
    args += ['--bleach', 'none', '--engine', 'reference', '--threads', '2']
    proc = ipcf_process(
        *args, '--cluster', 'local:2', '--quiet', start_new_session=True
    )
    proc.stdout.readline()  # 'prepare ...': the cluster starts
    time.sleep(2.0)
    assert proc.poll() is None, 'the command ended before the interrupt'
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal does
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err == 'ipcf: interrupted; continue with --resume\n'
    assert not out.exists()


def test_main_configures_distributed_logging(monkeypatch, capsys):
    import ast
    import logging

    seen = {}

    def command(args):
        seen['level'] = logging.getLogger('distributed').level
        seen['env'] = ast.literal_eval(os.environ['DASK_LOGGING'])
        return 0

    monkeypatch.setattr(cli, '_cmd_info', command)
    monkeypatch.delenv('DASK_LOGGING', raising=False)
    for flags, level in (([], logging.WARNING), (['--quiet'], logging.ERROR)):
        assert main(['info', 'x.h5', *flags]) == 0
        assert seen['level'] == level
        name = logging.getLevelName(level).lower()
        assert seen['env']['distributed'] == name
        assert 'DASK_LOGGING' not in os.environ


# inputs are never touched; one writer per output ----------------------------


@pytest.fixture
def result_store(tmp_path, series):
    """A stored pCF result of the series, which it names as its source."""
    data = ipcf.io.imwrite(tmp_path / 'series.h5', series)
    result = ipcf.pcf_image(series, radius=2, npoints=8, nbins=8, dt=1e-3)
    return ipcf.save_result(result, tmp_path / 'r.h5', source=str(data))


@pytest.mark.parametrize(
    'args',
    [
        ['analyze', '{series}', '{series}', '--overwrite', *ANALYZE],
        ['analyze', '{series}', '-o', '{series}', '--resume'],
        ['convert', '{series}', '{series}', '--overwrite'],
        ['maps', '{result}', '{result}', '--overwrite'],
        ['maps', '{result}', '-o', '{result}', '--pixel-size', '0.1'],
        ['report', '{result}', '{result}'],
        ['report', '{result}', '-o', '{folder}/r.html', '--data', '{folder}'],
        ['plot', '{folder}', '{folder}/mean.png', '--kind', 'mean'],
        ['roi', '{frames}', '-o', '{frames}/roi.png'],
    ],
)
def test_an_input_is_never_an_output(
    tmp_path, series, result_store, capsys, args
):
    """Refused with or without --overwrite; nothing is changed."""
    frames = ipcf.io.imwrite_series(tmp_path / 'frames', series[:8])
    names = {
        'series': str(tmp_path / 'series.h5'),
        'result': str(result_store),
        'folder': str(tmp_path),
        'frames': str(frames),
    }
    args = [arg.format(**names) for arg in args]
    before = contents(tmp_path)
    assert main([*args, '--quiet']) == 2
    line = one_line(capsys.readouterr().err)
    assert 'would overwrite the input' in line
    assert contents(tmp_path) == before


def contents(folder):
    """Return the bytes of every file under folder by its path."""
    return {p: p.read_bytes() for p in folder.rglob('*') if p.is_file()}


def lock(output, pid):
    """Write the lock file of output as process pid of this host holds it."""
    import json
    import socket

    path = output.with_name(f'.{output.name}.lock')
    path.write_text(json.dumps({'pid': pid, 'host': socket.gethostname()}))
    return path


@pytest.mark.parametrize('command', ['analyze', 'convert'])
def test_a_second_writer_is_told_who_writes(store, tmp_path, capsys, command):
    import socket

    out = tmp_path / 'out.h5'
    held = lock(out, os.getpid())
    args = [command, str(store), str(out), '--quiet']
    if command == 'analyze':
        args += [*ANALYZE, '--bleach', 'none']
    assert main(args) == 2
    line = one_line(capsys.readouterr().err)
    host = socket.gethostname()
    expected = f'{str(out)!r} is being written by process {os.getpid()}'
    assert line == f'ipcf: error: {expected} on {host}'
    assert held.exists() and not out.exists()


@pytest.mark.parametrize('command', ['analyze', 'convert'])
def test_a_stale_lock_is_taken_over(store, tmp_path, capsys, command):
    child = subprocess.Popen([sys.executable, '-c', 'pass'])
    child.wait()  # its pid is no process now
    out = tmp_path / 'out.h5'
    held = lock(out, child.pid)
    args = [command, str(store), str(out), '--quiet']
    if command == 'analyze':
        args += [*ANALYZE, '--bleach', 'none']
    assert main(args) == 0
    assert out.exists() and not held.exists()
