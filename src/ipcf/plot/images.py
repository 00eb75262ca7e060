"""Figures of whole pCF results: pCF images, derived maps, overview.

:func:`pcf_image` shows the pCF of every pixel for a circle point and
delay bins of a result of :func:`ipcf.pcf_image`; :func:`maps` draws the
maps of :func:`ipcf.maps` (it draws them, it does not compute them);
:func:`summary` combines a mean image, a carpet and a pCF image.

"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy

from .._sources import physical_units
from .._validate import check_int, check_mask, check_real
from ..analysis._select import select as _select
from ._common import (
    AMPLITUDE_CMAP,
    CMAP,
    DELAY_CMAP,
    RESULT_DIMS,
    UNITS,
    centre,
    centre_pixel,
    check_index,
    check_pixel,
    check_result,
    colorbar,
    colormap,
    delay_unit,
    extent,
    figure_axes,
    format_delay,
    limits,
    spatial,
    toward,
)
from .curves import carpet, selection_note
from .series import mean_image

if TYPE_CHECKING:
    import xarray
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike, NDArray

__all__ = ['maps', 'pcf_image', 'pcf_map', 'summary']


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
    z: int | None = None,
    channel: int | None = None,
    neighbour_channel: int | None = None,
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
        Pixel size in µm, > 0. Default: the result's ``pixel_size``
        attribute, else axes are in pixels.
    vmin, vmax : float, optional
        Colour limits; default the 1st and 99th percentiles of the
        finite values shown.
    z, channel, neighbour_channel : int, optional
        Of a result of several planes or channels (of
        :func:`ipcf.analyze`): the plane and the channel pair to draw,
        by their labels. Default: the only one where there is one;
        else a ValueError names the dims and their labels.

    Returns
    -------
    matplotlib.figure.Figure
        Titled with the neighbour's offset, ``(u=..., v=...)`` in pixels
        along x and y, with its distance in µm when the pixel size is
        known, and the delay.

    Raises
    ------
    ValueError
        If `point` or a delay is out of range, or the number of axes does
        not match the number of delays.
    TypeError
        If `result` is not a DataArray, or `point` or a delay is not an
        integer.

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
    result = _select(
        result, z=z, channel=channel, neighbour_channel=neighbour_channel
    )
    from matplotlib.figure import Figure

    check_result(result)
    npoints, nbins = result.shape[2:]
    point = check_index(point, 'point', npoints)
    several = isinstance(delay, (Sequence, numpy.ndarray))
    delays = list(delay) if several else [delay]  # type: ignore[arg-type]
    if not delays:
        msg = 'delay is an empty sequence'
        raise ValueError(msg)
    delays = [check_index(d, 'delay', nbins) for d in delays]
    if pixel_size is None:
        pixel_size = physical_units(result.attrs)['pixel_size']
    scale, unit = spatial(pixel_size)
    if vmin is not None:
        vmin = check_real(vmin, 'vmin')
    if vmax is not None:
        vmax = check_real(vmax, 'vmax')
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
            fig, first = figure_axes(None)
            axes = [first]
    else:
        axes = list(ax) if isinstance(ax, Sequence) else [ax]
        if len(axes) != len(delays):
            msg = f'{len(axes)} axes given for {len(delays)} delays'
            raise ValueError(msg)
        fig = axes[0].figure
    images = result.values[:, :, point, :][:, :, delays]
    if vmin is None or vmax is None:
        low, high = limits(images)
        vmin = low if vmin is None else vmin
        vmax = high if vmax is None else vmax
    ys = result['y'].values
    xs = result['x'].values
    u = int(result['u'][point])
    v = int(result['v'][point])
    where = toward(u, v, scale)
    time = result['delay'].values
    for i, (axes_i, d) in enumerate(zip(axes, delays, strict=True)):
        im = axes_i.imshow(
            numpy.ma.masked_invalid(images[:, :, i]),
            cmap=colormap(CMAP),
            vmin=vmin,
            vmax=vmax,
            interpolation='nearest',
            extent=extent(ys[0], ys[-1], xs[0], xs[-1], scale),
        )
        tau = format_delay(time[d], delay_unit(result))
        title = f'pCF toward {where} at {tau}' if not several else f'{tau}'
        if not several:
            title += selection_note(result)
        axes_i.set(title=title, xlabel=f'x ({unit})', ylabel=f'y ({unit})')
    colorbar(fig, im, ax=axes, label='G', shrink=0.9)
    if several:
        fig.suptitle(
            f'pCF toward circle point {point}: {where}'
            + selection_note(result)
        )
    return fig


pcf_map = pcf_image
"""Former name of :func:`pcf_image`."""


def maps(
    dataset: xarray.Dataset,
    /,
    *,
    axes: Sequence[Axes] | None = None,
    pixel_size: float | None = None,
    arrows: int = 16,
    mask: ArrayLike | None = None,
    z: int | None = None,
    channel: int | None = None,
    neighbour_channel: int | None = None,
) -> Figure:
    """Plot the derived maps of :func:`ipcf.maps`.

    Panels: the delay of the pCF peak and G at the peak (means over the
    circle points), the diffusion coefficient when the dataset has one,
    and the direction of transport drawn as arrows (length: flow
    strength) over the anisotropy image. The maps are drawn as given;
    compute them first with ``ipcf.maps(result, pixel_size=..., w=...)``.
    The title of the D panel gives the pooled D (``attrs['D_pooled']``),
    marked ``(apparent)`` where ``attrs['D_pooled_free']`` is False: the
    curves are not those of free diffusion there.

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
        Pixel size in µm, > 0. Default: the dataset's ``pixel_size``
        attribute, else axes are in pixels.
    arrows : int, optional, default: 16
        About this many arrows along the longer side, >= 1.
    mask : array_like of bool, optional
        Pixels to show, e.g. the cell in the mean image (which
        ``ipcf plot --kind maps`` and the report find and pass here):
        shape ``(H', W')`` of the maps, or the shape of the
        input images, which must hold the maps' ``y`` and ``x``
        coordinates. Pixels outside are drawn as masked (light grey),
        get no arrow and do not count for the colour limits. Default:
        every pixel.
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
    TypeError
        If `dataset` is not an xarray.Dataset, for example a pCF result
        whose maps were not computed yet, or `mask` is not boolean.
    ValueError
        If a variable is missing or not over ``(y, x)``, the number of
        axes does not match the panels, or `mask` matches neither shape.

    Notes
    -----
    Colour limits are the 1st and 99th percentiles of the finite values
    inside the mask and farther than the circle radius
    (``attrs['radius']``) from its edge, so that pixels whose neighbours
    lie outside the cell do not set the scale. Each arrow is the mean
    flow vector (strength times the unit vector of its angle) of a block
    of pixels; the 95th percentile of their lengths, given in the
    title, gets 0.9 of the spacing of the arrows, longer ones are cut
    to it. Arrows are white with a dark edge, so they read on every
    colour of the map.

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
    >>> inside = numpy.ones((4, 4), dtype=bool)
    >>> inside[0] = False  # the first row of pixels is background
    >>> len(maps(ds, mask=inside).axes)
    6

    """
    dataset = _select(
        dataset, z=z, channel=channel, neighbour_channel=neighbour_channel
    )
    from matplotlib.figure import Figure

    needed = (
        'peak_delay',
        'peak_amplitude',
        'flow_angle',
        'flow_strength',
        'anisotropy',
    )
    names = getattr(dataset, 'data_vars', None)
    if names is None:
        dims = getattr(dataset, 'dims', None)
        if dims is not None and tuple(dims) == RESULT_DIMS:
            msg = (
                'maps draws the maps of a pCF result, not the result; '
                'pass ipcf.maps(result, pixel_size=..., w=...)'
            )
        else:
            msg = (
                f'dataset is a {type(dataset).__name__}; expected the '
                'xarray.Dataset of ipcf.maps'
            )
        raise TypeError(msg)
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
    if pixel_size is None:
        pixel_size = physical_units(dataset.attrs)['pixel_size']
    scale, unit = spatial(pixel_size)
    ys = dataset['y'].values
    xs = dataset['x'].values
    inside = _map_mask(mask, ys, xs)
    panels = [
        ('peak_delay', DELAY_CMAP, 'delay of the pCF peak'),
        ('peak_amplitude', AMPLITUDE_CMAP, 'amplitude of the pCF peak'),
    ]
    if 'D' in names:
        panels.append(('D', AMPLITUDE_CMAP, 'diffusion coefficient'))
    panels.append(('anisotropy', AMPLITUDE_CMAP, 'direction of transport'))
    if axes is None:
        fig = Figure(figsize=(4.4 * len(panels), 4.2), layout='constrained')
        axes = list(fig.subplots(1, len(panels)))
    else:
        axes = list(axes)
        if len(axes) != len(panels):
            msg = f'maps draws {len(panels)} panels; {len(axes)} axes given'
            raise ValueError(msg)
        fig = axes[0].figure
    bounds = extent(ys[0], ys[-1], xs[0], xs[-1], scale)

    interior = _interior(inside, dataset.attrs.get('radius'))
    for axes_i, (name, cmap, title) in zip(axes, panels, strict=True):
        values = numpy.where(inside, _plane(dataset, name), numpy.nan)
        low, high = limits(values[interior])
        im = axes_i.imshow(
            numpy.ma.masked_invalid(values),
            cmap=colormap(cmap),
            vmin=low,
            vmax=high,
            interpolation='nearest',
            extent=bounds,
        )
        colorbar(
            fig, im, ax=axes_i, label=_map_label(dataset, name), shrink=0.9
        )
        axes_i.set(title=title, xlabel=f'x ({unit})', ylabel=f'y ({unit})')
    pooled = dataset.attrs.get('D_pooled')
    if 'D' in names and pooled is not None and numpy.isfinite(pooled):
        # the curves are not those of free diffusion: no D, an apparent one
        free = dataset.attrs.get('D_pooled_free')
        apparent = ' (apparent)' if free is not None and not free else ''
        axes[2].set_title(
            f'diffusion coefficient\npooled {pooled:.3g} µm²/s{apparent}'
        )
    _flow_arrows(axes[-1], dataset, inside, arrows=arrows, scale=scale)
    return fig


_MAP_LABELS = {
    'peak_delay': 'delay of the peak',
    'peak_amplitude': 'G at the peak',
    'D': 'D',
    'anisotropy': 'anisotropy (0: none, 1: one axis)',
}
"""Colour-bar label of a map, before its unit."""


def _map_label(dataset: Any, name: str) -> str:
    """Return the colour-bar label of a map: words, then the unit."""
    units = dataset[name].attrs.get('units')
    if name == 'peak_delay' and 'dt' in dataset.attrs:
        # delays are in frames when the frame interval is not known
        units = delay_unit(dataset)
    units = UNITS.get(units, units if units not in (None, '', '1') else '')
    label = _MAP_LABELS.get(name, name)
    return f'{label} ({units})' if units else label


def _map_mask(mask: Any, ys: NDArray, xs: NDArray) -> NDArray[numpy.bool_]:
    """Return the (y, x) mask of the maps' pixels to show."""
    shape = (len(ys), len(xs))
    if mask is None:
        return numpy.ones(shape, dtype=bool)
    values = numpy.asarray(mask)
    if values.ndim == 2 and values.shape != shape:
        if values.shape[0] > ys[-1] and values.shape[1] > xs[-1]:
            # a mask of the input images: take the maps' pixels
            values = values[numpy.ix_(ys, xs)]
        else:
            msg = (
                f'mask.shape={values.shape} is neither that of the maps '
                f'{shape} nor that of images holding pixels up to '
                f'y={ys[-1]}, x={xs[-1]}'
            )
            raise ValueError(msg)
    return check_mask(values, shape)


def _interior(inside: NDArray, radius: Any) -> NDArray[numpy.bool_]:
    """Return the pixels of a mask farther than radius from its edge.

    Their circles of neighbours lie inside the mask: pixels nearer the
    edge correlate with what is outside (background, another region)
    and give outliers that should not set the colour scale. The whole
    mask when the radius is unknown or leaves under a quarter of it.

    """
    from scipy import ndimage

    if not isinstance(radius, (int, numpy.integer)) or radius < 1:
        return inside
    if inside.all():
        return inside
    eroded = ndimage.binary_erosion(
        inside, iterations=int(radius), border_value=1
    )
    return eroded if eroded.sum() >= 0.25 * inside.sum() else inside


def _flow_arrows(
    ax: Axes,
    dataset: Any,
    inside: NDArray,
    /,
    *,
    arrows: int,
    scale: float | None,
) -> None:
    """Draw the mean flow vector of blocks of pixels as arrows."""
    ys = dataset['y'].values.astype(numpy.float64)
    xs = dataset['x'].values.astype(numpy.float64)
    step = max(1, math.ceil(max(len(ys), len(xs)) / arrows))
    angle = _plane(dataset, 'flow_angle')
    strength = _plane(dataset, 'flow_strength')
    finite = inside & numpy.isfinite(angle) & numpy.isfinite(strength)
    vector = numpy.where(finite, strength * numpy.exp(1j * angle), 0.0)
    ny = math.ceil(len(ys) / step)
    nx = math.ceil(len(xs) / step)
    padded = numpy.zeros((ny * step, nx * step), dtype=numpy.complex128)
    padded[: len(ys), : len(xs)] = vector
    count = numpy.zeros(padded.shape)
    count[: len(ys), : len(xs)] = finite
    shown = numpy.zeros(padded.shape)
    shown[: len(ys), : len(xs)] = inside
    blocks = (ny, step, nx, step)
    count = count.reshape(blocks).sum(axis=(1, 3))
    area = shown.reshape(blocks).sum(axis=(1, 3))
    with numpy.errstate(invalid='ignore', divide='ignore'):
        mean = padded.reshape(blocks).sum(axis=(1, 3)) / count
    # a block mostly outside the mask gets no arrow
    keep = (count > 0) & (area >= 0.5 * step * step)
    mean = numpy.where(keep, mean, 0.0)
    if not keep.any():
        return
    # full length at the 95th percentile: a few strong blocks at the
    # cell's edge would otherwise shrink every other arrow to a dot
    top = float(numpy.percentile(numpy.abs(mean[keep]), 95.0))
    if top <= 0:
        return
    # the centre of each block's pixels, in input pixel coordinates
    by = numpy.array(
        [ys[i : i + step].mean() for i in range(0, len(ys), step)]
    )
    bx = numpy.array(
        [xs[i : i + step].mean() for i in range(0, len(xs), step)]
    )
    grid = numpy.meshgrid(by, bx, indexing='ij')
    gx, gy = centre(grid, scale)
    spacing = step * (1.0 if scale is None else scale)
    length = mean / top
    size = numpy.abs(length)
    length = length / numpy.maximum(size, 1.0)
    # angles grow from +x toward +y, which points down in the image:
    # with an inverted y axis, the data-space vector is (cos, sin)
    ax.quiver(
        gx[keep],
        gy[keep],
        length.real[keep],
        length.imag[keep],
        color='white',
        edgecolor='0.1',
        linewidth=0.8,
        angles='xy',
        scale_units='xy',
        scale=1.0 / (0.9 * spacing),
        pivot='middle',
        width=0.009,
        headwidth=3.0,
        headlength=3.0,
        headaxislength=2.7,
        minlength=0.5,
    )
    ax.set_title(f'{ax.get_title()}\narrows: flow, full length {top:.2g}')


def summary(
    result: xarray.DataArray,
    mean: ArrayLike,
    /,
    *,
    pixel: tuple[int, int] | None = None,
    point: int | None = None,
    delay: int | None = None,
    pixel_size: float | None = None,
) -> Figure:
    """Return a three-panel overview: mean image, carpet, pCF image.

    Both images are in µm when the pixel size is known, else in pixels.

    Parameters
    ----------
    result : xarray.DataArray
        Result of :func:`ipcf.pcf_image`.
    mean : array_like, shape (H, W)
        Mean intensity image of the input series.
    pixel : (y, x), optional
        Pixel whose carpet is shown, marked on the mean image; default
        the centre of the result.
    point, delay : int, optional
        Circle point and delay bin of the pCF image; default point 0 and
        the bin a third of the way along the delays.
    pixel_size : float, optional
        Pixel size in µm, > 0. Default: the result's ``pixel_size``
        attribute, else axes are in pixels.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If `pixel` is outside the result or the mean image, or `point`
        or `delay` is out of range.

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

    check_result(result)
    if pixel is None:
        pixel = centre_pixel(result)
    elif not hasattr(pixel, '__len__') or len(pixel) != 2:
        msg = f'{pixel=} is not a (y, x) pair'
        raise ValueError(msg)
    pixel = check_pixel(result, *pixel)
    npoints, nbins = result.shape[2:]
    point = check_index(0 if point is None else point, 'point', npoints)
    delay = check_index(nbins // 3 if delay is None else delay, 'delay', nbins)
    if pixel_size is None:
        pixel_size = physical_units(result.attrs)['pixel_size']
    fig = Figure(figsize=(15, 4.5), layout='constrained')
    axes = fig.subplots(1, 3)
    # one convention for both images: µm when the pixel size is known
    mean_image(mean, ax=axes[0], mark=pixel, pixel_size=pixel_size)
    carpet(result, *pixel, ax=axes[1])
    pcf_image(
        result, point=point, delay=delay, ax=axes[2], pixel_size=pixel_size
    )
    return fig


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
