"""Figure by kind, from a stored result or an image series.

:func:`draw` is what ``ipcf plot`` draws: it opens the store or the
series, finds a result's image series (:func:`ipcf._sources.source_of`)
and its units, computes what a figure needs but does not compute itself
(the maps of :func:`ipcf.maps`), and calls the figure.

"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy

from .._sources import physical_units, source_of
from .._validate import check_bool, check_choice, check_positive, check_real
from ..analysis._select import select
from ._common import (
    as_series,
    centre_pixel,
    check_result,
    delay_unit,
    holds_result,
    is_path,
    read_result,
    result_region,
)
from .curves import carpet, curve_processing, lines, polar
from .images import maps, pcf_image
from .series import intensity_trace, mean_image, roi

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ['KINDS', 'draw']

KINDS = (
    'mean',
    'trace',
    'curve',
    'carpet',
    'polar',
    'lines',
    'image',
    'roi',
    'maps',
    'acf',
    'brightness',
    'line',
    'imsd',
    'stics',
    'imsd-maps',
)
"""Figure kinds of :func:`draw` (and ``ipcf plot --kind``)."""

_NEEDS_DATA = {'mean', 'trace', 'curve', 'roi'}
_NEEDS_RESULT = {'curve', 'carpet', 'polar', 'lines', 'image', 'roi', 'maps'}


def draw(
    source: Any,
    /,
    kind: str,
    *,
    data: Any = None,
    pixel: tuple[int, int] | None = None,
    point: int | None = None,
    delay: float | Sequence[float] | None = None,
    pixel_size: float | None = None,
    psf_radius: float | None = None,
    monomer: float | None = None,
    progress: bool = False,
    z: int | None = None,
    channel: int | None = None,
    neighbour_channel: int | None = None,
) -> Figure:
    """Return a figure of a stored result or an image series by kind.

    What ``ipcf plot`` draws. A result store's raw data, needed by the
    kinds ``'mean'``, ``'trace'``, ``'curve'`` and ``'roi'``, is `data`
    or else the file named by the result's ``source`` attribute.

    Parameters
    ----------
    source : str or path or xarray.DataArray or array_like
        A result store (``.h5``, ``.zarr`` with a pCF group) or result,
        or an image series (anything :func:`ipcf.open_series` opens).
    kind : str
        One of :data:`KINDS`: ``'mean'`` (:func:`mean_image`),
        ``'trace'`` (:func:`intensity_trace`), ``'curve'``
        (:func:`curve_processing`), ``'carpet'``, ``'polar'``,
        ``'lines'``, ``'image'`` (:func:`pcf_image`), ``'roi'`` (the
        analysed pixels over the mean image) or ``'maps'``
        (:func:`ipcf.maps` and :func:`maps`). Imaging FCS and N&B results
        (stores with an ``acf``, ``fcs`` or ``nb`` group) draw ``'maps'``,
        ``'acf'`` and ``'brightness'`` as :func:`ipcf.plot.fcs.draw_fcs`
        says. ``'line'`` draws a line-scan result
        (:func:`ipcf.plot.line.pcf_carpet`) beside its carpet.
        ``'imsd'``, ``'stics'`` and ``'imsd-maps'`` draw an iMSD result
        (a store of ``ipcf imsd``) or the STICS and iMSD of a series, as
        :func:`ipcf.plot._imsd_report.draw_imsd` says.
    data : str or path or array_like, optional
        The image series of a result.
    pixel : (y, x), optional
        Pixel for the per-pixel kinds; default the result's centre.
        For ``'trace'``, plot this pixel's series; for ``'mean'``, mark
        it.
    point : int, optional
        Circle point for ``'curve'`` and ``'image'``; default 0.
    delay : float or sequence of float, optional
        Delay in seconds (in frames if ``dt`` is 1) for ``'image'``;
        the nearest bin is shown, several give a grid. Default: the bin
        a third of the way along.
    pixel_size : float, optional
        Pixel size in µm; default from the result or data metadata.
    psf_radius : float, optional
        PSF 1/e² radius in µm for ``'maps'``; default from the data
        metadata.
    monomer : float, optional
        Monomer brightness of ``'brightness'``.
    progress : bool, optional, default: False
        Show progress bars while reading data.
    z, channel, neighbour_channel : int, optional
        Of a result (or maps) of several planes or channels: the plane
        and channel pair to draw, by their labels; default the only one
        where there is one. The data of the kinds that need them are
        that plane and the centres' channel of the file.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If `kind` is unknown, the source lacks what the kind needs (a
        result, the data), or an argument is out of range.

    Examples
    --------
    >>> data = numpy.random.default_rng(0).poisson(100, (32, 8, 8))
    >>> draw(data, 'trace').axes[0].get_ylabel()
    'intensity (counts)'

    """
    kind = check_choice(kind, 'kind', KINDS)
    from ._imsd_report import IMSD_KINDS, draw_imsd, is_imsd

    if kind in IMSD_KINDS or is_imsd(source):
        return draw_imsd(
            source,
            kind,
            pixel=pixel,
            pixel_size=pixel_size,
            progress=progress,
        )
    from .fcs import draw_fcs, result_kind

    if result_kind(source) is not None:
        return draw_fcs(
            source,
            kind,
            data=data,
            pixel=pixel,
            pixel_size=pixel_size,
            psf_radius=psf_radius,
            monomer=monomer,
            progress=progress,
        )
    if kind in {'acf', 'brightness'}:
        what = 'an ACF result' if kind == 'acf' else 'an N&B result'
        msg = f'kind {kind!r} needs {what} (of ipcf acf or ipcf nb)'
        raise ValueError(msg)
    if kind == 'line':
        return _draw_line(source, data=data, pixel_size=pixel_size)
    if pixel_size is not None:
        pixel_size = check_positive(pixel_size, 'pixel_size')
    if psf_radius is not None:
        psf_radius = check_positive(psf_radius, 'psf_radius')
    progress = check_bool(progress, 'progress')
    if pixel is not None and (
        not hasattr(pixel, '__len__') or len(pixel) != 2
    ):
        msg = f'{pixel=} is not a (y, x) pair'
        raise ValueError(msg)
    selection = {
        'z': z,
        'channel': channel,
        'neighbour_channel': neighbour_channel,
    }
    stored_maps = _maps_store(source)
    if stored_maps is not None:
        # maps written by ipcf maps: drawn as they are
        if kind != 'maps':
            msg = (
                f'kind {kind!r} needs a pCF result; {os.fspath(source)!r} '
                "holds maps (of ipcf maps): use kind 'maps'"
            )
            raise ValueError(msg)
        if data is None:
            data = source_of(stored_maps, source)
        stored_maps = select(stored_maps, **selection)
        mask = _cell_mask(_of_selection(data, stored_maps), progress=progress)
        return maps(stored_maps, pixel_size=pixel_size, mask=mask)
    result, series_source = _result_or_series(source, selection)
    if result is not None and data is None:
        # the source also gives pixel size and PSF radius to other kinds
        data = source_of(result, source if is_path(source) else None)
    whole_data = data  # the file: its metadata give the units
    if result is not None:
        data = _of_selection(data, result)
        if data is None and kind in _NEEDS_DATA:
            msg = (
                f'kind {kind!r} needs the image series; the result names '
                f'{result.attrs.get("source")!r}, which was not found: '
                'give the data (--data)'
            )
            raise ValueError(msg)
    if data is None:
        data = series_source
    if kind in _NEEDS_RESULT and result is None:
        msg = f'kind {kind!r} needs a pCF result, not an image series'
        raise ValueError(msg)
    units = physical_units(
        {'pixel_size': pixel_size, 'psf_radius': psf_radius},
        None if result is None else result.attrs,
        data,
        whole_data,
    )
    pixel_size = units['pixel_size']
    if kind == 'mean':
        return mean_image(
            data, mark=pixel, pixel_size=pixel_size, progress=progress
        )
    if kind == 'trace':
        return intensity_trace(
            data,
            dt=units['frame_interval'],
            pixel=pixel,
            result=result,
            progress=progress,
        )
    if pixel is None:
        pixel = centre_pixel(result)
    point = 0 if point is None else point
    if kind == 'curve':
        return curve_processing(data, result, *pixel, point=point)
    if kind in {'carpet', 'polar', 'lines'}:
        function = {'carpet': carpet, 'polar': polar, 'lines': lines}[kind]
        return function(result, *pixel)
    if kind == 'image':
        if delay is None:
            bins: int | list[int] = result.sizes['delay'] // 3
        elif isinstance(delay, (Sequence, numpy.ndarray)):
            bins = [_delay_bin(result, d) for d in delay]
        else:
            bins = _delay_bin(result, delay)
        return pcf_image(result, point, bins, pixel_size=pixel_size)
    if kind == 'roi':
        from ..roi import mean_image as roi_mean_image

        mean = roi_mean_image(as_series(data), frames=None, progress=progress)
        box, mask = result_region(result, mean.shape)
        return roi(
            mean,
            box=box,
            mask=mask,
            pixel_size=pixel_size,
            title='mean intensity and analysed pixels',
        )
    # maps: the figure draws them, the dispatcher computes them
    from ..analysis import maps as compute_maps

    psf_radius = units['psf_radius']
    if pixel_size is None or psf_radius is None:
        msg = (
            "kind 'maps' needs the pixel size and the PSF radius in µm; "
            'give them (--pixel-size, --psf) or data with that metadata'
        )
        raise ValueError(msg)
    dataset = compute_maps(result, pixel_size=pixel_size, w=psf_radius)
    mask = _cell_mask(data, progress=progress)
    return maps(dataset, pixel_size=pixel_size, mask=mask)


def _result_or_series(
    source: Any, selection: dict[str, Any]
) -> tuple[Any, Any]:
    """Return (result, None) for a pCF result or store, else (None, data).

    A result of several planes or channels gives the one of `selection`.

    """
    if hasattr(source, 'dims'):
        result = select(source, **selection)
        check_result(result)
        return result, None
    if isinstance(source, (str, os.PathLike)) and holds_result(source):
        return select(read_result(source), **selection), None
    return None, source  # an image series, perhaps in a store


def _of_selection(data: Any, selected: Any) -> Any:
    """Return the plane and centre channel of a file that selected is of.

    A result selected from one of several planes or channels keeps their
    labels as scalar coordinates; other data are returned as given.

    """
    at = {
        key: int(selected[key])
        for key in ('channel', 'z')
        if key in selected.coords and selected[key].ndim == 0
    }
    if not at or data is None or not is_path(data):
        return data
    from ..io import open_series

    return open_series(data, **at)


def _maps_store(source: Any) -> Any:
    """Return the maps stored at source by ipcf maps, else None."""
    if not isinstance(source, (str, os.PathLike)):
        return None
    from ..store import result_groups

    if os.fspath(source).lower().endswith('.nc'):
        groups = ['maps'] if os.path.exists(source) else []
    else:
        groups = result_groups(source)
    if 'maps' not in groups or 'pcf' in groups:
        return None
    from ..analysis import load_maps

    return load_maps(source)


def _cell_mask(data: Any, *, progress: bool) -> Any:
    """Return the cell in the mean image of a series, or None."""
    if data is None:
        return None
    from ..roi import mean_image as roi_mean_image
    from ._common import cell_mask

    try:
        # the first frames are enough to find the cell, and quick to read
        mean = roi_mean_image(as_series(data), progress=progress)
    except (OSError, ValueError, TypeError):
        return None
    return cell_mask(mean)


def _delay_bin(result: Any, seconds: Any) -> int:
    """Return the index of the delay bin nearest `seconds`."""
    seconds = check_real(seconds, 'delay')
    delays = result['delay'].values
    last = float(result['bin_edge'].values[-1]) * result.attrs.get('dt', 1.0)
    if not 0 <= seconds <= last:
        unit = delay_unit(result)
        msg = f'delay={seconds:g} is outside the delays 0..{last:g} {unit}'
        raise ValueError(msg)
    return int(numpy.argmin(numpy.abs(delays - seconds)))


def _draw_line(source: Any, *, data: Any, pixel_size: Any) -> Figure:
    """Return the pCF carpet figure of a line-scan result."""
    from ..line import open_carpet
    from .line import pcf_carpet

    result = read_result(source) if is_path(source) else source
    if 'offset' not in getattr(result, 'dims', ()):
        msg = "kind 'line' needs a line-scan result (of ipcf line)"
        raise ValueError(msg)
    if pixel_size is not None:
        pixel_size = check_positive(pixel_size, 'pixel_size')
    if data is None:
        data = source_of(result, source if is_path(source) else None)
    carpet = None
    if data is not None:
        carpet = open_carpet(data)[0] if is_path(data) else data
        carpet = numpy.asarray(carpet[:])
    return pcf_carpet(result, carpet, pixel_size=pixel_size)
