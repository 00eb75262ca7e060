"""Draw docs/images/napari.png: the napari plugin with a result loaded.

Simulates diffusion with a wall (the same as the report's picture), runs
the pCF with the plugin's widget, shows a pixel next to the wall in the
pixel panel, and saves a picture of the viewer window: the pCF with its
D map and flow arrows, the widget and the panel. napari draws with
OpenGL, so this needs a display; headless, run it under Xvfb from the
repository root::

    xvfb-run -a .venv/bin/python docs/images/make_napari_screenshot.py

"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    """Write the picture; return the exit status."""
    if not os.environ.get('DISPLAY'):
        print('needs a display: run under xvfb-run', file=sys.stderr)
        return 1
    import napari
    from qtpy.QtWidgets import QApplication

    import ipcf
    from ipcf.napari._panel import PixelPanel, pcf_layer
    from ipcf.napari._widget import PcfWidget

    sim = ipcf.simulate.barrier(shape=(4096, 40, 40), seed=3)
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1280, 960)
    viewer.add_image(sim.data, name='barrier', scale=(0.001, 0.1, 0.1))
    widget = PcfWidget(viewer)
    viewer.window.add_dock_widget(widget, name='pCF analysis', area='right')
    widget.radius.setValue(4)
    widget.points.setValue(16)
    widget.bins.setValue(24)
    widget.bleach.setCurrentText('none')
    widget.psf.setValue(0.25)
    widget.run()
    while widget.worker is not None:
        QApplication.processEvents()
    if widget.result is None:
        print(f'the run failed: {widget.status.text()}', file=sys.stderr)
        return 1
    # the pCF layers keep the series for the raw curves
    viewer.layers.remove('barrier')
    layer = pcf_layer(viewer)
    viewer.layers.selection.active = layer
    viewer.dims.set_current_step(1, 8)  # a delay after the wall shows
    panel = next(
        w
        for w in viewer.window.dock_widgets.values()
        if isinstance(w, PixelPanel)
    )
    # the pixel 1 µm left of the wall's middle, toward it
    result = widget.result
    y = int(result['y'][result.sizes['y'] // 2])
    x = int(result['x'][result.sizes['x'] // 2]) - 3
    panel.show_pixel(layer, y, x, point=0)
    for _ in range(20):
        QApplication.processEvents()
    _close_notifications(viewer)
    viewer.reset_view()  # fit the canvas left by the docked panel
    for _ in range(20):
        QApplication.processEvents()
    path = HERE / 'napari.png'
    viewer.screenshot(str(path), canvas_only=False, flash=False)
    viewer.close()
    print(f'wrote {path}')
    return 0


def _close_notifications(viewer) -> None:
    """Close napari's pop-up notices, which would cover the canvas."""
    from qtpy.QtWidgets import QWidget

    for child in viewer.window._qt_window.findChildren(QWidget):
        if type(child).__name__ == 'NapariQtNotification':
            child.close()


if __name__ == '__main__':
    sys.exit(main())
