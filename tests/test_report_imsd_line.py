"""Tests of the iMSD and line-scan figures of ``ipcf plot`` and reports.

``--kind imsd|stics|imsd-maps`` write PNG figures of the stores of
``ipcf imsd`` (and of a series); ``ipcf report`` of such a store has the
iMSD sections (parameters with units, the fitted values as the store
holds them, the curve, the STICS, the maps of local results), and of a
store of ``ipcf line`` the pCF carpets beside the intensity carpet.

"""

from __future__ import annotations

import html
import re

import numpy
import pytest
from numpy.testing import assert_allclose

import ipcf
from ipcf.cli import main
from ipcf.plot._imsd_report import draw_imsd, stics_of, tile_curve, tile_stics
from ipcf.plot.report import report_html, write_report
from ipcf.store import load_result

PNG = b'\x89PNG\r\n\x1a\n'


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp('report_imsd_line')


@pytest.fixture(scope='module')
def series(folder):
    """Flow and diffusion, 256 frames of 24 x 24 pixels, with units."""
    sim = ipcf.simulate.flow(
        shape=(256, 24, 24), diffusion=1.0, velocity=(20.0, 0.0), seed=3
    )
    path = folder / 'flow.h5'
    sim.save(path)
    return path


@pytest.fixture(scope='module')
def whole(series, folder):
    out = folder / 'whole.h5'
    argv = ['--quiet', 'imsd', str(series), str(out), '--model', 'flow']
    assert main([*argv, '--max-delay', '8', '--max-shift', '7']) == 0
    return out


@pytest.fixture(scope='module')
def local(series, folder):
    out = folder / 'local.h5'
    argv = ['--quiet', 'imsd', str(series), str(out), '--block', '10']
    assert main([*argv, '--step', '5', '--max-delay', '6']) == 0
    return out


@pytest.fixture(scope='module')
def line(folder):
    """``ipcf simulate line`` and ``ipcf line`` of its carpet."""
    carpet = folder / 'carpet.tif'
    argv = ['--quiet', 'simulate', 'line', str(carpet), '--shape', '512,24']
    assert main([*argv, '--seed', '2', '--line-time', '0.002']) == 0
    out = folder / 'line.h5'
    argv = ['--quiet', 'line', str(carpet), str(out), '--distance', '0']
    assert main([*argv, '3', '6', '--bins', '10']) == 0
    return out


def _png(path):
    content = path.read_bytes()
    assert content.startswith(PNG)
    assert len(content) > 5000
    return content


def _text(document):
    """Return the text of an HTML document, tags and images removed."""
    document = re.sub(r'<style>.*?</style>', '', document, flags=re.S)
    text = html.unescape(re.sub(r'<[^>]+>', ' ', document))
    return ' '.join(text.split())


def _headings(document):
    return re.findall(r'<h2>([^<]*)</h2>', document)


def _images(document):
    return document.count('<img ')


@pytest.mark.parametrize(
    ('store', 'kind', 'extra'),
    [
        ('whole', 'imsd', []),
        ('whole', 'stics', []),
        ('local', 'imsd-maps', []),
        ('local', 'imsd', ['--pixel', '10,12']),
        ('local', 'stics', []),
        ('local', 'stics', ['--pixel', '10,12']),
        ('series', 'stics', []),
        ('series', 'imsd', []),
    ],
)
def test_plot_kinds_write_figures(store, kind, extra, request, folder, capsys):
    source = request.getfixturevalue(store)
    out = folder / f'{store}-{kind}.png'
    assert main(['plot', str(source), str(out), '--kind', kind, *extra]) == 0
    assert f'wrote {out}' in capsys.readouterr().out
    _png(out)


@pytest.mark.parametrize(
    ('store', 'kind', 'message'),
    [
        ('whole', 'imsd-maps', 'needs local maps (ipcf imsd --block)'),
        ('whole', 'carpet', "kind 'carpet' does not apply to an iMSD"),
        ('series', 'imsd-maps', 'not an image series'),
    ],
)
def test_plot_kinds_refuse_other_results(
    store, kind, message, request, folder, capsys
):
    source = request.getfixturevalue(store)
    out = folder / 'never.png'
    assert main(['plot', str(source), str(out), '--kind', kind]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0 and message in err
    assert not out.exists()


def test_figures_draw_what_the_store_holds(whole, local):
    """The STICS and the tile's curve come from the store unchanged."""
    result = load_result(whole, group='imsd')
    correlation = stics_of(result)
    assert correlation.dims == ('delay', 'eta', 'xi')
    assert correlation.attrs['pixel_size'] == 0.1
    assert_allclose(correlation.values, result['stics'].values)
    maps = load_result(local, group='imsd')
    curve = tile_curve(maps, (12, 10))
    tile = maps.sel(y=12, x=10)
    assert float(curve['D']) == float(tile['D'])
    assert_allclose(curve['sigma2'], tile['sigma2'])
    # the default tile is that of the median D
    d = maps['D'].values
    chosen = float(tile_curve(maps)['D'])
    assert abs(chosen - numpy.nanmedian(d)) == numpy.nanmin(
        numpy.abs(d - numpy.nanmedian(d))
    )
    # a tile's STICS: the window of 10 centred on the tile of 5 holding
    # pixel (12, 10), rows and columns 8..12 (the grid starts at the
    # halo, 8): it starts 3 pixels before the tile
    from ipcf.imsd import block_stics

    correlation = tile_stics(maps, (12, 10))
    assert correlation.attrs['block_origin'] == [5, 5]
    assert_allclose(correlation, block_stics(maps, (12, 10)))
    fig = draw_imsd(local, 'stics', pixel=(12, 10))
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert_allclose(images[0].get_array(), correlation[1])
    assert fig.texts[0].get_text() == (
        'STICS of the 10x10 block at y 5:15, x 5:15'
    )
    assert fig.axes[0].get_title() == 'G, delay 2 ms'


def test_stics_of_maps_that_keep_none(series, folder, capsys):
    out = folder / 'none.h5'
    argv = ['--quiet', 'imsd', str(series), str(out), '--block', '10']
    assert main([*argv, '--max-delay', '4', '--keep-stics', '0']) == 0
    png = folder / 'none.png'
    assert main(['plot', str(out), str(png), '--kind', 'stics']) == 2
    err = capsys.readouterr().err
    assert 'keep no STICS' in err and '--keep-stics' in err
    assert 'STICS: the maps keep none' in _text(report_html(out))


def test_report_of_a_whole_field_imsd(whole, folder, capsys):
    out = folder / 'whole.html'
    assert main(['report', str(whole), str(out)]) == 0
    document = out.read_text(encoding='utf-8')
    headings = _headings(document)
    for heading in ('Parameters', 'Data', 'Fitted parameters', 'iMSD'):
        assert heading in headings
    assert 'STICS' in headings and 'Run times' in headings
    assert 'Maps' not in headings
    assert _images(document) == 2  # the curve and the STICS images
    text = _text(document)
    result = load_result(whole, group='imsd')
    speed, error = float(result['speed']), float(result['speed_error'])
    assert f'speed {speed:.4g} ± {error:.2g} µm/s' in text
    d, d_error = float(result['D']), float(result['D_error'])
    # the table gives µm²/s a column of its own
    assert f'D {d:.4g} ± {d_error:.2g} µm²/s' in text
    assert 'pixel size 0.1 µm' in text
    assert 'frame interval 0.001 s' in text
    assert 'largest shift 7 pixels (0.7 µm)' in text
    assert '9 from 0 to 8 frames (0 to 0.008 s)' in text
    # every fitted parameter has its unit in the unit column
    cells = re.findall(
        r'<tr><th>([^<]*)</th><td>[^<]*</td><td>([^<]*)</td></tr>', document
    )
    units = {html.unescape(name): html.unescape(unit) for name, unit in cells}
    assert units['direction'] == '° from x toward y'
    assert units['speed'] == 'µm/s' and units['D'] == 'µm²/s'
    assert units['sigma0'] == 'µm' and units['chi2'] == ''
    # the run times that ipcf imsd recorded
    assert re.search(r'stics \d', text) and re.search(r'fits \d', text)


def test_report_of_local_maps(local, series):
    document = report_html(local)
    headings = _headings(document)
    assert 'Maps summary' in headings and 'Maps' in headings
    assert 'iMSD' in headings and 'STICS' in headings
    assert _images(document) == 3  # the maps, one tile's curve and STICS
    text = _text(document)
    maps = load_result(local, group='imsd')
    d = maps['D'].values
    median = re.escape(f'{numpy.nanmedian(d):.4g}')
    assert re.search(rf'D median {median} ± [^µ]*µm²/s', text)
    assert 'block side 10 pixels (1 µm)' in text
    assert 'tile side (step) 5 pixels (0.5 µm)' in text
    # the data were found beside the store
    assert f'path {series}' in text or 'flow.h5' in text
    assert 'shape (T, H, W) 256, 24, 24' in text


def test_report_of_an_imsd_in_memory(folder):
    """ipcf.imsd's own Dataset: no STICS and no data, said in notes."""
    data = ipcf.simulate.free(shape=(128, 20, 20), seed=1).data
    result = ipcf.imsd(data, pixel_size=0.1, dt=1e-3, max_delay=6)
    path = write_report(result, folder / 'memory.html')
    document = path.read_text(encoding='utf-8')
    assert 'STICS: the result holds none' in _text(document)
    assert 'The image series is not available' in document
    assert _images(document) == 1
    assert f'{float(result["D"]):.4g} ±' in _text(document)


def test_report_of_a_line_scan(line, folder):
    out = folder / 'line.html'
    assert main(['--quiet', 'report', str(line), '-o', str(out)]) == 0
    document = out.read_text(encoding='utf-8')
    headings = _headings(document)
    for heading in ('Parameters', 'Data', 'Result', 'pCF carpets'):
        assert heading in headings
    # one carpet per distance, the first beside the intensity carpet
    assert _images(document) == 3
    text = _text(document)
    assert 'beside the intensity carpet' in text
    assert 'pCF carpet toward autocorrelation' in text
    assert 'line time 0.002 s' in text
    result = load_result(line)
    pixel = result.attrs.get('pixel_size') or 0.1  # the simulation's
    expected = f'0, 3, 6 pixels (0, {3 * pixel:.4g}, {6 * pixel:.4g} µm)'
    assert expected in text
    assert 'intensity carpet drawn' in text
    finite = result.values[numpy.isfinite(result.values)]
    assert f'G range {finite.min():.4g} .. {finite.max():.4g}' in text


def test_report_of_a_line_scan_without_its_carpet(line):
    result = load_result(line)
    result.attrs['source'] = 'elsewhere.tif'
    document = report_html(result)
    assert 'The line scan is not available' in document
    assert _images(document) == 3  # the pCF carpets alone
