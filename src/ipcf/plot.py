"""Figures of image series and pCF results (matplotlib).

Each function draws into `ax` when given, else into a new figure, and
returns the :class:`matplotlib.figure.Figure`. Figures are made without
pyplot, so they work in scripts, on servers and in Jupyter alike. Plots
read results; they never recompute correlations.

"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy

if TYPE_CHECKING:
    import xarray
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

__all__ = ['carpet', 'mean_image', 'pcf_map', 'summary']

_CMAP = 'viridis'
_DIVERGING = 'RdBu_r'


def mean_image(
    image: ArrayLike,
    /,
    *,
    ax: Axes | None = None,
    title: str = 'mean intensity',
    mark: tuple[int, int] | None = None,
) -> Figure:
    """Plot a mean intensity image.

    Parameters
    ----------
    image : array_like, shape (H, W)
        Mean over time of an image series.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.
    title : str, optional
        Axes title.
    mark : (y, x), optional
        Pixel to mark with a cross.

    Examples
    --------
    >>> fig = mean_image(numpy.ones((8, 8)))
    >>> fig.axes[0].get_title()
    'mean intensity'

    """
    image = numpy.asarray(image)
    if image.ndim != 2:
        msg = f'image.shape={image.shape} is not 2-D'
        raise ValueError(msg)
    fig, ax = _figure_axes(ax)
    im = ax.imshow(image, cmap='gray', interpolation='nearest')
    fig.colorbar(im, ax=ax, label='counts')
    if mark is not None:
        ax.plot(mark[1], mark[0], 'r+', markersize=12)
    ax.set(title=title, xlabel='x (pixel)', ylabel='y (pixel)')
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

    Parameters
    ----------
    result : xarray.DataArray
        Result of :func:`ipcf.pcf_image`.
    y, x : int
        Centre pixel in input pixel coordinates (``result.y``,
        ``result.x``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.

    Examples
    --------
    >>> import ipcf
    >>> data = numpy.random.default_rng(0).poisson(100, (64, 8, 8))
    >>> result = ipcf.pcf_image(data, radius=2, npoints=8, nbins=6)
    >>> fig = carpet(result, 3, 3)

    """
    curves = _pixel(result, y, x)
    fig, ax = _figure_axes(ax)
    delays = result['delay'].values
    values = curves.values
    finite = numpy.abs(values[numpy.isfinite(values)])
    limit = finite.max() if finite.size and finite.max() > 0 else 1.0
    im = ax.imshow(
        values,
        aspect='auto',
        cmap=_DIVERGING,
        vmin=-limit,
        vmax=limit,
        interpolation='nearest',
        extent=(-0.5, len(delays) - 0.5, len(values) - 0.5, -0.5),
    )
    fig.colorbar(im, ax=ax, label='G')
    ticks = numpy.linspace(0, len(delays) - 1, min(6, len(delays)))
    ticks = numpy.unique(ticks.round().astype(int))
    ax.set_xticks(ticks, [f'{delays[t]:.3g}' for t in ticks])
    ax.set(
        title=f'pCF carpet of pixel y={y}, x={x}',
        xlabel=f'delay ({_delay_unit(result)})',
        ylabel='circle point',
    )
    return fig


def pcf_map(
    result: xarray.DataArray,
    /,
    point: int = 0,
    delay: int = 0,
    *,
    ax: Axes | None = None,
) -> Figure:
    """Plot the pCF of every pixel for one circle point and delay bin.

    Parameters
    ----------
    result : xarray.DataArray
        Result of :func:`ipcf.pcf_image`.
    point : int, optional, default: 0
        Circle point index.
    delay : int, optional, default: 0
        Delay bin index.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into.

    Examples
    --------
    >>> import ipcf
    >>> data = numpy.random.default_rng(0).poisson(100, (64, 8, 8))
    >>> result = ipcf.pcf_image(data, radius=2, npoints=8, nbins=6)
    >>> fig = pcf_map(result, point=2, delay=1)

    """
    npoints, nbins = result.shape[2:]
    if not 0 <= point < npoints:
        msg = f'{point=} is out of range 0..{npoints - 1}'
        raise ValueError(msg)
    if not 0 <= delay < nbins:
        msg = f'{delay=} is out of range 0..{nbins - 1}'
        raise ValueError(msg)
    image = result[:, :, point, delay]
    fig, ax = _figure_axes(ax)
    y = result['y'].values
    x = result['x'].values
    im = ax.imshow(
        numpy.ma.masked_invalid(image.values),
        cmap=_CMAP,
        interpolation='nearest',
        extent=(x[0] - 0.5, x[-1] + 0.5, y[-1] + 0.5, y[0] - 0.5),
    )
    fig.colorbar(im, ax=ax, label='G')
    u = int(result['u'][point])
    v = int(result['v'][point])
    tau = float(result['delay'][delay])
    ax.set(
        title=f'pCF toward ({u}, {v}) at {tau:.3g} {_delay_unit(result)}',
        xlabel='x (pixel)',
        ylabel='y (pixel)',
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
    """Return a three-panel overview: mean image, carpet, pCF map.

    Parameters
    ----------
    result : xarray.DataArray
        Result of :func:`ipcf.pcf_image`.
    mean : array_like, shape (H, W)
        Mean intensity image of the input series.
    pixel : (y, x), optional
        Pixel whose carpet is shown; default the centre of the result.
    point, delay : int, optional
        Circle point and delay bin of the pCF map; default point 0 and
        the bin nearest a tenth of the delays.

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

    if pixel is None:
        pixel = (
            int(result['y'][result.shape[0] // 2]),
            int(result['x'][result.shape[1] // 2]),
        )
    point = 0 if point is None else point
    delay = result.shape[3] // 3 if delay is None else delay
    fig = Figure(figsize=(15, 4.5), layout='constrained')
    axes = fig.subplots(1, 3)
    mean_image(mean, ax=axes[0], mark=pixel)
    carpet(result, *pixel, ax=axes[1])
    pcf_map(result, point=point, delay=delay, ax=axes[2])
    return fig


def _figure_axes(ax: Axes | None) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4.5), layout='constrained')
    return fig, fig.add_subplot()


def _pixel(result: xarray.DataArray, y: int, x: int) -> Any:
    ys = result['y'].values
    xs = result['x'].values
    if not (ys[0] <= y <= ys[-1] and xs[0] <= x <= xs[-1]):
        msg = (
            f'pixel ({y}, {x}) is outside the result '
            f'(y {ys[0]}..{ys[-1]}, x {xs[0]}..{xs[-1]})'
        )
        raise ValueError(msg)
    return result.sel(y=y, x=x)


def _delay_unit(result: xarray.DataArray) -> str:
    return 's' if result.attrs.get('dt', 1.0) != 1.0 else 'frames'
