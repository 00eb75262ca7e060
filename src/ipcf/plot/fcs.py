"""Figures of imaging FCS and number and brightness (N&B) results.

:func:`fcs_maps` draws the maps of :func:`ipcf.fcs.fit_acf` (N and D by
default); :func:`acf_curve` one pixel's autocorrelation with its fit and
the residuals; :func:`nb_maps` the maps of
:func:`ipcf.brightness.number_brightness`; :func:`brightness_scatter`
the pixels in the brightness-intensity plane
(:func:`ipcf.brightness.brightness_histogram`) with the line of no
molecules and the monomer line. The figures draw results; they do not
fit or compute them.

:func:`draw_fcs` is what ``ipcf plot`` draws for such results: it reads
the store, fits an ACF where a figure needs the fit (the pixel size and
the PSF radius known) and calls the figure.

"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy

from .._validate import check_int, check_positive, check_real
from ._common import (
    AMPLITUDE_CMAP,
    CMAP,
    INTENSITY,
    colormap,
    delay_axis,
    delay_unit,
    figure_axes,
    limits,
    panel_row,
    spatial,
)

if TYPE_CHECKING:
    import xarray
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    'FCS_KINDS',
    'acf_curve',
    'brightness_scatter',
    'draw_fcs',
    'fcs_maps',
    'nb_maps',
    'result_kind',
]

FCS_KINDS = {
    'acf': ('maps', 'acf', 'mean', 'trace'),
    'fcs': ('maps', 'acf', 'mean', 'trace'),
    'nb': ('maps', 'brightness', 'mean', 'trace'),
}
"""Figure kinds of :func:`draw_fcs` for each kind of result."""

_GROUPS = ('acf', 'fcs', 'nb')

# map -> (label, colour map)
_LABELS = {
    'N': ('N (particles in A_eff)', AMPLITUDE_CMAP),
    'D': ('D (µm²/s)', CMAP),
    'D2': ('D2 (µm²/s)', CMAP),
    'F2': ('F2 (fraction of D2)', CMAP),
    'density': ('density (per µm²)', AMPLITUDE_CMAP),
    'G_inf': ('G_inf', CMAP),
    'chi2': ('reduced χ²', CMAP),
    'intensity': ('intensity (counts)', INTENSITY),
    'variance': ('variance (counts²)', INTENSITY),
    'B_app': ('B_app (apparent brightness)', AMPLITUDE_CMAP),
    'N_app': ('N_app (apparent number)', CMAP),
    'epsilon': ('ε (photons per molecule and frame)', AMPLITUDE_CMAP),
    'n': ('n (molecules per pixel)', CMAP),
}


def result_kind(result: Any, /) -> str | None:
    """Return 'acf', 'fcs' (a fit) or 'nb' for such a result, else None.

    Stores are recognised by their groups, in-memory results by their
    variables.

    >>> import xarray
    >>> result_kind(xarray.Dataset({'B_app': ('y', [1.0]),
    ...                             'epsilon': ('y', [0.0])}))
    'nb'
    >>> result_kind('missing.h5') is None
    True

    """
    if isinstance(result, str | os.PathLike):
        return _store_group(result)
    names = set(getattr(result, 'data_vars', ()) or ())
    if not names:
        if getattr(result, 'name', None) == 'acf' and hasattr(result, 'dims'):
            return 'acf'
        return None
    if 'acf' in names:
        return 'acf'
    if {'B_app', 'epsilon'} <= names:
        return 'nb'
    if {'N', 'D', 'chi2'} <= names:
        return 'fcs'
    return None


def fcs_maps(
    fit: xarray.Dataset,
    /,
    keys: Sequence[str] = ('N', 'D'),
    *,
    axes: Sequence[Axes] | None = None,
    pixel_size: float | None = None,
) -> Figure:
    """Plot maps of a fit of imaging FCS, N and D by default.

    Parameters
    ----------
    fit : xarray.Dataset
        Result of :func:`ipcf.fcs.fit_acf` (or a stored one).
    keys : sequence of str, optional, default: ('N', 'D')
        Maps to draw, e.g. ``('N', 'D', 'chi2')``.
    axes : sequence of matplotlib.axes.Axes, optional
        Axes to draw into, one per map.
    pixel_size : float, optional
        Input pixel size in µm, > 0. Default: the fit's ``pixel_size``
        attribute, else axes are in pixels.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If `fit` is not a Dataset.
    ValueError
        If a map is missing or the number of axes does not match.

    Examples
    --------
    >>> import xarray
    >>> ones = numpy.ones((3, 4))
    >>> fit = xarray.Dataset({'N': (('y', 'x'), ones),
    ...                       'D': (('y', 'x'), 2 * ones)},
    ...                      coords={'y': [0, 1, 2], 'x': [0, 1, 2, 3]})
    >>> len(fcs_maps(fit).axes)  # two maps and their colour bars
    4

    """
    _check_dataset(fit, 'fit', 'the Dataset of ipcf.fcs.fit_acf')
    if pixel_size is None:
        pixel_size = fit.attrs.get('pixel_size')
    fig = _map_panels(
        fit, keys, axes=axes, pixel_size=pixel_size, title=_fit_title
    )
    return fig


def nb_maps(
    nb: xarray.Dataset,
    /,
    keys: Sequence[str] = ('intensity', 'B_app', 'epsilon', 'n'),
    *,
    axes: Sequence[Axes] | None = None,
    pixel_size: float | None = None,
) -> Figure:
    """Plot maps of a number and brightness analysis.

    Parameters
    ----------
    nb : xarray.Dataset
        Result of :func:`ipcf.brightness.number_brightness` (or a stored
        one).
    keys : sequence of str, optional
        Maps to draw; default intensity, ``B_app``, ``epsilon`` and
        ``n``.
    axes : sequence of matplotlib.axes.Axes, optional
        Axes to draw into, one per map.
    pixel_size : float, optional
        Pixel size in µm, > 0; default axes in pixels.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from ipcf.brightness import number_brightness
    >>> counts = numpy.random.default_rng(0).poisson(50, (64, 4, 5))
    >>> len(nb_maps(number_brightness(counts)).axes)
    8

    """
    _check_dataset(
        nb, 'nb', 'the Dataset of ipcf.brightness.number_brightness'
    )
    if pixel_size is None:
        pixel_size = nb.attrs.get('pixel_size')
    return _map_panels(nb, keys, axes=axes, pixel_size=pixel_size)


def acf_curve(
    acf: xarray.DataArray | xarray.Dataset,
    /,
    y: float,
    x: float,
    *,
    fit: xarray.Dataset | None = None,
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Plot the autocorrelation of one pixel, its fit and the residuals.

    Parameters
    ----------
    acf : xarray.DataArray or xarray.Dataset
        Result of :func:`ipcf.fcs.acf_image` or its stored form. Errors
        (``acf_error``, multiple-tau) are drawn as error bars.
    y, x : float
        The pixel in input pixel coordinates; a binned pixel is the one
        whose centre is nearest.
    fit : xarray.Dataset, optional
        Result of :func:`ipcf.fcs.fit_acf` of `acf` (or of the pixel
        alone): its curve ``fit`` is drawn with N and D, and the
        residuals below (divided by the errors where there are errors).
    axes : sequence of two matplotlib.axes.Axes, optional
        Axes of the curve and of the residuals; default a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the pixel is outside the result, or `fit` lacks it.

    Examples
    --------
    >>> from ipcf import fcs
    >>> lag = numpy.geomspace(1e-3, 1.0, 24)
    >>> g = fcs.acf_model(lag, diffusion=1.0, number=2.0,
    ...                   pixel_size=0.1, w=0.25)
    >>> import xarray
    >>> acf = xarray.DataArray(numpy.tile(g, (2, 3, 1)),
    ...                        dims=('y', 'x', 'delay'),
    ...                        coords={'delay': lag, 'y': [0, 1],
    ...                                'x': [0, 1, 2]},
    ...                        name='acf', attrs={'dt': 1e-3})
    >>> fit = fcs.fit_acf(acf, pixel_size=0.1, w=0.25)
    >>> fig = acf_curve(acf, 1, 2, fit=fit)
    >>> fig.axes[1].get_ylabel()
    'residual'

    """
    from matplotlib.figure import Figure

    values, errors = _acf_parts(acf)
    j, i = _pixel_index(values, y, x)
    py, px = values['y'].values[j], values['x'].values[i]
    curve = numpy.asarray(values.values[j, i], dtype=numpy.float64)
    error = None if errors is None else errors[j, i]
    delay = numpy.asarray(values['delay'].values, dtype=numpy.float64)
    model = None
    if fit is not None:
        _check_dataset(fit, 'fit', 'the Dataset of ipcf.fcs.fit_acf')
        if 'fit' not in fit.data_vars:
            msg = 'fit has no fitted curves "fit"; pass what fit_acf returns'
            raise ValueError(msg)
        fj, fi = _pixel_index(fit, py, px)
        model = numpy.asarray(fit['fit'].values[fj, fi], numpy.float64)
        if model.shape != curve.shape:
            msg = (
                f'fit has {model.size} delays, the ACF {curve.size}; pass '
                'the fit of this ACF'
            )
            raise ValueError(msg)
    if axes is None:
        fig = Figure(figsize=(6, 5.5), layout='constrained')
        top, bottom = fig.subplots(
            2, 1, sharex=True, height_ratios=(3, 1), squeeze=True
        )
    else:
        axes = list(axes)
        if len(axes) != 2:
            msg = f'acf_curve draws 2 panels; {len(axes)} axes given'
            raise ValueError(msg)
        top, bottom = axes
        fig = top.figure
    shown = delay > 0
    if error is not None:
        top.errorbar(
            delay[shown],
            curve[shown],
            yerr=error[shown],
            fmt='o',
            markersize=3,
            capsize=2,
            label='ACF',
        )
    else:
        top.plot(delay[shown], curve[shown], 'o', markersize=3, label='ACF')
    title = f'ACF of pixel y={_number(py)}, x={_number(px)}'
    if model is not None:
        label = 'fit'
        n_value = float(fit['N'].values[fj, fi])
        d_value = float(fit['D'].values[fj, fi])
        if numpy.isfinite(d_value):
            label = f'fit: N = {n_value:.3g}, D = {d_value:.3g} µm²/s'
        top.plot(delay[shown], model[shown], '-', label=label)
        residual = curve - model
        ylabel = 'residual'
        if error is not None:
            with numpy.errstate(divide='ignore', invalid='ignore'):
                residual = numpy.where(error > 0, residual / error, numpy.nan)
            ylabel = 'residual / error'
        bottom.plot(delay[shown], residual[shown], 'o', markersize=3)
        bottom.set_ylabel(ylabel)
    else:
        bottom.text(
            0.5,
            0.5,
            'no fit: residuals need the pixel size and PSF radius',
            ha='center',
            va='center',
            transform=bottom.transAxes,
            fontsize='small',
        )
        bottom.set_ylabel('residual')
    bottom.axhline(0.0, color='0.6', linewidth=0.8)
    top.axhline(0.0, color='0.8', linewidth=0.8)
    top.set_xscale('log')
    bottom.set_xscale('log')
    top.set(ylabel='G(τ)', title=title)
    top.legend(fontsize='small')
    unit = delay_unit(values)
    # round delays on both panels (shared or not); the label below only
    for ax in (top, bottom):
        delay_axis(ax, delay[shown], unit)
    top.set_xlabel('')
    bottom.set_xlabel('delay τ' if unit == 's' else f'delay τ ({unit})')
    return fig


def brightness_scatter(
    nb: xarray.Dataset,
    /,
    *,
    bins: int = 64,
    monomer: float | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Plot the pixels in the brightness-intensity plane.

    The 2-D histogram of ``B_app`` against the intensity
    (:func:`ipcf.brightness.brightness_histogram`), with the line of no
    mobile molecules ``B_app = S`` and the monomer line ``B_app = S + G
    epsilon`` (``S`` and ``G`` from the result's ``s_factor`` and
    ``gain``): pixels of monomers cluster on it, dimers at twice its
    ``G epsilon`` above ``S``.

    Parameters
    ----------
    nb : xarray.Dataset
        Result of :func:`ipcf.brightness.number_brightness`.
    bins : int, optional, default: 64
        Bins along each axis, >= 1.
    monomer : float, optional
        Brightness ``epsilon`` of a monomer (photons per molecule and
        frame), > 0, e.g. from a monomer control; its line and the
        dimer line are drawn. Default: the median ``epsilon`` of the
        pixels is drawn, labelled so.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; default a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from ipcf.brightness import number_brightness
    >>> counts = numpy.random.default_rng(0).poisson(50, (256, 8, 8))
    >>> fig = brightness_scatter(number_brightness(counts), bins=8)
    >>> fig.axes[0].get_ylabel()
    'B_app'

    """
    import matplotlib
    from matplotlib.colors import LogNorm

    from ..brightness import brightness_histogram

    _check_dataset(
        nb, 'nb', 'the Dataset of ipcf.brightness.number_brightness'
    )
    bins = check_int(bins, 'bins', minimum=1)
    if monomer is not None:
        monomer = check_positive(monomer, 'monomer')
    hist = brightness_histogram(nb, bins=bins)
    yedges = numpy.asarray(hist.attrs['B_app_edge'])
    xedges = numpy.asarray(hist.attrs['intensity_edge'])
    counts = numpy.asarray(hist.values, dtype=numpy.float64)
    fig, ax = figure_axes(ax)
    shown = numpy.ma.masked_less_equal(counts, 0)
    mesh = ax.pcolormesh(
        xedges,
        yedges,
        shown,
        # empty bins stay blank, not the grey of masked pixels
        cmap=matplotlib.colormaps['magma_r'].with_extremes(bad=(0, 0, 0, 0)),
        norm=LogNorm(vmin=1, vmax=max(1.0, counts.max())),
    )
    fig.colorbar(mesh, ax=ax, label='pixels')
    s = float(nb.attrs.get('s_factor', 1.0))
    gain = float(nb.attrs.get('gain', 1.0))
    ax.axhline(
        s,
        color='0.3',
        linestyle=':',
        label=f'no mobile molecules, B = {s:.3g}',
    )
    if monomer is None:
        epsilon = numpy.asarray(nb['epsilon'].values, numpy.float64)
        epsilon = epsilon[numpy.isfinite(epsilon)]
        if epsilon.size:
            median = float(numpy.median(epsilon))
            ax.axhline(
                s + gain * median,
                color='C1',
                label=f'median ε = {median:.3g}',
            )
    else:
        ax.axhline(
            s + gain * monomer, color='C1', label=f'monomer ε = {monomer:.3g}'
        )
        ax.axhline(
            s + 2 * gain * monomer,
            color='C3',
            linestyle='--',
            label=f'dimer ε = {2 * monomer:.3g}',
        )
    ax.set(
        xlabel='intensity (counts)',
        ylabel='B_app',
        title='brightness against intensity',
    )
    ax.legend(fontsize='small')
    return fig


def draw_fcs(
    source: Any,
    /,
    kind: str,
    *,
    data: Any = None,
    pixel: tuple[float, float] | None = None,
    pixel_size: float | None = None,
    psf_radius: float | None = None,
    monomer: float | None = None,
    progress: bool = False,
) -> Figure:
    """Return a figure of an imaging FCS or N&B result by kind.

    What :func:`ipcf.plot.draw` (``ipcf plot``) draws for these results.

    Parameters
    ----------
    source : str or path or xarray.DataArray or xarray.Dataset
        A store with an ``acf``, ``fcs`` (fit) or ``nb`` group, or such
        a result.
    kind : str
        For an ACF: ``'maps'`` (the fit's N and D, fitted here),
        ``'acf'`` (:func:`acf_curve` of `pixel` with its fit); for a
        fit: ``'maps'`` and ``'acf'`` (its ACF store found from the
        ``acf_store`` attribute); for N&B: ``'maps'`` (:func:`nb_maps`)
        and ``'brightness'`` (:func:`brightness_scatter`). ``'mean'``
        and ``'trace'`` draw the image series of any of them.
    data : str or path or array_like, optional
        The image series (default: the result's recorded source).
    pixel : (y, x), optional
        Pixel of ``'acf'``; default the centre.
    pixel_size, psf_radius : float, optional
        In µm; default from the result or the data's metadata. The fit
        of an ACF needs both.
    monomer : float, optional
        Monomer brightness of ``'brightness'``.
    progress : bool, optional, default: False
        Show progress bars while reading data.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If the kind does not apply to the result or what it needs is not
        known.

    Examples
    --------
    >>> from ipcf.brightness import number_brightness
    >>> counts = numpy.random.default_rng(0).poisson(50, (64, 4, 4))
    >>> draw_fcs(number_brightness(counts), 'brightness').axes[0].get_xlabel()
    'intensity (counts)'

    """
    from .._sources import physical_units, source_of
    from .._validate import check_string

    kind = check_string(kind, 'kind')
    path = source if isinstance(source, str | os.PathLike) else None
    what = result_kind(source)
    if what is None:
        msg = 'source is not an imaging FCS (acf, fcs) or N&B (nb) result'
        raise ValueError(msg)
    result = _load(path, what) if path is not None else source
    if kind not in FCS_KINDS[what]:
        allowed = ', '.join(repr(k) for k in FCS_KINDS[what])
        msg = (
            f'kind {kind!r} does not apply to {_NAMES[what]}; choose {allowed}'
        )
        raise ValueError(msg)
    if pixel_size is not None:
        pixel_size = check_positive(pixel_size, 'pixel_size')
    if psf_radius is not None:
        psf_radius = check_positive(psf_radius, 'psf_radius')
    if monomer is not None:
        monomer = check_positive(monomer, 'monomer')
    if data is None:
        data = source_of(result, path)
    units = physical_units(
        {'pixel_size': pixel_size, 'psf_radius': psf_radius},
        result.attrs,
        data,
    )
    if kind in {'mean', 'trace'}:
        from .series import intensity_trace, mean_image

        if data is None:
            msg = (
                f'kind {kind!r} needs the image series; the result names '
                f'{result.attrs.get("source")!r}, which was not found: '
                'give the data (--data)'
            )
            raise ValueError(msg)
        if kind == 'mean':
            mark = None if pixel is None else tuple(int(p) for p in pixel)
            return mean_image(
                data,
                mark=mark,
                pixel_size=units['pixel_size'],
                progress=progress,
            )
        return intensity_trace(
            data, dt=units['frame_interval'], pixel=pixel, progress=progress
        )
    if what == 'nb':
        if kind == 'maps':
            return nb_maps(result, pixel_size=units['pixel_size'])
        return brightness_scatter(result, monomer=monomer)
    acf, fit = (result, None) if what == 'acf' else (None, result)
    if kind == 'maps':
        if fit is None:
            fit = _fit(acf, units, needed="kind 'maps'")
        return fcs_maps(fit, pixel_size=units['pixel_size'])
    if acf is None:
        acf = _acf_of_fit(fit, path)
    if pixel is None:
        values = _acf_parts(acf)[0]
        pixel = (
            values['y'].values[values.shape[0] // 2],
            values['x'].values[values.shape[1] // 2],
        )
    if fit is None and None not in (units['pixel_size'], units['psf_radius']):
        values = _acf_parts(acf)[0]
        j, i = _pixel_index(values, *pixel)
        one = acf.isel(y=[j], x=[i])
        fit = _fit(one, units, needed="kind 'acf'")
    return acf_curve(acf, *pixel, fit=fit)


_NAMES = {
    'acf': 'an ACF result',
    'fcs': 'a fit of an ACF',
    'nb': 'an N&B result',
}


def _store_group(path: str | os.PathLike[str]) -> str | None:
    from ..store import result_groups

    groups = result_groups(path)
    if 'pcf' in groups:
        return None
    return next((g for g in _GROUPS if g in groups), None)


def _load(path: str | os.PathLike[str], group: str) -> Any:
    from ..store import load_result

    return load_result(path, group=group)


def _fit(acf: Any, units: dict[str, Any], *, needed: str) -> Any:
    """Return the fit of an ACF with the units known, or refuse."""
    from ..fcs import fit_acf

    if units['pixel_size'] is None or units['psf_radius'] is None:
        msg = (
            f'{needed} needs the pixel size and the PSF radius in µm to '
            'fit the ACF; give them (--pixel-size, --psf) or data with '
            'that metadata'
        )
        raise ValueError(msg)
    return fit_acf(acf, pixel_size=units['pixel_size'], w=units['psf_radius'])


def _acf_of_fit(fit: Any, path: Any) -> Any:
    """Return the ACF that a stored fit names (``acf_store``)."""
    from pathlib import Path

    name = fit.attrs.get('acf_store')
    candidates = []
    if isinstance(name, str) and name:
        if path is not None:
            candidates.append(Path(path).parent / name)
        candidates.append(Path(name))
    for candidate in candidates:
        if candidate.exists():
            return _load(candidate, 'acf')
    msg = (
        f"kind 'acf' needs the ACF of the fit; the fit names {name!r}, "
        'which was not found: plot the ACF store instead'
    )
    raise ValueError(msg)


def _check_dataset(value: Any, name: str, expected: str) -> None:
    import xarray

    if not isinstance(value, xarray.Dataset):
        msg = f'{name} is a {type(value).__name__}; expected {expected}'
        raise TypeError(msg)


def _acf_parts(acf: Any) -> tuple[Any, Any]:
    """Return the ACF DataArray (with the result's attrs) and errors."""
    import xarray

    if isinstance(acf, xarray.Dataset):
        if 'acf' not in acf.data_vars:
            msg = 'acf is a Dataset without an "acf" variable'
            raise ValueError(msg)
        values = acf['acf'].copy(deep=False)
        values.attrs = {**acf.attrs, **values.attrs}
        errors = acf['acf_error'].values if 'acf_error' in acf else None
    elif isinstance(acf, xarray.DataArray):
        values = acf
        errors = acf['acf_error'].values if 'acf_error' in acf.coords else None
    else:
        msg = (
            f'acf is a {type(acf).__name__}; expected the result of '
            'ipcf.fcs.acf_image'
        )
        raise TypeError(msg)
    if tuple(values.dims) != ('y', 'x', 'delay'):
        msg = (
            f"acf has dims {tuple(values.dims)}; expected ('y', 'x', 'delay')"
        )
        raise ValueError(msg)
    return values, errors


def _pixel_index(result: Any, y: Any, x: Any) -> tuple[int, int]:
    """Return the indices of the (binned) pixel whose centre is nearest."""
    y = check_real(y, 'y')
    x = check_real(x, 'x')
    index = []
    for name, value in (('y', y), ('x', x)):
        coords = numpy.asarray(result[name].values, dtype=numpy.float64)
        step = float(coords[1] - coords[0]) if coords.size > 1 else 1.0
        k = int(numpy.argmin(numpy.abs(coords - value)))
        if abs(coords[k] - value) > step / 2:
            msg = (
                f'pixel (y={_number(y)}, x={_number(x)}) is outside the '
                f'result, whose pixels are y {_number(result["y"].values[0])}'
                f'..{_number(result["y"].values[-1])} and x '
                f'{_number(result["x"].values[0])}..'
                f'{_number(result["x"].values[-1])}'
            )
            raise ValueError(msg)
        index.append(k)
    return index[0], index[1]


def _number(value: Any) -> str:
    return f'{float(value):g}'


def _fit_title(dataset: Any, key: str) -> str:
    """Return the title of a fit's map: its median."""
    values = numpy.asarray(dataset[key].values, dtype=numpy.float64)
    finite = values[numpy.isfinite(values)]
    if not finite.size:
        return f'{key} (no pixel fitted)'
    return f'{key}, median {numpy.median(finite):.3g}'


def _map_panels(
    dataset: Any,
    keys: Sequence[str],
    *,
    axes: Sequence[Axes] | None,
    pixel_size: float | None,
    title: Any = None,
) -> Figure:
    """Draw maps (y, x) of a dataset side by side with colour bars."""
    if isinstance(keys, str):
        keys = (keys,)
    keys = list(keys)
    if not keys:
        msg = 'keys is empty; name at least one map'
        raise ValueError(msg)
    for key in keys:
        if key not in dataset.data_vars:
            known = ', '.join(repr(k) for k in dataset.data_vars)
            msg = f'{key!r} is not a map of the result; choose of {known}'
            raise ValueError(msg)
        if tuple(dataset[key].dims) != ('y', 'x'):
            msg = f'{key} has dims {tuple(dataset[key].dims)}, not (y, x)'
            raise ValueError(msg)
    scale, unit = spatial(pixel_size)
    fig, axes = panel_row(
        axes,
        len(keys),
        panel=(4.2, 4),
        message=f'{len(keys)} maps to draw; {{given}} axes given',
    )
    bounds = _extent(dataset, scale)
    for axes_i, key in zip(axes, keys, strict=True):
        values = numpy.asarray(dataset[key].values, dtype=numpy.float64)
        label, cmap = _LABELS.get(key, (key, CMAP))
        low, high = limits(values)
        image = axes_i.imshow(
            numpy.ma.masked_invalid(values),
            cmap=colormap(cmap),
            vmin=low,
            vmax=high,
            interpolation='nearest',
            extent=bounds,
        )
        fig.colorbar(image, ax=axes_i, label=label, shrink=0.9)
        heading = title(dataset, key) if title is not None else key
        axes_i.set(title=heading, xlabel=f'x ({unit})', ylabel=f'y ({unit})')
    return fig


def _extent(dataset: Any, scale: float | None) -> tuple[float, ...]:
    """Return the imshow extent of maps whose pixels may be binned.

    Coordinates are pixel centres in input pixels, a binned pixel's the
    centre of its block; in µm input pixel ``i`` spans ``i * size ..
    (i + 1) * size``.

    """
    edges = []
    for name in ('x', 'y'):
        coords = numpy.asarray(dataset[name].values, dtype=numpy.float64)
        step = (
            float(coords[1] - coords[0])
            if coords.size > 1
            else float(dataset.attrs.get('binning', 1))
        )
        low, high = coords[0] - step / 2, coords[-1] + step / 2
        if scale is not None:
            low, high = (low + 0.5) * scale, (high + 0.5) * scale
        edges.append((low, high))
    (x0, x1), (y0, y1) = edges
    return (x0, x1, y1, y0)
