"""Tests of ``ipcf acf``, ``ipcf nb`` and their maps, figures and reports.

Each command's store equals the library call on the whole series; user
mistakes are one line on stderr with status 2, in the command's terms.

"""

import subprocess
import sys

import pytest
from numpy.testing import assert_allclose, assert_array_equal

import ipcf
from ipcf import cli
from ipcf.brightness import number_brightness
from ipcf.cli import main
from ipcf.fcs import AcfAnalysis, acf_image, fit_acf
from ipcf.store import load_result

# Blocked and whole results are the same float32 sums, but BLAS picks its
# kernels by the size of each product, and kernels round differently:
# they agree within 1e-6 plus a few float32 roundings of G, not to the bit
FLOAT32 = {'rtol': 4e-6, 'atol': 1e-6}

ACF = ['--bins', '12', '--offset', '102', '--block', '4']


@pytest.fixture(scope='module')
def sim():
    """Free diffusion with its truth, (512, 10, 12)."""
    return ipcf.simulate.free(shape=(512, 10, 12), diffusion=2.0, seed=5)


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp('cli_fcs')


@pytest.fixture(scope='module')
def source(sim, folder):
    """The series in HDF5 with its units (pixel size, PSF, frame time)."""
    path = folder / 'series.h5'
    sim.save(path)
    return str(path)


@pytest.fixture(scope='module')
def acf_store(source, folder):
    """``ipcf acf`` of the series with --fit."""
    out = folder / 'acf.h5'
    assert main(['--quiet', 'acf', source, str(out), *ACF, '--fit']) == 0
    return out


@pytest.fixture(scope='module')
def nb_store(source, folder):
    out = folder / 'nb.h5'
    assert main(['--quiet', 'nb', source, str(out), '--offset', '100']) == 0
    return out


@pytest.fixture(scope='module')
def pcf_store(sim, folder):
    result = ipcf.pcf_image(sim.data, radius=1, npoints=4, nbins=6)
    return ipcf.save_result(result, folder / 'pcf.h5')


def test_acf_equals_acf_image(sim, acf_store, capsys):
    stored = load_result(acf_store, group='acf')
    whole = acf_image(sim.data, nbins=12, offset=102.0, dt=1e-3)
    assert_allclose(stored['acf'].values, whole.values, **FLOAT32)
    assert_allclose(stored['delay'].values, whole['delay'].values)
    assert stored.attrs['bleach'] == 'none'
    assert stored.attrs['block'] == 4


def test_acf_fit_is_stored_beside(acf_store, capsys):
    fit_path = acf_store.with_name('acf_fit.h5')
    fit = load_result(fit_path, group='fcs')
    expected = fit_acf(
        load_result(acf_store, group='acf'), pixel_size=0.1, w=0.25
    )
    for key in ('N', 'D', 'G_inf', 'chi2', 'fit'):
        assert_array_equal(fit[key].values, expected[key].values)
    assert fit.attrs['acf_store'] == 'acf.h5'
    assert fit.attrs['source'] == 'series.h5'
    assert fit.encoding['provenance']['parameters']['w'] == 0.25


@pytest.mark.parametrize(
    'options',
    [
        ['--binning', '2', '--block', '2'],
        ['--correlator', 'multipletau', '--tau-channels', '8'],
        ['--binning', '3', '--correlator', 'multipletau', '--roi', '1:10,:'],
    ],
)
def test_acf_options_reach_the_result(options, sim, source, tmp_path):
    out = tmp_path / 'acf.h5'
    assert main(['--quiet', 'acf', source, str(out), *ACF, *options]) == 0
    stored = load_result(out, group='acf')
    given = dict(zip(options[::2], options[1::2], strict=True))
    binning = int(given.get('--binning', 1))
    whole = acf_image(
        sim.data,
        nbins=12,
        offset=102.0,
        dt=1e-3,
        binning=binning,
        correlator=given.get('--correlator', 'log'),
        channels=int(given.get('--tau-channels', 16)),
    )
    if '--roi' in given:
        whole = whole.isel(y=slice(1, 3))  # binned rows inside 1:10
    assert_allclose(stored['acf'].values, whole.values, **FLOAT32)
    assert_allclose(stored['y'].values, whole['y'].values)
    assert stored.attrs['binning'] == binning


def test_acf_fit_options(sim, source, tmp_path, capsys):
    out = tmp_path / 'a.h5'
    args = ['--quiet', 'acf', source, str(out), *ACF, '--fit']
    args += ['--model', 'spim', '--w-z', '0.8', '--fit-range', ':0.2']
    args += ['--pixel-size', '0.1', '--w', '0.3']
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert 'a_fit.h5; medians over' in printed
    fit = load_result(tmp_path / 'a_fit.h5', group='fcs')
    expected = fit_acf(
        load_result(out, group='acf'),
        pixel_size=0.1,
        w=0.3,
        model='spim',
        w_z=0.8,
        fit_range=(0.0, 0.2),
    )
    assert_array_equal(fit['D'].values, expected['D'].values)
    assert fit.attrs['model'] == 'spim'


def test_maps_of_an_acf_store(acf_store, tmp_path, capsys):
    out = tmp_path / 'maps.nc'
    args = ['maps', str(acf_store), str(out), '--components', '2']
    assert main([*args, '--fit-range', '0.002:']) == 0
    assert 'medians over' in capsys.readouterr().out
    maps = load_result(out)
    expected = fit_acf(
        load_result(acf_store, group='acf'),
        pixel_size=0.1,
        w=0.25,
        components=2,
        fit_range=(0.002, float(maps['delay'].values.max())),
    )
    for key in ('N', 'D', 'D2', 'F2'):
        assert_allclose(maps[key].values, expected[key].values)


@pytest.mark.parametrize(
    'options',
    [
        [],
        ['--gain', '2', '--readout-variance', '1.5', '--s-factor', '3'],
        ['--detrend', '32', '--roi', '2:9,1:11', '--block', '3'],
        ['--detrend', 'exp'],
    ],
)
def test_nb_equals_number_brightness(options, sim, source, tmp_path, capsys):
    out = tmp_path / 'nb.h5'
    args = ['--quiet', 'nb', source, str(out), '--offset', '100', *options]
    assert main(args) == 0
    assert 'medians: B_app' in capsys.readouterr().out
    stored = load_result(out, group='nb')
    given = dict(zip(options[::2], options[1::2], strict=True))
    detrend = given.get('--detrend')
    whole = number_brightness(
        sim.data,
        offset=100.0,
        gain=float(given.get('--gain', 1.0)),
        readout_variance=float(given.get('--readout-variance', 0.0)),
        s_factor=float(given['--s-factor']) if '--s-factor' in given else None,
        detrend=int(detrend) if detrend and detrend.isdigit() else detrend,
    )
    if '--roi' in given:
        whole = whole.isel(y=slice(2, 9), x=slice(1, 11))
    for key in whole.data_vars:
        assert_allclose(stored[key].values, whole[key].values, atol=1e-6)
    assert_array_equal(stored['y'].values, whole['y'].values)


def test_resume_after_ctrl_c(sim, source, tmp_path, monkeypatch, capsys):
    out = tmp_path / 'acf.h5'
    args = ['acf', source, str(out), *ACF, '--scheduler', 'synchronous']
    calls = []
    compute = AcfAnalysis.compute

    def interrupted(self, *a, **k):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(1)
        return compute(self, *a, **k)

    with monkeypatch.context() as patch:
        patch.setattr(AcfAnalysis, 'compute', interrupted)
        assert main(['--quiet', *args]) == 130
    err = capsys.readouterr().err
    assert err == 'ipcf: interrupted; continue with --resume\n'
    assert main(['--quiet', *args]) == 2
    err = capsys.readouterr().err.strip()
    assert '--resume to continue it or --overwrite' in err
    assert main(['--quiet', *args, '--resume']) == 0
    stored = load_result(out, group='acf')
    assert stored.attrs['timings']['resumed_blocks'] == 2
    whole = acf_image(sim.data, nbins=12, offset=102.0, dt=1e-3)
    assert_allclose(stored['acf'].values, whole.values, **FLOAT32)


@pytest.fixture(scope='module')
def plain(sim, folder):
    """The series without units."""
    return str(ipcf.io.imwrite(folder / 'plain.h5', sim.data))


ERRORS = [
    (['acf', 'missing.h5', 'o.h5'], 'missing.h5'),
    (['acf', '{source}', 'o.h5', '--model', 'spim'], '--model applies to'),
    (['acf', '{source}', 'o.h5', '--fit', '--model', 'spim'], 'needs --w-z'),
    (['acf', '{plain}', 'o.h5', '--fit'], '--pixel-size is needed for --fit'),
    (['acf', '{source}', 'o.h5', '--binning', '20'], 'for --binning 20'),
    (
        ['acf', '{source}', 'o.h5', '--correlator', 'multipletau']
        + ['--tau-channels', '7'],
        '--tau-channels 7 must be even',
    ),
    (['acf', '{source}', 'o.h5', '--fit-range', '0.2'], 'MIN:MAX'),
    (
        ['acf', '{source}', 'o.h5', '--roi', '1:2,0:4', '--binning', '2'],
        'no whole 2x2 binned pixel',
    ),
    (['acf', '{source}', '{acf}'], '--overwrite'),
    (['nb', '{source}', 'o.h5', '--detrend', '1'], 'K >= 2'),
    (['nb', '{source}', 'o.h5', '--detrend', 'none'], 'bleach correction'),
    (
        ['nb', '{source}', 'o.h5', '--detrend', '4096'],
        '--detrend 4096 is longer than the 512 frames',
    ),
    (['nb', '{source}', 'o.h5', '--gain', '0'], 'positive number'),
    (['maps', '{nb}', 'o.nc'], 'holds N&B maps already'),
    (['maps', '{pcf}', 'o.nc', '--model', 'spim'], 'applies to ACF results'),
    (['maps', '{acf}', 'o.nc', '--window', '3'], '--window applies to pCF'),
    (['maps', '{plain_acf}', 'o.nc'], '--pixel-size is needed'),
    (['plot', '{nb}', 'o.png', '--kind', 'acf'], "'acf' does not apply"),
    (['plot', '{acf}', 'o.png', '--kind', 'carpet'], 'choose'),
    (['plot', '{pcf}', 'o.png', '--kind', 'brightness'], 'an N&B result'),
    (['plot', '{plain_acf}', 'o.png', '--kind', 'maps'], 'pixel size'),
    (
        ['plot', '{acf}', 'o.png', '--kind', 'acf', '--pixel', '40,1'],
        'outside the result',
    ),
]


@pytest.fixture(scope='module')
def paths(source, plain, acf_store, nb_store, pcf_store, folder):
    plain_acf = folder / 'plain_acf.h5'
    assert main(['--quiet', 'acf', plain, str(plain_acf), *ACF]) == 0
    return {
        'source': source,
        'plain': plain,
        'acf': str(acf_store),
        'nb': str(nb_store),
        'pcf': str(pcf_store),
        'plain_acf': str(plain_acf),
    }


@pytest.mark.parametrize(('args', 'message'), ERRORS)
def test_mistakes_are_one_line(args, message, paths, tmp_path, capsys):
    args = [a.format(**paths) for a in args]
    args = [str(tmp_path / a) if a.startswith('o.') else a for a in args]
    assert main(['--quiet', *args]) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.count('\n') == 1, err
    assert err.startswith('ipcf'), err
    assert message in err, err
    assert 'Traceback' not in err


def test_mistake_in_a_process_is_one_line(paths, tmp_path):
    out = tmp_path / 'o.h5'
    proc = subprocess.run(
        [sys.executable, '-m', 'ipcf', 'nb', paths['source'], str(out)]
        + ['--detrend', 'poly:x'],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.count('\n') == 1, proc.stderr
    assert proc.stderr.startswith('ipcf nb: error:')


@pytest.mark.parametrize(
    ('store', 'kind', 'extra'),
    [
        ('acf', 'maps', []),
        ('acf', 'acf', ['--pixel', '3,4']),
        ('acf', 'trace', []),
        ('fit', 'maps', []),
        ('fit', 'acf', []),
        ('nb', 'maps', []),
        ('nb', 'brightness', ['--monomer', '2.5']),
        ('nb', 'mean', []),
    ],
)
def test_plot_kinds(store, kind, extra, paths, tmp_path, capsys):
    path = (
        paths['acf'].replace('acf.h5', 'acf_fit.h5')
        if store == 'fit'
        else paths[store]
    )
    out = tmp_path / f'{kind}.png'
    assert main(['plot', path, str(out), '--kind', kind, *extra]) == 0
    assert out.stat().st_size > 1000
    assert capsys.readouterr().out == f'wrote {out}\n'


@pytest.mark.parametrize(
    ('store', 'headings'),
    [
        ('acf', ['Fit of N and D', 'Autocorrelation curves']),
        ('nb', ['Maps', 'median epsilon']),
    ],
)
def test_report(store, headings, paths, tmp_path, capsys):
    out = tmp_path / 'report.html'
    assert main(['report', paths[store], str(out)]) == 0
    text = out.read_text()
    for heading in headings:
        assert heading in text
    assert 'data:image/png;base64,' in text


def test_help_shows_defaults(capsys):
    assert main(['acf', '--help']) == 0
    text = ' '.join(capsys.readouterr().out.split())
    for entry in (
        '--bleach METHOD[:PARAM]',
        'or none (default: none)',
        '--binning N sum N x N pixels',
        '(default: 1)',
        '--correlator {log,multipletau}',
        '--fit ',
    ):
        assert entry in text
    assert main(['nb', '--help']) == 0
    text = ' '.join(capsys.readouterr().out.split())
    for entry in ('--gain G', '(default: 1.0)', '--detrend K|METHOD'):
        assert entry in text


def test_fcs_options_are_in_the_table():
    parser = cli._parser()
    for name in ('acf', 'nb'):
        assert name in parser.format_help()
    from ipcf import _options

    for dest in ('binning', 'correlator', 'gain', 'detrend', 'fit_range'):
        assert dest in _options.OPTIONS
