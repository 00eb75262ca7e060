"""Jupyter widget that browses an image series or a pCF result.

:func:`browse` needs ipywidgets (``pip install ipcf[all]``). Images are
drawn by matplotlib with axes (µm when the pixel size is known), a scale
bar and a colour bar, and sent as PNG, so the widget works in any
notebook front end without a matplotlib backend. A series is read one
frame at a time, so series of many gigabytes open at once. A result gets
sliders for circle point and delay and a pixel picker: sliders for the
pixel, and clicks on the image when ipyevents is installed.

For larger data and drawing regions, the napari plugin is the better
tool; the widget is for a quick look in a notebook.

"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy

from .._sources import physical_units
from .._validate import check_int, check_positive, check_string
from ..analysis._select import select as _select
from ._common import (
    CMAP,
    INTENSITY,
    RESULT_DIMS,
    centre,
    centre_pixel,
    colormap,
    extent,
    format_delay,
    holds_result,
    is_path,
    limits,
    read_result,
    spatial,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ['browse']

_DPI = 100


def browse(
    source: Any,
    /,
    *,
    key: str | None = None,
    dt: float | None = None,
    pixel_size: float | None = None,
    width: int = 512,
    z: int | None = None,
    channel: int | None = None,
    neighbour_channel: int | None = None,
) -> Any:
    """Return a Jupyter widget that browses an image series or a result.

    An image series gets a frame slider and a contrast range slider over
    the frame image. A pCF result (of :func:`ipcf.pcf_image` or a store
    that :func:`ipcf.load_result` reads) gets the pCF image at a circle
    point and a delay chosen with two sliders, and the carpet and curves
    of a pixel picked with two sliders or, with ipyevents installed, by a
    click on the image. Images have axes, a scale bar and a colour bar.

    Parameters
    ----------
    source : str, path, sequence of paths, array_like or xarray.DataArray
        What :func:`ipcf.open_series` opens: a TIFF file or series,
        HDF5 or zarr store, raw file, or a ``(T, H, W)`` array; or a pCF
        result, or a store holding one.
    key : str, optional
        HDF5 and zarr series: the dataset, as for :func:`ipcf.open_series`.
    dt : float, optional
        Series: frame interval in seconds (> 0), shown with the frame
        number. Default: the frame interval of the metadata, if any.
    pixel_size : float, optional
        Pixel size in µm (> 0); axes and scale bar are in µm when known.
        Default: the result's attributes, else the series' metadata,
        else axes in pixels.
    width : int, optional, default: 512
        Width of the displayed image in screen pixels, >= 16.
    z, channel, neighbour_channel : int, optional
        Of a result of several planes or channels (of
        :func:`ipcf.analyze`): the plane and the channel pair to draw,
        by their labels. Default: the only one where there is one;
        else a ValueError names the dims and their labels.

    Returns
    -------
    ipywidgets.VBox
        Series: the image (``children[0]``), the frame slider
        (``children[1]``), the contrast slider (``children[2]``) and a
        status line (``children[3]``). Result: an HBox of the pCF image
        and of the picked pixel's carpet and curves (``children[0]``),
        the circle point and delay sliders (``children[1]``,
        ``children[2]``), the pixel's y and x sliders in input pixel
        coordinates (``children[3]``, ``children[4]``) and a status line
        (``children[5]``).

    Raises
    ------
    ImportError
        If ipywidgets is not installed.
    TypeError, ValueError
        If an option is of the wrong type or value.

    Examples
    --------
    >>> data = numpy.random.default_rng(0).poisson(100, (8, 16, 16))
    >>> widget = browse(data)
    >>> widget.children[1].value = 5  # show frame 5

    >>> import ipcf
    >>> result = ipcf.pcf_image(data.repeat(8, 0), radius=2, npoints=8)
    >>> widget = browse(result)
    >>> widget.children[3].value = 6  # the pixel's y

    """
    if is_path(source) and not isinstance(source, (list, tuple)):
        if holds_result(source):
            source = read_result(source)
    if hasattr(source, 'dims') and hasattr(source, 'coords'):
        source = _select(
            source, z=z, channel=channel, neighbour_channel=neighbour_channel
        )
    return _browser(
        source, key=key, dt=dt, pixel_size=pixel_size, width=width
    ).widget


def _browser(
    source: Any,
    /,
    *,
    key: str | None = None,
    dt: float | None = None,
    pixel_size: float | None = None,
    width: int = 512,
) -> Any:
    """Return the browser of :func:`browse`: its widget and figures."""
    try:
        import ipywidgets
    except ImportError as exc:
        msg = 'browse needs ipywidgets; install ipcf[all] or ipywidgets'
        raise ImportError(msg) from exc

    width = check_int(width, 'width', minimum=16)
    if pixel_size is not None:
        pixel_size = check_positive(pixel_size, 'pixel_size')
    result = _as_result(source)
    if result is not None:
        if pixel_size is None:
            pixel_size = physical_units(result.attrs)['pixel_size']
        return _ResultBrowser(ipywidgets, result, pixel_size, width)
    if dt is not None:
        dt = check_positive(dt, 'dt')
    if key is not None:
        key = check_string(key, 'key')
    return _SeriesBrowser(ipywidgets, source, key, dt, pixel_size, width)


def _as_result(source: Any) -> Any:
    """Return source as a pCF result, or None if it is a series."""
    dims = getattr(source, 'dims', None)
    if dims is not None and tuple(dims) == RESULT_DIMS:
        return source
    if is_path(source) and not isinstance(source, (list, tuple)):
        if holds_result(source):
            return read_result(source)
    return None


class _SeriesBrowser:
    """The widget of a series and its callbacks (see :func:`browse`)."""

    def __init__(
        self,
        ipywidgets: Any,
        source: Any,
        key: str | None,
        dt: float | None,
        pixel_size: float | None,
        width: int,
    ) -> None:
        from .. import io

        if key is None:
            self.series = io.open_frames(source)
        else:
            self.series = io.open_frames(source, key=key)
        units = physical_units(source)
        self.dt = units['frame_interval'] if dt is None else dt
        self.scale = units['pixel_size'] if pixel_size is None else pixel_size
        nframes, height, frame_width = self.series.shape
        # contrast range from a few frames: first, middle, last
        sample = numpy.stack(
            [
                numpy.asarray(self.series[i])
                for i in {0, nframes // 2, nframes - 1}
            ]
        ).astype(numpy.float64)
        low = float(numpy.nanmin(sample))
        high = float(numpy.nanmax(sample))
        if high <= low:
            high = low + 1.0
        start = numpy.nanpercentile(sample, [0.5, 99.5])
        start = (float(start[0]), float(max(start[1], start[0] + 1e-9)))

        self.fig, self.ax = _figure(height, frame_width, width)
        self.im = self.ax.imshow(
            numpy.asarray(self.series[0], dtype=numpy.float64),
            cmap=colormap(INTENSITY),
            vmin=start[0],
            vmax=start[1],
            interpolation='nearest',
            extent=extent(0, height - 1, 0, frame_width - 1, self.scale),
        )
        self.fig.colorbar(self.im, ax=self.ax, label='intensity (counts)')
        _axes_labels(self.ax, self.scale)
        self.bar = _scale_bar(self.ax, self.scale, height, frame_width)

        layout = ipywidgets.Layout(width=f'{max(width, 300)}px')
        self.image = ipywidgets.Image(format='png', width=width)
        self.frame = ipywidgets.IntSlider(
            value=0,
            min=0,
            max=nframes - 1,
            description='frame',
            continuous_update=False,
            layout=layout,
        )
        self.contrast = ipywidgets.FloatRangeSlider(
            value=start,
            min=low,
            max=high,
            step=(high - low) / 1000,
            description='contrast',
            continuous_update=False,
            readout_format='.4g',
            layout=layout,
        )
        self.status = ipywidgets.Label()
        self.frame.observe(self.render, names='value')
        self.contrast.observe(self.render, names='value')
        self.render()
        self.widget = ipywidgets.VBox(
            [self.image, self.frame, self.contrast, self.status]
        )

    def render(self, change: Any = None) -> None:
        """Draw the frame of the slider with the contrast of the other."""
        index = self.frame.value
        values = numpy.asarray(self.series[index], dtype=numpy.float64)
        self.im.set_data(values)
        self.im.set_clim(*self.contrast.value)
        when = f' ({index * self.dt:.6g} s)' if self.dt else ''
        self.ax.set_title(f'frame {index}{when}')
        self.image.value = _png(self.fig)
        height, width = values.shape
        self.status.value = (
            f'frame {index} of {self.series.shape[0]}{when}; '
            f'{height}x{width} {self.series.dtype}; '
            f'min {values.min():.6g}, max {values.max():.6g}'
        )


class _ResultBrowser:
    """The widget of a result and its callbacks (see :func:`browse`)."""

    def __init__(
        self,
        ipywidgets: Any,
        result: Any,
        pixel_size: float | None,
        width: int,
    ) -> None:
        self.result = result
        self.values = numpy.asarray(result, dtype=numpy.float32)
        self.scale = pixel_size
        self.ys = result['y'].values
        self.xs = result['x'].values
        ny, nx, npoints, nbins = self.values.shape
        self.unit = 's' if result.attrs.get('dt', 1.0) != 1.0 else 'frames'
        from .report import representative_pixels

        picked = representative_pixels(result, count=1)
        y, x = picked[0] if picked else centre_pixel(result)
        self.holding = False
        layout = ipywidgets.Layout(width=f'{max(width, 300)}px')

        def slider(name: str, value: int, low: int, high: int) -> Any:
            return ipywidgets.IntSlider(
                value=value,
                min=low,
                max=high,
                description=name,
                continuous_update=False,
                layout=layout,
            )

        self.point = slider('point', 0, 0, npoints - 1)
        self.delay = slider(
            'delay', max(1, nbins // 3) if nbins > 1 else 0, 0, nbins - 1
        )
        self.y = slider('pixel y', y, int(self.ys[0]), int(self.ys[-1]))
        self.x = slider('pixel x', x, int(self.xs[0]), int(self.xs[-1]))
        self.status = ipywidgets.Label()
        self.image = ipywidgets.Image(format='png', width=width)
        self.curves = ipywidgets.Image(format='png', width=width)

        # the pCF image: one figure, its artists updated
        self.fig, self.ax = _figure(ny, nx, width)
        self.im = self.ax.imshow(
            self.values[:, :, 0, 0],
            cmap=colormap(CMAP),
            interpolation='nearest',
            extent=extent(
                self.ys[0], self.ys[-1], self.xs[0], self.xs[-1], self.scale
            ),
        )
        self.fig.colorbar(self.im, ax=self.ax, label='G')
        (self.marker,) = self.ax.plot([], [], 'r+', markersize=12, mew=2)
        _axes_labels(self.ax, self.scale)
        self.bar = _scale_bar(self.ax, self.scale, ny, nx)

        self.point.observe(self.draw_image, names='value')
        self.delay.observe(self.draw_image, names='value')
        self.y.observe(self.draw_pixel, names='value')
        self.x.observe(self.draw_pixel, names='value')
        self.events = _click_events(self.image, self.on_click)
        self.draw_image()
        self.draw_pixel()
        self.widget = ipywidgets.VBox(
            [
                ipywidgets.HBox([self.image, self.curves]),
                self.point,
                self.delay,
                self.y,
                self.x,
                self.status,
            ]
        )

    def draw_image(self, change: Any = None) -> None:
        """Draw the pCF image at the sliders' point and delay."""
        point, delay = self.point.value, self.delay.value
        plane = self.values[:, :, point, delay]
        self.im.set_data(numpy.ma.masked_invalid(plane))
        self.im.set_clim(*limits(plane))
        u = int(self.result['u'][point])
        v = int(self.result['v'][point])
        angle = math.degrees(float(self.result['angle'][point])) % 360
        when = format_delay(float(self.result['delay'][delay]), self.unit)
        self.ax.set_title(
            f'G toward u={u}, v={v} ({angle:.0f}°) at {when}', fontsize=10
        )
        self.draw_marker()
        self.write_status()

    def draw_marker(self) -> None:
        mx, my = centre((self.y.value, self.x.value), self.scale)
        self.marker.set_data([mx], [my])
        self.image.value = _png(self.fig)

    def draw_pixel(self, change: Any = None) -> None:
        """Draw the carpet and curves of the picked pixel."""
        from matplotlib.figure import Figure

        from .curves import carpet, lines

        if self.holding:
            return
        y, x = self.y.value, self.x.value
        fig = Figure(figsize=(9, 3.6), dpi=_DPI, layout='constrained')
        left, right = fig.subplots(1, 2)
        carpet(self.result, y, x, ax=left)
        lines(self.result, y, x, ax=right)
        self.curves.value = _png(fig)
        self.draw_marker()
        self.write_status()

    def on_click(self, event: dict[str, Any]) -> None:
        """Pick the pixel under a click (an ipyevents event dict)."""
        if 'dataX' not in event or 'dataY' not in event:
            return
        height = self.fig.get_figheight() * self.fig.dpi
        # ipyevents gives PNG pixels from the top; matplotlib from below
        point = (float(event['dataX']), height - float(event['dataY']))
        if not self.ax.bbox.contains(*point):
            return
        ax_x, ax_y = self.ax.transData.inverted().transform(point)
        if self.scale is None:
            y, x = round(ax_y), round(ax_x)
        else:
            y, x = math.floor(ax_y / self.scale), math.floor(ax_x / self.scale)
        if not (self.ys[0] <= y <= self.ys[-1]):
            return
        if not (self.xs[0] <= x <= self.xs[-1]):
            return
        # one redraw for both coordinates
        self.holding = True
        try:
            self.y.value = int(y)
            self.x.value = int(x)
        finally:
            self.holding = False
        self.draw_pixel()

    def write_status(self) -> None:
        y, x = self.y.value, self.x.value
        point, delay = self.point.value, self.delay.value
        j, i = y - int(self.ys[0]), x - int(self.xs[0])
        value = self.values[j, i, point, delay]
        text = f'pixel y={y}, x={x}'
        if self.scale is not None:
            cx, cy = centre((y, x), self.scale)
            text += f' (x={cx:.4g} µm, y={cy:.4g} µm)'
        when = format_delay(float(self.result['delay'][delay]), self.unit)
        shown = 'no value' if not numpy.isfinite(value) else f'{value:.4g}'
        self.status.value = (
            f'{text}; G toward point {point} at {when}: {shown}'
        )


def _click_events(image: Any, handler: Any) -> Any:
    """Return an ipyevents click watcher of image, or None without it."""
    try:
        from ipyevents import Event
    except ImportError:
        return None
    events = Event(source=image, watched_events=['click'])
    events.on_dom_event(handler)
    return events


def _figure(height: int, width: int, pixels: int) -> tuple[Figure, Axes]:
    """Return a figure for one image and colour bar, about pixels wide."""
    from matplotlib.figure import Figure

    inches = max(pixels, 300) / _DPI
    aspect = max(int(height), 1) / max(int(width), 1)
    image_height = min(max(inches * 0.65 * aspect, 1.5), inches * 1.5)
    fig = Figure(
        figsize=(inches, image_height + 0.9), dpi=_DPI, layout='constrained'
    )
    return fig, fig.add_subplot()


def _axes_labels(ax: Axes, pixel_size: float | None) -> None:
    _, unit = spatial(pixel_size)
    ax.set(xlabel=f'x ({unit})', ylabel=f'y ({unit})')


def _scale_bar(
    ax: Axes, pixel_size: float | None, height: int, width: int
) -> Any:
    """Draw a bar of a round length, about a fifth of the image width."""
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    length = nice_length(width * (pixel_size or 1.0) / 5)
    unit = 'pixel' if pixel_size is None else 'µm'
    if pixel_size is None and length != 1:
        unit = 'pixels'
    bar = AnchoredSizeBar(
        ax.transData,
        length,
        f'{length:g} {unit}',
        'lower right',
        pad=0.3,
        color='white',
        frameon=False,
        size_vertical=max(height, 1) * (pixel_size or 1.0) / 80,
        label_top=True,
    )
    ax.add_artist(bar)
    return bar


def nice_length(length: float) -> float:
    """Return 1, 2 or 5 times a power of ten, at most length.

    >>> nice_length(7.3), nice_length(0.26), nice_length(1.0)
    (5.0, 0.2, 1.0)

    """
    power = 10.0 ** math.floor(math.log10(length))
    for factor in (5.0, 2.0, 1.0):
        if factor * power <= length * (1 + 1e-9):
            return float(f'{factor * power:.12g}')
    return power


def _png(fig: Figure) -> bytes:
    import io as _io

    buffer = _io.BytesIO()
    fig.savefig(buffer, format='png', dpi=_DPI)
    return buffer.getvalue()
