"""Tests of the ipcf command line interface."""

import argparse
import inspect
import json
import subprocess
import sys
import types
from pathlib import Path

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import ipcf
from ipcf import _options, cli
from ipcf._files import OutputExistsError
from ipcf.cli import main


def run(*args, **kwargs):
    """Run `python -m ipcf` and return the completed process."""
    return subprocess.run(
        [sys.executable, '-m', 'ipcf', *args],
        capture_output=True,
        text=True,
        timeout=600,
        **kwargs,
    )


def parse(*args):
    """Return the namespace that the ipcf parser makes of args."""
    return cli._parser().parse_args(list(args))


def commands():
    """Return the subparsers of ipcf by name."""
    parser = cli._parser()
    action = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    return dict(action.choices)


def help_entries(text):
    """Return the help of each option in a --help text by its flags."""
    entries = {}
    flags = None
    for line in text.splitlines():
        stripped = line.strip()
        if line.startswith('  -'):
            flags, _, rest = stripped.partition('  ')
            entries[flags] = rest.strip()
        elif flags is not None and line.startswith('   ') and stripped:
            entries[flags] = f'{entries[flags]} {stripped}'.strip()
        else:
            flags = None
    return entries


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


ANALYZE = ['--radius', '2', '--points', '8', '--bins', '8', '--block', '8']


# the basics ---------------------------------------------------------------


def test_version(capsys):
    assert main(['--version']) == 0
    assert ipcf.__version__ in capsys.readouterr().out


def test_python_m_help():
    proc = run('--help')
    assert proc.returncode == 0
    for command in ('demo', 'simulate', 'info', 'bench'):
        assert command in proc.stdout


def test_no_command(capsys):
    assert main([]) == 2


def test_usage_error(capsys):
    assert main(['simulate', 'nonsense', 'out.bin']) == 2
    assert main(['bench', 'engine', '--shape', '1']) == 2


def test_usage_errors_are_one_line(capsys):
    assert main(['analyze', 'a.h5', 'b.h5', '--bleach', 'nonsense']) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1, err
    assert err.startswith('ipcf analyze: error: argument --bleach')


@pytest.mark.parametrize(
    'args',
    [
        ['info', '{tmp}/missing.tif'],
        ['info', '{tmp}/corrupt.tif'],
        ['info', '{tmp}/corrupt.h5'],
        ['info', '{tmp}/no_sidecar.bin'],
    ],
)
def test_user_errors_are_one_line(tmp_path, args):
    (tmp_path / 'corrupt.tif').write_bytes(b'II*\x00garbage')
    (tmp_path / 'corrupt.h5').write_bytes(b'garbage')
    (tmp_path / 'no_sidecar.bin').write_bytes(b'\x00' * 64)
    proc = run(*[a.format(tmp=tmp_path) for a in args])
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith('ipcf: error:')
    assert 'Traceback' not in proc.stderr


@pytest.mark.parametrize('where', ['before', 'after'])
def test_debug_reraises_before_or_after_the_command(tmp_path, where):
    missing = str(tmp_path / 'missing.h5')
    args = ['info', missing]
    args = ['--debug', *args] if where == 'before' else [*args, '--debug']
    with pytest.raises(OSError):
        main(args)


def test_simulate_and_info(tmp_path, capsys):
    out = tmp_path / 'free.bin'
    args = ['simulate', 'free', str(out), '--frames', '64', '--shape', '16,16']
    assert main([*args, '--seed', '1']) == 0
    data = ipcf.io.open_series(out)
    assert data.shape == (64, 16, 16)
    assert main([*args, '--seed', '1']) == 2  # exists
    capsys.readouterr()
    assert main(['info', str(out)]) == 0
    text = capsys.readouterr().out
    assert '(64, 16, 16)' in text
    assert 'uint16' in text


def test_demo_small(tmp_path):
    proc = run('demo', str(tmp_path / 'demo'), '--frames', '256', '--quiet')
    assert proc.returncode == 0, proc.stderr
    for name in ('channel.bin', 'channel_pcf.h5', 'summary.png'):
        assert (tmp_path / 'demo' / name).stat().st_size > 0
        assert str(tmp_path / 'demo' / name) in proc.stdout
    result = ipcf.load_result(tmp_path / 'demo' / 'channel_pcf.h5')
    assert result.shape == (52, 52, 32, len(ipcf.logbins(128, 32)))
    assert numpy.isfinite(result.values).all()
    # the run times go with the result and into the report
    steps = set(result.attrs['timings'])
    assert steps == {
        'simulate channel',
        f'pCF ({result.attrs["engine"]} engine)',
    }
    page = (tmp_path / 'demo' / 'report.html').read_text(encoding='utf-8')
    for step in (*steps, 'store result', 'figures', 'this report'):
        assert f'<th>{step}</th>' in page
    # the series is recorded beside the result, found from anywhere
    assert result.attrs['source'] == 'channel.bin'


# one option layer ---------------------------------------------------------


def test_every_option_has_help():
    for name, parser in commands().items():
        for action in parser._actions:
            assert action.help, (name, action.option_strings or action.dest)


def test_analyze_help_shows_defaults(capsys):
    assert main(['analyze', '--help']) == 0
    entries = help_entries(capsys.readouterr().out)
    expected = {
        '--radius PIXELS': '(default: 6)',
        '--points N': '(default: 32)',
        '--bins N': '(default: 32)',
        '--bleach METHOD[:PARAM]': '(default: filter:1024)',
        '--block PIXELS': '(default: 64)',
        '--mode {circular,linear}': '(default: circular)',
        '--offset COUNTS': '(default: 0.0)',
        '--engine NAME': '(default: auto)',
        '--scheduler NAME': '(default: threads)',
        '--threads N': 'default: all usable cores',
        '--dt SECONDS': 'default: the frame_time',
    }
    for flags, default in expected.items():
        assert default in entries[flags], (flags, entries.get(flags))


def test_options_are_declared_once():
    """An option name means one set of flags and syntax everywhere."""
    seen = {}
    for command, parser in commands().items():
        for action in parser._actions:
            if not action.option_strings or action.dest == 'help':
                continue
            key = (action.dest, tuple(action.option_strings), action.type)
            if action.dest in _options.OPTIONS:
                option = _options.OPTIONS[action.dest]
                assert tuple(action.option_strings) == option.flags
                if action.dest != 'frames':  # a count or a selection
                    assert action.type is option.type, (command, key)
            seen.setdefault(action.dest, set()).add(key[1])
    assert all(len(flags) == 1 for flags in seen.values()), seen


@pytest.mark.parametrize('bleach', ['128', 'filter:128'])
def test_analyze_and_bench_accept_bleach_filter_size(
    bleach, monkeypatch, tmp_path, capsys
):
    assert parse('analyze', 'a', 'b', '--bleach', bleach).bleach == (
        'filter:128'
    )
    calls = []

    def bench_pipeline(directory, /, **kwargs):
        calls.append(kwargs)
        return []

    module = cli._benchmark('pipeline')
    monkeypatch.setattr(module, 'bench_pipeline', bench_pipeline)
    args = ['bench', 'pipeline', '--bleach', bleach, '--dir', str(tmp_path)]
    assert main([*args, '--json']) == 0
    assert calls[0]['bleach'] == 'filter:128'


@pytest.mark.parametrize(
    ('text', 'expected'),
    [
        ('none', 'none'),
        ('0', 'none'),
        ('filter:0', 'none'),
        ('exp', 'exp'),
        ('poly', 'poly:2'),
        (' Filter:64 ', 'filter:64'),
    ],
)
def test_parse_bleach(text, expected):
    assert _options.parse_bleach(text) == expected


def test_parse_bleach_errors():
    for text in ('nonsense', 'filter:x', '-3'):
        with pytest.raises(argparse.ArgumentTypeError, match='filter size'):
            _options.parse_bleach(text)


def test_analyze_bleach_filter_size(tmp_path, store, capsys):
    out = tmp_path / 'r.h5'
    args = ['analyze', str(store), str(out), *ANALYZE, '--quiet']
    assert main([*args, '--bleach', '16']) == 0, capsys.readouterr().err
    assert ipcf.load_result(out).attrs['bleach'] == 'filter:16'


@pytest.mark.parametrize(
    ('text', 'expected'),
    [
        ('256', slice(None, 256)),
        ('0', None),
        (':', None),
        ('0:', None),
        ('2:30', slice(2, 30)),
        (':30', slice(None, 30)),
        ('10:', slice(10, None)),
    ],
)
def test_parse_frames(text, expected):
    assert _options.parse_frames(text) == expected


def test_parse_frame_count():
    assert _options.parse_frame_count('64') == 64
    assert _options.parse_frame_count('0:64') == 64
    for text in ('2:30', '10:', '0', 'x'):
        with pytest.raises(argparse.ArgumentTypeError, match='frames N'):
            _options.parse_frame_count(text)


def test_frames_mean_the_same_everywhere():
    assert parse('convert', 'a', 'b', '--frames', '30').frames == slice(
        None, 30
    )
    assert parse('roi', 'a', '--frames', '30').frames == slice(None, 30)
    assert parse('roi', 'a').frames == slice(None, 256)
    assert parse('roi', 'a', '--frames', '0').frames is None
    assert parse('convert', 'a', 'b', '--frames', '2:30').frames == slice(
        2, 30
    )
    assert parse('simulate', 'free', 'x.bin', '--frames', '30').frames == 30
    assert parse('demo', '--frames', '30').frames == 30
    assert parse('demo').frames == 32000


def test_frames_range_where_a_count_is_needed(capsys):
    assert main(['simulate', 'free', 'x.bin', '--frames', '2:30']) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1
    assert 'argument --frames' in err and 'number of frames N' in err


def test_convert_frames_count(tmp_path, store, series, capsys):
    out = tmp_path / 'c.h5'
    assert main(['convert', str(store), str(out), '--frames', '30']) == 0
    assert_array_equal(numpy.asarray(ipcf.io.open_series(out)), series[:30])


def test_shape_syntax():
    assert _options.parse_shape('16,16') == (16, 16)
    assert _options.parse_shape('64,16x16') == (64, 16, 16)
    for text in ('16', '1,2,3,4', '0,16', 'a,b'):
        with pytest.raises(argparse.ArgumentTypeError, match='H,W or T'):
            _options.parse_shape(text)
    default = (4096, 64, 64)
    assert _options.series_shape(None, None, default) == default
    assert _options.series_shape((16, 8), None, default) == (4096, 16, 8)
    assert _options.series_shape((16, 8), 32, default) == (32, 16, 8)
    assert _options.series_shape((32, 16, 8), 32, default) == (32, 16, 8)
    with pytest.raises(ValueError, match='disagree'):
        _options.series_shape((32, 16, 8), 64, default)


def test_shape_is_one_option_everywhere():
    for args in (
        ['simulate', 'free', 'x.bin'],
        ['convert', 'a', 'b'],
    ):
        assert parse(*args, '--shape', '64,16,16').shape == (64, 16, 16)
        assert parse(*args, '--shape', '16,16').shape == (16, 16)


def test_psf_radius_aliases():
    for flag in ('--psf-radius', '--psf', '--w'):
        for args in (
            ['maps', 'r.h5', 'm.nc'],
            ['analyze', 'a', 'b', '--maps'],
            ['plot', 'r.h5', '-o', 'x.png'],
            ['report', 'r.h5'],
        ):
            assert parse(*args, flag, '0.3').psf_radius == 0.3


def test_threads_everywhere():
    for args in (
        ['demo'],
        ['simulate', 'spim', 'cell'],
        ['convert', 'a', 'b'],
        ['roi', 'a'],
        ['analyze', 'a', 'b'],
    ):
        assert parse(*args, '--threads', '3').threads == 3
    with pytest.raises(SystemExit):
        parse('analyze', 'a', 'b', '--threads', '0')


def test_outputs_positional_or_option():
    assert _options.sources_and_output(parse('analyze', 'a', 'b')) == (
        'a',
        'b',
    )
    assert _options.sources_and_output(parse('analyze', 'a', '-o', 'b')) == (
        'a',
        'b',
    )
    assert _options.sources_and_output(
        parse('convert', 'a', 'b', '--output', 'c')
    ) == (['a', 'b'], 'c')
    for command in (['maps', 'r.h5'], ['simulate', 'free'], ['plot', 'r.h5']):
        assert _options.output_of(parse(*command, 'x.nc')) == 'x.nc'
        assert _options.output_of(parse(*command, '-o', 'x.nc')) == 'x.nc'
    assert _options.output_of(parse('report', 'r.h5')) == 'report.html'
    assert _options.output_of(parse('report', 'r.h5', 'a.html')) == 'a.html'
    assert _options.output_of(parse('demo', '-o', 'here')) == 'here'
    assert _options.output_of(parse('demo')) == 'demo-output'
    assert parse('roi', 'a').output == 'roi.png'


def test_output_errors(capsys):
    assert main(['analyze', 'only.h5']) == 2
    assert 'no output' in capsys.readouterr().err
    assert main(['maps', 'r.h5', 'a.nc', '-o', 'b.nc']) == 2
    assert 'two outputs' in capsys.readouterr().err
    assert main(['plot', 'r.h5']) == 2
    assert 'no output' in capsys.readouterr().err


def test_roi_is_parsed_alike_by_convert_and_analyze(tmp_path, store, series):
    """':,2:18' keeps all rows and columns 2 to 18 in both commands."""
    out = tmp_path / 'c.h5'
    assert main(['convert', str(store), str(out), '--roi', ':,2:18']) == 0
    assert_array_equal(
        numpy.asarray(ipcf.io.open_series(out)), series[:, :, 2:18]
    )
    result = tmp_path / 'r.h5'
    args = ['analyze', str(store), str(result), '--roi', ':,2:18']
    assert main([*args, *ANALYZE, '--bleach', 'none', '--quiet']) == 0
    assert ipcf.load_result(result).attrs['roi'] == [0, 20, 2, 18]


# a thin CLI -------------------------------------------------------------


@pytest.fixture
def fake_simulate(monkeypatch):
    """Replace ipcf.simulate by functions that record their keywords."""
    calls = []

    class Simulation:
        data = numpy.zeros((1, 1, 1), numpy.uint16)

        def save(self, path, *, overwrite=False):
            calls.append(('save', path, overwrite))

    def simulation(kind):
        def simulate(**kwargs):
            calls.append((kind, kwargs))
            return Simulation()

        return simulate

    def spim(path, **kwargs):
        calls.append(('spim', path, kwargs))
        return Path(path)

    functions = {kind: simulation(kind) for kind in cli._SIMULATIONS}
    module = types.SimpleNamespace(**{**functions, 'spim': spim})
    monkeypatch.setitem(sys.modules, 'ipcf.simulate', module)
    monkeypatch.setattr(ipcf, 'simulate', module, raising=False)
    return calls


def test_simulate_maps_options_to_keywords(fake_simulate, capsys):
    args = ['simulate', 'flow', 'f.bin', '--frames', '64', '--seed', '2']
    assert main([*args, '--velocity', '1,2', '--diffusion', '0.5']) == 0
    assert fake_simulate == [
        (
            'flow',
            {
                'seed': 2,
                'progress': False,
                'velocity': (1.0, 2.0),
                'diffusion': 0.5,
                'shape': (64, 64, 64),
            },
        ),
        ('save', 'f.bin', False),
    ]
    fake_simulate.clear()
    args = ['simulate', 'spim', '-o', 'cell', '--shape', '8,32,48']
    assert main([*args, '--bleach-time', '0', '--threads', '2']) == 0
    assert fake_simulate == [
        (
            'spim',
            'cell',
            {
                'seed': None,
                'progress': False,
                'bleach_time': None,
                'num_threads': 2,
                'shape': (8, 32, 48),
                'overwrite': False,
            },
        )
    ]


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (['channel', 'c.bin', '--velocity', '1,2'], "to 'channel'"),
        (['free', 'f.bin', '--tile', '16'], 'spim only'),
        (['free', 'f.bin', '--threads', '2'], 'spim only'),
        (['spim', 'cell', '--diffusion', '1,2'], 'one diffusion'),
        (['free', 'f.bin', '--frames', '8', '--shape', '9,8,8'], 'disagree'),
    ],
)
def test_simulate_option_errors(fake_simulate, capsys, args, message):
    assert main(['simulate', *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith('ipcf: error:') and err.count('\n') == 1
    assert message in err
    assert not fake_simulate


def test_simulation_table_matches_the_library():
    """The CLI's defaults and options are those of ipcf.simulate."""
    from ipcf import simulate

    for kind, (shape, names) in cli._SIMULATIONS.items():
        parameters = inspect.signature(getattr(simulate, kind)).parameters
        assert parameters['shape'].default == shape, kind
        for name in cli._SIMULATION_OPTIONS:
            keyword = cli._KEYWORDS.get(name, name)
            assert (name in names) == (keyword in parameters), (kind, name)


def test_maps_units_from_the_source_beside_the_result(
    tmp_path, monkeypatch, capsys
):
    """A relative source resolves against the result's folder."""
    rng = numpy.random.default_rng(1)
    data = rng.poisson(50, (1024, 16, 16)).astype(numpy.uint16)
    folder = tmp_path / 'run'
    folder.mkdir()
    metadata = {'pixel_size': 0.1, 'psf_radius': 0.25}
    ipcf.io.imwrite(folder / 'series.bin', data, metadata=metadata)
    result = ipcf.pcf_image(data, radius=3, npoints=8, nbins=12, dt=1e-3)
    ipcf.save_result(result, folder / 'r.h5', source='series.bin')
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(['maps', str(folder / 'r.h5'), '-o', 'm.nc']) == 0
    maps = ipcf.analysis.load_maps(elsewhere / 'm.nc')
    assert maps.attrs['pixel_size'] == 0.1
    assert maps.attrs['w'] == 0.25
    args = ['maps', str(folder / 'r.h5'), 'm2.nc', '--psf', '0.3']
    assert main(args) == 0
    assert ipcf.analysis.load_maps(elsewhere / 'm2.nc').attrs['w'] == 0.3


def test_analyze_records_its_run_times(tmp_path, store, capsys):
    out = tmp_path / 'r.h5'
    args = ['analyze', str(store), str(out), *ANALYZE, '--bleach', 'none']
    assert main([*args, '--quiet']) == 0
    timings = ipcf.load_result(out).attrs['timings']
    assert {'prepare', 'pcf blocks'} <= set(timings)


def test_analyze_passes_neighbour(monkeypatch, tmp_path, capsys):
    calls = []

    def analyze(source, output, /, **kwargs):
        calls.append((source, output, kwargs))
        return Path(output)

    monkeypatch.setattr('ipcf.pipeline.analyze', analyze)
    args = ['analyze', 'a.h5', 'r.h5', '--neighbour', 'b.h5', '--bleach']
    assert main([*args, '64', '--threads', '2', '--quiet']) == 0
    ((source, output, kwargs),) = calls
    assert (source, output) == ('a.h5', 'r.h5')
    assert kwargs['neighbour'] == 'b.h5'
    assert kwargs['bleach'] == 'filter:64'
    assert kwargs['num_threads'] == 2
    assert kwargs['mode'] == 'circular'


def test_analyze_neighbour_channel(tmp_path, store, series, capsys):
    """The cross pCF of a series with a second channel."""
    other = ipcf.io.imwrite(tmp_path / 'other.h5', series[:, ::-1])
    out = tmp_path / 'r.h5'
    args = ['analyze', str(store), str(out), '--neighbour', str(other)]
    assert main([*args, *ANALYZE, '--bleach', 'none', '--quiet']) == 0
    assert ipcf.load_result(out).shape[:2] == (16, 16)


def test_analyze_passes_directions_and_gaps(monkeypatch, capsys):
    calls = []

    def analyze(source, output, /, **kwargs):
        calls.append(kwargs)
        return Path(output)

    monkeypatch.setattr('ipcf.pipeline.analyze', analyze)
    args = ['analyze', 'a.h5', 'r.h5', '--neighbour', 'b.h5', '--quiet']
    assert main(args) == 0
    assert main([*args, '--directions', 'both', '--gaps', 'ignore']) == 0
    defaults, given = calls
    assert (defaults['directions'], defaults['gaps']) == ('forward', 'error')
    assert (given['directions'], given['gaps']) == ('both', 'ignore')


def test_convert_passes_gaps(monkeypatch, tmp_path, capsys):
    calls = []

    def convert(source, output, /, **kwargs):
        calls.append(kwargs)
        data = numpy.zeros((2, 2, 2), 'u2')
        return ipcf.io.imwrite(output, data, overwrite=True)

    monkeypatch.setattr('ipcf.convert.convert', convert)
    args = ['convert', 'a.tif', str(tmp_path / 'o.h5'), '--quiet']
    assert main(args) == 0
    assert main([*args, '--gaps', 'ignore']) == 0
    assert [kwargs['gaps'] for kwargs in calls] == ['error', 'ignore']


def test_choices_are_the_librarys():
    from ipcf.io.read import GAPS
    from ipcf.pcf import DIRECTIONS

    assert _options.OPTIONS['directions'].choices == DIRECTIONS
    assert _options.OPTIONS['gaps'].choices == GAPS


def test_analyze_directions_both(tmp_path, store, series, capsys):
    """Both directions of the cross pCF in one run."""
    other = ipcf.io.imwrite(tmp_path / 'other.h5', series[:, ::-1])
    out = tmp_path / 'r.h5'
    args = ['analyze', str(store), str(out), '--neighbour', str(other)]
    args += [*ANALYZE, '--bleach', 'none', '--quiet']
    assert main([*args, '--directions', 'both']) == 0
    result = ipcf.load_result(out)
    assert result['direction'].values.tolist() == ['forward', 'reverse']


def test_directions_both_needs_neighbour(tmp_path, store, capsys):
    out = tmp_path / 'r.h5'
    args = ['analyze', str(store), str(out), *ANALYZE, '--quiet']
    assert main([*args, '--directions', 'both']) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.startswith('ipcf: error: ')
    assert '--neighbour SOURCE2' in err and '--directions both' in err
    assert 'neighbour=' not in err and 'directions=' not in err
    assert not out.exists()


def tiff_series_with_a_gap(folder, series):
    """Write series as numbered TIFF files, one of them missing."""
    ipcf.io.imwrite_series(folder, series)
    files = sorted(folder.iterdir())
    files[5].unlink()
    return folder


def zarr_store_with_a_gap(path, series):
    """Write series to a zarr store, one chunk of it missing."""
    ipcf.io.imwrite(path, series, chunks=(32, 10, 10))
    chunks = [
        f
        for f in path.rglob('*')
        if f.is_file() and f.name not in {'zarr.json', '.zarray', '.zattrs'}
    ]
    chunks[0].unlink()
    return path


@pytest.mark.parametrize('kind', ['tiff', 'zarr'])
@pytest.mark.parametrize('command', ['convert', 'analyze'])
def test_gaps_are_refused_unless_ignored(
    tmp_path, series, capsys, kind, command
):
    if kind == 'tiff':
        source = tiff_series_with_a_gap(tmp_path / 'frames', series)
    else:
        pytest.importorskip('zarr')
        source = zarr_store_with_a_gap(tmp_path / 'gap.zarr', series)
    out = tmp_path / 'out.h5'
    args = [command, str(source), str(out), '--quiet']
    if command == 'analyze':
        args += [*ANALYZE, '--bleach', 'none']
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.startswith('ipcf: error: ')
    assert 'give --gaps ignore' in err and 'gaps=' not in err
    assert not out.exists()
    assert main([*args, '--gaps', 'ignore']) == 0
    assert out.exists()


def test_compression_help_lists_each_format(capsys):
    from ipcf.io.stores import COMPRESSIONS

    assert main(['convert', '--help']) == 0
    entry = help_entries(capsys.readouterr().out)['--compression NAME']
    for kind, name in (('hdf5', 'HDF5'), ('zarr', 'zarr')):
        assert f'{name} {", ".join(COMPRESSIONS[kind])}' in entry
    (action,) = [
        a for a in commands()['convert']._actions if a.dest == 'compression'
    ]
    assert set(action.choices) == set().union(*COMPRESSIONS.values())


@pytest.mark.parametrize(
    ('suffix', 'name', 'accepted'),
    [
        ('.zarr', 'lzf', 'zarr outputs'),
        ('.h5', 'blosc', 'HDF5 outputs'),
    ],
)
def test_compression_the_format_refuses(
    tmp_path, store, capsys, suffix, name, accepted
):
    from ipcf.io.stores import COMPRESSIONS

    out = tmp_path / f'out{suffix}'
    args = ['convert', str(store), str(out), '--compression', name]
    assert main([*args, '--quiet']) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.startswith('ipcf: error: ')
    assert f'--compression {name} does not apply to {accepted}' in err
    kind = 'zarr' if suffix == '.zarr' else 'hdf5'
    *first, last = COMPRESSIONS[kind]
    assert f'take {", ".join(first)} or {last}' in err
    assert 'None' not in err and not out.exists()


def test_compression_unknown_is_a_usage_error(tmp_path, store, capsys):
    args = ['convert', str(store), str(tmp_path / 'o.h5')]
    assert main([*args, '--compression', 'brotli']) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'invalid choice' in err


def test_compression_is_written(tmp_path, store, capsys):
    out = tmp_path / 'o.h5'
    args = ['convert', str(store), str(out), '--compression', 'lzf']
    assert main([*args, '--quiet']) == 0
    import h5py

    with h5py.File(out) as file:
        assert file['data'].compression == 'lzf'


# ipcf roi draws with ipcf.plot -------------------------------------------


@pytest.fixture
def cell_series(tmp_path):
    """A bright ellipse on a dark noisy background, 6 frames, as TIFF."""
    rng = numpy.random.default_rng(2)
    y, x = numpy.indices((96, 128))
    cell = ((y - 40) / 20) ** 2 + ((x - 70) / 30) ** 2 < 1
    image = 100 + 40 * cell
    stack = rng.poisson(image, (6, *image.shape)).astype(numpy.uint16)
    return ipcf.io.imwrite(tmp_path / 'cell.tif', stack)


def png_size(path):
    """Return (width, height) in pixels of a PNG file."""
    data = Path(path).read_bytes()
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    return int.from_bytes(data[16:20], 'big'), int.from_bytes(data[20:24])


def test_roi_figure(monkeypatch, tmp_path, cell_series, capsys):
    from ipcf import plot

    drawn = []
    draw = plot.roi

    def roi_spy(image, /, **kwargs):
        drawn.append((image, kwargs))
        return draw(image, **kwargs)

    monkeypatch.setattr(plot, 'roi', roi_spy)
    png = tmp_path / 'figures' / 'roi.png'
    args = ['roi', str(cell_series), '--block', '16', '-o', str(png)]
    assert main([*args, '--dpi', '50']) == 0
    captured = capsys.readouterr()
    box = ipcf.roi.parse_roi(captured.out.strip())
    ((image, kwargs),) = drawn
    assert kwargs['box'] == box and image.shape == (96, 128)
    assert str(png) in captured.err
    # at the resolution asked for, and nothing else left beside it
    width, height = plot._common.image_figsize(96, 128)
    assert_allclose(png_size(png), (width * 50, height * 50), atol=1)
    assert [p.name for p in png.parent.iterdir()] == ['roi.png']


@pytest.mark.parametrize(
    ('option', 'message'),
    [
        (['--dpi', '5000'], 'dots per inch'),
        (['-o', 'roi.jpg'], 'must end in .png, .svg or .pdf'),
    ],
)
def test_roi_figure_options_are_checked(
    monkeypatch, tmp_path, cell_series, capsys, option, message
):
    def mean_image(*args, **kwargs):
        msg = 'read before the options were checked'
        raise AssertionError(msg)

    monkeypatch.setattr('ipcf.roi.mean_image', mean_image)
    monkeypatch.chdir(tmp_path)
    assert main(['roi', str(cell_series), *option]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['cell.tif']


# error messages speak CLI -----------------------------------------------


def test_output_exists_names_the_option(monkeypatch, capsys):
    def convert(source, output, /, **kwargs):
        raise OutputExistsError(output)

    monkeypatch.setattr('ipcf.convert.convert', convert)
    assert main(['convert', 'a.tif', 'out.h5']) == 2
    err = capsys.readouterr().err
    assert (
        err == "ipcf: error: 'out.h5' exists; use --overwrite to replace it\n"
    )


@pytest.mark.parametrize('command', ['convert', 'analyze'])
def test_existing_outputs_say_overwrite(tmp_path, store, capsys, command):
    out = tmp_path / 'out.h5'
    out.write_bytes(b'')
    args = [command, str(store), str(out), '--quiet']
    if command == 'analyze':
        args += [*ANALYZE, '--bleach', 'none']
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1
    assert '--overwrite' in err
    assert 'overwrite=True' not in err


def test_broken_pipe_exits_quietly(tmp_path, series):
    path = ipcf.io.imwrite(tmp_path / 'series.h5', series)
    proc = subprocess.Popen(
        [sys.executable, '-m', 'ipcf', 'info', str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()  # the reader is gone before anything is written
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=600) == 1
    assert err == '', err


# ipcf bench ---------------------------------------------------------------


def test_bench_correlate_json(capsys):
    assert main(['bench', 'correlate', '--size', '256', '--json']) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {row['backend'] for row in rows} >= {'numpy_fft', 'direct'}


def test_bench_help_is_the_benchmark_help(capsys):
    assert main(['bench', 'engine', '--help']) == 0
    out = capsys.readouterr().out
    assert out.startswith('usage: ipcf bench engine')
    assert '--stages' in out
    assert '(default: 16384,64,64)' in out


def test_bench_usage_error(capsys):
    assert main(['bench', 'pipeline', '--bleach', 'nonsense']) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1
    assert err.startswith('ipcf bench pipeline: error: argument --bleach')


def test_bench_needs_a_checkout(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(cli, '_BENCHMARKS', tmp_path / 'missing')
    assert main(['bench', 'engine']) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1
    assert err.startswith('ipcf: error: ipcf bench needs a source checkout')


def test_bench_is_not_in_the_package():
    assert not (Path(ipcf.__file__).parent / 'bench.py').exists()
    with pytest.raises(AttributeError):
        ipcf.bench  # noqa: B018


def test_analyze_passes_offset(monkeypatch):
    calls = []

    def analyze(source, output, /, **kwargs):
        calls.append(kwargs)
        return Path(output)

    monkeypatch.setattr('ipcf.pipeline.analyze', analyze)
    assert main(['analyze', 'a.h5', 'r.h5', '--quiet']) == 0
    assert main(['analyze', 'a.h5', 'r.h5', '--offset', '100', '--quiet']) == 0
    assert [kwargs['offset'] for kwargs in calls] == [0.0, 100.0]


@pytest.mark.parametrize('value', ['-1', 'inf', 'nan', 'counts'])
def test_analyze_bad_offset(value, capsys):
    assert main(['analyze', 'a.h5', 'r.h5', '--offset', value]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1, err
    assert err.startswith('ipcf analyze: error: argument --offset')


def test_analyze_offset_reaches_the_result(tmp_path, store):
    out = tmp_path / 'r.h5'
    args = ['analyze', str(store), str(out), *ANALYZE, '--bleach', 'none']
    assert main([*args, '--offset', '20', '--quiet']) == 0
    assert ipcf.load_result(out).attrs['offset'] == 20.0


def test_info_prints_the_units_of_the_file(tmp_path, capsys):
    import tifffile

    data = numpy.zeros((20, 8, 8), numpy.uint16)
    path = tmp_path / 'movie.ome.tif'
    tifffile.imwrite(
        path, data, ome=True,
        metadata={'axes': 'TYX', 'PhysicalSizeX': 0.1, 'PhysicalSizeY': 0.1,
                  'TimeIncrement': 2.0, 'TimeIncrementUnit': 'ms'},
    )  # fmt: skip
    assert main(['info', str(path)]) == 0
    out = capsys.readouterr().out
    assert 'pixel size: 0.1 x 0.1 µm' in out
    assert 'frame interval: 0.002 s' in out
    plain = tmp_path / 'plain.tif'
    tifffile.imwrite(plain, data)
    assert main(['info', str(plain)]) == 0
    assert 'frame interval: not recorded' in capsys.readouterr().out


def test_analyze_cross_channel_of_one_file(tmp_path, capsys):
    """--channel, --z and --neighbour-channel select within one file."""
    import tifffile

    rng = numpy.random.default_rng(5)
    data = rng.poisson(100, (64, 2, 2, 20, 20)).astype(numpy.uint16)
    path = tmp_path / 'cell.ome.tif'
    tifffile.imwrite(path, data, ome=True, metadata={'axes': 'TCZYX'})
    out = tmp_path / 'cross.h5'
    args = ['analyze', str(path), str(out), *ANALYZE, '--quiet']
    args += ['--bleach', 'none', '--directions', 'both']
    assert main([*args, '--neighbour-channel', '1']) == 2
    assert 'give --channel C and --z Z to' in capsys.readouterr().err
    assert main([*args, '--channel', '0', '--neighbour-channel', '-1']) == 2
    capsys.readouterr()
    selection = ['--channel', '0', '--z', '1', '--neighbour-channel', '1']
    assert main([*args, *selection]) == 0, capsys.readouterr().err
    result = ipcf.load_result(out)
    expected = ipcf.pcf_image(
        data[:, 0, 1], neighbour=data[:, 1, 1], directions='both',
        radius=2, npoints=8, nbins=8,
    )  # fmt: skip
    assert_allclose(result, expected, rtol=0, atol=1e-6)
    assert (result.attrs['channel'], result.attrs['z']) == (0, 1)
    assert result.attrs['neighbour_channel'] == 1
