"""Figures of STICS and iMSD results (matplotlib).

- :func:`imsd_curve`: ``sigma2(tau)`` of the Gaussian fits with errors,
  the fitted model and, if asked, other models fitted to the same
  points; for the flow model, the peak's centre against the delay too.
- :func:`stics_images`: the STICS function at several delays, as
  images of the shift ``(xi, eta)``: a peak that spreads (diffusion)
  and moves (flow).
- :func:`imsd_maps`: maps of the local iMSD (``ipcf.imsd(...,
  block=...)``): D, alpha, L, sigma0, speed.

They draw results and do not compute them, except that
:func:`imsd_curve` fits the extra `models` to the stored Gaussian fits
(:func:`ipcf.imsd.fit_model`, a fit of a few numbers).

"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy

from ._common import (
    CMAP,
    colormap,
    delay_axis,
    delay_unit,
    format_delay,
    limits,
    panel_row,
)
from .fcs import _check_dataset, _fit_title, _map_panels

if TYPE_CHECKING:
    import xarray
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ['imsd_curve', 'imsd_maps', 'stics_images']

_COLOURS = {
    'free': 'C1',
    'anomalous': 'C2',
    'confined': 'C3',
    'flow': 'C4',
}


def imsd_curve(
    result: xarray.Dataset,
    /,
    *,
    models: Sequence[str] = (),
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Plot the iMSD, ``sigma2`` against the delay, with its fit.

    Parameters
    ----------
    result : xarray.Dataset
        Result of :func:`ipcf.imsd` over a whole field (no `block`).
    models : sequence of str, optional
        Other models of :data:`ipcf.imsd.MODELS` to fit to the same
        points and draw, e.g. ``('free', 'confined')``.
    axes : sequence of matplotlib.axes.Axes, optional
        One axes, or two for a flow result (the centre drawn in the
        second). None makes a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If `result` is not a Dataset.
    ValueError
        If it is a map result, a model is unknown, or `axes` has the
        wrong length.

    Examples
    --------
    >>> from ipcf import simulate
    >>> from ipcf.imsd import imsd
    >>> sim = simulate.free(shape=(256, 24, 24), seed=0)
    >>> result = imsd(sim.data, pixel_size=0.1, dt=1e-3, max_delay=6,
    ...               offset=100.0)
    >>> fig = imsd_curve(result, models=['anomalous'])
    >>> fig.axes[0].get_ylabel()
    'σ² (µm²)'

    """
    from .._validate import check_choice
    from ..imsd import MODELS, PARAMETERS, fit_model

    _check_dataset(result, 'result', 'the Dataset of ipcf.imsd')
    if 'y' in result.dims:
        msg = 'result holds maps (block=...); draw them with imsd_maps'
        raise ValueError(msg)
    model = result.attrs.get('model', 'free')
    models = [check_choice(m, 'models', MODELS) for m in models]
    npanels = 2 if model == 'flow' else 1
    fig, axes = panel_row(
        axes,
        npanels,
        panel=(5.5, 4.2),
        message=f'{npanels} axes needed for a {model!r} result',
    )
    ax = axes[0]
    unit = delay_unit(result)
    tau = numpy.asarray(result['delay'], numpy.float64)
    s2 = numpy.asarray(result['sigma2'], numpy.float64)
    err = numpy.asarray(result['sigma2_error'], numpy.float64)
    used = numpy.asarray(result['used'], bool)
    ax.errorbar(
        tau[used],
        s2[used],
        yerr=err[used],
        fmt='o',
        ms=4,
        color='C0',
        label='Gaussian fits',
    )
    if (~used).any():
        ax.plot(
            tau[~used],
            s2[~used],
            'o',
            ms=4,
            mfc='none',
            color='C0',
            label='not fitted',
        )
    label = _label(result, model, PARAMETERS[model])
    ax.plot(tau, result['sigma2_fit'], '-', color=_COLOURS[model], label=label)
    fits = {name: result[name].values for name in result.data_vars}
    for other in models:
        if other == model:
            continue
        try:
            params = fit_model(fits, tau, model=other)
        except ValueError:
            continue  # too few points for that model
        ax.plot(
            tau,
            params['sigma2_fit'],
            '--',
            color=_COLOURS[other],
            label=_label(params, other, PARAMETERS[other]),
        )
    ax.set(ylabel='σ² (µm²)', title=f'iMSD, {model} model')
    # a linear axis: sigma2 grows linearly with the delay for free motion
    delay_axis(ax, tau, unit, scale='linear')
    ax.legend(fontsize='small')
    if model == 'flow':
        ax2 = axes[1]
        for axis, colour in (('x', 'C0'), ('y', 'C3')):
            centre = numpy.asarray(result[f'centre_{axis}'], numpy.float64)
            error = numpy.asarray(
                result[f'centre_{axis}_error'], numpy.float64
            )
            ax2.errorbar(
                tau[used],
                centre[used],
                yerr=error[used],
                fmt='o',
                ms=4,
                color=colour,
                label=f'centre {axis}',
            )
            slope = float(result[f'v{axis}'])
            start = numpy.nanmedian(centre[used] - slope * tau[used])
            ax2.plot(tau, start + slope * tau, '-', color=colour)
        delay_axis(ax2, tau, unit, scale='linear')
        ax2.set(
            ylabel='peak centre (µm)',
            title=(
                f'speed {float(result["speed"]):.3g} µm/s, '
                f'direction {float(result["direction"]):.3g}°'
            ),
        )
        ax2.legend(fontsize='small')
    return fig


def _label(values: Any, model: str, names: Sequence[str]) -> str:
    """Return a legend entry with the model's main parameters."""
    parts = []
    for name in names:
        if name in ('vx', 'vy', 'direction'):
            continue
        value = float(values[name])
        parts.append(f'{name}={value:.3g}')
    return f'{model}: ' + ', '.join(parts)


def stics_images(
    correlation: xarray.DataArray,
    /,
    delays: Sequence[int] | None = None,
    *,
    axes: Sequence[Axes] | None = None,
    pixel_size: float | None = None,
) -> Figure:
    """Plot the STICS function at several delays as images.

    Parameters
    ----------
    correlation : xarray.DataArray
        Result of :func:`ipcf.stics`, dims ``('delay', 'eta', 'xi')``.
    delays : sequence of int, optional
        Indices into ``delay`` to draw. None (default): four spread over
        the result, after delay 0 (whose photon noise hides the peak).
    axes : sequence of matplotlib.axes.Axes, optional
        One per delay. None makes a new figure.
    pixel_size : float, optional
        Pixel size in µm, > 0: shifts in µm. None: the result's
        ``pixel_size`` attribute if not 1, else pixels.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If `correlation` is not a DataArray.
    ValueError
        If it has other dims, an index is out of range, or `axes` has
        the wrong length.

    Examples
    --------
    >>> from ipcf import simulate
    >>> from ipcf.stics import stics
    >>> sim = simulate.free(shape=(128, 24, 24), seed=0)
    >>> g = stics(sim.data, max_delay=8, max_shift=6, offset=100.0)
    >>> len(stics_images(g, [1, 4, 8]).axes)  # images and colour bars
    6

    """
    import xarray

    from .._validate import check_int

    if not isinstance(correlation, xarray.DataArray):
        msg = (
            f'correlation is a {type(correlation).__name__}; expected '
            'the DataArray of ipcf.stics'
        )
        raise TypeError(msg)
    if correlation.dims != ('delay', 'eta', 'xi'):
        msg = (
            f'correlation.dims={correlation.dims} are not '
            "('delay', 'eta', 'xi')"
        )
        raise ValueError(msg)
    ndelays = correlation.sizes['delay']
    if delays is None:
        lags = numpy.asarray(correlation['delay'], numpy.float64)
        first = 1 if ndelays > 1 and lags[0] == 0 else 0
        count = min(4, ndelays - first)
        delays = numpy.unique(
            numpy.rint(numpy.linspace(first, ndelays - 1, count)).astype(int)
        ).tolist()
    delays = [check_int(d, 'delays') for d in delays]
    for d in delays:
        if not 0 <= d < ndelays:
            msg = f'delay index {d} is not in 0..{ndelays - 1}'
            raise ValueError(msg)
    if pixel_size is None:
        pixel_size = correlation.attrs.get('pixel_size', 1.0)
        pixel_size = None if pixel_size == 1.0 else pixel_size
    scale = 1.0 if pixel_size is None else float(pixel_size)
    unit = 'pixel' if pixel_size is None else 'µm'
    fig, axes = panel_row(
        axes,
        len(delays),
        panel=(3.6, 3.4),
        message=f'{len(delays)} delays to draw; {{given}} axes given',
    )
    xi = numpy.asarray(correlation['xi'], numpy.float64) * scale
    eta = numpy.asarray(correlation['eta'], numpy.float64) * scale
    half = scale / 2
    bounds = (xi[0] - half, xi[-1] + half, eta[-1] + half, eta[0] - half)
    time_unit = delay_unit(correlation)
    for ax, d in zip(axes, delays, strict=True):
        values = numpy.asarray(correlation[d], numpy.float64)
        low, high = limits(values)
        image = ax.imshow(
            numpy.ma.masked_invalid(values),
            cmap=colormap(CMAP),
            vmin=low,
            vmax=high,
            interpolation='nearest',
            extent=bounds,
        )
        fig.colorbar(image, ax=ax, shrink=0.85)
        when = format_delay(float(correlation['delay'][d]), time_unit)
        ax.set(title=f'G, delay {when}', xlabel=f'ξ ({unit})')
        ax.set_ylabel(f'η ({unit})')
    return fig


def imsd_maps(
    maps: xarray.Dataset,
    /,
    keys: Sequence[str] | None = None,
    *,
    axes: Sequence[Axes] | None = None,
    pixel_size: float | None = None,
) -> Figure:
    """Plot maps of a local iMSD: the model's parameters over the image.

    Parameters
    ----------
    maps : xarray.Dataset
        Result of ``ipcf.imsd(..., block=...)``.
    keys : sequence of str, optional
        Maps to draw. None (default): the model's parameters (``D``,
        ``alpha``, ``L``, ``speed``...) and ``sigma0``.
    axes : sequence of matplotlib.axes.Axes, optional
        One per map. None makes a new figure.
    pixel_size : float, optional
        Input pixel size in µm, > 0. Default: the result's
        ``pixel_size`` attribute if not 1, else pixels.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If `maps` is not a Dataset.
    ValueError
        If a map is missing, or `axes` has the wrong length.

    Examples
    --------
    >>> from ipcf import simulate
    >>> from ipcf.imsd import imsd
    >>> sim = simulate.free(shape=(256, 24, 24), seed=0)
    >>> maps = imsd(sim.data, pixel_size=0.1, dt=1e-3, max_delay=6,
    ...             offset=100.0, block=12, step=6)
    >>> len(imsd_maps(maps).axes)  # D and sigma0, with colour bars
    4

    """
    from ..imsd import PARAMETERS

    _check_dataset(maps, 'maps', 'the Dataset of ipcf.imsd(block=...)')
    if keys is None:
        model = maps.attrs.get('model', 'free')
        keys = [
            k
            for k in PARAMETERS[model]
            if k not in ('sigma0', 'vx', 'vy', 'tau_c')
        ]
        keys.append('sigma0')
    if pixel_size is None:
        pixel_size = maps.attrs.get('pixel_size')
        pixel_size = None if pixel_size == 1.0 else pixel_size
    return _map_panels(
        maps, keys, axes=axes, pixel_size=pixel_size, title=_fit_title
    )
