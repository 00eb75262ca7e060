"""Tests of ``ipcf line``, ``ipcf simulate line`` and ``--kind line``.

The command's store equals :func:`ipcf.pcf_line` of the whole carpet;
user mistakes are one line on stderr with status 2, in the command's
terms.

"""

from __future__ import annotations

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import ipcf
from ipcf.cli import main
from ipcf.io import open_series, read_metadata
from ipcf.line import pcf_line
from ipcf.store import load_result


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp('cli_line')


@pytest.fixture(scope='module')
def carpet(folder):
    """``ipcf simulate line`` of 1024 scans of 32 positions."""
    path = folder / 'carpet.tif'
    argv = ['--quiet', 'simulate', 'line', str(path), '--shape', '1024,32']
    argv += ['--seed', '3', '--line-time', '0.002', '--diffusion', '2']
    assert main(argv) == 0
    return path


def _error(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert '\n' not in err
    return err


def test_simulate_line_writes_the_truth(carpet):
    truth = ipcf.simulate.line_scan(
        shape=(1024, 32), seed=3, line_time=0.002, diffusion=2.0
    )
    series = open_series(carpet)
    assert series.shape == (1024, 1, 32)
    assert_array_equal(numpy.asarray(series)[:, 0], truth.data)
    stored = read_metadata(carpet)
    assert stored['line_time'] == 0.002
    assert stored['diffusion'] == 2.0
    del series


def test_line_equals_the_library(carpet, folder, capsys):
    out = folder / 'line.h5'
    argv = ['--quiet', 'line', str(carpet), str(out), '--distance', '2']
    argv += ['4', '8', '--bins', '12', '--block', '5']
    assert main(argv) == 0
    assert 'line time 0.002 s' in capsys.readouterr().out
    result = load_result(out)
    expected = pcf_line(
        numpy.asarray(open_series(carpet)), distance=[2, 4, 8], nbins=12
    )
    assert result.dims == expected.dims
    assert_allclose(result.values, expected.values, rtol=0, atol=1e-6)
    assert_array_equal(result['x'], expected['x'])
    assert result.attrs['dt'] == 0.002
    # an interrupted run's absence: a rerun without --overwrite refuses
    err = _error(capsys, argv)
    assert '--overwrite' in err


def test_line_periodic_with_line_time(carpet, folder):
    out = folder / 'orbit.zarr'
    argv = ['--quiet', 'line', str(carpet), str(out), '--distance', '20']
    argv += ['--periodic', '--line-time', '0.01', '--bins', '8']
    assert main(argv) == 0
    result = load_result(out)
    expected = pcf_line(
        numpy.asarray(open_series(carpet)),
        distance=20,
        nbins=8,
        periodic=True,
        line_time=0.01,
    )
    assert_allclose(result.values, expected.values, rtol=0, atol=1e-6)
    assert_array_equal(result['delay'], expected['delay'])


def test_plot_kind_line(carpet, folder):
    pytest.importorskip('matplotlib')
    out = folder / 'plotted.h5'
    argv = ['--quiet', 'line', str(carpet), str(out), '--distance', '3']
    assert main([*argv, '--bins', '8']) == 0
    figure = folder / 'line.png'
    assert main(['plot', str(out), str(figure), '--kind', 'line']) == 0
    assert figure.stat().st_size > 0
    # the carpet is found through the result's source: three panels
    from ipcf.plot._dispatch import draw

    fig = draw(out, 'line')
    titles = [axes.get_title() for axes in fig.axes]
    assert titles[:3] == [
        'intensity',
        'pCF toward +3 pixels',
        'pCF toward -3 pixels',
    ]


def test_plot_kind_line_needs_a_line_result(folder, capsys):
    pytest.importorskip('matplotlib')
    store = folder / 'image.h5'
    data = numpy.random.default_rng(0).poisson(100, (32, 8, 8))
    ipcf.save_result(ipcf.pcf_image(data, radius=1, npoints=4, nbins=4), store)
    err = _error(capsys, ['plot', str(store), 'f.png', '--kind', 'line'])
    assert err.endswith("kind 'line' needs a line-scan result (of ipcf line)")


@pytest.mark.parametrize(
    ('options', 'expected'),
    [
        (['--distance', '16'], 'distance=16 must be < 16.0 for lines of 32'),
        (['--distance', '16'], 'give --periodic for a circular orbit'),
        (['--distance', '32', '--periodic'], 'must be < 32 for circular'),
        (['--distance', '-1'], '--distance'),
        (['--distance', '2', '--line-time', '0'], '--line-time'),
        ([], '--distance'),
    ],
)
def test_line_errors_are_one_line(carpet, folder, capsys, options, expected):
    out = folder / 'bad.h5'
    err = _error(capsys, ['line', str(carpet), str(out), *options])
    assert expected in err
    assert not out.exists()


def test_line_errors_about_files(folder, capsys):
    err = _error(
        capsys, ['line', str(folder / 'no.tif'), 'x.h5', '--distance', '1']
    )
    assert 'no.tif' in err
    short = folder / 'short.tif'
    ipcf.io.imwrite(short, numpy.ones((8, 1, 16), numpy.uint16))
    err = _error(
        capsys, ['line', str(short), str(folder / 's.h5'), '--distance', '1']
    )
    assert 'at least 16' in err


def test_simulate_line_errors(folder, capsys):
    out = str(folder / 'x.tif')
    err = _error(capsys, ['simulate', 'free', out, '--barrier', '2'])
    assert err.endswith('--barrier applies to line simulations only')
    err = _error(capsys, ['simulate', 'line', out, '--shape', '4,8,8'])
    assert 'a line scan is T,X' in err
    err = _error(capsys, ['simulate', 'line', out, '--velocity', '1'])
    assert '--velocity does not apply to line simulations' in err
