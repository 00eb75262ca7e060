"""Tests of ``ipcf detectors`` and ``ipcf simulate detectors``.

The command's store equals :func:`ipcf.detectors.pcf_detectors` (and its
fit :func:`ipcf.detectors.fit_detectors`) of the same counts, whatever
file holds them; the fit recovers the simulation's D and w within the
tolerance of the validation (test_validation_line.py); user mistakes
are one line on stderr with status 2.

"""

from __future__ import annotations

import re

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from ipcf.cli import main
from ipcf.detectors import fit_detectors, pcf_detectors, read_detectors
from ipcf.io import imwrite, open_series, read_metadata
from ipcf.simulate import detector_array
from ipcf.store import load_result

# a 5x5 array, short: fast, for equality with the library
SMALL = {
    'frames': 4096,
    'positions': 'square5',
    'pitch': 0.075,
    'diffusion': 10.0,
    'sample_time': 5e-5,
    'seed': 1,
}


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp('cli_detectors')


@pytest.fixture(scope='module')
def small(folder):
    """``ipcf simulate detectors`` of SMALL, and the same simulation."""
    path = folder / 'square.tif'
    argv = ['--quiet', 'simulate', 'detectors', str(path), '--frames', '4096']
    argv += ['--layout', 'square5', '--pitch', '0.075', '--diffusion', '10']
    argv += ['--sample-time', '5e-5', '--seed', '1']
    assert main(argv) == 0
    return path, detector_array(**SMALL)


def _error(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert '\n' not in err
    assert err.startswith('ipcf: error: ')
    return err


def _same(result, expected):
    """The stored result equals the library's, values and labels."""
    for name in ('pcf', 'grouped', 'segment_grouped', 'positions'):
        assert result[name].dims == expected[name].dims
        assert_allclose(result[name], expected[name], rtol=0, atol=1e-6)
    for name in ('group_distance', 'pairs', 'delay', 'distance'):
        assert_allclose(result[name], expected[name], rtol=1e-12)
    for name in ('dt', 'frames', 'nbins', 'mode', 'segments'):
        assert result.attrs[name] == expected.attrs[name]


def test_simulate_detectors_writes_counts_and_truth(small):
    path, sim = small
    series = open_series(path)
    assert series.shape == (4096, 1, 25)
    assert_array_equal(numpy.asarray(series)[:, 0], sim.data)
    del series
    stored = read_metadata(path)
    for key in ('kind', 'diffusion', 'positions', 'sample_time', 'seed'):
        assert stored[key] == sim.truth[key]
    assert stored['preset'] == 'square5'
    assert stored['psf_radius'] == 0.2


def test_detectors_equal_the_library(small, folder, capsys):
    """Positions recorded in the file, by --layout and by --positions."""
    path, sim = small
    expected = pcf_detectors(sim.data, 'square5', pitch=0.075, nbins=12)
    expected_dt = pcf_detectors(
        sim.data, 'square5', pitch=0.075, nbins=12, dt=5e-5
    )
    numpy.savetxt(
        folder / 'xy.csv',
        expected['positions'].values,
        delimiter=',',
        header='x_um,y_um',
        comments='',
    )
    runs = {
        'recorded.h5': [],
        'layout.zarr': ['--layout', 'square5', '--pitch', '0.075'],
        'file.nc': ['--positions', str(folder / 'xy.csv')],
    }
    for name, options in runs.items():
        out = folder / name
        argv = ['--quiet', 'detectors', str(path), str(out), '--bins', '12']
        assert main([*argv, *options]) == 0
        said = capsys.readouterr().out
        assert said.startswith(f'wrote {out}: 25 detectors, 4096 of 4096')
        result = load_result(out, group='detectors')
        # the sample time is the file's
        _same(result, expected_dt)
        assert result.attrs['source'] == 'square.tif'
        assert 'fit' not in result
    # --dt overrides the file's sample time
    out = folder / 'dt.h5'
    argv = ['--quiet', 'detectors', str(path), str(out), '--bins', '12']
    assert main([*argv, '--dt', '1']) == 0
    _same(load_result(out, group='detectors'), expected)


@pytest.mark.parametrize('kind', ['npy', 'h5', 'page', 'frames'])
def test_detectors_read_every_file_kind(small, folder, kind):
    """(T, ndet) as .npy, HDF5 dataset, TIFF page; (T, 5, 5) frames."""
    _, sim = small
    counts = sim.data
    options: list[str] = []
    if kind == 'npy':
        source = folder / 'counts.npy'
        numpy.save(source, counts)
    elif kind == 'h5':
        h5py = pytest.importorskip('h5py')
        source = folder / 'counts.h5'
        with h5py.File(source, 'w') as h5:
            h5['counts'] = counts
        options = ['--key', 'counts']
    elif kind == 'page':
        tifffile = pytest.importorskip('tifffile')
        source = folder / 'page.tif'
        tifffile.imwrite(source, counts)
    else:  # images of the 5x5 array, numbered row by row
        source = imwrite(folder / 'frames.tif', counts.reshape(-1, 5, 5))
    key = options[1] if options else None
    assert_array_equal(read_detectors(source, key=key)[0], counts)
    out = folder / f'{kind}.h5'
    argv = ['--quiet', 'detectors', str(source), str(out), '--bins', '10']
    argv += ['--layout', 'square5', '--pitch', '0.075', *options]
    assert main(argv) == 0
    expected = pcf_detectors(counts, 'square5', pitch=0.075, nbins=10)
    _same(load_result(out, group='detectors'), expected)


def test_detectors_fit_equals_the_library(small, folder, capsys):
    """--fit stores fit_detectors of the result and prints it in a line."""
    path, sim = small
    out = folder / 'fit.h5'
    argv = ['--quiet', 'detectors', str(path), str(out), '--bins', '16']
    assert main([*argv, '--fit', '--psf-radius', '0.2']) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    stored = load_result(out, group='detectors')
    expected = fit_detectors(
        pcf_detectors(sim.data, 'square5', pitch=0.075, nbins=16, dt=5e-5),
        w=0.2,
    )
    attrs = stored.attrs
    assert attrs['fit_diffusion'] == pytest.approx(expected['diffusion'])
    assert attrs['fit_diffusion_error'] == pytest.approx(
        expected['diffusion_error']
    )
    assert attrs['fit_w'] == 0.2 and attrs['fit_w_fixed'] is True
    assert 'fit_w_error' not in attrs
    assert attrs['fit_groups'] == expected['groups']
    fitted = stored['fit'].values
    assert_allclose(fitted[expected['groups']], expected['model'], atol=1e-6)
    # the autocorrelations (group 0) are not fitted
    assert numpy.isnan(fitted[0]).all()
    shown = re.fullmatch(
        r'D = (\S+) ± (\S+) µm²/s, w = 0\.2 µm \(fixed\), (\d+) distance '
        r'groups',
        lines[1],
    )
    assert shown is not None
    assert float(shown[1]) == pytest.approx(expected['diffusion'], rel=1e-3)
    assert float(shown[2]) == pytest.approx(
        expected['diffusion_error'], rel=0.05
    )
    assert int(shown[3]) == len(expected['groups'])


def test_detectors_fit_recovers_the_truth(folder, capsys):
    """A validated case, the 5x5 array: D and w within 10 % of the truth.

    (The Airyscan case of the validation takes longer, with more
    elements; the command runs the same code for both layouts. At
    131072 samples seed 0 gives D 10 % high: the seeds scatter about
    ±6 %, hence the longer series.)
    """
    path = folder / 'array.h5'
    argv = ['--quiet', 'simulate', 'detectors', str(path), '--seed', '0']
    argv += ['--frames', '262144', '--layout', 'square5', '--pitch', '0.075']
    argv += ['--diffusion', '10', '--sample-time', '5e-5']
    assert main([*argv, '--psf-radius', '0.2']) == 0
    capsys.readouterr()
    out = folder / 'array_fit.nc'
    assert main(['--quiet', 'detectors', str(path), str(out), '--fit']) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    attrs = load_result(out).attrs
    assert attrs['fit_diffusion'] == pytest.approx(10.0, rel=0.1)
    assert attrs['fit_w'] == pytest.approx(0.2, rel=0.1)
    # the errors: positive, and the truth within three of them
    error = attrs['fit_diffusion_error']
    assert 0 < error < 1.5
    assert abs(attrs['fit_diffusion'] - 10.0) < 3 * error
    assert 0 < attrs['fit_w_error'] < 0.03
    assert abs(attrs['fit_w'] - 0.2) < 3 * attrs['fit_w_error']
    assert line.startswith(f'D = {attrs["fit_diffusion"]:.4g} ± ')
    assert f'w = {attrs["fit_w"]:.4g} ± ' in line


def test_detectors_errors(small, folder, capsys):
    path, _ = small
    out = str(folder / 'bad.h5')
    counts = folder / 'plain.npy'
    numpy.save(counts, numpy.ones((64, 25), numpy.uint16))
    err = _error(capsys, ['detectors', str(folder / 'none.npy'), out])
    assert 'none.npy' in err
    err = _error(capsys, ['detectors', str(counts), out])
    assert 'records no detector positions' in err
    assert '--layout NAME --pitch UM or --positions FILE' in err
    err = _error(
        capsys, ['detectors', str(counts), out, '--layout', 'square5']
    )
    assert '--layout square5 needs --pitch UM' in err
    argv = ['detectors', str(path), out, '--layout', 'airyscan32']
    err = _error(capsys, [*argv, '--pitch', '0.05'])
    assert 'does not match the 25 detectors' in err
    err = _error(capsys, [*argv, '--positions', str(folder / 'xy.csv')])
    assert err.endswith('give --layout or --positions, not both')
    err = _error(capsys, ['detectors', str(path), out, '--psf-radius', '0.2'])
    assert err.endswith('--psf-radius applies to --fit')
    (folder / 'bad.csv').write_text('x,y\n0,0,0\n1,1,1\n')
    err = _error(
        capsys,
        ['detectors', str(path), out, '--positions', str(folder / 'bad.csv')],
    )
    assert 'expected (ndet, 2)' in err
    err = _error(capsys, ['detectors', str(path), str(path)])
    assert 'square.tif' in err
    err = _error(capsys, ['detectors', str(path), str(folder / 'x.png')])
    assert 'x.png' in err


def test_simulate_detectors_errors(folder, capsys):
    out = str(folder / 'x.tif')
    err = _error(capsys, ['simulate', 'free', out, '--pitch', '0.1'])
    assert err.endswith('--pitch applies to detector simulations only')
    err = _error(capsys, ['simulate', 'line', out, '--layout', 'square5'])
    assert err.endswith('--layout applies to detector simulations only')
    err = _error(capsys, ['simulate', 'detectors', out, '--line-time', '1'])
    assert err.endswith('--line-time applies to line simulations only')
    err = _error(capsys, ['simulate', 'detectors', out, '--velocity', '1,0'])
    assert '--velocity does not apply to detector array simulations' in err
    err = _error(capsys, ['simulate', 'detectors', out, '--shape', '64,64'])
    assert '--shape does not apply to detector simulations' in err
    err = _error(capsys, ['simulate', 'detectors', out, '--diffusion', '1,2'])
    assert 'takes one coefficient' in err
    argv = ['simulate', 'detectors', out, '--layout', 'square5']
    err = _error(capsys, [*argv, '--positions', 'xy.csv'])
    assert err.endswith('give --layout or --positions, not both')
