"""Tests of the figures and the report of results of several channels.

A 2-channel, 2-plane OME-TIFF (tests/test_maps_channels.py) is analysed;
each figure given z=, channel=, neighbour_channel= must draw what it
draws of ``result.sel(...)``, refuse an open choice in one line, and the
report must hold a section per plane and channel pair.
"""

from __future__ import annotations

import re

import numpy
import pytest
from numpy.testing import assert_array_equal

import ipcf
from ipcf import plot
from ipcf.cli import main

pytest.importorskip('matplotlib')

UNITS = {'pixel_size': 0.1, 'w': 0.25}
OPTIONS = {'radius': 2, 'npoints': 8, 'nbins': 12, 'bleach': None}
NAMES = ['GFP', 'mCherry']


AT = {'z': 1, 'channel': 0, 'neighbour_channel': 1}


@pytest.fixture(scope='module')
def stored(tmp_path_factory, two_channel_spots, write_cell):
    stack = two_channel_spots(
        seed=3, frames=256, planes=2, size=18, count=10, step=0.4,
        step_per_plane=0.2,
    )  # fmt: skip
    folder = tmp_path_factory.mktemp('plots')
    path = write_cell(folder / 'cell.ome.tif', stack, NAMES)
    return ipcf.analyze(path, folder / 'r.h5', **OPTIONS)


@pytest.fixture(scope='module')
def result(stored):
    return ipcf.load_result(stored)


def image_of(fig):
    return numpy.asarray(fig.axes[0].images[0].get_array())


@pytest.mark.parametrize('kind', ['carpet', 'polar', 'lines', 'pcf_image'])
def test_figures_draw_the_selection(result, kind):
    """A figure of the selection is the figure of result.sel(...)."""
    function = getattr(plot, kind)
    args = () if kind == 'pcf_image' else (6, 7)
    got = function(result, *args, **AT)
    want = function(result.sel(**AT), *args)
    if kind == 'lines':
        for a, b in zip(got.axes[0].lines, want.axes[0].lines, strict=True):
            assert_array_equal(a.get_ydata(), b.get_ydata())
    elif kind == 'polar':
        first, second = got.axes[0].collections, want.axes[0].collections
        assert_array_equal(first[0].get_array(), second[0].get_array())
    else:
        assert_array_equal(image_of(got), image_of(want))
    with pytest.raises(ValueError) as info:
        function(result, *args, z=1)
    text = str(info.value)
    assert '\n' not in text
    assert 'channel [0, 1]' in text and 'neighbour_channel [0, 1]' in text


def test_maps_and_curve_processing(result, stored):
    """Maps of several selections; the raw curve of a plane's channel."""
    several = ipcf.maps(result, **UNITS)
    got = plot.maps(several, **AT)
    want = plot.maps(ipcf.maps(result.sel(**AT), **UNITS))
    assert_array_equal(image_of(got), image_of(want))
    assert got.axes[4].get_title() == want.axes[4].get_title()  # pooled D
    source = ipcf.open_series(stored.parent / 'cell.ome.tif', channel=0, z=1)
    at = {'z': 1, 'channel': 0, 'neighbour_channel': 0}
    fig = plot.curve_processing(source, result, 6, 6, **at)
    ref = plot.curve_processing(source, result.sel(**at), 6, 6)
    assert_array_equal(fig.axes[0].lines[2].get_ydata(),
                       ref.axes[0].lines[2].get_ydata())  # fmt: skip
    title = plot.carpet(result, 6, 6, **AT).axes[0].get_title()
    assert title.startswith('pCF carpet of pixel y=6, x=6, plane 1, channel '
                            'GFP to mCherry')  # fmt: skip
    with pytest.raises(ValueError, match='channel=3 is not among'):
        plot.carpet(result, 6, 6, z=0, channel=3, neighbour_channel=0)


def test_cli_plot_selection(stored, tmp_path, capsys):
    """ipcf plot --z --channel --neighbour-channel; one line otherwise."""
    out = tmp_path / 'carpet.png'
    args = ['plot', str(stored), str(out), '--kind', 'carpet']
    select = ['--z', '1', '--channel', '1', '--neighbour-channel', '0']
    assert main([*args, *select]) == 0, capsys.readouterr().err
    assert out.stat().st_size > 1000
    assert main([*args, '--z', '1']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and '--neighbour-channel C' in err[0]
    out = tmp_path / 'maps.png'
    args = ['plot', str(stored), str(out), '--kind', 'maps', *select,
            '--psf-radius', '0.25']  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err


def test_report_has_a_section_per_selection(result):
    """One page; auto and cross pCFs named by the channels' names."""
    part = result.sel(z=[1])
    text = plot.report.report_html(part, pixels=[(6, 6)], psf_radius=0.25)
    assert text.count('<html') == 1
    headings = re.findall(r'<h2 id="[^"]*">([^<]*)</h2>', text)
    assert headings == [
        'Plane z=1, auto-pCF of channel 0 (GFP)',
        'Plane z=1, cross pCF from channel 0 (GFP) to 1 (mCherry)',
        'Plane z=1, cross pCF from channel 1 (mCherry) to 0 (GFP)',
        'Plane z=1, auto-pCF of channel 1 (mCherry)',
    ]
    assert text.count('id="ipcf-explore"') == 1  # one explorer
    # raw curves for the auto-pCFs only: they need one channel
    assert text.count('<figcaption>Raw, binned') == 2
    assert text.count('>Maps</h3>') == 4


def test_browse_the_selection(result):
    """The browser of a selection shows the pCF of result.sel(...)."""
    pytest.importorskip('ipywidgets')
    from ipcf.plot.browser import _browser

    got = _browser(result.sel(**AT))
    widget = plot.browse(result, **AT)
    assert widget.children[1].max == got.widget.children[1].max  # points
    with pytest.raises(ValueError, match=r'z \[0, 1\]'):
        plot.browse(result, channel=0, neighbour_channel=1)
