"""Figures of the curves of one pixel: processing, carpet, polar, lines.

Each takes a result of :func:`ipcf.pcf_image` and a centre pixel ``(y, x)``
in input pixel coordinates (the values of the result's ``y`` and ``x``
coordinates); circle points are indices into its ``point`` dimension.

:func:`curve_processing` is the one figure that correlates: it computes
the raw curve of a single pixel pair to show what binning and smoothing
do to it.

"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy

from .._sources import physical_units
from ..analysis._select import select as _select
from ._common import (
    CMAP,
    CYCLIC,
    DIRECTIONS,
    as_series,
    check_index,
    check_pixel,
    check_result,
    colorbar,
    colormap,
    delay_axis,
    delay_ticks,
    delay_unit,
    direction_axis,
    figure_axes,
    limits,
    masked_note,
    toward,
)

if TYPE_CHECKING:
    import xarray
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike, NDArray

__all__ = ['carpet', 'curve_processing', 'lines', 'polar']


def curve_processing(
    data: ArrayLike,
    result: xarray.DataArray,
    /,
    y: int,
    x: int,
    *,
    point: int = 0,
    ax: Axes | None = None,
    z: int | None = None,
    channel: int | None = None,
    neighbour_channel: int | None = None,
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
    z, channel, neighbour_channel : int, optional
        Of a result of several planes or channels (of
        :func:`ipcf.analyze`): the plane and the channel pair to draw,
        by their labels. Default: the only one where there is one;
        else a ValueError names the dims and their labels.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the pixel is outside the result, `point` is out of range, or
        `data` does not match the result (shape, frames).
    TypeError
        If `result` is not a DataArray, or a pixel or point is not an
        integer.

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
    result = _select(
        result, z=z, channel=channel, neighbour_channel=neighbour_channel
    )
    from ..pcf import average_bins, smooth

    check_result(result)
    y, x = check_pixel(result, y, x)
    point = check_index(point, 'point', result.sizes['point'])
    series = as_series(data)
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
    fig, ax = figure_axes(ax, figsize=(7, 4))
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
    unit = delay_unit(result)
    delay_axis(ax, numpy.concatenate([delays, tau]), unit)
    scale = physical_units(result.attrs)['pixel_size']
    ax.set(
        title=f'pixel y={y}, x={x} toward {toward(u, v, scale)}',
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
    z: int | None = None,
    channel: int | None = None,
    neighbour_channel: int | None = None,
) -> Figure:
    """Plot all circle-point curves of one pixel as an image.

    Rows are circle points, by the direction of the neighbour (the
    angle from +x toward +y, down in the image: 90° is the neighbour
    below), columns delay bins (log-spaced, ticks at round delays where
    they fall between the bins), colour is G.

    Parameters
    ----------
    result : xarray.DataArray
        Result of :func:`ipcf.pcf_image`.
    y, x : int
        Centre pixel in input pixel coordinates (``result.y``,
        ``result.x``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    z, channel, neighbour_channel : int, optional
        Of a result of several planes or channels (of
        :func:`ipcf.analyze`): the plane and the channel pair to draw,
        by their labels. Default: the only one where there is one;
        else a ValueError names the dims and their labels.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the pixel is outside the result.
    TypeError
        If `result` is not a DataArray, or a pixel or point is not an
        integer.

    Examples
    --------
    >>> import ipcf
    >>> data = numpy.random.default_rng(0).poisson(100, (64, 8, 8))
    >>> result = ipcf.pcf_image(data, radius=2, npoints=8, nbins=6)
    >>> fig = carpet(result, 3, 3)

    """
    result = _select(
        result, z=z, channel=channel, neighbour_channel=neighbour_channel
    )
    check_result(result)
    y, x = check_pixel(result, y, x)
    values = result.sel(y=y, x=x).values
    delays = result['delay'].values
    fig, ax = figure_axes(ax)
    vmin, vmax = limits(values)
    # rows at the points' nominal angles (as the polar figure), in degrees
    step = 360.0 / len(values)
    im = ax.imshow(
        numpy.ma.masked_invalid(values),
        aspect='auto',
        cmap=colormap(CMAP),
        vmin=vmin,
        vmax=vmax,
        interpolation='nearest',
        extent=(-0.5, len(delays) - 0.5, 360.0 - step / 2, -step / 2),
    )
    colorbar(fig, im, ax=ax, label='G')
    delay_axis(ax, delays, delay_unit(result), bins=True)
    direction_axis(ax)
    ax.set_title(
        f'pCF carpet of pixel y={y}, x={x}'
        + selection_note(result)
        + masked_note(values)
    )
    return fig


def polar(
    result: xarray.DataArray,
    /,
    y: int,
    x: int,
    *,
    ax: Axes | None = None,
    z: int | None = None,
    channel: int | None = None,
    neighbour_channel: int | None = None,
) -> Figure:
    """Plot all circle-point curves of one pixel in polar form.

    The angle is the circle point's direction as seen in the image (x to
    the right, y down), the radius the delay on a log scale (delay 0 at
    the centre), and the colour G: a flow shows as a bright arm pointing
    where intensity goes, a barrier as a dark sector. Circles mark round
    delays (decades), labelled on a ruler below the disc so that no
    label hides a curve.

    Parameters
    ----------
    result : xarray.DataArray
        Result of :func:`ipcf.pcf_image`.
    y, x : int
        Centre pixel in input pixel coordinates.
    ax : matplotlib.axes.Axes, optional
        Axes with polar projection to draw into
        (``fig.add_subplot(projection='polar')``).
    z, channel, neighbour_channel : int, optional
        Of a result of several planes or channels (of
        :func:`ipcf.analyze`): the plane and the channel pair to draw,
        by their labels. Default: the only one where there is one;
        else a ValueError names the dims and their labels.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the pixel is outside the result, or `ax` is not polar.
    TypeError
        If `result` is not a DataArray, or a pixel or point is not an
        integer.

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
    result = _select(
        result, z=z, channel=channel, neighbour_channel=neighbour_channel
    )
    check_result(result)
    y, x = check_pixel(result, y, x)
    values = result.sel(y=y, x=x).values
    npoints, nbins = values.shape
    if ax is not None and getattr(ax, 'name', '') != 'polar':
        msg = "ax is not polar; create it with projection='polar'"
        raise ValueError(msg)
    fig, ax = figure_axes(ax, polar=True, figsize=(6.5, 5.5))
    step = 2.0 * math.pi / npoints
    theta = (numpy.arange(npoints + 1) - 0.5) * step
    radius, _ = _log_radius(result['delay'].values)
    vmin, vmax = limits(values)
    # pcolormesh wants (radius, angle): transpose the (point, delay) curves
    mesh = ax.pcolormesh(
        theta,
        radius,
        numpy.ma.masked_invalid(values.T),
        cmap=colormap(CMAP),
        vmin=vmin,
        vmax=vmax,
        shading='flat',
    )
    # image rows grow downward: clockwise angles match the image
    ax.set_theta_zero_location('E')
    ax.set_theta_direction(-1)
    ax.set_ylim(0, radius[-1])
    unit = delay_unit(result)
    delays = result['delay'].values
    major, minor = delay_ticks(delays, unit)
    # circles at round delays; their labels go on a ruler below the disc
    rings = [_radius_of(delays, value) for value, _ in major]
    ax.set_yticks(rings, [''] * len(rings))
    ax.grid(True, color='white', lw=0.5, alpha=0.6)
    colorbar(fig, mesh, ax=ax, label='G', pad=0.1)
    ax.set_title(
        f'pCF of pixel y={y}, x={x}'
        + selection_note(result)
        + masked_note(values)
        + '\nby the direction of the neighbour (angle)'
    )
    _radius_ruler(
        ax,
        radius[-1],
        [(r, text) for r, (_, text) in zip(rings, major, strict=True)],
        [_radius_of(delays, value) for value in minor],
        'radius: delay' + ('' if unit == 's' else f' ({unit})') + ', log',
    )
    return fig


def lines(
    result: xarray.DataArray,
    /,
    y: int,
    x: int,
    *,
    points: Sequence[int] | None = None,
    ax: Axes | None = None,
    z: int | None = None,
    channel: int | None = None,
    neighbour_channel: int | None = None,
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
    z, channel, neighbour_channel : int, optional
        Of a result of several planes or channels (of
        :func:`ipcf.analyze`): the plane and the channel pair to draw,
        by their labels. Default: the only one where there is one;
        else a ValueError names the dims and their labels.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the pixel is outside the result or a point is out of range.
    TypeError
        If `result` is not a DataArray, or a pixel or point is not an
        integer.

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
    result = _select(
        result, z=z, channel=channel, neighbour_channel=neighbour_channel
    )
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    check_result(result)
    y, x = check_pixel(result, y, x)
    npoints = result.sizes['point']
    if points is None:
        points = range(npoints)
    points = [check_index(p, 'point', npoints) for p in points]
    values = result.sel(y=y, x=x).values
    delays = result['delay'].values
    fig, ax = figure_axes(ax, figsize=(7, 4))
    cmap = colormap(CYCLIC)
    norm = Normalize(0.0, 360.0)
    for p in points:
        angle = 360.0 * p / npoints
        ax.plot(delays[1:], values[p, 1:], color=cmap(norm(angle)), lw=1.2)
    ax.set_xscale('log')
    ax.axhline(0.0, color='k', lw=0.5)
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax)
    bar.set_ticks(
        [angle for angle, _ in DIRECTIONS],
        labels=[text for _, text in DIRECTIONS],
    )
    bar.set_label('direction of the neighbour')
    delay_axis(ax, delays, delay_unit(result))
    ax.set(
        title=f'pCF curves of pixel y={y}, x={x}'
        + selection_note(result)
        + masked_note(values),
        ylabel='G',
    )
    return fig


def selection_note(result: Any) -> str:
    """Return ', plane 1, channel A to B' of a selected result, or ''.

    A plane and channel pair selected from a result of several keep
    their labels (and the channels' names) as scalar coordinates.

    >>> import xarray
    >>> data = xarray.DataArray(0.0, coords={'z': 1, 'channel': 0,
    ...     'neighbour_channel': 1, 'channel_name': 'A'})
    >>> selection_note(data)
    ', plane 1, channel A to 1'

    """
    coords = getattr(result, 'coords', {})

    def label(dim: str) -> str | None:
        if dim not in coords or coords[dim].ndim:
            return None
        name = f'{dim}_name'
        if name in coords and coords[name].ndim == 0:
            return str(coords[name].values.item())
        return str(coords[dim].values.item())

    parts = []
    plane = label('z')
    if plane is not None and 'w' not in coords:
        parts.append(f'plane {plane}')
    centre, other = label('channel'), label('neighbour_channel')
    if centre is not None:
        to = '' if other is None or other == centre else f' to {other}'
        parts.append(f'channel {centre}{to}')
    return ''.join(f', {part}' for part in parts)


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


def _radius_of(delays: NDArray, value: float) -> float:
    """Return the radius of a delay on the scale of :func:`_log_radius`."""
    return 1.0 + math.log10(value / delays[1])


def _radius_ruler(
    ax: Axes,
    outer: float,
    major: list[tuple[float, str]],
    minor: list[float],
    label: str,
) -> None:
    """Draw a radial scale under a polar axes, from its centre outward.

    An axes of its own below the disc, from the centre to the right
    edge, so that the radius of each labelled tick is that of the circle
    at the same delay.

    """
    ruler = ax.inset_axes((0.5, -0.12, 0.5, 0.04))
    ruler.set_xlim(0.0, outer)
    ruler.set_xticks([r for r, _ in major], [text for _, text in major])
    ruler.set_xticks(minor, minor=True)
    ruler.set_yticks([])
    ruler.patch.set_alpha(0.0)
    for side in ('left', 'right', 'top'):
        ruler.spines[side].set_visible(False)
    ruler.tick_params(axis='x', labelsize='x-small', pad=2)
    ruler.set_xlabel(label, fontsize='small')


def _pair_curve(a: NDArray, b: NDArray, *, mode: str) -> NDArray:
    """Return G(tau), tau = 0 .. N/2 - 1, of centre a toward neighbour b."""
    from ..correlate import correlate

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
