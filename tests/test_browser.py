"""Tests of the Jupyter widget ipcf.plot.browse, driven without a browser.

The callbacks are called as the front end would call them: by setting
slider values, and with the event dicts that ipyevents sends for clicks.

"""

import sys

import numpy
import pytest
from numpy.testing import assert_array_equal

import ipcf
from ipcf.plot import browse, browser

pytest.importorskip('ipywidgets')

PNG = b'\x89PNG\r\n\x1a\n'


@pytest.fixture(scope='module')
def series():
    rng = numpy.random.default_rng(4)
    return rng.poisson(100, (128, 14, 18)).astype(numpy.uint16)


@pytest.fixture(scope='module')
def mask(series):
    mask = numpy.ones(series.shape[1:], bool)
    mask[6, 9] = False
    return mask


def click_at(view, y, x):
    """Return the ipyevents click event at the centre of pixel (y, x)."""
    view.image.value = browser._png(view.fig)  # the layout as shown
    cx, cy = ipcf.plot._common.centre((y, x), view.scale)
    px, py = view.ax.transData.transform((cx, cy))
    height = view.fig.get_figheight() * view.fig.dpi
    return {'type': 'click', 'dataX': px, 'dataY': height - py}


def test_series_has_axes_scale_bar_and_colour_bar(series):
    view = browser._browser(series, pixel_size=0.1, dt=1e-3)
    image, colourbar = view.fig.axes
    assert colourbar.get_ylabel() == 'intensity (counts)'
    assert image.get_xlabel() == 'x (µm)'
    assert image.get_ylabel() == 'y (µm)'
    # 18 pixels of 0.1 µm: a fifth is 0.36 µm, the bar 0.2 µm
    assert view.bar.txt_label.get_text() == '0.2 µm'
    assert view.bar.size_bar.get_children()[0].get_width() == 0.2
    assert image.get_xlim() == pytest.approx((0.0, 1.8))
    pixels = browser._browser(series)
    assert pixels.ax.get_xlabel() == 'x (pixel)'
    assert pixels.bar.txt_label.get_text() == '2 pixels'


def test_series_callbacks(series):
    view = browser._browser(series, dt=1e-3)
    first = bytes(view.image.value)
    assert first.startswith(PNG)
    view.frame.value = 7
    assert_array_equal(view.im.get_array(), series[7])
    assert view.ax.get_title() == 'frame 7 (0.007 s)'
    assert 'frame 7 of 128 (0.007 s)' in view.status.value
    assert bytes(view.image.value) != first
    view.contrast.value = (95.0, 105.0)
    assert view.im.get_clim() == (95.0, 105.0)
    assert view.widget.children == (
        view.image,
        view.frame,
        view.contrast,
        view.status,
    )


def test_result_sliders_draw_the_pcf_image(result):
    view = browser._browser(result, pixel_size=0.1)
    assert len(view.widget.children) == 6
    image, colourbar = view.fig.axes
    assert colourbar.get_ylabel() == 'G'
    assert image.get_xlabel() == 'x (µm)'
    assert view.bar.txt_label.get_text() == '0.2 µm'  # 14 px: 1.4 µm
    first = bytes(view.image.value)
    view.point.value = 2
    view.delay.value = 4
    expected = numpy.asarray(result)[:, :, 2, 4]
    shown = view.im.get_array()
    assert_array_equal(shown.mask, numpy.isnan(expected))
    assert_array_equal(shown.filled(0), numpy.nan_to_num(expected))
    assert view.im.get_clim() == ipcf.plot._common.limits(expected)
    u, v = int(result['u'][2]), int(result['v'][2])
    assert view.ax.get_title().startswith(f'G toward u={u}, v={v} (90°)')
    delay = ipcf.plot._common.format_delay(float(result['delay'][4]), 's')
    assert view.ax.get_title().endswith(f'at {delay}')
    assert bytes(view.image.value) != first
    y, x = view.y.value, view.x.value
    value = float(result.sel(y=y, x=x)[2, 4])
    assert view.status.value.endswith(f'at {delay}: {value:.4g}')


def test_result_pixel_picker(result):
    view = browser._browser(result)
    assert (view.y.min, view.y.max) == (2, 11)
    assert (view.x.min, view.x.max) == (2, 15)
    curves = bytes(view.curves.value)
    assert curves.startswith(PNG)
    view.y.value = 4
    view.x.value = 12
    assert bytes(view.curves.value) != curves
    assert view.marker.get_data() == ([12.0], [4.0])
    assert view.status.value.startswith('pixel y=4, x=12;')
    view.y.value = 6
    view.x.value = 9  # the masked pixel
    assert view.status.value.endswith(': no value')


def test_result_click_picks_the_pixel(result, monkeypatch):
    view = browser._browser(result, pixel_size=0.1)
    drawn = []
    draw = view.draw_pixel
    monkeypatch.setattr(view, 'draw_pixel', lambda *a: drawn.append(draw()))
    view.on_click(click_at(view, 11, 5))
    assert (view.y.value, view.x.value) == (11, 5)
    assert len(drawn) == 1  # one redraw for both coordinates
    assert view.status.value.startswith('pixel y=11, x=5 ')
    # outside the axes, or without coordinates: nothing changes
    view.on_click({'type': 'click', 'dataX': 1.0, 'dataY': 1.0})
    view.on_click({'type': 'click'})
    assert (view.y.value, view.x.value) == (11, 5)
    assert len(drawn) == 1


def test_result_clicks_through_ipyevents(result, monkeypatch):
    ipyevents = pytest.importorskip('ipyevents')
    view = browser._browser(result)
    assert isinstance(view.events, ipyevents.Event)
    assert view.events.source is view.image
    # the message ipyevents' front end sends for a click
    event = click_at(view, 3, 14)
    view.events._handle_mouse_msg(None, event, None)
    assert (view.y.value, view.x.value) == (3, 14)
    monkeypatch.setitem(sys.modules, 'ipyevents', None)
    without = browser._browser(result)
    assert without.events is None
    without.y.value = 5
    assert without.status.value.startswith('pixel y=5,')


def test_browse_result_store(result, tmp_path):
    path = ipcf.save_result(result, tmp_path / 'result.h5')
    widget = browse(path)
    assert len(widget.children) == 6
    assert widget.children[3].max == 11


def test_browse_bad_arguments(result, series):
    with pytest.raises(ValueError, match='pixel_size'):
        browse(result, pixel_size=0.0)
    with pytest.raises(TypeError, match='width'):
        browse(series, width=1.5)


@pytest.mark.parametrize(
    ('length', 'expected'),
    [(7.3, 5.0), (0.36, 0.2), (1.0, 1.0), (19.9, 10.0), (2.0, 2.0)],
)
def test_nice_length(length, expected):
    assert browser.nice_length(length) == expected
