"""The HTML report of a line-scan pCF result (``ipcf line``).

:func:`ipcf.plot.report.write_report` hands results with an ``offset``
dim (:func:`ipcf.line.pcf_line`, the store of ``ipcf line``) here. The
report has the frame of that of an image pCF (parameters, data, result,
figures, run times, notes); its figures are the pCF carpets of
:func:`ipcf.plot.line.pcf_carpet`, the first beside the intensity carpet
read from the result's source, and the parameters table gives distances
in pixels (and µm where the pixel size is known) and delays in seconds.

"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy

from .._sources import physical_units, source_of
from ._common import delay_unit, is_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ['is_line', 'line_report_html', 'parameter_rows']

# scans of the intensity carpet drawn at most (the first ones)
MAX_SCANS = 4096
# distances drawn at most, the largest first
_MAX_DISTANCES = 4

_Plan = list[tuple[str, str, Callable[[], 'Figure']]]


def is_line(result: Any, /) -> bool:
    """Return whether result is a line-scan pCF (dims x, offset, delay).

    >>> import xarray
    >>> is_line(xarray.DataArray(numpy.zeros((2, 1, 3)),
    ...                          dims=('x', 'offset', 'delay')))
    True

    """
    dims = set(getattr(result, 'dims', ()) or ())
    return hasattr(result, 'attrs') and {'x', 'offset', 'delay'} <= dims


def line_report_html(
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
    """Return the report of a line-scan pCF result.

    The options are those of :func:`ipcf.plot.report.report_html`,
    already checked; `started` is when the report began.

    """
    from . import report as frame
    from .line import pcf_carpet

    notes: list[str] = []
    if data is None:
        data = source_of(result, result_path)
    carpet, carpet_rows = _carpet(data, result, notes)
    if pixel_size is None:
        pixel_size = physical_units(
            result.attrs, data if is_path(data) else None
        )['pixel_size']
    distances = sorted(
        {abs(int(o)) for o in result['offset'].values}, reverse=True
    )
    drawn = distances[:_MAX_DISTANCES]
    if len(distances) > len(drawn):
        notes.append(
            f'pCF carpets: the {len(drawn)} largest of {len(distances)} '
            'distances are drawn'
        )
    if 'line' in result.dims and result.sizes['line'] > 1:
        notes.append(f'pCF carpets: line 0 of {result.sizes["line"]} is drawn')
    plan: _Plan = []
    for index, distance in enumerate(drawn):
        beside = carpet if index == 0 else None
        what = 'autocorrelation' if distance == 0 else f'±{distance} pixels'
        caption = f'pCF carpet toward {what}'
        if beside is not None:
            caption += ', beside the intensity carpet'
            if carpet_rows < int(result.attrs.get('frames', carpet_rows)):
                caption += f' (its first {carpet_rows} scans)'
        plan.append(
            (
                'carpets',
                caption,
                _bound(
                    pcf_carpet,
                    result,
                    beside,
                    distance=distance,
                    pixel_size=pixel_size,
                ),
            )
        )
    rendered = frame._draw_figures(
        plan,
        notes,
        progress=progress,
        errors=(ValueError, TypeError, ImportError),
    ).get('carpets', [])

    source = result.attrs.get('source')
    if title is None:
        title = 'Line-scan pCF report' + (f': {source}' if source else '')
    sections = frame._page_head(
        title, result_path, parameter_rows(result, pixel_size)
    )
    if carpet is None:
        sections.append(
            '<p class="note">The line scan is not available: the '
            'intensity carpet is left out.</p>'
        )
    else:
        sections.append(frame._table(_data_rows(data, carpet)))
    sections.append('<h2>Result</h2>')
    sections.append(frame._table(_result_rows(result)))
    if rendered:
        sections.append('<h2>pCF carpets</h2>')
        sections.append(frame._flex(rendered))
    elapsed = f'{time.perf_counter() - started:.1f} s'
    return frame._page(title, sections, result, timings, elapsed, notes)


def _carpet(data: Any, result: Any, notes: list[str]) -> tuple[Any, int]:
    """Return the first scans of the intensity carpet (T, L, X), or None."""
    if data is None:
        return None, 0
    from ..line import open_carpet

    try:
        carpet = open_carpet(data)[0] if is_path(data) else data
        values = numpy.asarray(carpet[:MAX_SCANS])
    except (OSError, ValueError, TypeError) as exc:
        notes.append(f'Intensity carpet: not read ({exc})')
        return None, 0
    if values.ndim == 3 and 'line' not in result.dims:
        values = values[:, 0]
    return values, int(values.shape[0])


def parameter_rows(
    result: Any, pixel_size: float | None = None, /
) -> list[tuple[str, str]]:
    """Return the parameters of a line-scan result with their units.

    >>> from ipcf.line import pcf_line
    >>> data = numpy.random.default_rng(0).poisson(100, (256, 16))
    >>> result = pcf_line(data, distance=[2], nbins=8, dt=1e-3)
    >>> dict(parameter_rows(result, 0.1))['distances']
    '2 pixels (0.2 µm)'

    """
    attrs = result.attrs
    distances = sorted({abs(int(o)) for o in result['offset'].values})
    if pixel_size is None:
        pixel_size = attrs.get('pixel_size')
    if pixel_size is None:
        text = ', '.join(map(str, distances)) + ' pixels'
    else:
        scale = float(pixel_size)
        text = (
            ', '.join(map(str, distances))
            + ' pixels ('
            + ', '.join(f'{d * scale:.4g}' for d in distances)
            + ' µm)'
        )
    rows = [('distances', text)]
    if attrs.get('source'):
        rows.insert(0, ('source', str(attrs['source'])))
    if pixel_size is not None:
        rows.append(('pixel size', f'{float(pixel_size):g} µm'))
    dt = float(attrs.get('dt', 1.0))
    rows.append(
        ('line time', f'{dt:g} s' if dt != 1.0 else '1 (delays in scans)')
    )
    delays = result['delay'].values
    unit = delay_unit(result)
    rows.append(
        (
            'delays',
            f'{len(delays)} log bins, {delays[0]:.4g} .. {delays[-1]:.4g} '
            f'{unit}',
        )
    )
    for key, label in (
        ('frames', 'scans used'),
        ('frames_total', 'scans in the file'),
        ('mode', 'correlation'),
        ('periodic', 'periodic (circular orbit)'),
        ('bleach', 'bleach correction'),
        ('engine', 'engine'),
        ('block', 'block'),
        ('channel', 'channel'),
        ('z', 'z'),
        ('version', 'version'),
    ):
        if attrs.get(key) is not None:
            rows.append((label, str(attrs[key])))
    return rows


def _data_rows(data: Any, carpet: Any) -> list[tuple[str, str]]:
    rows = []
    if is_path(data):
        rows.append(('path', str(data)))
    shape = tuple(int(n) for n in numpy.shape(carpet))
    rows.append(('intensity carpet drawn (scans, ..., positions)', shape))
    rows.append(('mean intensity', f'{float(numpy.mean(carpet)):.4g} counts'))
    return [(k, str(v)) for k, v in rows]


def _result_rows(result: Any) -> list[tuple[str, str]]:
    values = numpy.asarray(result.values)
    finite = values[numpy.isfinite(values)]
    rows = [
        ('dims', ', '.join(str(d) for d in result.dims)),
        ('shape', str(tuple(values.shape))),
        (
            'positions',
            f'{int(result["x"].values[0])}..{int(result["x"].values[-1])}',
        ),
        ('offsets', ', '.join(f'{int(o):+d}' for o in result['offset'])),
    ]
    if finite.size:
        rows.append(('G range', f'{finite.min():.4g} .. {finite.max():.4g}'))
    return rows


def _bound(function: Callable[..., Figure], *args: Any, **kwargs: Any):
    def make() -> Figure:
        return function(*args, **kwargs)

    return make
