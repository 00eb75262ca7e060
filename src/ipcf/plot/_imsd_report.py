"""iMSD results in ``ipcf plot`` and in the HTML report.

A store of ``ipcf imsd`` holds the group ``imsd``: for the whole field,
the iMSD Dataset of :func:`ipcf.imsd` with the STICS it was fitted to
(variable ``stics``, dims ``('delay', 'eta', 'xi')``); for local maps
(``--block``), the maps of :class:`ipcf.imsd.ImsdAnalysis` at full
resolution, constant over each tile, with the widths of every tile and
its STICS at a few delays (:func:`ipcf.imsd.block_stics` reads one).

:func:`draw_imsd` draws the kinds ``'imsd'`` (:func:`imsd_curve`),
``'stics'`` (:func:`stics_images`) and ``'imsd-maps'``
(:func:`imsd_maps`) of such a store or result; of an image series it
computes the STICS and the iMSD first, as ``'maps'`` computes the maps
of a pCF. :func:`imsd_report_html` is the report of such a result in the
frame of :mod:`ipcf.plot.report`: the parameters with their units, the
fitted parameters with errors, the iMSD curve with its fit (and the
other models fitted to the same widths), the STICS at several delays,
and the maps of a local result.

"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy

from .._sources import physical_units, source_of
from .._validate import check_int, check_positive
from ._common import as_series, holds_result, is_path

if TYPE_CHECKING:
    import xarray
    from matplotlib.figure import Figure

__all__ = [
    'IMSD_KINDS',
    'draw_imsd',
    'imsd_report_html',
    'is_imsd',
    'read_imsd',
    'stics_of',
    'tile_curve',
    'tile_stics',
]

IMSD_KINDS = ('imsd', 'stics', 'imsd-maps')
"""Figure kinds of iMSD results in :func:`ipcf.plot.draw`."""

GROUP = 'imsd'
"""Group of an iMSD result in a store."""

# labels of the units that ipcf.imsd.UNITS records
_UNIT_LABELS = {
    'um': 'µm',
    'um^2/s': 'µm²/s',
    'um/s': 'µm/s',
    's': 's',
    '1': '',
    'degrees from x toward y': '° from x toward y',
}
# attributes of a STICS that the iMSD Dataset keeps
_STICS_ATTRS = (
    'max_delay',
    'nbins',
    'max_shift',
    'subtract_immobile',
    'offset',
    'frames',
    'mean',
    'dt',
    'pixel_size',
)
# longest delay of the STICS of a series drawn without a store
_SERIES_MAX_DELAY = 32

_Plan = list[tuple[str, str, Callable[[], 'Figure']]]


def is_imsd(result: Any, /) -> bool:
    """Return whether result is an iMSD Dataset (whole field or maps).

    >>> import xarray
    >>> is_imsd(xarray.Dataset({'sigma2': ('delay', [0.1]),
    ...                         'sigma2_fit': ('delay', [0.1])}))
    True
    >>> is_imsd('missing.h5')
    False

    """
    if isinstance(result, str | os.PathLike):
        return holds_result(result, group=GROUP) and not holds_result(result)
    names = set(getattr(result, 'data_vars', ()) or ())
    return {'sigma2', 'sigma2_fit'} <= names


def read_imsd(path: str | os.PathLike[str], /) -> xarray.Dataset | None:
    """Return the iMSD result of a store, or None if it holds none."""
    if not is_imsd(path):
        return None
    from ..store import load_result

    try:
        return load_result(path, group=GROUP)
    except (FileNotFoundError, ImportError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - name the store whatever it is
        text = ' '.join(str(exc).split()) or type(exc).__name__
        msg = f'{os.fspath(path)!r}: cannot read the iMSD result ({text})'
        raise OSError(msg) from exc


def stics_of(result: xarray.Dataset, /) -> xarray.DataArray:
    """Return the STICS stored with a whole-field iMSD result.

    Raises
    ------
    ValueError
        If the result holds no STICS (a Dataset of :func:`ipcf.imsd`
        alone), or is local maps (see :func:`tile_stics`).

    """
    if 'y' in result.dims:
        msg = 'local maps hold the STICS of each tile: see tile_stics'
        raise ValueError(msg)
    if 'stics' not in result.data_vars:
        msg = 'the result holds no STICS (ipcf imsd stores it)'
        raise ValueError(msg)
    correlation = result['stics'].copy()
    correlation.name = 'stics'
    correlation.attrs = {
        k: result.attrs[k] for k in _STICS_ATTRS if k in result.attrs
    }
    return correlation


def tile_curve(
    maps: xarray.Dataset, /, pixel: tuple[Any, Any] | None = None
) -> xarray.Dataset:
    """Return the iMSD of one tile of local maps, as :func:`ipcf.imsd`.

    Parameters
    ----------
    maps : xarray.Dataset
        Local maps of :class:`ipcf.imsd.ImsdAnalysis` (``ipcf imsd
        --block``) or of ``ipcf.imsd(..., block=...)``.
    pixel : (y, x), optional
        A pixel of the maps (input pixel coordinates); its tile is
        returned. None: the pixel whose D is nearest the median D.

    Returns
    -------
    xarray.Dataset
        What :func:`ipcf.plot.imsd_curve` draws: ``sigma2`` and its
        errors, the model's ``sigma2_fit``, ``used`` (the rule of
        :func:`ipcf.imsd.fit_model`) and the model's parameters; centre
        errors that the maps do not store are NaN. ``attrs['pixel']``
        is the pixel.

    """
    import xarray

    from ..imsd import _MAX_RELATIVE_ERROR, PARAMETERS

    ys = maps['y'].values
    xs = maps['x'].values
    if pixel is None:
        j, i = _median_tile(maps)
    else:
        if not hasattr(pixel, '__len__') or len(pixel) != 2:
            msg = f'{pixel=} is not a (y, x) pair'
            raise ValueError(msg)
        y, x = check_int(pixel[0], 'y'), check_int(pixel[1], 'x')
        j = int(numpy.argmin(numpy.abs(ys - y)))
        i = int(numpy.argmin(numpy.abs(xs - x)))
        if abs(ys[j] - y) > 0.5 or abs(xs[i] - x) > 0.5:
            msg = (
                f'pixel (y={y}, x={x}) is not in the maps, whose pixels '
                f'are y {ys[0]:g}..{ys[-1]:g} and x {xs[0]:g}..{xs[-1]:g}'
            )
            raise ValueError(msg)
    tile = maps.isel(y=j, x=i)
    model = maps.attrs.get('model', 'free')
    s2 = numpy.asarray(tile['sigma2'].values, numpy.float64)
    err = numpy.asarray(tile['sigma2_error'].values, numpy.float64)
    with numpy.errstate(invalid='ignore'):
        used = numpy.isfinite(s2) & numpy.isfinite(err) & (err > 0)
        used &= err <= _MAX_RELATIVE_ERROR * numpy.abs(s2)
    variables: dict[str, Any] = {
        'sigma2': ('delay', s2),
        'sigma2_error': ('delay', err),
        'sigma2_fit': (
            'delay',
            numpy.asarray(tile['sigma2_fit'].values, numpy.float64),
        ),
        'used': ('delay', used),
    }
    for axis in ('x', 'y'):
        name = f'centre_{axis}'
        values = numpy.asarray(tile[name].values, numpy.float64)
        variables[name] = ('delay', values)
        error = tile.get(f'{name}_error')
        variables[f'{name}_error'] = (
            'delay',
            numpy.full(values.shape, numpy.nan)
            if error is None
            else numpy.asarray(error.values, numpy.float64),
        )
    for name in (*PARAMETERS[model], 'chi2'):
        for key in (name, f'{name}_error'):
            if key in tile.data_vars:
                variables[key] = ((), float(tile[key]))
    return xarray.Dataset(
        variables,
        coords={
            'delay': maps['delay'].values,
            'lag': ('delay', maps['lag'].values),
        },
        attrs={**maps.attrs, 'pixel': [float(ys[j]), float(xs[i])]},
    )


def _median_tile(maps: xarray.Dataset) -> tuple[int, int]:
    """Return the indices of the pixel whose D is nearest the median."""
    d = numpy.asarray(maps['D'].values, numpy.float64)
    if not numpy.isfinite(d).any():
        msg = 'the maps hold no fitted tile'
        raise ValueError(msg)
    j, i = numpy.unravel_index(
        numpy.nanargmin(numpy.abs(d - numpy.nanmedian(d))), d.shape
    )
    return int(j), int(i)


def tile_stics(
    maps: xarray.Dataset, /, pixel: tuple[Any, Any] | None = None
) -> xarray.DataArray:
    """Return the STICS kept with local maps for one tile (or block).

    What :func:`ipcf.imsd.block_stics` returns, for `pixel` in input
    pixel coordinates or, if None, the pixel whose D is nearest the
    median D (the tile of :func:`tile_curve`).

    Raises
    ------
    ValueError
        If the maps keep no STICS, or the pixel is not in them.

    """
    from ..imsd import block_stics

    if 'stics' not in maps.data_vars and 'stics_tile' not in maps.data_vars:
        msg = (
            'these local maps keep no STICS; run ipcf imsd --block again '
            'with --keep-stics N'
        )
        raise ValueError(msg)
    if pixel is None:
        j, i = _median_tile(maps)
        pixel = (float(maps['y'].values[j]), float(maps['x'].values[i]))
    return block_stics(maps, pixel)


def _tile_title(correlation: xarray.DataArray) -> str:
    """Return the title of the STICS figure of a tile."""
    side = int(correlation.attrs['block'])
    y0, x0 = correlation.attrs['block_origin']
    return (
        f'STICS of the {side}x{side} block at y {y0}:{y0 + side}, '
        f'x {x0}:{x0 + side}'
    )


def draw_imsd(
    source: Any,
    /,
    kind: str,
    *,
    pixel: tuple[int, int] | None = None,
    pixel_size: float | None = None,
    progress: bool = False,
) -> Figure:
    """Return the figure of an iMSD result, store or series by kind.

    What :func:`ipcf.plot.draw` returns for the kinds of
    :data:`IMSD_KINDS`, and for any kind of an iMSD result (which
    refuses the others). Of an image series, ``'stics'`` and ``'imsd'``
    compute the STICS (delays up to 32 frames) and its free-diffusion
    iMSD with the series' pixel size and frame interval.

    Parameters
    ----------
    source : str or path or xarray.Dataset or array_like
        A store of ``ipcf imsd``, an iMSD Dataset, or an image series.
    kind : {'imsd', 'stics', 'imsd-maps'}
        The curve with its fit, the STICS images, or the local maps.
    pixel : (y, x), optional
        Local maps: the pixel whose tile's curve ``'imsd'`` and whose
        tile's STICS ``'stics'`` draw; default the tile of the median
        D.
    pixel_size : float, optional
        Pixel size in µm of the axes; default that of the result.
    progress : bool, optional, default: False
        Show a progress bar while a series is read.

    Raises
    ------
    ValueError
        If the kind does not apply to the source (maps of a whole-field
        result, STICS of local maps that keep none, another kind of an
        iMSD result).

    Examples
    --------
    >>> data = numpy.random.default_rng(0).poisson(100.0, (64, 16, 16))
    >>> fig = draw_imsd(data, 'stics')
    >>> fig.axes[0].get_title()
    'G, delay 1 frames'

    """
    from .imsd import imsd_curve, imsd_maps, stics_images

    if pixel_size is not None:
        pixel_size = check_positive(pixel_size, 'pixel_size')
    result = _imsd_result(source)
    if kind not in IMSD_KINDS:
        msg = (
            f'kind {kind!r} does not apply to an iMSD result; draw '
            "kind 'imsd', 'stics' or 'imsd-maps'"
        )
        raise ValueError(msg)
    if result is None:
        return _draw_series(source, kind, pixel_size, progress)
    local = 'y' in result.dims
    if kind == 'imsd-maps':
        if not local:
            msg = (
                "kind 'imsd-maps' needs local maps (ipcf imsd --block); "
                "this is one iMSD of the whole field: draw kind 'imsd' or "
                "'stics'"
            )
            raise ValueError(msg)
        return imsd_maps(result, pixel_size=pixel_size)
    if kind == 'stics' and local:
        correlation = tile_stics(result, pixel)
        fig = stics_images(correlation, pixel_size=pixel_size)
        fig.suptitle(_tile_title(correlation))
        return fig
    if kind == 'stics':
        return stics_images(stics_of(result), pixel_size=pixel_size)
    if local:
        return imsd_curve(tile_curve(result, pixel))
    return imsd_curve(_without_stics(result))


def _imsd_result(source: Any) -> Any:
    """Return the iMSD result of a store or Dataset, None for a series."""
    if isinstance(source, str | os.PathLike):
        return read_imsd(source)
    return source if is_imsd(source) else None


def _without_stics(result: Any) -> Any:
    return result.drop_vars('stics', errors='ignore')


def _draw_series(
    source: Any, kind: str, pixel_size: float | None, progress: bool
) -> Figure:
    """Return the STICS or iMSD figure of an image series."""
    from ..imsd import imsd
    from ..stics import stics
    from .imsd import imsd_curve, stics_images

    if kind == 'imsd-maps':
        msg = (
            "kind 'imsd-maps' needs the local maps of ipcf imsd --block, "
            'not an image series'
        )
        raise ValueError(msg)
    series = as_series(source)
    units = physical_units(
        {'pixel_size': pixel_size}, source if is_path(source) else None
    )
    nframes = int(series.shape[0])
    correlation = stics(
        series,
        max_delay=min(_SERIES_MAX_DELAY, nframes - 1),
        dt=units['frame_interval'] or 1.0,
        pixel_size=units['pixel_size'] or 1.0,
        progress=progress,
    )
    if kind == 'stics':
        return stics_images(correlation)
    return imsd_curve(imsd(correlation))


# the report ---------------------------------------------------------------


def imsd_report_html(
    result: Any,
    result_path: Path | None,
    /,
    *,
    data: Any,
    pixel_size: float | None,
    title: str | None,
    timings: Mapping[str, float],
    progress: bool,
    started: float,
) -> str:
    """Return the report of an iMSD result (whole field or local maps).

    The options are those of :func:`ipcf.plot.report.report_html`,
    already checked; `started` is when the report began.

    """
    from . import report as frame
    from .imsd import imsd_curve, imsd_maps, stics_images

    local = 'y' in result.dims
    if data is None:
        data = source_of(result, result_path)
    notes: list[str] = []
    series = None
    if data is not None:
        try:
            series = as_series(data)
        except (OSError, ValueError, TypeError) as exc:
            notes.append(f'Data: not read ({exc})')
            data = None
    data_units = physical_units(data) if data is not None else {}
    if pixel_size is None:
        pixel_size = result.attrs.get('pixel_size')
    model = result.attrs.get('model', 'free')
    others = [m for m in ('free', 'anomalous', 'confined') if m != model]
    plan: _Plan = []
    if local:
        plan.append(
            (
                'maps',
                'Maps of the fitted parameters (each tile holds the iMSD '
                'of the block centred on it)',
                lambda: imsd_maps(result, pixel_size=pixel_size),
            )
        )

        def tile_figure() -> Figure:
            return imsd_curve(tile_curve(result), models=others)

        plan.append(
            (
                'curve',
                'iMSD of the tile whose D is nearest the median, with the '
                f'{model} fit (solid) and the other models (dashed)',
                tile_figure,
            )
        )
        if {'stics', 'stics_tile'} & set(result.data_vars):

            def stics_figure() -> Figure:
                correlation = tile_stics(result)
                fig = stics_images(correlation, pixel_size=pixel_size)
                fig.suptitle(_tile_title(correlation))
                return fig

            plan.append(
                (
                    'stics',
                    'STICS of that tile at the delays kept with the maps',
                    stics_figure,
                )
            )
        else:
            notes.append('STICS: the maps keep none of their tiles')
    else:
        plan.append(
            (
                'curve',
                f'iMSD: widths σ² of the STICS peak with errors, the '
                f'{model} fit (solid) and the other models (dashed)',
                lambda: imsd_curve(_without_stics(result), models=others),
            )
        )
        if 'stics' in result.data_vars:
            plan.append(
                (
                    'stics',
                    'STICS at several delays: a peak that spreads with '
                    'the delay (and moves with a flow)',
                    lambda: stics_images(
                        stics_of(result), pixel_size=pixel_size
                    ),
                )
            )
        else:
            notes.append('STICS: the result holds none')
    rendered = frame._draw_figures(plan, notes, progress=progress)

    source = result.attrs.get('source')
    if title is None:
        title = ('iMSD maps report' if local else 'iMSD report') + (
            f': {source}' if source else ''
        )
    sections = frame._page_head(
        title, result_path, parameter_rows(result, pixel_size)
    )
    if series is None:
        sections.append(
            '<p class="note">The image series is not available: its '
            'summary is left out.</p>'
        )
    else:
        sections.append(
            frame._table(frame._data_summary(data, series, data_units))
        )
    sections.append(
        '<h2>Fitted parameters</h2>' if not local else '<h2>Maps summary</h2>'
    )
    sections.append(frame._table(fit_rows(result)))
    for section, heading in (
        ('curve', 'iMSD'),
        ('stics', 'STICS'),
        ('maps', 'Maps'),
    ):
        if section in rendered:
            sections.append(f'<h2>{heading}</h2>')
            sections.append(frame._flex(rendered[section]))
    elapsed = f'{time.perf_counter() - started:.1f} s'
    return frame._page(title, sections, result, timings, elapsed, notes)


def parameter_rows(
    result: Any, pixel_size: float | None = None, /
) -> list[tuple[str, str]]:
    """Return the analysis parameters of an iMSD result with units.

    >>> rows = parameter_rows({'model': 'free', 'max_delay': 8,
    ...                        'dt': 0.001, 'pixel_size': 0.1})
    >>> dict(rows)['frame interval']
    '0.001 s'

    """
    attrs = dict(result if not hasattr(result, 'attrs') else result.attrs)
    dt = float(attrs.get('dt', 1.0))
    if pixel_size is None:
        pixel_size = attrs.get('pixel_size')
    rows: list[tuple[str, str]] = [('model', str(attrs.get('model', '')))]
    if attrs.get('source'):
        rows.append(('source', str(attrs['source'])))
    if pixel_size is not None:
        rows.append(('pixel size', f'{float(pixel_size):g} µm'))
    rows.append(('frame interval', f'{dt:g} s'))
    if 'frames' in attrs:
        rows.append(('frames', f'{int(attrs["frames"])}'))
    if hasattr(result, 'sizes') and 'delay' in result.sizes:
        lags = numpy.asarray(result['lag'].values, numpy.float64)
        rows.append(
            (
                'delays',
                f'{len(lags)} from 0 to {lags[-1]:g} frames '
                f'(0 to {lags[-1] * dt:.4g} s)',
            )
        )
    elif 'max_delay' in attrs:
        rows.append(('longest delay', f'{int(attrs["max_delay"])} frames'))
    for key, label in (
        ('max_shift', 'largest shift'),
        ('window', 'block side'),
        ('step', 'tile side (step)'),
    ):
        if attrs.get(key) is not None:
            rows.append((label, _length(int(attrs[key]), pixel_size)))
    window = attrs.get('subtract_immobile')
    rows.append(
        (
            'immobile subtraction',
            'none' if window is None else f'moving average of {window} frames',
        )
    )
    if attrs.get('offset') is not None:
        rows.append(('offset', f'{float(attrs["offset"]):g} counts'))
    if attrs.get('mean') is not None:
        rows.append(('mean intensity', f'{float(attrs["mean"]):.4g} counts'))
    if attrs.get('roi') is not None:
        y0, y1, x0, x1 = (int(v) for v in attrs['roi'])
        rows.append(('region', f'y {y0}:{y1}, x {x0}:{x1} (pixels)'))
    if attrs.get('fit_radius') is not None:
        rows.append(
            ('core fit radius', f'{float(attrs["fit_radius"]):g} widths')
        )
    else:
        rows.append(('core fit radius', 'none (the whole window)'))
    for key in ('masked', 'bleach', 'channel', 'z', 'version'):
        if attrs.get(key) is not None:
            rows.append((key, str(attrs[key])))
    return rows


def _length(pixels: int, pixel_size: Any) -> str:
    if pixel_size is None:
        return f'{pixels} pixels'
    return f'{pixels} pixels ({pixels * float(pixel_size):.4g} µm)'


def fit_rows(result: Any, /) -> list[tuple[str, str, str]]:
    """Return the fitted parameters with errors (medians for maps).

    Each row is the parameter, its value and its unit (for the unit
    column of the report's tables), e.g. ``('D', '1.2 ± 0.1',
    'µm²/s')``.

    >>> import xarray
    >>> fit = xarray.Dataset({'D': 1.5, 'D_error': 0.25, 'alpha': 0.9,
    ...                       'used': ('delay', [True, False])},
    ...                      attrs={'model': 'anomalous'})
    >>> fit_rows(fit)[:2]
    [('D', '1.5 ± 0.25', 'µm²/s^α'), ('alpha', '0.9', '')]

    """
    from ..imsd import PARAMETERS

    model = result.attrs.get('model', 'free')
    local = 'y' in result.dims
    rows: list[tuple[str, str, str]] = []
    for name in (*PARAMETERS[model], 'chi2'):
        if name not in result.data_vars:
            continue
        unit = unit_label(name, model)
        values = numpy.asarray(result[name].values, numpy.float64)
        error_name = f'{name}_error'
        errors = (
            numpy.asarray(result[error_name].values, numpy.float64)
            if error_name in result.data_vars
            else None
        )
        if not local:
            value = float(values)
            text = _pm(value, None if errors is None else float(errors))
        else:
            finite = values[numpy.isfinite(values)]
            if not finite.size:
                text = 'no tile fitted'
            else:
                low, high = numpy.percentile(finite, [25, 75])
                median = float(numpy.median(finite))
                error = None if errors is None else _nanmedian(errors)
                text = (
                    f'median {_pm(median, error)} (IQR {low:.4g} .. '
                    f'{high:.4g})'
                )
        rows.append((name, text, unit))
    if local:
        d = numpy.asarray(result['D'].values, numpy.float64)
        fitted = f'{int(numpy.isfinite(d).sum())} of {d.size}'
        rows.append(('pixels fitted', fitted, ''))
    else:
        used = numpy.asarray(result['used'].values, bool)
        fitted = f'{int(used.sum())} of {used.size}'
        rows.append(('delays fitted', fitted, ''))
    return rows


def unit_label(name: str, model: str = 'free', /) -> str:
    """Return the unit of an iMSD parameter as shown ('' if none).

    >>> unit_label('D'), unit_label('D', 'anomalous'), unit_label('L')
    ('µm²/s', 'µm²/s^α', 'µm')

    """
    from ..imsd import UNITS

    if name == 'D':
        return 'µm²/s^α' if model == 'anomalous' else 'µm²/s'
    unit = UNITS.get(name)
    if unit is None:
        return ''
    return _UNIT_LABELS.get(unit, unit)


def _pm(value: float, error: float | None) -> str:
    if not math.isfinite(value):
        return 'not fitted'
    if error is None or not math.isfinite(error):
        return f'{value:.4g}'
    return f'{value:.4g} ± {error:.2g}'


def _nanmedian(values: Any) -> float | None:
    finite = values[numpy.isfinite(values)]
    return float(numpy.median(finite)) if finite.size else None
