"""Self-contained HTML report of a pCF result.

:func:`write_report` writes one HTML file with the analysis parameters, a
summary of the data and of the result, the figures of :mod:`ipcf.plot`
for a few representative pixels and the run times recorded with the
result. Figures are embedded as base64 PNG images, so the file opens in
any browser without a server and can be mailed or archived alone. Its
"Explore" section (:mod:`ipcf.plot._interactive`) is drawn by script in
the page from data embedded in it: click a pixel to see its carpet and
curves, move sliders over the circle points and delays of the pCF image.

The report orchestrates: it finds the image series of a result
(:func:`ipcf._sources.source_of`) and its units, computes the maps of
:func:`ipcf.maps` when the pixel size and PSF radius are known, and
passes everything to the figures, which only draw. Available as
``ipcf.report``. Results of imaging FCS (an ACF or its fit) and of N&B
get their own sections (:mod:`ipcf.plot._fcs_report`) in the same frame,
as do iMSD results (:mod:`ipcf.plot._imsd_report`) and line scans
(:mod:`ipcf.plot._line_report`).

"""

from __future__ import annotations

import base64
import datetime
import html
import io as _io
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy

from .._files import check_not_input, publishing
from .._sources import physical_units, source_of
from .._utils import progress_bar
from .._validate import (
    check_bool,
    check_int,
    check_positive,
    check_real,
    check_string,
)
from ..analysis._select import selection_dims
from ._common import (
    as_series,
    check_pixel,
    check_result,
    delay_unit,
    read_result,
    result_region,
)
from ._interactive import (
    analysed_frames,
    explore_section,
    parameter_rows,
)
from ._interactive import trace_figure as decimated_trace
from .curves import carpet, curve_processing, lines, polar
from .images import maps, pcf_image
from .series import roi, series_mean

if TYPE_CHECKING:
    import xarray
    from matplotlib.figure import Figure

__all__ = [
    'report_html',
    'representative_pixels',
    'write_report',
]

_DPI = 80

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { border: 1px solid #ddd; padding: 0.2em 0.6em; text-align: left;
         vertical-align: top; }
th { background: #f4f4f4; }
.figures { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; } figure img { max-width: 100%; }
figcaption { font-size: 0.9em; color: #555; }
.note { color: #8a5a00; } .meta { color: #666; }
"""


def write_report(
    result: xarray.DataArray | str | os.PathLike[str],
    path: str | os.PathLike[str],
    /,
    *,
    data: Any = None,
    pixels: Sequence[tuple[int, int]] | None = None,
    pixel_size: float | None = None,
    psf_radius: float | None = None,
    title: str | None = None,
    timings: Mapping[str, float] | None = None,
    progress: bool = False,
) -> Path:
    """Write a self-contained HTML report of a pCF result.

    Parameters
    ----------
    result : xarray.DataArray or str or path
        Result of :func:`ipcf.pcf_image`, or a store that
        :func:`ipcf.load_result` reads.
    path : str or path
        Output HTML file; replaced if it exists. It is written under a
        hidden name beside it and renamed when complete, so a report
        that exists is a finished one. It must not be, hold or lie
        inside the result store or the data.
    data, pixels, pixel_size, psf_radius, title, timings, progress :
        See :func:`report_html`.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ValueError
        If `path` is the result store or the data (or holds or lies in
        one), before anything is computed; else as :func:`report_html`.

    Examples
    --------
    >>> import tempfile, ipcf
    >>> data = numpy.random.default_rng(0).poisson(100, (64, 10, 10))
    >>> result = ipcf.pcf_image(data, radius=2, npoints=8, nbins=6)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_report(result, f'{tmp}/report.html', data=data)
    ...     text = path.read_text()
    >>> text.startswith('<!DOCTYPE html>')
    True

    """
    path = Path(path)
    result_path = None
    check_not_input(path, [result, data])
    if isinstance(result, (str, os.PathLike)):
        result_path = Path(result)
        result = _read_result(result_path)
        if data is None:
            check_not_input(path, source_of(result, result_path))
    text = _report_html(
        result,
        result_path,
        data=data,
        pixels=pixels,
        pixel_size=pixel_size,
        psf_radius=psf_radius,
        title=title,
        timings=timings,
        progress=progress,
    )
    with publishing(path, overwrite=True) as part:
        part.write_text(text, encoding='utf-8')
    return path


def report_html(
    result: xarray.DataArray | str | os.PathLike[str],
    /,
    *,
    data: Any = None,
    pixels: Sequence[tuple[int, int]] | None = None,
    pixel_size: float | None = None,
    psf_radius: float | None = None,
    title: str | None = None,
    timings: Mapping[str, float] | None = None,
    progress: bool = False,
) -> str:
    """Return a self-contained HTML report of a pCF result.

    Parameters
    ----------
    result : xarray.DataArray or str or path
        Result of :func:`ipcf.pcf_image`, or a store that
        :func:`ipcf.load_result` reads.
    data : array_like or str or path, shape (T, H, W), optional
        The image series analysed, for the mean image, the intensity
        trace and the raw curves. Default: the file that the result's
        ``source`` attribute names, looked up beside the result store
        first, then as given; without data those figures are left out.
    pixels : sequence of (y, x), optional
        Pixels whose curves are shown. Default: up to three from
        :func:`representative_pixels`.
    pixel_size : float, optional
        Pixel size in µm, > 0; default from the result's attributes, else
        the data's metadata.
    psf_radius : float, optional
        1/e² radius of the point spread function in µm, > 0; default
        likewise. With the pixel size it enables the maps of
        :func:`ipcf.maps`, which the report computes.
    title : str, optional
        Page title; default names the source.
    timings : mapping of str to float, optional
        Seconds of steps of the run that the result does not record
        (those after it was stored, say), shown under "Run times" after
        the times recorded with the result (its ``timings`` attribute:
        step name to seconds) and before the report's own time.
    progress : bool, optional, default: False
        Show a progress bar over the figures.

    Returns
    -------
    str
        The HTML document.

    Raises
    ------
    TypeError
        If `result` is not a pCF result or store, or an option is of the
        wrong type.
    ValueError
        If a pixel is outside the result, `data` does not match it, or
        `pixel_size` or `psf_radius` is not > 0.

    Examples
    --------
    >>> import ipcf
    >>> data = numpy.random.default_rng(0).poisson(100, (64, 10, 10))
    >>> result = ipcf.pcf_image(data, radius=2, npoints=8, nbins=6)
    >>> text = report_html(result, pixels=[(4, 5)])
    >>> 'data:image/png;base64,' in text
    True

    """
    result_path = None
    if isinstance(result, (str, os.PathLike)):
        result_path = Path(result)
        result = _read_result(result_path)
    return _report_html(
        result,
        result_path,
        data=data,
        pixels=pixels,
        pixel_size=pixel_size,
        psf_radius=psf_radius,
        title=title,
        timings=timings,
        progress=progress,
    )


def _report_html(
    result: Any,
    result_path: Path | None,
    /,
    *,
    data: Any,
    pixels: Sequence[tuple[int, int]] | None,
    pixel_size: float | None,
    psf_radius: float | None,
    title: str | None,
    timings: Mapping[str, float] | None,
    progress: bool,
) -> str:
    """Return the report of a loaded result (see :func:`report_html`)."""
    started = time.perf_counter()
    if pixel_size is not None:
        pixel_size = check_positive(pixel_size, 'pixel_size')
    if psf_radius is not None:
        psf_radius = check_positive(psf_radius, 'psf_radius')
    if title is not None:
        title = check_string(title, 'title')
    extra_timings = _check_timings(timings)
    progress = check_bool(progress, 'progress')
    from .fcs import result_kind

    if result_kind(result) is not None:
        # imaging FCS and N&B results have their own sections
        from ._fcs_report import fcs_report_html

        return fcs_report_html(
            result,
            result_path,
            data=data,
            pixels=pixels,
            pixel_size=pixel_size,
            psf_radius=psf_radius,
            title=title,
            timings=extra_timings,
            progress=progress,
            started=started,
        )
    from ._imsd_report import imsd_report_html, is_imsd
    from ._line_report import is_line, line_report_html

    if is_imsd(result) or is_line(result):
        # iMSD and line-scan results have their own sections too
        make = imsd_report_html if is_imsd(result) else line_report_html
        return make(
            result,
            result_path,
            data=data,
            pixel_size=pixel_size,
            title=title,
            timings=extra_timings,
            progress=progress,
            started=started,
        )
    dims = selection_dims(result)
    if dims:
        # several planes or channel pairs: a section of each, one page
        return _selections_report(
            result,
            result_path,
            dims,
            data=data,
            pixels=pixels,
            pixel_size=pixel_size,
            psf_radius=psf_radius,
            title=title,
            timings=extra_timings,
            progress=progress,
            started=started,
        )
    check_result(result)
    if data is None:
        data = source_of(result, result_path)
    notes: list[str] = []
    body, units = _pcf_sections(
        result,
        data=data,
        pixels=pixels,
        pixel_size=pixel_size,
        psf_radius=psf_radius,
        progress=progress,
        notes=notes,
    )
    source = result.attrs.get('source')
    if title is None:
        title = f'pCF report: {source}' if source else 'pCF report'
    sections = _page_head(title, result_path, parameter_rows(result, units))
    sections.extend(body)
    elapsed = _seconds(time.perf_counter() - started)
    return _page(title, sections, result, extra_timings, elapsed, notes)


def _pcf_sections(
    result: Any,
    /,
    *,
    data: Any,
    pixels: Sequence[tuple[int, int]] | None,
    pixel_size: float | None,
    psf_radius: float | None,
    progress: bool,
    notes: list[str],
    explore: bool = True,
    raw_curves: bool = True,
) -> tuple[list[str], dict[str, Any]]:
    """Return the sections of one plain pCF result after the parameters.

    From the Data table on: the data, the result, the explorer (if
    `explore`), the pCF images, the maps and the pixels' figures (raw
    curves of the data if `raw_curves`); and the units found.

    """
    if pixels is None:
        pixels = representative_pixels(result)
    else:
        pixels = [_check_pair(result, p) for p in pixels]
    series = None if data is None else as_series(data)
    if series is not None:
        _check_match(series, result)
    data_units = physical_units(data)
    units = physical_units(
        {'pixel_size': pixel_size, 'psf_radius': psf_radius},
        result.attrs,
        data_units,
    )

    sections: list[str] = []
    # computed once: for the figure and for what the pooled D means
    dataset = _compute_maps(
        result, units['pixel_size'], units['psf_radius'], notes
    )
    stats: dict[str, Any] = {}
    figures = _figure_plan(
        result,
        series,
        pixels,
        units['pixel_size'],
        dataset,
        stats,
        raw_curves=raw_curves,
    )
    rendered = _draw_figures(figures, notes, progress=progress)
    if series is None:
        sections.append(
            '<p class="note">The image series is not available: the mean '
            'image, the intensity trace and the raw curves are left '
            'out.</p>'
        )
    else:
        sections.append(_table(_data_summary(data, series, data_units)))
    sections.append('<h2>Result</h2>')
    sections.append(_table(_result_summary(result)))
    if explore:
        sections.append(
            explore_section(result, stats, units['pixel_size'], notes)
        )
    for section, heading in (
        ('data', 'Image series'),
        ('overview', 'pCF images'),
    ):
        if section in rendered:
            sections.append(f'<h2>{heading}</h2>')
            sections.append(_flex(rendered[section]))
    if dataset is not None:
        sections.append('<h2>Maps</h2>')
        truth = _simulation_truth(data)
        text, comparable = _pooled_text(dataset.attrs, truth)
        kind = '' if comparable else ' class="note"'
        sections.append(f'<p{kind}>{_esc(text)}</p>')
        if 'maps' in rendered:
            sections.append(_flex(rendered['maps']))
    for y, x in pixels:
        key = f'pixel {y},{x}'
        if key in rendered:
            sections.append(f'<h2>Pixel y={y}, x={x}</h2>')
            sections.append(_flex(rendered[key]))
    return sections, units


def _selections_report(
    result: Any,
    result_path: Path | None,
    dims: tuple[str, ...],
    /,
    *,
    data: Any,
    pixels: Sequence[tuple[int, int]] | None,
    pixel_size: float | None,
    psf_radius: float | None,
    title: str | None,
    timings: Mapping[str, float],
    progress: bool,
    started: float,
) -> str:
    """Return the report of a result of several planes or channel pairs.

    Each plane and channel pair gets the sections of a plain result
    under its own heading (auto-pCF of a channel, or the cross pCF of
    two, by the channels' names where the file gives them); the
    explorer shows the first. The data of a section are its plane and
    the centres' channel of the file; a cross pCF gets no raw curves
    (they need both channels).

    """
    from ..analysis._select import select
    from ._dispatch import _of_selection

    if data is None:
        data = source_of(result, result_path)
    # the units of the file, before a plane of one channel is opened
    known = physical_units(
        {'pixel_size': pixel_size, 'psf_radius': psf_radius},
        result.attrs,
        data,
    )
    pixel_size, psf_radius = known['pixel_size'], known['psf_radius']
    notes: list[str] = []
    body: list[str] = []
    units: dict[str, Any] = {}
    first = None
    contents = []
    for index in numpy.ndindex(*(result.sizes[d] for d in dims)):
        at = {
            dim: int(result[dim].values[i]) if dim in result.coords else i
            for dim, i in zip(dims, index, strict=True)
        }
        sub = select(result, **at)
        first = sub if first is None else first
        heading, anchor = _selection_heading(sub, at)
        contents.append(f'<li><a href="#{anchor}">{_esc(heading)}</a></li>')
        cross = at.get('channel') != at.get(
            'neighbour_channel', at.get('channel')
        )
        part_notes: list[str] = []
        sections, units = _pcf_sections(
            sub,
            data=_of_selection(data, sub),
            pixels=pixels,
            pixel_size=pixel_size,
            psf_radius=psf_radius,
            progress=progress,
            notes=part_notes,
            explore=len(contents) == 1,
            raw_curves=not cross,
        )
        notes.extend(f'{heading}: {note}' for note in part_notes)
        body.append(f'<h2 id="{anchor}">{_esc(heading)}</h2>')
        body.append('<h3>Data</h3>')
        body.extend(
            text.replace('<h2>', '<h3>').replace('</h2>', '</h3>')
            for text in sections
        )
    source = result.attrs.get('source')
    if title is None:
        title = f'pCF report: {source}' if source else 'pCF report'
    sections = _page_head(title, result_path, parameter_rows(first, units))
    sections[-1] = '<h2>Planes and channel pairs</h2>'
    sections.append('<ul>' + ''.join(contents) + '</ul>')
    sections.extend(body)
    elapsed = _seconds(time.perf_counter() - started)
    return _page(title, sections, result, timings, elapsed, notes)


def _selection_heading(sub: Any, at: Mapping[str, int]) -> tuple[str, str]:
    """Return the heading of one plane and channel pair, and its anchor."""
    parts = []
    if 'z' in at:
        parts.append(f'plane z={at["z"]}')
    if 'channel' in at:
        name = _channel_name(sub, 'channel', at['channel'])
        other = at.get('neighbour_channel', at['channel'])
        if other == at['channel']:
            parts.append(f'auto-pCF of channel {name}')
        else:
            target = _channel_name(sub, 'neighbour_channel', other)
            parts.append(f'cross pCF from channel {name} to {target}')
    anchor = 'sel-' + '-'.join(f'{k}{v}' for k, v in at.items())
    heading = ', '.join(parts)
    return heading[:1].upper() + heading[1:], anchor


def _channel_name(sub: Any, dim: str, index: int) -> str:
    """Return 'index (name)' of a channel, or the index alone."""
    key = f'{dim}_name'
    if key in sub.coords and sub[key].ndim == 0:
        name = str(sub[key].item())
        if name and name != str(index):
            return f'{index} ({name})'
    return str(index)


def _draw_figures(
    plan: Sequence[tuple[str, str, Callable[[], Figure]]],
    notes: list[str],
    *,
    progress: bool,
    errors: tuple[type[BaseException], ...] = (ValueError, ImportError),
) -> dict[str, list[str]]:
    """Draw (section, caption, make) figures: section -> their HTML.

    A figure that raises one of `errors` is left out with a note.
    """
    rendered: dict[str, list[str]] = {}
    with progress_bar(len(plan), enable=progress, desc='report') as bar:
        for section, caption, make in plan:
            try:
                fig = make()
            except errors as exc:
                notes.append(f'{caption}: not drawn ({exc})')
            else:
                rendered.setdefault(section, []).append(
                    _figure_html(fig, caption)
                )
            bar.update(1)
    return rendered


def _page_head(
    title: str,
    result_path: Any,
    parameters: Sequence[tuple[Any, ...]],
) -> list[str]:
    """Return a report's title, origin and parameters, up to Data."""
    from .. import __version__

    now = datetime.datetime.now().isoformat(timespec='seconds')
    return [
        f'<h1>{_esc(title)}</h1>',
        f'<p class="meta">Written {_esc(now)} by ipcf {_esc(__version__)}'
        + (f' from {_esc(result_path)}' if result_path else '')
        + '.</p>',
        '<h2>Parameters</h2>',
        _table(parameters),
        '<h2>Data</h2>',
    ]


def _page(
    title: str,
    sections: list[str],
    result: Any,
    timings: Mapping[str, Any],
    elapsed: str,
    notes: Sequence[str],
) -> str:
    """Return the page: sections, run times, notes.

    `elapsed` is the report's own time, as text.
    """
    times = _timings(result)
    times.extend((step, _seconds(s)) for step, s in timings.items())
    times.append(('this report', elapsed))
    sections = [*sections, '<h2>Run times</h2>', _table(times)]
    if notes:
        sections.append('<h2>Notes</h2><ul>')
        sections.extend(f'<li class="note">{_esc(n)}</li>' for n in notes)
        sections.append('</ul>')
    body = '\n'.join(sections)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<title>{_esc(title)}</title>\n<style>{_STYLE}</style>\n</head>\n'
        f'<body>\n{body}\n</body>\n</html>\n'
    )


def _read_result(path: Path) -> Any:
    """Return the pCF result of a store, or its imaging FCS or N&B one."""
    from ._imsd_report import read_imsd
    from .fcs import result_kind

    imsd = read_imsd(path)
    if imsd is not None:
        return imsd

    group = result_kind(path)
    if group is None:
        return read_result(path)
    from ..store import load_result

    return load_result(path, group=group)


def representative_pixels(
    result: xarray.DataArray, /, count: int = 3
) -> list[tuple[int, int]]:
    """Return pixels whose curves show the range of a result.

    The pixel with the strongest correlation (largest G at a non-zero
    delay toward any point), the pixel with values nearest the centre of
    the result, and the pixel with the weakest correlation, in that
    order, without repeats. Pixels without values (masked) are skipped.

    Parameters
    ----------
    result : xarray.DataArray
        Result of :func:`ipcf.pcf_image`.
    count : int, optional, default: 3
        At most this many pixels, 1 to 3.

    Returns
    -------
    list of (y, x)
        Input pixel coordinates; empty if no pixel has values.

    Examples
    --------
    >>> import ipcf
    >>> data = numpy.random.default_rng(0).poisson(100, (64, 10, 10))
    >>> result = ipcf.pcf_image(data, radius=2, npoints=8, nbins=6)
    >>> len(representative_pixels(result))
    3

    """
    count = check_int(count, 'count', minimum=1)
    values = numpy.asarray(result)
    valid = numpy.isfinite(values).all(axis=(2, 3))
    if not valid.any():
        return []
    later = values[:, :, :, 1:] if values.shape[3] > 1 else values
    with numpy.errstate(invalid='ignore'):
        score = numpy.where(valid, later.max(axis=(2, 3)), numpy.nan)
    ny, nx = valid.shape
    yy, xx = numpy.mgrid[:ny, :nx]
    distance = numpy.where(
        valid, (yy - (ny - 1) / 2) ** 2 + (xx - (nx - 1) / 2) ** 2, numpy.inf
    )
    candidates = [
        numpy.unravel_index(numpy.nanargmax(score), score.shape),
        numpy.unravel_index(numpy.argmin(distance), distance.shape),
        numpy.unravel_index(numpy.nanargmin(score), score.shape),
    ]
    ys = result['y'].values
    xs = result['x'].values
    pixels: list[tuple[int, int]] = []
    for j, i in candidates:
        pixel = (int(ys[j]), int(xs[i]))
        if pixel not in pixels:
            pixels.append(pixel)
    return pixels[:count]


def _figure_plan(
    result: Any,
    series: Any,
    pixels: Sequence[tuple[int, int]],
    pixel_size: float | None,
    dataset: Any,
    stats: dict[str, Any],
    *,
    raw_curves: bool = True,
) -> list[tuple[str, str, Callable[[], Figure]]]:
    """Return (section, caption, make_figure) of every figure to draw."""
    plan: list[tuple[str, str, Callable[[], Figure]]] = []
    npoints, nbins = result.shape[2:]
    if series is not None:

        def statistics() -> tuple[Any, Any]:
            # one pass over the series serves the image and the trace
            if not stats:
                stats['mean'], stats['trace'] = series_mean(series)
            return stats['mean'], stats['trace']

        def mean_figure() -> Figure:
            mean = statistics()[0]
            box, mask = result_region(result, mean.shape)
            return roi(
                mean,
                box=box,
                mask=mask,
                pixel_size=pixel_size,
                title='mean intensity and analysed pixels',
            )

        def trace_figure() -> Figure:
            dt = float(result.attrs.get('dt', 1.0))
            trace = statistics()[1]
            frames = analysed_frames(result.attrs, trace.size)
            return decimated_trace(trace, dt=dt, analysed=frames)

        plan.append(('data', 'Mean intensity; analysed region', mean_figure))
        plan.append(('data', 'Mean intensity over time', trace_figure))

    delays = sorted({nbins // 6, nbins // 3, nbins // 2, (2 * nbins) // 3})
    delays = [d for d in delays if d > 0] or [0]
    for point in sorted({0, npoints // 4}):
        plan.append(
            (
                'overview',
                f'pCF toward circle point {point} at several delays',
                _bound(
                    pcf_image,
                    result,
                    point,
                    delays,
                    pixel_size=pixel_size,
                ),
            )
        )
    if dataset is not None:
        # the report computes the maps; the figure only draws them
        plan.append(
            (
                'maps',
                'Maps derived from the pCF',
                _bound(_maps_figure, dataset, series, pixel_size),
            )
        )

    for y, x in pixels:
        key = f'pixel {y},{x}'
        plan.append((key, 'Carpet', _bound(carpet, result, y, x)))
        plan.append((key, 'Polar', _bound(polar, result, y, x)))
        plan.append((key, 'Curves', _bound(lines, result, y, x)))
        if series is not None and raw_curves:
            point = _strongest_point(result, y, x)
            plan.append(
                (
                    key,
                    f'Raw, binned and smoothed curve toward point {point}',
                    _bound(
                        curve_processing,
                        series,
                        result,
                        y,
                        x,
                        point=point,
                    ),
                )
            )
    return plan


def _maps_figure(dataset: Any, series: Any, pixel_size: Any) -> Figure:
    """Return the maps with the background outside the cell masked."""
    mask = None
    if series is not None:
        from ..roi import mean_image
        from ._common import cell_mask

        # the first frames find the cell, and are quick to read
        mask = cell_mask(mean_image(series))
    return maps(dataset, pixel_size=pixel_size, mask=mask)


def _compute_maps(
    result: Any,
    pixel_size: float | None,
    psf_radius: float | None,
    notes: list[str],
) -> xarray.Dataset | None:
    """Return the maps of the result, or None with a note why not."""
    if pixel_size is None or psf_radius is None:
        notes.append(
            'Maps: left out; they need the pixel size and the PSF radius '
            'in µm (from the data metadata, or pixel_size= and psf_radius=)'
        )
        return None
    from ..analysis import maps as compute_maps

    try:
        return compute_maps(result, pixel_size=pixel_size, w=psf_radius)
    except (ValueError, ImportError) as exc:
        notes.append(f'Maps: not computed ({exc})')
        return None


def _pooled_text(
    attrs: Mapping[str, Any], truth: Mapping[str, Any] | None, /
) -> tuple[str, bool]:
    """Return what the pooled D is, and whether it compares with truth.

    `truth` is the metadata of a simulation, with its diffusion
    coefficient (None if not known); a pooled D of curves that are not
    those of free diffusion (``D_pooled_free`` False) is an apparent D
    that does not compare with it, for the cause the simulation says.

    >>> attrs = {'D_pooled': 2.06, 'D_pooled_error': 0.12,
    ...          'D_pooled_free': True, 'D_pooled_note': 'a fit'}
    >>> _pooled_text(attrs, {'diffusion': 4.0})
    ('Pooled D: 2.06 ± 0.12 µm²/s (a fit)', True)

    """
    pooled = float(attrs.get('D_pooled', math.nan))
    error = float(attrs.get('D_pooled_error', math.nan))
    text = f'Pooled D: {pooled:.3g} ± {error:.2g} µm²/s'
    note = attrs.get('D_pooled_note')
    if note:
        text += f' ({note})'
    free = attrs.get('D_pooled_free')
    known = truth is not None and free is not None
    if not known or bool(free) or not math.isfinite(pooled):
        return text, True
    text += (
        " — not comparable with the simulation's D = "
        f'{_format_value(truth["diffusion"])} µm²/s, which is that of free '
        f'steps; here {_why_not_free(truth)}.'
    )
    return text, False


def _why_not_free(truth: Mapping[str, Any], /) -> str:
    """Return why a simulation's curves are not those of free diffusion."""
    diffusion = truth['diffusion']
    if truth.get('velocity') is not None:
        return 'a flow carries the molecules too'
    if isinstance(diffusion, (list, tuple)) and len(set(diffusion)) > 1:
        return 'populations of several diffusion coefficients mix'
    if truth.get('kind') == 'free':
        return 'the curves do not follow the model of free diffusion'
    return 'walls or compartment edges confine the molecules'


def _simulation_truth(data: Any) -> dict[str, Any] | None:
    """Return the data's metadata if it holds a true D, else None.

    Simulations record theirs (:mod:`ipcf.simulate`): one number, or one
    per population, with the kind of simulation and its parameters.

    """
    if data is None:
        return None
    from ..io import read_metadata

    try:
        metadata = dict(read_metadata(data) or {})
    except (OSError, ValueError, TypeError):
        return None
    value = metadata.get('diffusion')
    values = value if isinstance(value, (list, tuple)) else [value]
    if not values or not all(_is_real(v) for v in values):
        return None
    return metadata


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bound(function: Callable[..., Figure], *args: Any, **kwargs: Any):
    def make() -> Figure:
        return function(*args, **kwargs)

    return make


def _strongest_point(result: Any, y: int, x: int) -> int:
    values = result.sel(y=y, x=x).values[:, 1:]
    if not numpy.isfinite(values).any():
        return 0
    return int(numpy.nanargmax(numpy.nanmax(values, axis=1)))


def _check_pair(result: Any, pixel: Any) -> tuple[int, int]:
    if not hasattr(pixel, '__len__') or len(pixel) != 2:
        msg = f'{pixel=} is not a (y, x) pair'
        raise ValueError(msg)
    return check_pixel(result, *pixel)


def _check_match(series: Any, result: Any) -> None:
    frames = int(result.attrs.get('frames', 0))
    if series.shape[0] < frames:
        msg = f'data have {series.shape[0]} frames; the result used {frames}'
        raise ValueError(msg)
    result_region(result, tuple(series.shape[1:]))


def _data_summary(data: Any, series: Any, units: dict) -> list[tuple]:
    from .. import io

    rows: list[tuple[str, Any]] = []
    info: dict[str, Any] = {}
    if isinstance(data, (str, os.PathLike)):
        rows.append(('path', os.fspath(data)))
        try:
            info = io.info(data)
        except (OSError, ValueError, TypeError):
            info = {}
        for key in ('format', 'files', 'chunks'):
            if info.get(key) is not None:
                rows.append((key, info[key]))
    shape = tuple(int(n) for n in series.shape)
    nbytes = math.prod(shape) * numpy.dtype(series.dtype).itemsize
    rows.append(('shape (T, H, W)', shape))
    rows.append(('dtype', numpy.dtype(series.dtype).name))
    rows.append(('size (MiB)', nbytes / 2**20))
    for key, unit in (
        ('pixel_size', 'µm'),
        ('frame_interval', 's'),
        ('psf_radius', 'µm'),
    ):
        if units.get(key) is not None:
            rows.append((f'{key} ({unit})', units[key]))
    diffusion = (info.get('metadata') or {}).get('diffusion')
    if diffusion is not None:
        rows.append(('diffusion (µm²/s)', diffusion))
    return [(k, _format_value(v)) for k, v in rows]


def _result_summary(result: Any) -> list[tuple[str, str]]:
    values = numpy.asarray(result)
    valid = numpy.isfinite(values).all(axis=(2, 3))
    finite = values[numpy.isfinite(values)]
    delays = result['delay'].values
    unit = delay_unit(result)
    rows = [
        ('shape (y, x, point, delay)', tuple(values.shape)),
        (
            'pixels y, x',
            f'{result["y"].values[0]}..{result["y"].values[-1]}, '
            f'{result["x"].values[0]}..{result["x"].values[-1]}',
        ),
        ('pixels with values', f'{int(valid.sum())} of {valid.size}'),
        (f'delays ({unit})', f'0 .. {delays[-1]:.4g} in {len(delays)} bins'),
    ]
    if finite.size:
        rows.append(('G range', f'{finite.min():.4g} .. {finite.max():.4g}'))
    return [(k, _format_value(v)) for k, v in rows]


def _is_timing(key: str) -> bool:
    key = key.lower()
    return key in {'timings', 'elapsed', 'seconds', 'run_time'} or (
        key.endswith('_s') or key.endswith('_seconds')
    )


def _timings(result: Any) -> list[tuple[str, str]]:
    rows = []
    for key, value in result.attrs.items():
        if not _is_timing(key):
            continue
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        if isinstance(value, dict):
            # the steps of the run by name; other records keep their key
            prefix = '' if key == 'timings' else f'{key}: '
            for step, seconds in value.items():
                rows.append((f'{prefix}{step}', _seconds(seconds)))
        else:
            rows.append((key, _seconds(value)))
    return rows


def _check_timings(timings: Any) -> dict[str, float]:
    """Return timings as a dict of step names to seconds >= 0."""
    if timings is None:
        return {}
    if not isinstance(timings, Mapping):
        msg = (
            f'timings is a {type(timings).__name__}; expected a mapping of '
            'step names to seconds'
        )
        raise TypeError(msg)
    checked = {}
    for step, seconds in timings.items():
        step = check_string(step, 'timings key')
        checked[step] = check_real(seconds, f'timings[{step!r}]', minimum=0)
    return checked


def _seconds(value: Any) -> str:
    try:
        return f'{float(value):.4g} s'
    except (TypeError, ValueError):
        return str(value)


def _format_value(value: Any) -> str:
    # one rule for every table: four significant digits
    if isinstance(value, (float, numpy.floating)):
        return f'{float(value):.4g}'
    if isinstance(value, (list, tuple)):
        return ', '.join(_format_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return str(value)


def _figure_html(fig: Figure, caption: str) -> str:
    buffer = _io.BytesIO()
    fig.savefig(buffer, format='png', dpi=_DPI)
    encoded = base64.b64encode(buffer.getvalue()).decode('ascii')
    return (
        f'<figure><img alt="{_esc(caption)}" '
        f'src="data:image/png;base64,{encoded}">'
        f'<figcaption>{_esc(caption)}</figcaption></figure>'
    )


def _flex(items: list[str]) -> str:
    return '<div class="figures">\n' + '\n'.join(items) + '\n</div>'


_TABLE_UNITS = frozenset(
    {'s', 'ms', 'frame', 'frames', 'pixel', 'µm', 'µm²/s', 'counts', 'MiB'}
)
"""Units that a table moves from a row's name or value to its own column."""


def _table(rows: Sequence[tuple[Any, ...]]) -> str:
    """Return rows as a table of quantity, value and unit.

    A row is (name, value) or (name, value, unit); without a unit, one
    of :data:`_TABLE_UNITS` is taken from the end of the name,
    ``'radius (pixel)'``, or of a value that is a number and a unit,
    ``'4.4 s'``.

    >>> print(_table([('radius (pixel)', '6'), ('pCF', '4.4 s')]))
    <table>
    <tr><th></th><th>value</th><th>unit</th></tr>
    <tr><th>radius</th><td>6</td><td>pixel</td></tr>
    <tr><th>pCF</th><td>4.4</td><td>s</td></tr>
    </table>

    """
    lines = ['<table>', '<tr><th></th><th>value</th><th>unit</th></tr>']
    for row in rows:
        key, value, unit = (*row, '')[:3]
        if not unit:
            key, value, unit = _split_unit(str(key), str(value))
        lines.append(
            f'<tr><th>{_esc(key)}</th><td>{_esc(value)}</td>'
            f'<td>{_esc(unit)}</td></tr>'
        )
    lines.append('</table>')
    return '\n'.join(lines)


def _split_unit(key: str, value: str) -> tuple[str, str, str]:
    """Return name, value and the unit found at the end of either."""
    if key.endswith(')') and ' (' in key:
        name, unit = key[:-1].rsplit(' (', 1)
        if unit in _TABLE_UNITS:
            return name, value, unit
    number, _, unit = value.rpartition(' ')
    if unit in _TABLE_UNITS:
        try:
            float(number)
        except ValueError:
            pass
        else:
            return key, number, unit
    return key, value, ''


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)
