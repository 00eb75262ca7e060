"""Tests of ``ipcf imsd`` and ``ipcf simulate confined|anomalous|immobile``.

The command's store equals :func:`ipcf.imsd` (and :func:`ipcf.stics`) of
the series read into memory, and its local maps equal those of
``ipcf.imsd(..., block=...)`` tile by tile; the simulations equal the
library's with the same seed. User mistakes are one line on stderr with
status 2, in the command's terms.

"""

from __future__ import annotations

import inspect

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import ipcf
from ipcf.cli import _imsd, main
from ipcf.imsd import PARAMETERS
from ipcf.io import read_metadata
from ipcf.store import load_result

SHAPE = (384, 28, 28)
UNITS = {'pixel_size': 0.1, 'dt': 1e-3}  # what the simulations record


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp('cli_imsd')


@pytest.fixture(scope='module')
def confined(folder):
    """``ipcf simulate confined`` of 384 frames of 28 x 28 pixels."""
    path = folder / 'confined.h5'
    argv = ['--quiet', 'simulate', 'confined', str(path), '--shape']
    argv += [','.join(map(str, SHAPE)), '--seed', '4', '--domain', '0.4']
    argv += ['--hop', '0.05', '--diffusion', '2']
    assert main(argv) == 0
    return path


@pytest.fixture(scope='module')
def data(confined):
    return numpy.asarray(ipcf.io.open_series(confined))


def _error(capsys, argv):
    """Run argv, expecting a user mistake; return its one line."""
    capsys.readouterr()
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.count('\n') == 0, err
    assert 'Traceback' not in captured.err
    return err


def test_simulate_confined_equals_the_library(data, confined):
    truth = ipcf.simulate.confined(
        shape=SHAPE, seed=4, compartment=0.4, hop=0.05, diffusion=2.0
    )
    assert_array_equal(data, truth.data)
    stored = read_metadata(confined)
    assert stored['compartment'] == 0.4
    assert stored['hop'] == 0.05
    assert stored['kind'] == 'confined'


@pytest.mark.parametrize(
    ('kind', 'options', 'keywords'),
    [
        (
            'anomalous',
            ['--alpha', '0.6', '--immobile-fraction', '0.2'],
            {'alpha': 0.6, 'immobile': 0.2},
        ),
        ('immobile', ['--immobile-fraction', '0.4'], {'fraction': 0.4}),
    ],
)
def test_simulate_other_kinds_equal_the_library(
    kind, options, keywords, folder
):
    path = folder / f'{kind}.tif'
    argv = ['--quiet', 'simulate', kind, str(path), '--shape', '32,12,12']
    assert main([*argv, '--seed', '1', *options]) == 0
    expected = getattr(ipcf.simulate, kind)(
        shape=(32, 12, 12), seed=1, **keywords
    )
    assert_array_equal(numpy.asarray(ipcf.io.open_series(path)), expected.data)


def test_simulation_table_matches_the_library():
    """Each option reaches a keyword of the simulation; none is left out."""
    common = {
        'shape',
        'seed',
        'progress',
        'dtype',
        'pixel_size',
        'frame_time',
        'psf_radius',
        'density',
        'brightness',
        'background',
        'offset',
    }
    for kind, (shape, table) in _imsd.COMPARTMENT_SIMULATIONS.items():
        parameters = inspect.signature(getattr(ipcf.simulate, kind)).parameters
        assert parameters['shape'].default == shape, kind
        assert set(table.values()) == set(parameters) - common, kind
        options = {'diffusion', 'bleach_time', *_imsd.COMPARTMENT_OPTIONS}
        assert set(table) <= options
    assert ipcf.imsd.__module__ == 'ipcf.imsd'
    from ipcf.imsd import MODELS

    assert _imsd.MODELS == MODELS


def test_imsd_equals_the_library(confined, data, folder, capsys):
    out = folder / 'confined_imsd.h5'
    argv = ['--quiet', 'imsd', str(confined), str(out), '--model']
    argv += ['confined', '--max-delay', '10', '--max-shift', '8']
    assert main(argv) == 0
    line = capsys.readouterr().out.strip()
    options = {'max_delay': 10, 'max_shift': 8, **UNITS}
    expected = ipcf.imsd(data, model='confined', **options)
    result = load_result(out, group='imsd')
    for name in (*PARAMETERS['confined'], 'chi2'):
        assert_allclose(float(result[name]), float(expected[name]), rtol=1e-9)
    for name in ('sigma2', 'sigma2_error', 'sigma2_fit', 'centre_x'):
        assert_allclose(result[name], expected[name], rtol=1e-9)
    assert_array_equal(result['used'], expected['used'])
    assert_allclose(result['delay'], numpy.arange(11) * 1e-3)
    # the STICS it was fitted to is stored with it
    correlation = ipcf.stics(data, **options)
    assert_allclose(result['stics'], correlation, rtol=1e-6, atol=1e-9)
    assert result.attrs['source'] == 'confined.h5'
    assert result.attrs['model'] == 'confined'
    # one line: the parameters with their errors, as the store holds them
    assert line.count('\n') == 0
    value, error = float(result['L']), float(result['L_error'])
    assert f'L {value:.4g} ± {error:.2g} µm' in line
    assert 'tau_c' in line and 'µm²/s' in line


def test_imsd_region_and_mask(confined, data, folder):
    mask = numpy.ones(SHAPE[1:], bool)
    mask[10:14, 8:20] = False
    numpy.save(folder / 'mask.npy', mask)
    out = folder / 'region.zarr'
    argv = ['--quiet', 'imsd', str(confined), '-o', str(out)]
    argv += ['--roi', '2:26,4:', '--mask', str(folder / 'mask.npy')]
    argv += ['--max-delay', '6', '--bins', '4', '--subtract-immobile', '64']
    assert main(argv) == 0
    expected = ipcf.imsd(
        data[:, 2:26, 4:],
        mask=mask[2:26, 4:],
        max_delay=6,
        nbins=4,
        subtract_immobile=64,
        **UNITS,
    )
    result = load_result(out, group='imsd')
    assert_allclose(float(result['D']), float(expected['D']), rtol=1e-9)
    assert_allclose(result['sigma2'], expected['sigma2'], rtol=1e-9)
    assert_array_equal(result['lag'], expected['lag'])
    assert result.attrs['roi'] == [2, 26, 4, 28]
    assert result.attrs['masked'] is True


def test_local_maps_equal_the_library(confined, data, folder, capsys):
    """Every tile of the blocked maps is the library's block there."""
    block, step = 12, 4
    out = folder / 'maps.h5'
    argv = ['--quiet', 'imsd', str(confined), str(out), '--block']
    argv += [str(block), '--step', str(step), '--max-delay', '6']
    assert main(argv) == 0
    line = capsys.readouterr().out
    maps = load_result(out, group='imsd')
    expected = ipcf.imsd(data, block=block, step=step, max_delay=6, **UNITS)
    half = (block + step + 1) // 2  # the halo of the analysis
    assert maps['y'].values[0] == half
    assert maps['D'].shape == (SHAPE[1] - 2 * half, SHAPE[2] - 2 * half)
    ny, nx = maps['D'].shape
    compared = 0
    for ty in range(0, ny, step):
        for tx in range(0, nx, step):
            # the tile's window starts one step after the library's block
            lib = expected.isel(y=ty // step + 1, x=tx // step + 1)
            tile = maps.isel(y=slice(ty, ty + step), x=slice(tx, tx + step))
            # the library's block centre is the tile's centre
            centre = (tile['y'].values[0] + tile['y'].values[-1]) / 2
            if tile.sizes['y'] == step:
                assert centre == float(lib['y'])
            for name in ('D', 'sigma0', 'D_error', 'chi2'):
                assert_allclose(tile[name], float(lib[name]), rtol=1e-5)
            assert_allclose(
                tile['sigma2'].values[0, 0], lib['sigma2'], rtol=1e-5
            )
            compared += 1
    assert compared == 9
    # each tile's STICS at the delays kept by default: 0 and 4 spread
    from ipcf.imsd import block_stics

    assert maps.attrs['keep_stics'] == [0, 2, 3, 4, 6]
    for ty, tx in ((0, 0), (4, 8), (8, 4)):
        g = block_stics(maps, (half + ty, half + tx))
        lib = expected.isel(y=ty // step + 1, x=tx // step + 1)
        assert_allclose(g, lib['stics'], rtol=1e-6, atol=1e-9)
        assert_allclose(g['delay'], lib['stics_delay'])
    # the summary gives the medians of the maps
    median = numpy.median(maps['D'].values)
    assert f'D {median:.4g} ± ' in line
    assert 'medians of the maps' in line


def test_local_maps_keep_chosen_delays(confined, data, folder):
    out = folder / 'maps_kept.h5'
    argv = ['--quiet', 'imsd', str(confined), str(out), '--block', '12']
    argv += ['--step', '6', '--max-delay', '6', '--keep-stics', '1,5']
    assert main(argv) == 0
    maps = load_result(out, group='imsd')
    assert maps.attrs['keep_stics'] == [1, 5]
    argv = ['--quiet', 'imsd', str(confined), str(out), '--overwrite']
    argv += ['--block', '12', '--max-delay', '6', '--keep-stics', '0']
    assert main(argv) == 0
    assert 'stics_tile' not in load_result(out, group='imsd').data_vars


@pytest.mark.parametrize(('local', 'hint'), [(False, False), (True, True)])
def test_interrupt_offers_resume_only_for_local_maps(
    confined, folder, capsys, monkeypatch, local, hint
):
    """Ctrl-C names --resume where a run can resume: local maps."""
    import importlib

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    # the modules, which ipcf's functions of the same names hide
    for module, name in (('ipcf.stics', 'stics'), ('ipcf.pipeline', 'run')):
        monkeypatch.setattr(importlib.import_module(module), name, interrupted)
    argv = ['imsd', str(confined), str(folder / 'cut.h5')]
    if local:
        argv += ['--block', '12']
    capsys.readouterr()
    assert main(argv) == 130
    err = capsys.readouterr().err.strip()
    assert err.startswith('ipcf: interrupted')
    assert ('--resume' in err) == hint


def test_imsd_options_and_units_in_errors(confined, folder, capsys):
    src, out = str(confined), str(folder / 'bad.h5')
    err = _error(capsys, ['imsd', src, out, '--step', '4'])
    assert '--step applies to local maps only; add --block' in err
    err = _error(capsys, ['imsd', src, out, '--resume'])
    assert '--resume applies to local maps only' in err
    err = _error(capsys, ['imsd', src, out, '--keep-stics', '2'])
    assert '--keep-stics applies to local maps only' in err
    err = _error(capsys, ['imsd', src, out, '--block', '8', '--keep-stics'])
    assert 'expected one argument' in err
    argv = ['imsd', src, out, '--block', '8', '--keep-stics', '2,40']
    err = _error(capsys, argv)
    assert '--keep-stics [2, 40] has delays [40] that are not' in err
    err = _error(capsys, ['imsd', src, out, '--block', '8', '--step', '9'])
    assert '--step 9 must not exceed --block 8' in err
    err = _error(capsys, ['imsd', src, out, '--block', '20'])
    assert '--block 20' in err and 'too small' in err
    err = _error(capsys, ['imsd', src, out, '--max-delay', '400'])
    assert '--max-delay' in err and '400' in err
    err = _error(capsys, ['imsd', src, out, '--model', 'spim'])
    assert "invalid choice: 'spim'" in err
    err = _error(capsys, ['imsd', str(folder / 'missing.h5'), out])
    assert 'missing.h5' in err
    err = _error(capsys, ['imsd', src, src])
    assert 'overwrite the input' in err
    assert not (folder / 'bad.h5').exists()


def test_imsd_needs_a_pixel_size(folder, capsys):
    import tifffile

    path = folder / 'plain.tif'
    data = ipcf.simulate.free(shape=(128, 16, 16), seed=2).data
    tifffile.imwrite(path, data)  # a TIFF that records no pixel size
    out = str(folder / 'plain.h5')
    err = _error(capsys, ['imsd', str(path), out, '--max-delay', '4'])
    assert err.endswith('does not record it; give --pixel-size UM')
    argv = ['--quiet', 'imsd', str(path), out, '--max-delay', '4']
    assert main([*argv, '--pixel-size', '0.2', '--max-shift', '3']) == 0
    err = _error(capsys, [*argv, '--pixel-size', '0.2'])
    assert '--overwrite' in err


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (
            ['confined', '--alpha', '0.5'],
            "--alpha does not apply to 'confined",
        ),
        (['immobile', '--hop', '0.1'], 'it applies to confined only'),
        (['free', '--domain', '0.3'], '--domain applies to confined'),
        (['confined', '--hop', '2'], '--hop 2 must be <= 1'),
        (['anomalous', '--velocity', '1,2'], '--velocity does not apply'),
        (['confined', '--diffusion', '1,2'], 'one coefficient'),
        (['line', '--immobile-fraction', '0.1'], 'anomalous, immobile'),
    ],
)
def test_simulate_option_errors(args, message, folder, capsys):
    out = str(folder / 'never.h5')
    err = _error(capsys, ['simulate', args[0], out, *args[1:]])
    assert message in err
    assert not (folder / 'never.h5').exists()
