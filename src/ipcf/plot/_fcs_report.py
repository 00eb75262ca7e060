"""Sections of the HTML report for imaging FCS and N&B results.

:func:`ipcf.plot.report.write_report` hands results of ``ipcf acf``
(an ACF), of its fit (``ipcf maps`` or ``--fit``) and of ``ipcf nb``
here. The report has the same frame as that of a pCF result
(parameters, data, result, figures, run times, notes); the sections
differ: an ACF gets its fit when the pixel size and the PSF radius are
known (the N and D maps, their medians, and the curves of a few pixels
with fit and residuals), N&B results their maps and the
brightness-intensity histogram with the monomer line.

"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy

from .._sources import physical_units, source_of
from ._common import as_series
from .fcs import (
    _acf_of_fit,
    _acf_parts,
    _pixel_index,
    acf_curve,
    brightness_scatter,
    fcs_maps,
    nb_maps,
    result_kind,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ['fcs_report_html']

_TITLES = {
    'acf': 'Imaging FCS report',
    'fcs': 'Imaging FCS fit report',
    'nb': 'Number and brightness report',
}
# maps summarised by their median, per kind of result
_SUMMARY = {
    'fcs': ('N', 'D', 'density', 'G_inf', 'chi2'),
    'nb': ('intensity', 'B_app', 'N_app', 'epsilon', 'n'),
}

# units of the summarised maps; the others are numbers of molecules,
# ratios or amplitudes
_UNITS = {
    'D': 'µm²/s',
    'density': '1/µm²',
    'intensity': 'counts',
}

_Plan = list[tuple[str, str, Callable[[], 'Figure']]]


def fcs_report_html(
    result: Any,
    result_path: Path | None,
    /,
    *,
    data: Any,
    pixels: Sequence[tuple[float, float]] | None,
    pixel_size: float | None,
    psf_radius: float | None,
    title: str | None,
    timings: Mapping[str, float],
    progress: bool,
    started: float,
) -> str:
    """Return the report of an ACF, fit or N&B result.

    The options are those of :func:`ipcf.plot.report.report_html`,
    already checked; `started` is when the report began.

    """
    from . import report as frame

    kind = result_kind(result)
    if kind is None:  # pragma: no cover - the caller checked
        msg = 'result is not an imaging FCS or N&B result'
        raise ValueError(msg)
    if data is None:
        data = source_of(result, result_path)
    series = None if data is None else as_series(data)
    data_units = physical_units(data)
    units = physical_units(
        {'pixel_size': pixel_size, 'psf_radius': psf_radius},
        result.attrs,
        data_units,
    )
    notes: list[str] = []
    fit = None
    acf = None
    if kind == 'acf':
        acf = result
        fit = _fit_or_note(acf, units, notes)
    elif kind == 'fcs':
        fit = result
        try:
            acf = _acf_of_fit(fit, result_path)
        except (OSError, ValueError) as exc:
            notes.append(f'Curves: left out ({exc})')
    plan: _Plan = []
    if kind == 'nb':
        plan.append(
            (
                'maps',
                'Intensity, apparent brightness, ε and n per pixel',
                lambda: nb_maps(result, pixel_size=units['pixel_size']),
            )
        )
        plan.append(
            (
                'maps',
                'Brightness against intensity; the line of no mobile '
                'molecules and the median ε',
                lambda: brightness_scatter(result),
            )
        )
    if fit is not None:
        plan.append(
            (
                'maps',
                'Fitted N, D and reduced χ² per pixel',
                lambda: fcs_maps(
                    fit, ('N', 'D', 'chi2'), pixel_size=units['pixel_size']
                ),
            )
        )
    if acf is not None:
        chosen = (
            _acf_pixels(acf)
            if pixels is None
            else [_checked_pixel(acf, p) for p in pixels]
        )
        for y, x in chosen:
            plan.append(
                (
                    'curves',
                    f'ACF of pixel y={y:g}, x={x:g}'
                    + (' with fit and residuals' if fit is not None else ''),
                    _bound(acf_curve, acf, y, x, fit=fit),
                )
            )
    rendered = frame._draw_figures(plan, notes, progress=progress)

    source = result.attrs.get('source')
    if title is None:
        title = _TITLES[kind] + (f': {source}' if source else '')
    sections = frame._page_head(
        title, result_path, _parameter_rows(result, frame)
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
    sections.append('<h2>Result</h2>')
    sections.append(frame._table(_result_rows(kind, result, acf, fit, frame)))
    headings = {
        'maps': 'Maps' if kind == 'nb' else 'Fit of N and D',
        'curves': 'Autocorrelation curves',
    }
    for section, heading in headings.items():
        if section in rendered:
            sections.append(f'<h2>{heading}</h2>')
            sections.append(frame._flex(rendered[section]))
    elapsed = f'{time.perf_counter() - started:.1f} s'
    return frame._page(title, sections, result, timings, elapsed, notes)


def _fit_or_note(acf: Any, units: Mapping[str, Any], notes: list) -> Any:
    """Return the fit of the ACF, or None with a note why not."""
    from ..fcs import fit_acf

    if units['pixel_size'] is None or units['psf_radius'] is None:
        notes.append(
            'Fit: left out; it needs the pixel size and the PSF radius in '
            'µm (from the data metadata, or pixel_size= and psf_radius=)'
        )
        return None
    try:
        return fit_acf(
            acf, pixel_size=units['pixel_size'], w=units['psf_radius']
        )
    except ValueError as exc:
        notes.append(f'Fit: not computed ({exc})')
        return None


def _parameter_rows(result: Any, frame: Any) -> list[tuple[str, str]]:
    rows = [
        (key, frame._format_value(value))
        for key, value in result.attrs.items()
        if not frame._is_timing(key)
    ]
    return rows


def _result_rows(
    kind: str, result: Any, acf: Any, fit: Any, frame: Any
) -> list[tuple[str, str, str]]:
    """Return the summary of the result: its size and medians.

    Rows are (quantity, value, unit), the unit for the table's column.

    """
    rows: list[tuple[str, Any, str]] = []
    if acf is not None:
        values = _acf_parts(acf)[0]
        data = numpy.asarray(values.values)
        valid = numpy.isfinite(data).all(axis=2)
        delays = values['delay'].values
        unit = 's' if values.attrs.get('dt', 1.0) != 1.0 else 'frames'
        rows += [
            ('shape (y, x, delay)', tuple(data.shape), ''),
            (
                'pixels with values',
                f'{int(valid.sum())} of {valid.size}',
                '',
            ),
            (
                'delays',
                f'{delays[0]:.4g} .. {delays[-1]:.4g} in {len(delays)} points',
                unit,
            ),
            ('median G at the first delay', _median(data[..., 0]), ''),
        ]
    maps = result if kind == 'nb' else fit
    if maps is not None:
        names = _SUMMARY['nb' if kind == 'nb' else 'fcs']
        if acf is None:
            shape = tuple(int(n) for n in maps[names[0]].shape)
            rows.append(('shape (y, x)', shape, ''))
        units = dict(_UNITS)
        if maps.attrs.get('model') == 'spim':
            units['density'] = '1/µm³'  # N of a volume
        for name in names:
            if name in maps.data_vars:
                values = numpy.asarray(maps[name].values, numpy.float64)
                rows.append(
                    (
                        f'median {name}',
                        f'{_median(values):.4g} (IQR {_iqr(values)})',
                        units.get(name, ''),
                    )
                )
        for key in ('area', 'side'):
            if kind != 'nb' and key in maps.attrs:
                unit = 'µm²' if key == 'area' else 'µm'
                rows.append((key, maps.attrs[key], unit))
    return [(k, frame._format_value(v), u) for k, v, u in rows]


def _acf_pixels(acf: Any, count: int = 3) -> list[tuple[float, float]]:
    """Return the pixels of the largest, median and smallest G(first)."""
    values = _acf_parts(acf)[0]
    first = numpy.asarray(values.values[..., 0], dtype=numpy.float64)
    valid = numpy.isfinite(values.values).all(axis=2)
    if not valid.any():
        return []
    score = numpy.where(valid, first, numpy.nan)
    median = numpy.nanmedian(score)
    candidates = [
        numpy.nanargmax(score),
        numpy.nanargmin(numpy.abs(score - median)),
        numpy.nanargmin(score),
    ]
    ys = values['y'].values
    xs = values['x'].values
    pixels: list[tuple[float, float]] = []
    for flat in candidates:
        j, i = numpy.unravel_index(flat, score.shape)
        pixel = (float(ys[j]), float(xs[i]))
        if pixel not in pixels:
            pixels.append(pixel)
    return pixels[:count]


def _checked_pixel(acf: Any, pixel: Any) -> tuple[float, float]:
    if not hasattr(pixel, '__len__') or len(pixel) != 2:
        msg = f'{pixel=} is not a (y, x) pair'
        raise ValueError(msg)
    values = _acf_parts(acf)[0]
    j, i = _pixel_index(values, *pixel)
    return float(values['y'].values[j]), float(values['x'].values[i])


def _median(values: Any) -> float:
    values = numpy.asarray(values, dtype=numpy.float64)
    finite = values[numpy.isfinite(values)]
    return float(numpy.median(finite)) if finite.size else float('nan')


def _iqr(values: Any) -> str:
    finite = values[numpy.isfinite(values)]
    if not finite.size:
        return 'none'
    low, high = numpy.percentile(finite, [25, 75])
    return f'{low:.3g} .. {high:.3g}'


def _bound(function: Callable[..., Figure], *args: Any, **kwargs: Any):
    def make() -> Figure:
        return function(*args, **kwargs)

    return make
