"""Figures of image series and pCF results (matplotlib).

Each function draws into `ax` when given, else into a new figure, and
returns the :class:`matplotlib.figure.Figure`. Figures are made without
pyplot, so they work in scripts, on servers and in Jupyter alike; show one
in a notebook by making it the cell's last expression, save it with
``fig.savefig('name.png')``.

Plots read results; they never recompute correlations, with one exception:
:func:`curve_processing` correlates the raw data of a single pixel pair to
show what binning and smoothing do to it.

Conventions shared by all functions:

- pixels are given as ``(y, x)`` in input pixel coordinates, the values of
  the result's ``y`` and ``x`` coordinates (the first is the radius);
- circle points and delays are indices into the result's ``point`` and
  ``delay`` dimensions;
- axes are in µm when a pixel size is known (the `pixel_size` argument or
  the result's ``pixel_size`` attribute), else in pixels, and delays in
  seconds when the frame interval ``dt`` is not 1, else in frames;
- colour maps are perceptually uniform; NaN (masked or undefined pixels)
  shows as light grey.

:func:`browse` shows an image series in Jupyter with a frame slider.

"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy

from ._utils import progress_bar
from ._validate import check_int

if TYPE_CHECKING:
    import xarray
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    'browse',
    'KINDS',
    'carpet',
    'curve_processing',
    'draw',
    'intensity_trace',
    'lines',
    'maps',
    'mean_image',
    'pcf_image',
    'pcf_map',
    'polar',
    'roi',
    'series_mean',
    'summary',
]

_CMAP = 'viridis'  # G values
_INTENSITY = 'gray'  # camera counts: lightness is linear in the value
_DELAY_CMAP = 'cividis'
_AMPLITUDE_CMAP = 'magma'
_CYCLIC = 'twilight'  # angles
_BAD = '#d0d0d0'  # NaN: masked or undefined pixels
_UNITS = {'s': 's', 'um^2/s': 'µm²/s', 'um/s': 'µm/s', 'rad': 'rad'}

# frames per block when reading a series: about this many float64 bytes
_BLOCK_BYTES = 32 * 2**20


def mean_image(
    image: ArrayLike,
    /,
    *,
    ax: Axes | None = None,
    title: str = 'mean intensity',
    mark: tuple[int, int] | None = None,
    pixel_size: float | None = None,
    progress: bool = False,
) -> Figure:
    """Plot a mean intensity image.

    Parameters
    ----------
    image : array_like or str or path, shape (H, W) or (T, H, W)
        Mean over time of an image series, or the series itself (any
        array-like or a path that :func:`ipcf.open_series` opens), whose
        mean is then computed block by block, see :func:`series_mean`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    title : str, optional, default: 'mean intensity'
        Axes title.
    mark : (y, x), optional
        Pixel to mark with a cross.
    pixel_size : float, optional
        Pixel size in µm; axes are in µm when given, else in pixels.
    progress : bool, optional, default: False
        Show a progress bar while reading a series.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If `image` is not 2-D or 3-D.

    Examples
    --------
    >>> fig = mean_image(numpy.ones((8, 8)))
    >>> fig.axes[0].get_title()
    'mean intensity'

    """
    image = _as_image(image, progress=progress)
    scale, unit = _spatial(pixel_size)
    fig, ax = _figure_axes(ax)
    height, width = image.shape
    im = ax.imshow(
        numpy.ma.masked_invalid(image),
        cmap=_colormap(_INTENSITY),
        interpolation='nearest',
        extent=_extent(0, height - 1, 0, width - 1, scale),
    )
    fig.colorbar(im, ax=ax, label='intensity (counts)')
    if mark is not None:
        ax.plot(*_centre(mark, scale), 'r+', markersize=12, mew=2)
    ax.set(title=title, xlabel=f'x ({unit})', ylabel=f'y ({unit})')
    return fig


def intensity_trace(
    data: ArrayLike,
    /,
    *,
    dt: float | None = None,
    trend: ArrayLike | None = None,
    pixel: tuple[int, int] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    progress: bool = False,
) -> Figure:
    """Plot the mean intensity of an image series over time.

    Parameters
    ----------
    data : array_like or str or path, shape (T,) or (T, H, W)
        Image series (any array-like or a path that
        :func:`ipcf.open_series` opens), read block by block, or a trace
        already computed.
    dt : float, optional
        Frame interval in seconds. Default: the ``frame_time`` of the
        file's metadata, else 1 (time in frames).
    trend : array_like, shape (T,), optional
        A fit or filter of the trace (e.g. a photobleaching model) drawn
        over it.
    pixel : (y, x), optional
        Plot the series of this pixel instead of the mean of all pixels.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    title : str, optional
        Axes title; default says what is plotted.
    progress : bool, optional, default: False
        Show a progress bar while reading a series.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If `data` is not 1-D or 3-D, `trend` does not match the number of
        frames, or `pixel` is outside the image.

    Examples
    --------
    >>> data = numpy.random.default_rng(0).poisson(100, (32, 4, 4))
    >>> fig = intensity_trace(data, dt=0.001, trend=numpy.full(32, 100.0))
    >>> fig.axes[0].get_xlabel()
    'time (s)'

    """
    if dt is None:
        dt = float(_metadata(data).get('frame_time', 1.0))
    dt = _check_dt(dt)
    if pixel is not None:
        series = _open_series(data)
        y, x = _check_image_pixel(pixel, series.shape[1:])
        trace = numpy.asarray(series[:, y, x], dtype=numpy.float64)
        what = f'intensity of pixel y={y}, x={x}'
    else:
        trace = _as_trace(data)
        if trace is None:
            trace = _series_stats(data, progress=progress)[1]
        what = 'mean intensity'
    if trend is not None:
        trend = numpy.asarray(trend, dtype=numpy.float64)
        if trend.shape != trace.shape:
            msg = (
                f'trend.shape={trend.shape} does not match the '
                f'{trace.size} frames of the trace'
            )
            raise ValueError(msg)
    fig, ax = _figure_axes(ax, figsize=(7, 3.5))
    time = numpy.arange(trace.size) * dt
    ax.plot(time, trace, lw=0.6, color='C0', label='data')
    if trend is not None:
        ax.plot(time, trend, lw=1.5, color='C3', label='trend')
        ax.legend(loc='best', frameon=False)
    ax.set(
        title=what if title is None else title,
        xlabel='time (s)' if dt != 1.0 else 'frame',
        ylabel='intensity (counts)',
    )
    ax.margins(x=0)
    return fig


def curve_processing(
    data: ArrayLike,
    result: xarray.DataArray,
    /,
    y: int,
    x: int,
    *,
    point: int = 0,
    ax: Axes | None = None,
) -> Figure:
    """Plot one pair curve raw, averaged in log bins and smoothed.

    The raw curve is computed from `data` for the single pair of pixels
    with :func:`ipcf.correlate`, the way :func:`ipcf.pcf_image` defines
    it; binning and smoothing are :func:`ipcf.pcf.average_bins` and
    :func:`ipcf.pcf.smooth` on the result's bins, so the smoothed curve
    is the stored one (for data without further correction).

    Parameters
    ----------
    data : array_like or str or path, shape (T, H, W)
        The image series the result was computed from, or its path.
    result : xarray.DataArray
        Result of :func:`ipcf.pcf_image`; gives the frames used, the
        bins, the circle, the mode and ``dt``.
    y, x : int
        Centre pixel in input pixel coordinates.
    point : int, optional, default: 0
        Circle point: the neighbour is at ``(y + v, x + u)``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the pixel is outside the result, `point` is out of range, or
        `data` does not match the result (shape, frames).

    Notes
    -----
    The delay axis is logarithmic, so delay 0 (and bin 0) is not drawn.
    The raw curve is that of the data as given: for a result computed
    after a photobleaching correction, pass the corrected series to see
    the stored curve.

    Examples
    --------
    >>> import ipcf
    >>> data = numpy.random.default_rng(0).poisson(100, (64, 8, 8))
    >>> result = ipcf.pcf_image(data, radius=2, npoints=8, nbins=6)
    >>> fig = curve_processing(data, result, 3, 4, point=2)
    >>> fig.axes[0].get_xscale()
    'log'

    """
    from .pcf import average_bins, smooth

    _check_result(result)
    y, x = _check_pixel(result, y, x)
    point = _check_index(point, 'point', result.sizes['point'])
    series = _open_series(data)
    frames = int(result.attrs.get('frames', series.shape[0]))
    if series.shape[0] < frames:
        msg = f'data have {series.shape[0]} frames; the result used {frames}'
        raise ValueError(msg)
    u = int(result['u'][point])
    v = int(result['v'][point])
    if not (0 <= y + v < series.shape[1] and 0 <= x + u < series.shape[2]):
        msg = (
            f'neighbour ({y + v}, {x + u}) of pixel ({y}, {x}) is outside '
            f'the {series.shape[1]}x{series.shape[2]} data; is this the '
            'series the result was computed from?'
        )
        raise ValueError(msg)
    a = numpy.asarray(series[:frames, y, x], dtype=numpy.float64)
    b = numpy.asarray(series[:frames, y + v, x + u], dtype=numpy.float64)
    raw = _pair_curve(a, b, mode=result.attrs.get('mode', 'circular'))
    edges = result['bin_edge'].values
    binned = average_bins(raw, edges)
    smoothed = smooth(binned)
    dt = float(result.attrs.get('dt', 1.0))
    delays = result['delay'].values
    fig, ax = _figure_axes(ax, figsize=(7, 4))
    tau = numpy.arange(1, raw.size) * dt
    label = 'raw'
    if result.attrs.get('bleach', 'none') != 'none':
        label = 'raw (without bleach correction)'
    ax.plot(tau, raw[1:], lw=0.5, color='0.6', label=label)
    ax.plot(delays[1:], binned[1:], 'o', ms=4, color='C0', label='binned')
    ax.plot(delays[1:], smoothed[1:], '-', lw=2, color='C3', label='smoothed')
    ax.set_xscale('log')
    ax.axhline(0.0, color='k', lw=0.5)
    ax.legend(loc='best', frameon=False)
    unit = _delay_unit(result)
    ax.set(
        title=f'pixel y={y}, x={x} toward ({u}, {v})',
        xlabel=f'delay ({unit})',
        ylabel='G',
    )
    # the raw curve's noise would hide the binned one: zoom on the latter
    finite = numpy.concatenate([binned[1:], smoothed[1:]])
    finite = finite[numpy.isfinite(finite)]
    if finite.size:
        low, high = finite.min(), finite.max()
        pad = 0.5 * (high - low) or abs(high) or 1.0
        ax.set_ylim(low - pad, high + pad)
    return fig


def carpet(
    result: xarray.DataArray,
    /,
    y: int,
    x: int,
    *,
    ax: Axes | None = None,
) -> Figure:
    """Plot all circle-point curves of one pixel as an image.

    Rows are circle points, columns delay bins (log-spaced), colour is G.

    Parameters
    ----------
    result : xarray.DataArray
        Result of :func:`ipcf.pcf_image`.
    y, x : int
        Centre pixel in input pixel coordinates (``result.y``,
        ``result.x``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the pixel is outside the result.

    Examples
    --------
    >>> import ipcf
    >>> data = numpy.random.default_rng(0).poisson(100, (64, 8, 8))
    >>> result = ipcf.pcf_image(data, radius=2, npoints=8, nbins=6)
    >>> fig = carpet(result, 3, 3)

    """
    _check_result(result)
    y, x = _check_pixel(result, y, x)
    values = result.sel(y=y, x=x).values
    delays = result['delay'].values
    fig, ax = _figure_axes(ax)
    vmin, vmax = _limits(values)
    im = ax.imshow(
        numpy.ma.masked_invalid(values),
        aspect='auto',
        cmap=_colormap(_CMAP),
        vmin=vmin,
        vmax=vmax,
        interpolation='nearest',
        extent=(-0.5, len(delays) - 0.5, len(values) - 0.5, -0.5),
    )
    fig.colorbar(im, ax=ax, label='G')
    ticks = numpy.linspace(0, len(delays) - 1, min(6, len(delays)))
    ticks = numpy.unique(ticks.round().astype(int))
    ax.set_xticks(ticks, [f'{delays[t]:.3g}' for t in ticks])
    ax.set(
        title=f'pCF carpet of pixel y={y}, x={x}' + _masked_note(values),
        xlabel=f'delay ({_delay_unit(result)})',
        ylabel='circle point',
    )
    return fig


def polar(
    result: xarray.DataArray,
    /,
    y: int,
    x: int,
    *,
    ax: Axes | None = None,
) -> Figure:
    """Plot all circle-point curves of one pixel in polar form.

    The angle is the circle point's direction as seen in the image (x to
    the right, y down), the radius the delay on a log scale (delay 0 at
    the centre), and the colour G: a flow shows as a bright arm pointing
    where intensity goes, a barrier as a dark sector.

    Parameters
    ----------
    result : xarray.DataArray
        Result of :func:`ipcf.pcf_image`.
    y, x : int
        Centre pixel in input pixel coordinates.
    ax : matplotlib.axes.Axes, optional
        Axes with polar projection to draw into
        (``fig.add_subplot(projection='polar')``).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the pixel is outside the result, or `ax` is not polar.

    Notes
    -----
    Point ``i`` covers the sector around its nominal angle
    ``2 pi i / npoints``, the angle :func:`ipcf.circle` rounds from.

    Examples
    --------
    >>> import ipcf
    >>> data = numpy.random.default_rng(0).poisson(100, (64, 8, 8))
    >>> result = ipcf.pcf_image(data, radius=2, npoints=8, nbins=6)
    >>> fig = polar(result, 3, 3)
    >>> fig.axes[0].name
    'polar'

    """
    _check_result(result)
    y, x = _check_pixel(result, y, x)
    values = result.sel(y=y, x=x).values
    npoints, nbins = values.shape
    if ax is not None and getattr(ax, 'name', '') != 'polar':
        msg = "ax is not polar; create it with projection='polar'"
        raise ValueError(msg)
    fig, ax = _figure_axes(ax, polar=True, figsize=(5.5, 4.5))
    step = 2.0 * math.pi / npoints
    theta = (numpy.arange(npoints + 1) - 0.5) * step
    radius, centres = _log_radius(result['delay'].values)
    vmin, vmax = _limits(values)
    # pcolormesh wants (radius, angle): transpose the (point, delay) curves
    mesh = ax.pcolormesh(
        theta,
        radius,
        numpy.ma.masked_invalid(values.T),
        cmap=_colormap(_CMAP),
        vmin=vmin,
        vmax=vmax,
        shading='flat',
    )
    # image rows grow downward: clockwise angles match the image
    ax.set_theta_zero_location('E')
    ax.set_theta_direction(-1)
    ax.set_ylim(0, radius[-1])
    unit = _delay_unit(result)
    ticks = _decade_ticks(result['delay'].values, centres, unit)
    ax.set_yticks([t[0] for t in ticks], [t[1] for t in ticks])
    ax.set_rlabel_position(-22.5)
    ax.tick_params(axis='y', labelsize='small', labelcolor='0.1')
    ax.grid(True, lw=0.3, alpha=0.5)
    fig.colorbar(mesh, ax=ax, label='G', pad=0.1)
    ax.set_title(f'pixel y={y}, x={x}' + _masked_note(values))
    ax.set_xlabel(f'angle: circle point; radius: delay ({unit}, log)')
    return fig


def lines(
    result: xarray.DataArray,
    /,
    y: int,
    x: int,
    *,
    points: Sequence[int] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Plot the curves of one pixel as lines, coloured by direction.

    Parameters
    ----------
    result : xarray.DataArray
        Result of :func:`ipcf.pcf_image`.
    y, x : int
        Centre pixel in input pixel coordinates.
    points : sequence of int, optional
        Circle points to draw; default all.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the pixel is outside the result or a point is out of range.

    Notes
    -----
    The delay axis is logarithmic, so bin 0 (delay 0) is not drawn.

    Examples
    --------
    >>> import ipcf
    >>> data = numpy.random.default_rng(0).poisson(100, (64, 8, 8))
    >>> result = ipcf.pcf_image(data, radius=2, npoints=8, nbins=6)
    >>> fig = lines(result, 3, 3, points=[0, 4])
    >>> len(fig.axes[0].lines)  # two curves and the zero line
    3

    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    _check_result(result)
    y, x = _check_pixel(result, y, x)
    npoints = result.sizes['point']
    if points is None:
        points = range(npoints)
    points = [_check_index(p, 'point', npoints) for p in points]
    values = result.sel(y=y, x=x).values
    delays = result['delay'].values
    fig, ax = _figure_axes(ax, figsize=(7, 4))
    cmap = _colormap(_CYCLIC)
    norm = Normalize(0.0, 360.0)
    for p in points:
        angle = 360.0 * p / npoints
        ax.plot(delays[1:], values[p, 1:], color=cmap(norm(angle)), lw=1.2)
    ax.set_xscale('log')
    ax.axhline(0.0, color='k', lw=0.5)
    fig.colorbar(
        ScalarMappable(norm=norm, cmap=cmap),
        ax=ax,
        label='circle point angle (°)',
        ticks=[0, 90, 180, 270, 360],
    )
    ax.set(
        title=f'pCF curves of pixel y={y}, x={x}' + _masked_note(values),
        xlabel=f'delay ({_delay_unit(result)})',
        ylabel='G',
    )
    return fig


def pcf_image(
    result: xarray.DataArray,
    /,
    point: int = 0,
    delay: int | Sequence[int] = 0,
    *,
    ax: Axes | Sequence[Axes] | None = None,
    pixel_size: float | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Figure:
    """Plot the pCF of every pixel for one circle point and delay bin(s).

    Parameters
    ----------
    result : xarray.DataArray
        Result of :func:`ipcf.pcf_image`.
    point : int, optional, default: 0
        Circle point index.
    delay : int or sequence of int, optional, default: 0
        Delay bin index; several give a grid of images with one colour
        scale.
    ax : matplotlib.axes.Axes or sequence of them, optional
        Axes to draw into, one per delay.
    pixel_size : float, optional
        Pixel size in µm. Default: the result's ``pixel_size`` attribute,
        else axes are in pixels.
    vmin, vmax : float, optional
        Colour limits; default the 1st and 99th percentiles of the
        finite values shown.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If `point` or a delay is out of range, or the number of axes does
        not match the number of delays.

    Examples
    --------
    >>> import ipcf
    >>> data = numpy.random.default_rng(0).poisson(100, (64, 8, 8))
    >>> result = ipcf.pcf_image(data, radius=2, npoints=8, nbins=6)
    >>> fig = pcf_image(result, point=2, delay=1)
    >>> fig = pcf_image(result, point=2, delay=[1, 2, 3])
    >>> len(fig.axes)  # three images and a colour bar
    4

    """
    from matplotlib.figure import Figure

    _check_result(result)
    npoints, nbins = result.shape[2:]
    point = _check_index(point, 'point', npoints)
    several = isinstance(delay, (Sequence, numpy.ndarray))
    delays = list(delay) if several else [delay]  # type: ignore[arg-type]
    if not delays:
        msg = 'delay is an empty sequence'
        raise ValueError(msg)
    delays = [_check_index(d, 'delay', nbins) for d in delays]
    if ax is None:
        if several:
            ncols = min(len(delays), 4)
            nrows = math.ceil(len(delays) / ncols)
            fig = Figure(
                figsize=(3.6 * ncols + 1, 3.2 * nrows), layout='constrained'
            )
            grid = fig.subplots(nrows, ncols, squeeze=False).ravel()
            for extra in grid[len(delays) :]:
                extra.set_axis_off()
            axes = list(grid[: len(delays)])
        else:
            fig, first = _figure_axes(None)
            axes = [first]
    else:
        axes = list(ax) if isinstance(ax, Sequence) else [ax]
        if len(axes) != len(delays):
            msg = f'{len(axes)} axes given for {len(delays)} delays'
            raise ValueError(msg)
        fig = axes[0].figure
    images = result.values[:, :, point, :][:, :, delays]
    if vmin is None or vmax is None:
        low, high = _limits(images)
        vmin = low if vmin is None else vmin
        vmax = high if vmax is None else vmax
    scale, unit = _spatial(_pixel_size(result, pixel_size))
    ys = result['y'].values
    xs = result['x'].values
    u = int(result['u'][point])
    v = int(result['v'][point])
    time = result['delay'].values
    for i, (axes_i, d) in enumerate(zip(axes, delays, strict=True)):
        im = axes_i.imshow(
            numpy.ma.masked_invalid(images[:, :, i]),
            cmap=_colormap(_CMAP),
            vmin=vmin,
            vmax=vmax,
            interpolation='nearest',
            extent=_extent(ys[0], ys[-1], xs[0], xs[-1], scale),
        )
        tau = _format_delay(time[d], _delay_unit(result))
        title = f'pCF toward ({u}, {v}) at {tau}' if not several else f'{tau}'
        axes_i.set(title=title, xlabel=f'x ({unit})', ylabel=f'y ({unit})')
    fig.colorbar(im, ax=axes, label='G', shrink=0.9)
    if several:
        fig.suptitle(f'pCF toward circle point {point} ({u}, {v})')
    return fig


pcf_map = pcf_image
"""Former name of :func:`pcf_image`."""


def roi(
    image: ArrayLike,
    /,
    *,
    box: Sequence[int] | None = None,
    mask: ArrayLike | None = None,
    ax: Axes | None = None,
    pixel_size: float | None = None,
    title: str = 'region of interest',
    progress: bool = False,
) -> Figure:
    """Plot a region of interest over the mean image.

    Parameters
    ----------
    image : array_like or str or path, shape (H, W) or (T, H, W)
        Mean image, or a series to average (see :func:`mean_image`).
    box : (y0, y1, x0, x1), optional
        Rectangle of rows ``y0 .. y1 - 1`` and columns ``x0 .. x1 - 1``,
        as the ``roi`` of :func:`ipcf.pipeline.analyze`.
    mask : array_like of bool, shape (H, W), optional
        Pixels inside the region; those outside are dimmed and the
        region's edge is drawn.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    pixel_size : float, optional
        Pixel size in µm; axes are in µm when given.
    title : str, optional, default: 'region of interest'
        Axes title.
    progress : bool, optional, default: False
        Show a progress bar while reading a series.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If neither `box` nor `mask` is given, the box is empty or outside
        the image, or the mask's shape differs from the image's.

    Examples
    --------
    >>> fig = roi(numpy.ones((16, 16)), box=(2, 10, 3, 12))
    >>> len(fig.axes[0].patches)
    1

    """
    from matplotlib.patches import Rectangle

    if box is None and mask is None:
        msg = 'roi needs a box=(y0, y1, x0, x1), a mask, or both'
        raise ValueError(msg)
    image = _as_image(image, progress=progress)
    height, width = image.shape
    if box is not None:
        box = _check_box(box, height, width)
    if mask is not None:
        mask = numpy.asarray(mask)
        if mask.shape != image.shape:
            msg = (
                f'mask.shape={mask.shape} does not match the image shape '
                f'{image.shape}'
            )
            raise ValueError(msg)
        mask = mask.astype(bool)
    scale, unit = _spatial(pixel_size)
    fig = mean_image(
        image, ax=ax, title=title, pixel_size=pixel_size, progress=False
    )
    ax = fig.axes[0] if ax is None else ax
    if mask is not None:
        extent = _extent(0, height - 1, 0, width - 1, scale)
        shade = numpy.zeros((height, width, 4))
        shade[~mask, 3] = 0.5
        ax.imshow(shade, extent=extent, interpolation='nearest')
        if mask.any() and not mask.all():
            xx, yy = _centre(
                (numpy.arange(height), numpy.arange(width)), scale
            )
            ax.contour(xx, yy, mask.astype(float), levels=[0.5], colors='C1')
    if box is not None:
        y0, y1, x0, x1 = box
        left, right, bottom, top = _extent(y0, y1 - 1, x0, x1 - 1, scale)
        ax.add_patch(
            Rectangle(
                (left, top),
                right - left,
                bottom - top,
                fill=False,
                edgecolor='C1',
                lw=2,
            )
        )
    return fig


def maps(
    dataset: xarray.Dataset,
    /,
    *,
    axes: Sequence[Axes] | None = None,
    pixel_size: float | None = None,
    arrows: int = 16,
) -> Figure:
    """Plot the derived maps of :func:`ipcf.maps`.

    Panels: the delay of the pCF peak and its amplitude (means over the
    circle points), the diffusion coefficient when the dataset has one,
    and the direction of transport drawn as arrows (length: flow
    strength) over the anisotropy image.

    Parameters
    ----------
    dataset : xarray.Dataset
        Result of :func:`ipcf.maps`, with ``peak_delay``,
        ``peak_amplitude``, ``flow_angle``, ``flow_strength`` and
        ``anisotropy`` (and optionally ``D``) over ``(y, x)``; variables
        with a ``point`` dimension are averaged over it, NaN ignored.
    axes : sequence of matplotlib.axes.Axes, optional
        Axes to draw into, one per panel (4 with ``D``, else 3).
    pixel_size : float, optional
        Pixel size in µm. Default: the dataset's ``pixel_size``
        attribute, else axes are in pixels.
    arrows : int, optional, default: 16
        About this many arrows along the longer side.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If a variable is missing or not over ``(y, x)``, or the number of
        axes does not match the panels.

    Examples
    --------
    >>> import xarray
    >>> zeros = numpy.zeros((4, 4))
    >>> names = ['peak_delay', 'peak_amplitude', 'flow_angle',
    ...          'flow_strength', 'anisotropy']
    >>> ds = xarray.Dataset(
    ...     {n: (('y', 'x'), zeros) for n in names},
    ...     coords={'y': numpy.arange(2, 6), 'x': numpy.arange(2, 6)},
    ... )
    >>> len(maps(ds).axes)  # three panels and their colour bars
    6

    """
    from matplotlib.figure import Figure

    needed = (
        'peak_delay',
        'peak_amplitude',
        'flow_angle',
        'flow_strength',
        'anisotropy',
    )
    names = getattr(dataset, 'data_vars', ())
    missing = [n for n in needed if n not in names]
    if missing:
        msg = (
            f'dataset lacks {", ".join(missing)}; pass what ipcf.maps returns'
        )
        raise ValueError(msg)
    for name in needed:
        dims = dataset[name].dims
        if 'y' not in dims or 'x' not in dims:
            msg = f'{name} has dims {dims}; expected y and x among them'
            raise ValueError(msg)
    arrows = check_int(arrows, 'arrows', minimum=1)
    panels = [
        ('peak_delay', _DELAY_CMAP, 'delay of the pCF peak'),
        ('peak_amplitude', _AMPLITUDE_CMAP, 'amplitude of the pCF peak'),
    ]
    if 'D' in names:
        panels.append(('D', _AMPLITUDE_CMAP, 'diffusion coefficient'))
    panels.append(('anisotropy', _AMPLITUDE_CMAP, 'direction of transport'))
    if axes is None:
        fig = Figure(figsize=(4.2 * len(panels), 4), layout='constrained')
        axes = list(fig.subplots(1, len(panels)))
    else:
        axes = list(axes)
        if len(axes) != len(panels):
            msg = f'maps draws {len(panels)} panels; {len(axes)} axes given'
            raise ValueError(msg)
        fig = axes[0].figure
    ys = dataset['y'].values
    xs = dataset['x'].values
    if pixel_size is None:
        pixel_size = dataset.attrs.get('pixel_size')
    scale, unit = _spatial(pixel_size)
    extent = _extent(ys[0], ys[-1], xs[0], xs[-1], scale)

    for axes_i, (name, cmap, title) in zip(axes, panels, strict=True):
        values = _plane(dataset, name)
        low, high = _limits(values)
        im = axes_i.imshow(
            numpy.ma.masked_invalid(values),
            cmap=_colormap(cmap),
            vmin=low,
            vmax=high,
            interpolation='nearest',
            extent=extent,
        )
        units = _UNITS.get(dataset[name].attrs.get('units'), '')
        label = {'anisotropy': 'anisotropy'}.get(name, name)
        label = f'{label} ({units})' if units else label
        fig.colorbar(im, ax=axes_i, label=label, shrink=0.9)
        axes_i.set(title=title, xlabel=f'x ({unit})', ylabel=f'y ({unit})')
    pooled = dataset.attrs.get('D_pooled')
    if 'D' in names and pooled is not None and numpy.isfinite(pooled):
        axes[2].set_title(f'diffusion coefficient, pooled {pooled:.3g}')

    # arrows on a coarse grid, so they stay readable on large maps
    step = max(1, math.ceil(max(len(ys), len(xs)) / arrows))
    angle = _plane(dataset, 'flow_angle')[::step, ::step]
    strength = _plane(dataset, 'flow_strength')[::step, ::step]
    finite = numpy.isfinite(strength) & numpy.isfinite(angle)
    top = numpy.max(numpy.abs(strength[finite]), initial=0.0)
    if top > 0:
        length = numpy.where(finite, strength / top, 0.0)
        angle = numpy.where(finite, angle, 0.0)
        grid = numpy.meshgrid(ys[::step], xs[::step], indexing='ij')
        gx, gy = _centre(grid, scale)
        spacing = step * (1.0 if scale is None else scale)
        # angles grow from +x toward +y, which points down in the image:
        # with an inverted y axis, the data-space vector is (cos, sin)
        axes[-1].quiver(
            gx,
            gy,
            length * numpy.cos(angle),
            length * numpy.sin(angle),
            color='C2',
            angles='xy',
            scale_units='xy',
            scale=1.0 / (0.9 * spacing),
            pivot='middle',
            width=0.006,
        )
    return fig


def summary(
    result: xarray.DataArray,
    mean: ArrayLike,
    /,
    *,
    pixel: tuple[int, int] | None = None,
    point: int | None = None,
    delay: int | None = None,
) -> Figure:
    """Return a three-panel overview: mean image, carpet, pCF image.

    Parameters
    ----------
    result : xarray.DataArray
        Result of :func:`ipcf.pcf_image`.
    mean : array_like, shape (H, W)
        Mean intensity image of the input series.
    pixel : (y, x), optional
        Pixel whose carpet is shown; default the centre of the result.
    point, delay : int, optional
        Circle point and delay bin of the pCF image; default point 0 and
        the bin a third of the way along the delays.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import ipcf
    >>> data = numpy.random.default_rng(0).poisson(100, (64, 8, 8))
    >>> result = ipcf.pcf_image(data, radius=2, npoints=8, nbins=6)
    >>> fig = summary(result, data.mean(axis=0))
    >>> len(fig.axes) >= 3
    True

    """
    from matplotlib.figure import Figure

    _check_result(result)
    if pixel is None:
        pixel = _centre_pixel(result)
    point = 0 if point is None else point
    delay = result.shape[3] // 3 if delay is None else delay
    fig = Figure(figsize=(15, 4.5), layout='constrained')
    axes = fig.subplots(1, 3)
    mean_image(mean, ax=axes[0], mark=pixel)
    carpet(result, *pixel, ax=axes[1])
    pcf_image(result, point=point, delay=delay, ax=axes[2])
    return fig


def series_mean(
    data: ArrayLike,
    /,
    *,
    frames: int | None = None,
    progress: bool = False,
) -> tuple[NDArray[numpy.float64], NDArray[numpy.float64]]:
    """Return the mean image and the mean intensity trace of a series.

    Reads the series once, block by block, so memory stays bounded for
    lazy inputs (memmaps, TIFF series, HDF5).

    Parameters
    ----------
    data : array_like or str or path, shape (T, H, W)
        Image series, or a path that :func:`ipcf.open_series` opens.
    frames : int, optional
        Use the first `frames` frames only; default all.
    progress : bool, optional, default: False
        Show a progress bar.

    Returns
    -------
    mean : ndarray, shape (H, W), float64
        Mean over time of each pixel.
    trace : ndarray, shape (T,), float64
        Mean over pixels of each frame.

    Examples
    --------
    >>> data = numpy.arange(8.0).reshape(2, 2, 2)
    >>> mean, trace = series_mean(data)
    >>> mean.tolist(), trace.tolist()
    ([[2.0, 3.0], [4.0, 5.0]], [1.5, 5.5])

    """
    return _series_stats(data, frames=frames, progress=progress)


def browse(
    source: Any,
    /,
    *,
    key: str | None = None,
    dt: float | None = None,
    width: int = 512,
) -> Any:
    """Return a Jupyter widget that browses the frames of an image series.

    A frame slider and a contrast range slider over the frame image. Only
    the frame shown is read, so even series of many gigabytes open at
    once.

    Parameters
    ----------
    source : str, path, sequence of paths, or array_like
        What :func:`ipcf.open_series` opens: a TIFF file or series,
        HDF5 or zarr store, raw file, or a ``(T, H, W)`` array.
    key : str, optional
        HDF5 and zarr: the dataset, as for :func:`ipcf.open_series`.
    dt : float, optional
        Frame interval in seconds, shown with the frame number. Default:
        the ``frame_time`` of the metadata, if any.
    width : int, optional, default: 512
        Width of the displayed image in screen pixels.

    Returns
    -------
    ipywidgets.VBox
        The image (``children[0]``), the frame slider (``children[1]``),
        the contrast slider (``children[2]``) and a status line
        (``children[3]``).

    Raises
    ------
    ImportError
        If ipywidgets is not installed.

    Examples
    --------
    >>> data = numpy.random.default_rng(0).poisson(100, (8, 16, 16))
    >>> widget = browse(data)
    >>> widget.children[1].value = 5  # show frame 5

    """
    try:
        import ipywidgets
    except ImportError as exc:
        msg = 'browse needs ipywidgets; install ipcf[all] or ipywidgets'
        raise ImportError(msg) from exc
    from matplotlib.colors import Normalize

    from . import io

    series = (
        io.open_series(source)
        if key is None
        else io.open_series(source, key=key)
    )
    width = check_int(width, 'width', minimum=16)
    if dt is None:
        dt = _metadata(source).get('frame_time')
    nframes, height, _ = series.shape
    # contrast range from a few frames: first, middle, last
    sample = numpy.stack(
        [numpy.asarray(series[i]) for i in {0, nframes // 2, nframes - 1}]
    ).astype(numpy.float64)
    low = float(numpy.nanmin(sample))
    high = float(numpy.nanmax(sample))
    if high <= low:
        high = low + 1.0
    start = numpy.nanpercentile(sample, [0.5, 99.5])
    cmap = _colormap(_INTENSITY)

    image = ipywidgets.Image(format='png', width=width)
    frame = ipywidgets.IntSlider(
        value=0,
        min=0,
        max=nframes - 1,
        description='frame',
        continuous_update=False,
        layout=ipywidgets.Layout(width=f'{max(width, 300)}px'),
    )
    contrast = ipywidgets.FloatRangeSlider(
        value=(float(start[0]), float(max(start[1], start[0] + 1e-9))),
        min=low,
        max=high,
        step=(high - low) / 1000,
        description='contrast',
        continuous_update=False,
        readout_format='.4g',
        layout=ipywidgets.Layout(width=f'{max(width, 300)}px'),
    )
    status = ipywidgets.Label()

    def render(change: Any = None) -> None:
        values = numpy.asarray(series[frame.value], dtype=numpy.float64)
        norm = Normalize(*contrast.value, clip=True)
        rgba = cmap(norm(values), bytes=True)
        image.value = _png_bytes(rgba)
        when = f' ({frame.value * dt:.6g} s)' if dt else ''
        status.value = (
            f'frame {frame.value} of {nframes}{when}; '
            f'{height}x{values.shape[1]} {series.dtype}; '
            f'min {values.min():.6g}, max {values.max():.6g}'
        )

    frame.observe(render, names='value')
    contrast.observe(render, names='value')
    render()
    return ipywidgets.VBox([image, frame, contrast, status])


KINDS = (
    'mean',
    'trace',
    'curve',
    'carpet',
    'polar',
    'lines',
    'image',
    'roi',
    'maps',
)
"""Figure kinds of :func:`draw` (and ``ipcf plot --kind``)."""

_NEEDS_DATA = {'mean', 'trace', 'curve', 'roi'}
_NEEDS_RESULT = {'curve', 'carpet', 'polar', 'lines', 'image', 'roi', 'maps'}


def draw(
    source: Any,
    /,
    kind: str,
    *,
    data: Any = None,
    pixel: tuple[int, int] | None = None,
    point: int | None = None,
    delay: float | Sequence[float] | None = None,
    pixel_size: float | None = None,
    psf_radius: float | None = None,
    progress: bool = False,
) -> Figure:
    """Return a figure of a stored result or an image series by kind.

    What ``ipcf plot`` draws. A result store's raw data, needed by the
    kinds ``'mean'``, ``'trace'``, ``'curve'`` and ``'roi'``, is `data`
    or else the file named by the result's ``source`` attribute.

    Parameters
    ----------
    source : str or path or xarray.DataArray or array_like
        A result store (``.h5``, ``.zarr`` with a pCF group) or result,
        or an image series (anything :func:`ipcf.open_series` opens).
    kind : str
        One of :data:`KINDS`: ``'mean'`` (:func:`mean_image`),
        ``'trace'`` (:func:`intensity_trace`), ``'curve'``
        (:func:`curve_processing`), ``'carpet'``, ``'polar'``,
        ``'lines'``, ``'image'`` (:func:`pcf_image`), ``'roi'`` (the
        analysed pixels over the mean image) or ``'maps'``
        (:func:`ipcf.maps` and :func:`maps`).
    data : str or path or array_like, optional
        The image series of a result.
    pixel : (y, x), optional
        Pixel for the per-pixel kinds; default the result's centre.
        For ``'trace'``, plot this pixel's series; for ``'mean'``, mark
        it.
    point : int, optional
        Circle point for ``'curve'`` and ``'image'``; default 0.
    delay : float or sequence of float, optional
        Delay in seconds (in frames if ``dt`` is 1) for ``'image'``;
        the nearest bin is shown, several give a grid. Default: the bin
        a third of the way along.
    pixel_size : float, optional
        Pixel size in µm; default from the result or data metadata.
    psf_radius : float, optional
        PSF 1/e² radius in µm for ``'maps'``; default from the data
        metadata.
    progress : bool, optional, default: False
        Show progress bars while reading data.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If `kind` is unknown, the source lacks what the kind needs (a
        result, the data), or an argument is out of range.

    Examples
    --------
    >>> data = numpy.random.default_rng(0).poisson(100, (32, 8, 8))
    >>> draw(data, 'trace').axes[0].get_ylabel()
    'intensity (counts)'

    """
    from .report import find_source

    if kind not in KINDS:
        msg = f'{kind=!r} is not one of {", ".join(KINDS)}'
        raise ValueError(msg)
    result, series_source = _result_or_series(source)
    if result is not None and data is None:
        # the source also gives pixel size and PSF radius to other kinds
        data = find_source(result, source if _is_path(source) else None)
        if data is None and kind in _NEEDS_DATA:
            msg = (
                f'kind {kind!r} needs the image series; the result names '
                f'{result.attrs.get("source")!r}, which was not found: '
                'give the data (--data)'
            )
            raise ValueError(msg)
    if data is None:
        data = series_source
    if kind in _NEEDS_RESULT and result is None:
        msg = f'kind {kind!r} needs a pCF result, not an image series'
        raise ValueError(msg)
    metadata = _metadata(data) if data is not None else {}
    if pixel_size is None:
        pixel_size = metadata.get('pixel_size')
        if result is not None:
            pixel_size = result.attrs.get('pixel_size', pixel_size)
    if kind == 'mean':
        return mean_image(
            data, mark=pixel, pixel_size=pixel_size, progress=progress
        )
    if kind == 'trace':
        dt = None if result is None else result.attrs.get('dt')
        return intensity_trace(data, dt=dt, pixel=pixel, progress=progress)
    if pixel is None:
        pixel = _centre_pixel(result)
    if len(pixel) != 2:
        msg = f'{pixel=} is not a (y, x) pair'
        raise ValueError(msg)
    point = 0 if point is None else point
    if kind == 'curve':
        return curve_processing(data, result, *pixel, point=point)
    if kind in {'carpet', 'polar', 'lines'}:
        function = {'carpet': carpet, 'polar': polar, 'lines': lines}[kind]
        return function(result, *pixel)
    if kind == 'image':
        if delay is None:
            bins: int | list[int] = result.sizes['delay'] // 3
        elif isinstance(delay, (Sequence, numpy.ndarray)):
            bins = [_delay_bin(result, d) for d in delay]
        else:
            bins = _delay_bin(result, delay)
        return pcf_image(result, point, bins, pixel_size=pixel_size)
    if kind == 'roi':
        mean = _series_stats(data, progress=progress)[0]
        box, mask = _result_region(result, mean.shape)
        return roi(
            mean,
            box=box,
            mask=mask,
            pixel_size=pixel_size,
            title='mean intensity and analysed pixels',
        )
    # maps
    from .analysis import maps as compute_maps

    if psf_radius is None:
        psf_radius = metadata.get('psf_radius')
    if pixel_size is None or psf_radius is None:
        msg = (
            "kind 'maps' needs the pixel size and the PSF radius in µm; "
            'give them (--pixel-size, --psf) or data with that metadata'
        )
        raise ValueError(msg)
    dataset = compute_maps(
        result, pixel_size=float(pixel_size), w=float(psf_radius)
    )
    return maps(dataset, pixel_size=pixel_size)


# helpers


def _result_or_series(source: Any) -> tuple[Any, Any]:
    """Return (result, None) for a pCF result or store, else (None, data)."""
    from .store import load_result

    if hasattr(source, 'dims'):
        _check_result(source)
        return source, None
    if isinstance(source, (str, os.PathLike)):
        suffix = os.fspath(source).lower().rsplit('.', 1)[-1]
        if suffix in {'h5', 'hdf5', 'hdf', 'zarr'}:
            try:
                return load_result(source), None
            except ValueError:
                pass  # no pCF group: an image series in a store
    return None, source


def _delay_bin(result: Any, seconds: Any) -> int:
    """Return the index of the delay bin nearest `seconds`."""
    try:
        seconds = float(seconds)
    except (TypeError, ValueError):
        msg = f'delay={seconds!r} is not a number'
        raise TypeError(msg) from None
    delays = result['delay'].values
    last = float(result['bin_edge'].values[-1]) * result.attrs.get('dt', 1.0)
    if not 0 <= seconds <= last:
        unit = _delay_unit(result)
        msg = f'delay={seconds:g} is outside the delays 0..{last:g} {unit}'
        raise ValueError(msg)
    return int(numpy.argmin(numpy.abs(delays - seconds)))


def _figure_axes(
    ax: Axes | None,
    *,
    polar: bool = False,
    figsize: tuple[float, float] = (6, 4.5),
) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout='constrained')
    return fig, fig.add_subplot(projection='polar' if polar else None)


def _colormap(name: str) -> Any:
    import matplotlib

    return matplotlib.colormaps[name].with_extremes(bad=_BAD)


def _limits(values: NDArray) -> tuple[float, float]:
    """Return robust colour limits: 1st and 99th percentile of finite."""
    finite = values[numpy.isfinite(values)]
    if not finite.size:
        return 0.0, 1.0
    low, high = numpy.percentile(finite, [1.0, 99.0])
    if high <= low:
        low, high = float(finite.min()), float(finite.max())
    if high <= low:
        return float(low) - 0.5, float(low) + 0.5
    return float(low), float(high)


def _spatial(pixel_size: float | None) -> tuple[float | None, str]:
    """Return µm per pixel (None: axes in pixels) and the axis unit."""
    if pixel_size is None:
        return None, 'pixel'
    try:
        pixel_size = float(pixel_size)
    except (TypeError, ValueError):
        msg = f'{pixel_size=!r} is not a number'
        raise TypeError(msg) from None
    if not (math.isfinite(pixel_size) and pixel_size > 0):
        msg = f'{pixel_size=} must be a finite number > 0 (µm)'
        raise ValueError(msg)
    return pixel_size, 'µm'


def _pixel_size(result: Any, pixel_size: float | None) -> float | None:
    if pixel_size is not None:
        return pixel_size
    return result.attrs.get('pixel_size')


def _extent(
    y0: float, y1: float, x0: float, x1: float, scale: float | None
) -> tuple[float, float, float, float]:
    """Return imshow extent of pixel rows y0..y1 and columns x0..x1.

    In pixels, pixel centres are at integers; in µm, pixel ``i`` spans
    ``i * size .. (i + 1) * size`` from the top-left corner, as in
    :mod:`ipcf.simulate`.

    """
    if scale is None:
        return (x0 - 0.5, x1 + 0.5, y1 + 0.5, y0 - 0.5)
    return (x0 * scale, (x1 + 1) * scale, (y1 + 1) * scale, y0 * scale)


def _centre(pixel: tuple[Any, Any], scale: float | None) -> tuple[Any, Any]:
    """Return axis (x, y) of the centre of pixel(s) (y, x)."""
    y = numpy.asarray(pixel[0], dtype=numpy.float64)
    x = numpy.asarray(pixel[1], dtype=numpy.float64)
    if scale is None:
        return x, y
    return (x + 0.5) * scale, (y + 0.5) * scale


def _delay_unit(result: Any) -> str:
    return 's' if result.attrs.get('dt', 1.0) != 1.0 else 'frames'


def _masked_note(values: NDArray) -> str:
    return ' (masked)' if numpy.isnan(values).all() else ''


def _check_result(result: Any) -> None:
    dims = getattr(result, 'dims', None)
    if dims != ('y', 'x', 'point', 'delay'):
        msg = (
            f'result is a {type(result).__name__} with dims {dims}; '
            'expected the xarray.DataArray of ipcf.pcf_image with dims '
            "('y', 'x', 'point', 'delay')"
        )
        raise ValueError(msg)


def _check_pixel(result: Any, y: Any, x: Any) -> tuple[int, int]:
    y = check_int(y, 'y')
    x = check_int(x, 'x')
    ys = result['y'].values
    xs = result['x'].values
    if not (ys[0] <= y <= ys[-1] and xs[0] <= x <= xs[-1]):
        msg = (
            f'pixel (y={y}, x={x}) is outside the result, whose pixels are '
            f'y {ys[0]}..{ys[-1]} and x {xs[0]}..{xs[-1]} (input pixel '
            'coordinates: the first is the radius)'
        )
        raise ValueError(msg)
    return y, x


def _check_image_pixel(pixel: Any, shape: tuple[int, ...]) -> tuple[int, int]:
    if len(pixel) != 2:
        msg = f'{pixel=} is not a (y, x) pair'
        raise ValueError(msg)
    y = check_int(pixel[0], 'y')
    x = check_int(pixel[1], 'x')
    if not (0 <= y < shape[0] and 0 <= x < shape[1]):
        msg = (
            f'pixel (y={y}, x={x}) is outside the {shape[0]}x{shape[1]} image'
        )
        raise ValueError(msg)
    return y, x


def _check_index(value: Any, name: str, size: int) -> int:
    value = check_int(value, name)
    if not 0 <= value < size:
        msg = f'{name}={value} is out of range 0..{size - 1}'
        raise ValueError(msg)
    return value


def _check_box(box: Any, height: int, width: int) -> tuple[int, ...]:
    if len(box) != 4:
        msg = f'box={tuple(box)} is not (y0, y1, x0, x1)'
        raise ValueError(msg)
    y0, y1, x0, x1 = (check_int(b, 'box') for b in box)
    if not (0 <= y0 < y1 <= height and 0 <= x0 < x1 <= width):
        msg = (
            f'box=({y0}, {y1}, {x0}, {x1}) is empty or outside the '
            f'{height}x{width} image; expected 0 <= y0 < y1 <= {height} '
            f'and 0 <= x0 < x1 <= {width}'
        )
        raise ValueError(msg)
    return y0, y1, x0, x1


def _check_dt(dt: Any) -> float:
    try:
        dt = float(dt)
    except (TypeError, ValueError):
        msg = f'{dt=!r} is not a number'
        raise TypeError(msg) from None
    if not (math.isfinite(dt) and dt > 0):
        msg = f'{dt=} must be a finite number > 0 (seconds)'
        raise ValueError(msg)
    return dt


def _result_region(
    result: Any, shape: tuple[int, int]
) -> tuple[tuple[int, int, int, int], NDArray[numpy.bool_]]:
    """Return the box and the mask of a result's pixels in an image.

    The box is the result's ``roi`` attribute if it has one, else the
    grid of its centre pixels; the mask marks centre pixels with values.

    """
    ys = result['y'].values
    xs = result['x'].values
    height, width = shape
    if ys[-1] >= height or xs[-1] >= width:
        msg = (
            f'the result covers pixels up to ({ys[-1]}, {xs[-1]}), outside '
            f'the {height}x{width} data; is this its source?'
        )
        raise ValueError(msg)
    box = result.attrs.get('roi')
    if box is None or len(box) != 4:
        box = (int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1)
    mask = numpy.zeros(shape, dtype=bool)
    valid = numpy.isfinite(result.values).any(axis=(2, 3))
    mask[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1] = valid
    return tuple(int(b) for b in box), mask  # type: ignore[return-value]


def _centre_pixel(result: Any) -> tuple[int, int]:
    return (
        int(result['y'][result.shape[0] // 2]),
        int(result['x'][result.shape[1] // 2]),
    )


def _plane(dataset: Any, name: str) -> NDArray:
    """Return a (y, x) float image of a map, averaging other dims."""
    var = dataset[name]
    if 'y' not in var.dims or 'x' not in var.dims:
        msg = f'{name} has dims {var.dims}; expected y and x among them'
        raise ValueError(msg)
    other = [d for d in var.dims if d not in ('y', 'x')]
    if other:
        if name == 'flow_angle':
            # average directions as unit vectors, not as angles
            vec = numpy.exp(1j * var.values)
            axes = tuple(var.dims.index(d) for d in other)
            return numpy.angle(numpy.nanmean(vec, axis=axes))
        var = var.mean(other)
    return numpy.asarray(var.transpose('y', 'x').values, dtype=numpy.float64)


def _log_radius(delays: NDArray) -> tuple[NDArray, NDArray]:
    """Return radial cell edges and centres of delay bins on a log scale.

    Bin 0 (delay 0) is the central disc; bin ``k >= 1`` is centred at
    ``1 + log10(delay[k] / delay[1])``.

    """
    centres = numpy.zeros(len(delays))
    centres[1:] = 1.0 + numpy.log10(delays[1:] / delays[1])
    edges = numpy.empty(len(delays) + 1)
    edges[0] = 0.0
    edges[1] = 0.5
    edges[2:-1] = 0.5 * (centres[1:-1] + centres[2:])
    last = centres[-1] - centres[-2] if len(delays) > 2 else 0.5
    edges[-1] = centres[-1] + 0.5 * last
    return edges, centres


def _decade_ticks(
    delays: NDArray, centres: NDArray, unit: str
) -> list[tuple[float, str]]:
    """Return (radius, label) of round delays within the bins."""
    low = math.floor(math.log10(delays[1]))
    high = math.ceil(math.log10(delays[-1]))
    ticks = []
    for exponent in range(low, high + 1):
        value = 10.0**exponent
        if delays[1] <= value <= delays[-1]:
            radius = 1.0 + math.log10(value / delays[1])
            ticks.append((radius, _format_delay(value, unit)))
    if len(ticks) < 2:
        ticks = [(centres[1], _format_delay(delays[1], unit))]
        ticks.append((centres[-1], _format_delay(delays[-1], unit)))
    return ticks


def _format_delay(value: float, unit: str) -> str:
    """Return a delay as short text: '1 ms', '250 µs', '12 frames'."""
    if unit != 's' or value == 0 or value >= 1:
        return f'{value:.3g} {unit}'
    if value >= 1e-3:
        return f'{value * 1e3:.3g} ms'
    return f'{value * 1e6:.3g} µs'


def _pair_curve(a: NDArray, b: NDArray, *, mode: str) -> NDArray:
    """Return G(tau), tau = 0 .. N/2 - 1, of centre a toward neighbour b."""
    from .correlate import correlate

    n = a.size
    ma = a.mean()
    mb = b.mean()
    if ma == 0 or mb == 0:
        return numpy.full(n // 2, numpy.nan)
    if mode == 'linear':
        c = correlate(b - mb, a - ma, mode='linear')
        return c[n // 2 : n // 2 + n // 2] / (n * ma * mb)
    c = correlate(b, a, mode='circular')
    return c[n // 2 : n // 2 + n // 2] / (n * ma * mb) - 1.0


def _is_path(source: Any) -> bool:
    """Return whether source names files rather than holding values."""
    if isinstance(source, (list, tuple)) and source:
        return all(isinstance(s, (str, os.PathLike)) for s in source)
    return isinstance(source, (str, os.PathLike))


def _as_trace(data: Any) -> NDArray | None:
    """Return data as a float trace if it is 1-D values, else None."""
    if _is_path(data):
        return None
    if not hasattr(data, 'ndim'):
        data = numpy.asarray(data)
    if data.ndim != 1:
        return None
    return numpy.asarray(data, dtype=numpy.float64)


def _open_series(data: Any) -> Any:
    """Return a (T, H, W) array-like of data or of the file it names."""
    from . import io

    if _is_path(data):
        return io.open_series(data)
    if not hasattr(data, 'shape') or not hasattr(data, 'dtype'):
        data = numpy.asarray(data)
    if len(data.shape) != 3:
        msg = f'data.shape={tuple(data.shape)} is not 3-D (T, H, W)'
        raise ValueError(msg)
    if numpy.dtype(data.dtype).kind not in 'uif':
        msg = f'data.dtype={data.dtype} is not an integer or float type'
        raise TypeError(msg)
    return data


def _metadata(source: Any) -> dict:
    """Return the stored metadata of a file, or an empty dict."""
    if not (_is_path(source) or hasattr(source, 'attrs')):
        return {}
    from . import io

    try:
        return io.read_metadata(source)
    except (OSError, ValueError, TypeError):
        return {}


def _as_image(image: Any, *, progress: bool) -> NDArray:
    if _is_path(image):
        return _series_stats(image, progress=progress)[0]
    if not hasattr(image, 'ndim'):
        image = numpy.asarray(image)
    if image.ndim == 3:
        return _series_stats(image, progress=progress)[0]
    image = numpy.asarray(image, dtype=numpy.float64)
    if image.ndim != 2:
        msg = f'image.shape={image.shape} is not 2-D (or a 3-D series)'
        raise ValueError(msg)
    return image


def _series_stats(
    data: Any, *, frames: int | None = None, progress: bool = False
) -> tuple[NDArray, NDArray]:
    series = _open_series(data)
    nframes, height, width = (int(n) for n in series.shape)
    if frames is not None:
        frames = check_int(frames, 'frames', minimum=1)
        nframes = min(nframes, frames)
    total = numpy.zeros((height, width))
    trace = numpy.empty(nframes)
    step = max(1, _BLOCK_BYTES // (8 * height * width))
    bar = progress_bar(nframes, enable=progress, desc='mean', unit='frame')
    with bar:
        for start in range(0, nframes, step):
            stop = min(start + step, nframes)
            block = numpy.asarray(series[start:stop], dtype=numpy.float64)
            total += block.sum(axis=0)
            trace[start:stop] = block.mean(axis=(1, 2))
            bar.update(stop - start)
    return total / nframes, trace


def _png_bytes(rgba: NDArray) -> bytes:
    import io as _io

    from matplotlib.image import imsave

    buffer = _io.BytesIO()
    imsave(buffer, rgba, format='png')
    return buffer.getvalue()
