"""Figures of an image series: mean image, intensity trace, region.

These figures take the series itself (any array-like, or a path that
:func:`ipcf.open_series` opens) or what was computed from it; a series is
read block by block, so memory stays bounded for lazy inputs.

"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy

from .._sources import physical_units
from .._utils import progress_bar
from .._validate import check_bool, check_int, check_mask, check_positive
from ._common import (
    INTENSITY,
    as_series,
    centre,
    check_box,
    check_image_pixel,
    check_result,
    colormap,
    extent,
    figure_axes,
    image_figsize,
    is_path,
    spatial,
)

if TYPE_CHECKING:
    import xarray
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike, NDArray

__all__ = ['intensity_trace', 'mean_image', 'roi', 'series_mean']

# frames per block of the intensity trace: about this many float64 bytes
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
        mean over all frames is then computed by
        :func:`ipcf.roi.mean_image`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    title : str, optional, default: 'mean intensity'
        Axes title.
    mark : (y, x), optional
        Pixel to mark with a cross; inside the image.
    pixel_size : float, optional
        Pixel size in µm, > 0; axes are in µm when given, else in pixels.
    progress : bool, optional, default: False
        Show a progress bar while reading a series.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If `image` is not 2-D or 3-D, or `mark` is outside the image.

    Examples
    --------
    >>> fig = mean_image(numpy.ones((8, 8)), mark=(2, 3))
    >>> fig.axes[0].get_title()
    'mean intensity'

    """
    progress = check_bool(progress, 'progress')
    scale, unit = spatial(pixel_size)
    image = _as_image(image, progress=progress)
    height, width = image.shape
    if mark is not None:
        mark = check_image_pixel(mark, image.shape, name='mark')
    fig, ax = figure_axes(ax, figsize=image_figsize(height, width))
    im = ax.imshow(
        numpy.ma.masked_invalid(image),
        cmap=colormap(INTENSITY),
        interpolation='nearest',
        extent=extent(0, height - 1, 0, width - 1, scale),
    )
    fig.colorbar(im, ax=ax, label='intensity (counts)')
    if mark is not None:
        ax.plot(*centre(mark, scale), 'r+', markersize=12, mew=2)
    ax.set(title=title, xlabel=f'x ({unit})', ylabel=f'y ({unit})')
    return fig


def intensity_trace(
    data: ArrayLike,
    /,
    *,
    dt: float | None = None,
    trend: ArrayLike | None = None,
    pixel: tuple[int, int] | None = None,
    result: xarray.DataArray | None = None,
    bins: int = 1000,
    ax: Axes | None = None,
    title: str | None = None,
    progress: bool = False,
) -> Figure:
    """Plot the mean intensity of an image series over time.

    The trace is decimated to `bins` bins of consecutive frames, drawn
    as the band from each bin's minimum to its maximum and the line of
    its mean, so that every sample's range shows however long the
    record; over it, the bleaching trend and, for a result, the frames
    it analysed.

    Parameters
    ----------
    data : array_like or str or path, shape (T,) or (T, H, W)
        Image series (any array-like or a path that
        :func:`ipcf.open_series` opens), read block by block, or a trace
        already computed.
    dt : float, optional
        Frame interval in seconds, > 0. Default: the frame interval of
        the file's metadata, else the result's ``dt``, else 1 (time in
        frames).
    trend : array_like, shape (T,), optional
        A fit or filter of the trace (e.g. a photobleaching model) drawn
        over it. Default: ``b + a * exp(-t / tau)`` fitted to the bins'
        means, with tau and the change over the record in the legend.
    pixel : (y, x), optional
        Plot the series of this pixel instead of the mean of all pixels;
        `data` must then be a series.
    result : xarray.DataArray, optional
        A result computed from the series: the frames it analysed (its
        ``frames`` attribute, after the frames its ``bleach`` filter
        drops at the start) are shaded.
    bins : int, optional, default: 1000
        Most bins of the decimated trace, >= 1; a trace of fewer frames
        is drawn frame by frame.
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
        frames, `pixel` is outside the image, or `dt` is not > 0.

    Examples
    --------
    >>> data = numpy.random.default_rng(0).poisson(100, (32, 4, 4))
    >>> fig = intensity_trace(data, dt=0.001, trend=numpy.full(32, 100.0))
    >>> fig.axes[0].get_xlabel()
    'time (s)'

    """
    from ._interactive import analysed_frames, bleach_trend, decimate_trace

    progress = check_bool(progress, 'progress')
    bins = check_int(bins, 'bins', minimum=1)
    if result is not None:
        check_result(result)
    if dt is None:
        dt = physical_units(data)['frame_interval']
        if dt is None and result is not None:
            dt = float(result.attrs.get('dt', 1.0))
        dt = dt or 1.0
    dt = check_positive(dt, 'dt')
    if pixel is not None:
        series = as_series(data)
        y, x = check_image_pixel(pixel, series.shape[1:])
        trace = numpy.asarray(series[:, y, x], dtype=numpy.float64)
        what = f'intensity of pixel y={y}, x={x}'
    else:
        trace = _as_trace(data)
        if trace is None:
            trace = _series_trace(data, progress=progress)
        what = 'mean intensity'
    if trend is not None:
        trend = numpy.asarray(trend, dtype=numpy.float64)
        if trend.shape != trace.shape:
            msg = (
                f'trend.shape={trend.shape} does not match the '
                f'{trace.size} frames of the trace'
            )
            raise ValueError(msg)
    fig, ax = figure_axes(ax, figsize=(7, 4.2))
    seconds = dt != 1.0
    unit = 's' if seconds else 'frames'
    if result is not None:
        frames = analysed_frames(result.attrs, trace.size)
        if frames is not None:
            first, stop = frames
            ax.axvspan(
                first * dt,
                (stop - 1) * dt,
                color='C2',
                alpha=0.15,
                lw=0,
                label=f'analysed: frames {first}..{stop - 1}',
            )
    centre, low, mean, high = decimate_trace(trace, bins=bins)
    time = centre * dt
    per_bin = max(1, round(trace.size / centre.size))
    if per_bin > 1:
        ax.fill_between(
            time,
            low,
            high,
            color='C0',
            alpha=0.25,
            lw=0,
            label=f'min..max of {per_bin} frames',
        )
        label = f'mean of {per_bin} frames'
    else:
        label = 'data'
    ax.plot(time, mean, lw=1.0, color='C0', label=label)
    if trend is not None:
        ax.plot(
            numpy.arange(trace.size) * dt,
            trend,
            lw=1.5,
            color='C3',
            label='trend',
        )
    elif centre.size >= 8:
        fitted, tau, _ = bleach_trend(centre, mean)
        change = (fitted[-1] - fitted[0]) / fitted[0] if fitted[0] else 0.0
        if abs(change) < 1e-3:
            # tau of a flat trace means nothing
            text = f'no bleaching: {100 * change:+.2g} % over the record'
        else:
            text = (
                f'bleaching trend: τ = {tau * dt:.3g} {unit}, '
                f'{100 * change:+.2g} % over the record'
            )
        ax.plot(time, fitted, lw=1.5, color='C3', label=text)
    # below the axes, so that it hides none of the trace
    ax.legend(
        loc='upper center',
        bbox_to_anchor=(0.5, -0.2),
        ncols=2,
        frameon=False,
        fontsize='small',
    )
    ax.set(
        title=what if title is None else title,
        xlabel='time (s)' if seconds else 'frame',
        ylabel='intensity (counts)',
    )
    ax.set_xlim(0, max(trace.size - 1, 1) * dt)
    return fig


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
        Pixels inside the region (bool, integer with non-zero inside, or
        floats that are all 0 or 1); those outside are dimmed and the
        region's edge is drawn.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    pixel_size : float, optional
        Pixel size in µm, > 0; axes are in µm when given.
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
    TypeError
        If the mask is neither boolean nor integer nor floats of 0
        and 1.

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
    progress = check_bool(progress, 'progress')
    scale, _ = spatial(pixel_size)
    image = _as_image(image, progress=progress)
    height, width = image.shape
    if box is not None:
        box = check_box(box, height, width)
    if mask is not None:
        mask = check_mask(mask, image.shape)
    fig = mean_image(image, ax=ax, title=title, pixel_size=pixel_size)
    ax = fig.axes[0] if ax is None else ax
    if mask is not None:
        bounds = extent(0, height - 1, 0, width - 1, scale)
        shade = numpy.zeros((height, width, 4))
        shade[~mask, 3] = 0.5
        ax.imshow(shade, extent=bounds, interpolation='nearest')
        if mask.any() and not mask.all():
            xx, yy = centre((numpy.arange(height), numpy.arange(width)), scale)
            ax.contour(xx, yy, mask.astype(float), levels=[0.5], colors='C1')
    if box is not None:
        y0, y1, x0, x1 = box
        left, right, bottom, top = extent(y0, y1 - 1, x0, x1 - 1, scale)
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


def series_mean(
    data: ArrayLike,
    /,
    *,
    frames: int | None = None,
    progress: bool = False,
) -> tuple[NDArray[numpy.float64], NDArray[numpy.float64]]:
    """Return the mean image and the mean intensity trace of a series.

    Parameters
    ----------
    data : array_like or str or path, shape (T, H, W)
        Image series, or a path that :func:`ipcf.open_series` opens.
    frames : int, optional
        Use the first `frames` frames only (>= 1); default all.
    progress : bool, optional, default: False
        Show progress bars.

    Returns
    -------
    mean : ndarray, shape (H, W), float64
        Mean over time of each pixel, by :func:`ipcf.roi.mean_image`.
    trace : ndarray, shape (T,), float64
        Mean over pixels of each frame.

    Notes
    -----
    The series is read twice, block by block (once for each statistic),
    so memory stays bounded for lazy inputs (memmaps, TIFF series, HDF5).

    Examples
    --------
    >>> data = numpy.arange(8.0).reshape(2, 2, 2)
    >>> mean, trace = series_mean(data)
    >>> mean.tolist(), trace.tolist()
    ([[2.0, 3.0], [4.0, 5.0]], [1.5, 5.5])

    """
    from ..roi import mean_image as roi_mean_image

    progress = check_bool(progress, 'progress')
    if frames is not None:
        frames = check_int(frames, 'frames', minimum=1)
    series = as_series(data)
    mean = roi_mean_image(series, frames=frames, progress=progress)
    trace = _series_trace(series, frames=frames, progress=progress)
    return mean, trace


def _as_image(image: Any, *, progress: bool) -> NDArray:
    """Return a 2-D float image, or the mean image of a series."""
    from ..roi import mean_image as roi_mean_image

    if is_path(image):
        return roi_mean_image(image, frames=None, progress=progress)
    if not hasattr(image, 'ndim'):
        image = numpy.asarray(image)
    if image.ndim == 3:
        series = as_series(image)
        return roi_mean_image(series, frames=None, progress=progress)
    image = numpy.asarray(image, dtype=numpy.float64)
    if image.ndim != 2:
        msg = f'image.shape={image.shape} is not 2-D (or a 3-D series)'
        raise ValueError(msg)
    return image


def _as_trace(data: Any) -> NDArray | None:
    """Return data as a float trace if it is 1-D values, else None."""
    if is_path(data):
        return None
    if not hasattr(data, 'ndim'):
        data = numpy.asarray(data)
    if data.ndim != 1:
        return None
    return numpy.asarray(data, dtype=numpy.float64)


def _series_trace(
    data: Any, *, frames: int | None = None, progress: bool = False
) -> NDArray:
    """Return the mean over pixels of each frame, read block by block."""
    series = as_series(data)
    nframes, height, width = (int(n) for n in series.shape)
    if frames is not None:
        nframes = min(nframes, frames)
    trace = numpy.empty(nframes)
    step = max(1, _BLOCK_BYTES // (8 * height * width))
    bar = progress_bar(nframes, enable=progress, desc='trace', unit='frame')
    with bar:
        for start in range(0, nframes, step):
            stop = min(start + step, nframes)
            block = numpy.asarray(series[start:stop], dtype=numpy.float64)
            trace[start:stop] = block.mean(axis=(1, 2))
            bar.update(stop - start)
    return trace
