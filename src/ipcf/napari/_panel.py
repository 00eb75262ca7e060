"""The *pCF of a pixel* panel: the curves of the pixel last clicked.

:class:`PixelPanel` is a dock widget holding a matplotlib figure
(``FigureCanvasQTAgg``) of four panels in a row, drawn by
:mod:`ipcf.plot`; the widget docks it below the canvas:

- the carpet of the pixel's curves (:func:`ipcf.plot.carpet`);
- the same curves in polar form (:func:`ipcf.plot.polar`);
- the curves as lines, coloured by direction (:func:`ipcf.plot.lines`);
- the curve toward the circle point shown by the point slider, raw,
  averaged in the log bins and smoothed
  (:func:`ipcf.plot.curve_processing`), where the series the result was
  computed from is at hand (in the layer's metadata, or the result's
  ``source`` file).

A click on a pCF layer (the selected one, else the topmost visible one)
shows the pixel under the pointer; the panel follows the last click.

"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from qtpy.QtWidgets import QLabel, QVBoxLayout, QWidget

if TYPE_CHECKING:
    import napari
    import xarray
    from napari.layers import Layer

__all__ = ['Pick', 'PixelPanel', 'pcf_layer', 'pixel_at']


class Pick(NamedTuple):
    """A pixel of a pCF layer, as :func:`pixel_at` finds it."""

    y: int
    """Row, in input pixel coordinates."""
    x: int
    """Column, in input pixel coordinates."""
    point: int
    """Circle point at the layer's point slider."""
    sliders: dict[str, int]
    """Indices of the result's other dims (direction, channel, z)."""


class PixelPanel(QWidget):
    """Dock widget with the carpet, polar plot and curves of a pixel.

    Parameters
    ----------
    napari_viewer : napari.viewer.Viewer
        The viewer whose clicks the panel follows.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
        The four panels.
    canvas : FigureCanvasQTAgg
        The figure's Qt canvas.
    status : QLabel
        What is shown, or why nothing is.
    pixel : tuple of int or None
        ``(y, x)`` in input pixel coordinates of the pixel shown.
    point : int
        The circle point of the raw, binned and smoothed curve.
    curves : ndarray or None
        The shown pixel's curves ``(point, delay)``, as the carpet shows
        them.

    """

    def __init__(self, napari_viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        # four panels in a row: the panel docks below the canvas
        self.figure = Figure(figsize=(14, 3.4), layout='constrained')
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumSize(640, 260)
        self.status = QLabel('click a pixel of a pCF layer')
        self.status.setWordWrap(True)
        self.pixel: tuple[int, int] | None = None
        self.point = 0
        self.curves: numpy.ndarray | None = None
        layout = QVBoxLayout()
        layout.addWidget(self.canvas)
        layout.addWidget(self.status)
        self.setLayout(layout)
        self.viewer.mouse_drag_callbacks.append(self._on_click)
        self.destroyed.connect(self._disconnect)

    def show_pixel(
        self,
        layer: Layer,
        y: int,
        x: int,
        /,
        *,
        point: int = 0,
        sliders: dict[str, int] | None = None,
    ) -> None:
        """Draw the curves of pixel (y, x) of a pCF layer.

        Parameters
        ----------
        layer : napari.layers.Image
            A pCF layer (``metadata['ipcf']['kind'] == 'pcf'``), as
            :func:`~ipcf.napari.result_layers` makes them.
        y, x : int
            Centre pixel in input pixel coordinates (the result's ``y``
            and ``x`` coordinates).
        point : int, optional, default: 0
            Circle point of the raw, binned and smoothed curve.
        sliders : dict, optional
            Indices of the result's dims other than ``y``, ``x``,
            ``point`` and ``delay`` (default 0 each).

        Raises
        ------
        ValueError
            If the layer holds no pCF result, or the pixel is outside it.

        """
        from ..plot import carpet, curve_processing, lines, polar

        info = layer.metadata.get('ipcf', {})
        result = info.get('result')
        if info.get('kind') != 'pcf' or result is None:
            msg = f'layer {layer.name!r} holds no pCF result'
            raise ValueError(msg)
        result = _plain(result, sliders or {})
        self.figure.clear()
        carpet(result, y, x, ax=self.figure.add_subplot(1, 4, 1))
        polar(
            result,
            y,
            x,
            ax=self.figure.add_subplot(1, 4, 2, projection='polar'),
        )
        lines(result, y, x, ax=self.figure.add_subplot(1, 4, 3))
        ax = self.figure.add_subplot(1, 4, 4)
        data = _series(info, result)
        note = ''
        if data is None:
            ax.set_axis_off()
            ax.text(
                0.5,
                0.5,
                'raw curves need the series\n(not found)',
                ha='center',
                va='center',
                transform=ax.transAxes,
            )
            note = '; series not found for the raw curve'
        else:
            curve_processing(data, result, y, x, point=point, ax=ax)
        for axes in self.figure.axes:
            axes.title.set_fontsize('small')
            axes.xaxis.label.set_fontsize('small')
            axes.yaxis.label.set_fontsize('small')
            axes.tick_params(labelsize='x-small')
        self.pixel = (int(y), int(x))
        self.point = int(point)
        self.curves = numpy.asarray(result.sel(y=y, x=x).values)
        self.canvas.draw_idle()
        self.status.setText(
            f'{layer.name}: pixel y={y}, x={x}, point {point}{note}'
        )

    def _on_click(self, viewer: Any, event: Any) -> None:
        """Show the pixel under a mouse press on a pCF layer."""
        if getattr(event, 'type', 'mouse_press') != 'mouse_press':
            return
        layer = pcf_layer(viewer)
        if layer is None:
            return
        picked = pixel_at(layer, event.position)
        if picked is None:
            return
        self.show_pixel(
            layer,
            picked.y,
            picked.x,
            point=picked.point,
            sliders=picked.sliders,
        )

    def _disconnect(self, *args: Any) -> None:
        callbacks = self.viewer.mouse_drag_callbacks
        if self._on_click in callbacks:
            callbacks.remove(self._on_click)


def pcf_layer(viewer: napari.viewer.Viewer, /) -> Layer | None:
    """Return the selected pCF layer, else the topmost visible one."""

    def is_pcf(layer: Any) -> bool:
        return layer.metadata.get('ipcf', {}).get('kind') == 'pcf'

    active = viewer.layers.selection.active
    if active is not None and is_pcf(active) and active.visible:
        return active
    for layer in reversed(viewer.layers):
        if layer.visible and is_pcf(layer):
            return layer
    return None


def pixel_at(layer: Layer, position: Any, /) -> Pick | None:
    """Return the pixel of a pCF layer at a world position, or None.

    Parameters
    ----------
    layer : napari.layers.Image
        A pCF layer of :func:`~ipcf.napari.result_layers`.
    position : sequence of float
        World coordinates, as a mouse event's ``position``; the viewer's
        sliders give the axes not displayed.

    Returns
    -------
    Pick or None
        None outside the result's pixels.

    """
    info = layer.metadata.get('ipcf', {})
    result = info.get('result')
    if result is None:
        return None
    coords = layer.world_to_data(position)
    # result_layers names the axes by the result's dims
    labels = tuple(layer.axis_labels)
    index = {
        name: int(round(float(c)))
        for name, c in zip(labels, coords, strict=True)
    }
    row, col = index.get('y', -1), index.get('x', -1)
    if not (0 <= row < result.sizes['y'] and 0 <= col < result.sizes['x']):
        return None
    point = min(max(index.get('point', 0), 0), result.sizes['point'] - 1)
    # the other sliders (direction, channel, z) select the plain result
    sliders = {
        name: min(max(index[name], 0), result.sizes[name] - 1)
        for name in result.dims
        if name not in ('y', 'x', 'point', 'delay') and name in index
    }
    return Pick(int(result['y'][row]), int(result['x'][col]), point, sliders)


def _plain(result: xarray.DataArray, selection: dict[str, int]) -> Any:
    """Return a result of dims (y, x, point, delay) at the sliders."""
    extra = [d for d in result.dims if d not in ('y', 'x', 'point', 'delay')]
    if extra:
        result = result.isel({d: selection.get(d, 0) for d in extra})
    return result


def _series(info: dict[str, Any], result: Any) -> Any:
    """Return the series of a pCF layer for its raw curves, or None."""
    from .._sources import source_of

    data = info.get('data')
    if data is not None:
        return data
    return source_of(result)
