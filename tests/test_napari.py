"""Tests of the napari plugin: reader, pCF widget, pixel panel, screenshot.

Headless: Qt runs on the ``offscreen`` platform unless an X display is
there and Qt's ``xcb`` platform starts. The reader, widget and panel are
tested on a viewer model (no canvas, no OpenGL). napari's canvas needs
OpenGL, which comes only through an X display (Xvfb is enough): the
tests of the whole viewer skip without one, and the screenshot needs
the ``xcb`` platform too (``offscreen`` grabs a blank canvas).

"""

import os
import subprocess
import sys

import pytest


def _qt_platform():
    """Return the Qt platform to use: xcb where it starts, else offscreen.

    xcb needs an X display and Qt's xcb libraries (libxcb-icccm4,
    libxcb-keysyms1, libxcb-xinerama0 besides the common ones); a Qt that
    cannot load it aborts the process, so it is tried in a child first.
    """
    if os.environ.get('QT_QPA_PLATFORM'):
        return os.environ['QT_QPA_PLATFORM']
    if os.environ.get('DISPLAY'):
        probe = subprocess.run(
            [
                sys.executable,
                '-c',
                'from qtpy.QtWidgets import QApplication; QApplication([])',
            ],
            env={**os.environ, 'QT_QPA_PLATFORM': 'xcb'},
            capture_output=True,
            timeout=60,
        )
        if probe.returncode == 0:
            return 'xcb'
    return 'offscreen'


pytest.importorskip('napari', reason='the napari plugin needs napari')
pytest.importorskip('qtpy', reason='the napari plugin needs Qt (PyQt5)')
pytest.importorskip('pytestqt', reason='the widget tests need pytest-qt')
# before a QApplication exists: Qt reads the platform when it starts
PLATFORM = _qt_platform()
os.environ['QT_QPA_PLATFORM'] = PLATFORM
# napari's canvas gets OpenGL from an X display only (GLX), also offscreen
HAS_GL = bool(os.environ.get('DISPLAY'))
NO_GL = 'napari canvas needs OpenGL from an X display; run under Xvfb'

import numpy  # noqa: E402
import tifffile  # noqa: E402
from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402

import ipcf  # noqa: E402
from ipcf.napari import get_reader, read_result, read_series  # noqa: E402

napari = pytest.importorskip('napari')
from napari.components import ViewerModel  # noqa: E402
from napari.layers import Layer  # noqa: E402
from napari.utils.interactions import mouse_press_callbacks  # noqa: E402

from ipcf.napari._panel import PixelPanel, pixel_at  # noqa: E402
from ipcf.napari._widget import Job, PcfWidget, region_mask  # noqa: E402

OPTIONS = {'radius': 2, 'npoints': 8, 'nbins': 8}


@pytest.fixture(scope='module')
def series():
    """512 frames of 16x16 Poisson counts with a diffusing blob's signal."""
    rng = numpy.random.default_rng(42)
    base = rng.poisson(100, (512, 16, 16))
    # a common slow fluctuation, so that the pCF is not all noise
    drift = rng.normal(0, 10, (512, 1, 1)).cumsum(axis=0) * 0.05
    return numpy.clip(base + drift, 0, None).astype(numpy.uint16)


pytestmark = pytest.mark.filterwarnings(
    # napari's theme detection with a Qt5 binding
    'ignore:System theme detection:UserWarning'
)


@pytest.fixture
def viewer():
    """A napari viewer model: layers, dims and mouse callbacks, no canvas."""
    return ViewerModel()


def add_layers(viewer, layer_data):
    return [viewer.add_layer(Layer.create(*item)) for item in layer_data]


def wait_idle(qtbot, widget, timeout=20_000):
    qtbot.waitUntil(lambda: widget.worker is None, timeout=timeout)


# reader -----------------------------------------------------------------


def test_reader_tiff_scale_from_metadata(tmp_path, series):
    """An ImageJ TIFF's pixel size and frame interval become the scale."""
    path = tmp_path / 'cell.tif'
    tifffile.imwrite(
        path,
        series[:64],
        imagej=True,
        resolution=(1 / 0.2, 1 / 0.2),
        metadata={'axes': 'TYX', 'finterval': 0.005, 'unit': 'um'},
    )
    reader = get_reader(str(path))
    assert reader is read_series
    ((data, kwargs, kind),) = reader(str(path))
    assert kind == 'image'
    assert_allclose(kwargs['scale'], (0.005, 0.2, 0.2))
    assert kwargs['units'] == ('s', 'µm', 'µm')
    assert_array_equal(numpy.asarray(data[3]), series[3])
    assert get_reader(str(tmp_path / 'notes.txt')) is None


def test_reader_opens_files_in_viewer(tmp_path, series, viewer):
    """napari finds the reader through the plugin manifest."""
    from npe2 import PluginManager

    PluginManager.instance().discover()  # as napari does at start-up
    path = tmp_path / 'cell.tif'
    tifffile.imwrite(
        path,
        series[:64],
        imagej=True,
        resolution=(1 / 0.2, 1 / 0.2),
        metadata={'axes': 'TYX', 'finterval': 0.005, 'unit': 'um'},
    )
    (layer,) = viewer.open(str(path), plugin='ipcf')
    assert_allclose(layer.scale, (0.005, 0.2, 0.2))


@pytest.fixture(scope='module')
def stored(tmp_path_factory, series):
    """A result with units and its maps, saved with its series."""
    tmp = tmp_path_factory.mktemp('napari')
    source = ipcf.io.imwrite(
        tmp / 'series.bin',
        series,
        metadata={'pixel_size': 0.1, 'frame_interval': 0.001},
    )
    result = ipcf.pcf_image(
        series, **OPTIONS, dt=0.001, pixel_size=0.1, psf_radius=0.25
    )
    path = ipcf.save_result(result, tmp / 'result.h5', source=str(source))
    return path, result


def test_reader_result_store(stored):
    """A store gives the pCF with point and delay sliders, maps and flow."""
    path, result = stored
    reader = get_reader(str(path))
    assert reader is read_result
    layers = reader(str(path))
    kinds = {kw['metadata']['ipcf']['kind']: (d, kw, k) for d, kw, k in layers}
    values, kwargs, kind = kinds['pcf']
    assert kind == 'image'
    assert kwargs['axis_labels'] == ('point', 'delay', 'y', 'x')
    assert_allclose(kwargs['scale'], (1, 1, 0.1, 0.1))
    # the first result pixel (input pixel 2) sits at 2 pixels of 0.1 µm
    assert_allclose(kwargs['translate'], (0, 0, 0.2, 0.2))
    assert_array_equal(values, numpy.asarray(result).transpose(2, 3, 0, 1))
    assert kinds['map'][2] == 'image'
    vectors, vkwargs, vkind = kinds['flow']
    assert vkind == 'vectors'
    assert vectors.shape[1:] == (2, 2)
    assert_allclose(vkwargs['scale'], (0.1, 0.1))


# widget -----------------------------------------------------------------


def series_layer(viewer, series, **kwargs):
    return viewer.add_image(
        series, name='cell', scale=(0.001, 0.1, 0.1), **kwargs
    )


def set_options(widget, **options):
    widget.radius.setValue(options.get('radius', 2))
    widget.points.setValue(options.get('npoints', 8))
    widget.bins.setValue(options.get('nbins', 8))
    widget.bleach.setCurrentText(options.get('bleach', 'none'))
    widget.engine.setCurrentText(options.get('engine', 'cpu'))


def test_widget_runs_pcf_with_progress(qtbot, viewer, series):
    """The widget's result equals pcf_image's; the bar moves to the end."""
    series_layer(viewer, series)
    widget = PcfWidget(viewer)
    qtbot.addWidget(widget)
    set_options(widget, **OPTIONS)
    steps = []
    worker = widget.run()
    worker.yielded.connect(steps.append)
    wait_idle(qtbot, widget)
    expected = ipcf.pcf_image(
        series, **OPTIONS, dt=0.001, pixel_size=0.1, engine='cpu'
    )
    assert_allclose(widget.result, expected, rtol=0, atol=1e-6)
    assert_array_equal(widget.result['y'], expected['y'])
    assert widget.progress.value() == widget.progress.maximum() > 1
    assert steps[-1][0] == steps[-1][1]
    names = [layer.name for layer in viewer.layers]
    assert 'cell pCF' in names
    assert widget.run_button.isEnabled()


def test_widget_cancel_stops(qtbot, viewer, series):
    """A cancel stops the run: no result, no layers, the bar short."""
    series_layer(viewer, series)
    widget = PcfWidget(viewer)
    qtbot.addWidget(widget)
    set_options(widget, **OPTIONS, engine='reference')
    with qtbot.waitSignal(widget.run().aborted, timeout=20_000):
        widget.cancel()
    wait_idle(qtbot, widget)
    assert widget.result is None
    assert [layer.name for layer in viewer.layers] == ['cell']
    assert widget.progress.value() < widget.progress.maximum()
    assert widget.status.text().startswith('cancelled')


def test_widget_region_of_shapes_and_labels(qtbot, viewer, series):
    """Centres come from a drawn rectangle or from labels."""
    data = series[:128]
    image = series_layer(viewer, data)
    # a rectangle over rows 4..9 and columns 5..11, in world units (µm)
    box = numpy.array([[4, 5], [4, 11], [9, 11], [9, 5]]) * 0.1
    shapes = viewer.add_shapes([box], shape_type='rectangle', name='box')
    mask = region_mask(shapes, image)
    expected_mask = numpy.zeros((16, 16), bool)
    expected_mask[4:10, 5:12] = True
    assert_array_equal(mask, expected_mask)
    labels = numpy.zeros((16, 16), numpy.uint8)
    labels[7:12, 3:6] = 2
    viewer.add_labels(labels, name='cells', scale=(0.1, 0.1))
    assert_array_equal(region_mask(viewer.layers['cells'], image), labels > 0)

    widget = PcfWidget(viewer)
    qtbot.addWidget(widget)
    set_options(widget, **OPTIONS)
    widget.layer.setCurrentText('cell')
    widget.region.setCurrentText('box')
    widget.run()
    wait_idle(qtbot, widget)
    expected = ipcf.pcf_image(data, **OPTIONS, dt=0.001, mask=expected_mask)
    result = widget.result.reindex_like(expected)
    assert_allclose(result, expected, rtol=0, atol=1e-6)
    assert widget.result.sizes['y'] == 6  # rows 4..9 only


def test_widget_pipeline_on_file(qtbot, viewer, tmp_path, series):
    """With a store, ipcf.analyze runs on the layer's file."""
    path = tmp_path / 'cell.tif'
    tifffile.imwrite(path, series[:256])
    add_layers(viewer, read_series(str(path)))
    widget = PcfWidget(viewer)
    qtbot.addWidget(widget)
    set_options(widget, **OPTIONS)
    widget.store.setText(str(tmp_path / 'result.h5'))
    widget.run()
    wait_idle(qtbot, widget)
    assert widget.result is not None, widget.status.text()
    expected = ipcf.pcf_image(series[:256], **OPTIONS)
    assert_allclose(widget.result, expected, rtol=0, atol=1e-6)
    assert widget.progress.value() == widget.progress.maximum()
    assert ipcf.load_result(tmp_path / 'result.h5').shape == expected.shape


def test_pipeline_cancel_then_resume(tmp_path, series):
    """A stopped pipeline run returns None; the next run resumes it."""
    import threading

    from ipcf.napari._widget import run_job

    path = tmp_path / 'cell.tif'
    tifffile.imwrite(path, series[:256])
    output = tmp_path / 'result.h5'
    job = Job(series[:256], **OPTIONS, source=str(path), output=str(output))
    stop = threading.Event()
    steps = run_job(job, stop=stop)
    assert next(steps) == (0, 1)
    stop.set()  # the block under way ends, then the run stops
    with pytest.raises(StopIteration) as stopped:
        while True:
            next(steps)
    assert stopped.value.value is None
    assert not ipcf.store.result_groups(output)  # no complete result
    steps = run_job(job)
    with pytest.raises(StopIteration) as finished:
        while True:
            next(steps)
    expected = ipcf.pcf_image(series[:256], **OPTIONS)
    assert_allclose(finished.value.value, expected, rtol=0, atol=1e-6)


def test_widget_refuses_bad_layer(qtbot, viewer):
    viewer.add_image(numpy.zeros((16, 16)), name='flat')
    widget = PcfWidget(viewer)
    qtbot.addWidget(widget)
    assert widget.run() is None
    assert 'needs a (T, Y, X) series' in widget.status.text()


# pixel panel ------------------------------------------------------------


class Click:
    """The fields of a napari mouse event the callbacks read."""

    type = 'mouse_press'
    is_dragging = False
    modifiers = ()
    button = 1
    handled = False

    def __init__(self, position):
        self.position = tuple(position)


def test_panel_follows_clicks(qtbot, viewer, stored, series):
    """A click shows the pixel's curves; another click changes them."""
    path, result = stored
    layers = add_layers(viewer, read_result(str(path)))
    layer = layers[0]
    panel = PixelPanel(viewer)
    qtbot.addWidget(panel)
    shown = []
    for row, col in ((5, 3), (1, 8)):
        # the world position of result pixel (row, col) at point 2
        position = layer.data_to_world([2, 1, row, col])
        assert pixel_at(layer, position)[:3] == (row + 2, col + 2, 2)
        mouse_press_callbacks(viewer, Click(position))
        y, x = row + 2, col + 2
        assert panel.pixel == (y, x)
        assert panel.point == 2
        expected = result.sel(y=y, x=x).values
        assert_array_equal(panel.curves, expected)
        carpet = panel.figure.axes[0].images[0].get_array()
        assert_array_equal(carpet.filled(numpy.nan), expected)
        # the raw curve of point 2 is computed from the stored series
        raw = panel.figure.axes[-1].lines[0].get_ydata()
        assert raw.size == result.attrs['frames'] // 2 - 1
        shown.append(panel.curves.copy())
    assert not numpy.allclose(shown[0], shown[1])


# the whole viewer --------------------------------------------------------


def test_viewer_runs_widget_and_panel(make_napari_viewer, qtbot, series):
    """The manifest's widget runs; the panel it docks follows a click."""
    if not HAS_GL:
        pytest.skip(NO_GL)
    viewer = make_napari_viewer()
    series_layer(viewer, series[:64, :12, :12])
    _, widget = viewer.window.add_plugin_dock_widget('ipcf', 'pCF analysis')
    assert isinstance(widget, PcfWidget)
    set_options(widget, **OPTIONS)
    widget.run()
    wait_idle(qtbot, widget)
    panels = [
        w
        for w in viewer.window.dock_widgets.values()
        if isinstance(w, PixelPanel)
    ]
    assert len(panels) == 1
    layer = widget.layers_added[0]
    mouse_press_callbacks(viewer, Click(layer.data_to_world([0, 1, 3, 4])))
    assert panels[0].pixel == (5, 6)
    assert_array_equal(panels[0].curves, widget.result.sel(y=5, x=6).values)


def test_screenshot_of_result(make_napari_viewer, stored):
    """A result renders: the canvas is not blank."""
    if not HAS_GL:
        pytest.skip(NO_GL)
    if PLATFORM == 'offscreen':
        pytest.skip(
            "Qt's offscreen platform grabs a blank napari canvas; the xcb "
            'platform needs libxcb-icccm4, libxcb-keysyms1, libxcb-xinerama0'
        )
    path, _ = stored
    viewer = make_napari_viewer(show=True)
    viewer.open(str(path), plugin='ipcf')
    viewer.dims.set_current_step(1, 2)  # delay bin 2
    image = viewer.screenshot(canvas_only=True, flash=False)
    assert image.std() > 0
    colours = numpy.unique(image.reshape(-1, image.shape[-1]), axis=0)
    assert len(colours) > 16


def test_manifest_commands_import():
    """Every command of the manifest resolves to a callable."""
    from npe2 import PluginManifest

    manifest = PluginManifest.from_distribution('ipcf')
    for command in manifest.contributions.commands:
        module, name = command.python_name.split(':')
        assert callable(getattr(__import__(module, fromlist=[name]), name))


def test_job_defaults_are_pcf_image_defaults():
    """A Job with no options runs pcf_image's defaults."""
    import inspect

    defaults = inspect.signature(ipcf.pcf_image).parameters
    job = Job(None)
    for name in ('radius', 'npoints', 'nbins', 'engine'):
        assert getattr(job, name) == defaults[name].default
