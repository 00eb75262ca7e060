"""Pair correlation of line scans: the pCF carpet.

A confocal beam scans one line (or a circular orbit) thousands of times;
the intensity carpet ``F[t, x]`` (scan ``t``, position ``x``) is
correlated between positions a fixed distance apart. For every position
``x`` and distance ``d`` :func:`pcf_line` returns the curves toward
``x + d`` and toward ``x - d``, normalised, log-binned and smoothed as
the image pCF is (:mod:`ipcf.pcf`). Drawn as an image of position
against log delay (:func:`ipcf.plot.line.pcf_carpet`), a barrier shows as a
band of positions whose curves across it are missing or delayed.

A carpet is computed as an image series of one row per line with the
neighbour offsets ``(+d, 0)`` and ``(-d, 0)`` (:class:`ipcf.plan.Plan`),
so every engine of the image pCF serves it; ``engine='reference'`` is a
direct sum over scans in plain numpy, the truth the others are tested
against. A circular orbit (``periodic=True``) wraps its positions: the
carpet is padded with its own ends.

:func:`fit_line` fits the free-diffusion model to the curves of a
carpet (:mod:`ipcf._pair_model`).

"""

from __future__ import annotations

import math
import os
import pathlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy

from ._utils import number_threads, progress_bar
from ._validate import (
    check_any,
    check_bool,
    check_choice,
    check_int,
    check_mask,
    check_positive,
    check_series,
)
from .plan import Plan, average_bins, bin_delays, logbins, smooth

if TYPE_CHECKING:
    import xarray
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    'LineAnalysis',
    'analyze_line',
    'fit_line',
    'line_mask',
    'open_carpet',
    'pcf_line',
]

MIN_FRAMES = 16
"""Fewest scans :func:`pcf_line` accepts, as for images."""

MODES = ('circular', 'linear')
"""Correlation modes."""


def pcf_line(
    carpet: ArrayLike,
    *,
    distance: int | Sequence[int],
    nbins: int = 32,
    dt: float = 1.0,
    line_time: float | None = None,
    periodic: bool = False,
    mask: ArrayLike | None = None,
    truncate: bool = True,
    mode: str = 'circular',
    engine: str = 'auto',
    num_threads: int | None = None,
    progress: bool = False,
) -> xarray.DataArray:
    """Return the pCF carpet of a line scan: curves toward x + d and x - d.

    Parameters
    ----------
    carpet : array_like, shape (T, X) or (T, L, X), str or os.PathLike
        Intensities of one line scanned T times (scan ``t``, position
        ``x``), or of L lines scanned together (each analysed on its
        own); integer or floating point, not modified. A path or an
        :func:`ipcf.io.open_series` series is read by
        :func:`open_carpet`: always ``(T, L, X)``, a file of one line
        too.
    distance : int or sequence of int
        Distances in pixels, each >= 0 (0 is the autocorrelation).
        Without `periodic` each must be below ``X / 2``.
    nbins : int, optional, default: 32
        Log delay bins requested, at least 2; see :func:`ipcf.logbins`.
    dt : float, optional, default: 1.0
        Time between two scans of the line in seconds.
    line_time : float, optional
        The same as `dt`, by its line-scan name; give one of the two. If
        None (the default) and `dt` is not given either, the line time
        of a file or series (its stored ``line_time``, else its frame
        interval; :func:`open_carpet`) is used where it has one.
    periodic : bool, optional, default: False
        Positions wrap around (a circular orbit): every position is a
        centre and ``x + d`` is taken modulo X. Else centres are the
        positions ``dmax <= x < X - dmax`` of the largest distance.
    mask : array_like of bool, shape (X,) or (L, X), str or os.PathLike
        Centre positions to analyse, or a file of them (``.npy`` or
        TIFF; see :func:`line_mask`); the curves of the others are NaN.
        A mask of X positions applies to every line. Default: all.
    truncate : bool, optional, default: True
        Use the first ``2**floor(log2(T))`` scans. Else use all.
    mode : {'circular', 'linear'}, optional
        Circular (default) or zero-padded linear correlation in time.
    engine : {'auto', 'reference', 'cpu', 'gpu'}, optional
        Implementation; all agree within 1e-5. ``'reference'`` is the
        direct sum in float64 numpy.
    num_threads : int, optional
        Threads; None uses all cores.
    progress : bool, optional, default: False
        Show a progress bar.

    Returns
    -------
    xarray.DataArray, float32
        Named ``'pcf'``, dims ``('x', 'offset', 'delay')`` of a 2-D
        carpet and ``('line', 'x', 'offset', 'delay')`` of a 3-D one (for
        any L). ``x`` holds the centre positions (input pixel indices),
        ``offset`` the signed distances in pixels in increasing order
        (``-d`` is the curve toward ``x - d``), with ``distance`` its
        absolute value; ``delay`` is the mean delay of each bin in
        seconds. ``attrs`` hold the parameters, the scans used
        (``frames``), the engine and the package version.

    Raises
    ------
    TypeError
        If the carpet is not numeric or an option has the wrong type.
    ValueError
        If the carpet is not 2-D or 3-D, has fewer than 16 scans or
        non-finite values, a distance is out of range, or the mask has
        another shape or selects no centre.

    Notes
    -----
    For centre ``a = F[:, x]`` and neighbour ``b = F[:, x + d]``, over
    the ``N`` scans used, with ``t + tau`` modulo ``N``::

        G(tau) = <a(t) b(t + tau)> / (<a> <b>) - 1,   tau = 0 .. N/2 - 1

    averaged in log bins and smoothed as the image pCF
    (:func:`ipcf.pcf.average_bins`, :func:`ipcf.pcf.smooth`). Linear
    mode and zero means are handled as there. A peak at ``tau`` toward
    ``+d`` means that what is seen at ``x`` shows up ``d`` pixels along
    the scan ``tau`` later. Positions within one scan are sampled a
    pixel dwell apart; that shift is not corrected (it is far below the
    line time for which the pCF is meant).

    References
    ----------
    .. [1] Digman M A, Gratton E. Imaging barriers to diffusion by pair
       correlation functions. Biophys J 97: 665-673 (2009).

    Examples
    --------
    >>> carpet = numpy.random.default_rng(0).poisson(100, (256, 32))
    >>> result = pcf_line(carpet, distance=[2, 4], nbins=8, line_time=1e-3)
    >>> result.dims, result.shape
    (('x', 'offset', 'delay'), (24, 4, 8))
    >>> result['offset'].values.tolist()
    [-4, -2, 2, 4]
    >>> int(result['x'][0]), float(result['delay'][1])
    (4, 0.001)
    >>> pcf_line(carpet, distance=3, nbins=8, periodic=True).shape
    (32, 2, 8)

    """
    stored_time = None
    if isinstance(carpet, str | os.PathLike) or hasattr(carpet, 'metadata'):
        carpet, stored_time = open_carpet(carpet)
    if not hasattr(carpet, 'shape') or not hasattr(carpet, 'dtype'):
        carpet = numpy.asarray(carpet)
    ndim = len(carpet.shape)
    if ndim not in (2, 3):
        msg = (
            f'carpet.shape={tuple(carpet.shape)} is not 2-D (scans, '
            'positions) or 3-D (scans, lines, positions)'
        )
        raise ValueError(msg)
    carpet, shape = check_series(
        carpet,
        name='carpet',
        ndim=ndim,
        axes='(scans, positions) or (scans, lines, positions)',
        min_frames=MIN_FRAMES,
    )
    nscans, *spatial = shape
    width = spatial[-1]
    periodic = check_bool(periodic, 'periodic')
    distances = check_distances(distance, width, periodic=periodic)
    nbins = check_int(nbins, 'nbins', minimum=2)
    mode = check_choice(mode, 'mode', MODES)
    truncate = check_bool(truncate, 'truncate')
    dt = _line_time(stored_time, dt, line_time)
    num_threads = number_threads(num_threads)
    progress = check_bool(progress, 'progress')
    compute = _engine(engine)
    if mask is not None:
        mask = line_mask(mask, (int(numpy.prod(spatial[:-1])), width))
        halo = 0 if periodic else max(distances)
        check_any(mask[:, halo : width - halo], name='mask')
    nframes = 2 ** int(math.log2(nscans)) if truncate else nscans
    offsets = signed_offsets(distances)
    edges = tuple(int(e) for e in logbins(nframes // 2, nbins))
    values = line_values(
        carpet,
        offsets,
        nframes=nframes,
        edges=edges,
        mode=mode,
        periodic=periodic,
        mask=mask,
        engine=compute,
        num_threads=num_threads,
        progress=progress,
    )
    return _result(
        values[0] if ndim == 2 else values,
        offsets,
        edges,
        origin=0 if periodic else max(distances),
        attrs={
            'kind': 'line',
            'distance': list(distances),
            'dt': dt,
            'nbins': nbins,
            'frames': nframes,
            'frames_total': nscans,
            'truncate': truncate,
            'mode': mode,
            'periodic': periodic,
            'engine': getattr(compute, 'NAME', 'reference'),
        },
    )


def check_distances(
    distance: Any, width: int, /, *, periodic: bool
) -> tuple[int, ...]:
    """Return sorted distinct distances checked against a line's width.

    >>> check_distances([4, 2, 4], 16, periodic=False)
    (2, 4)
    >>> check_distances(8, 16, periodic=False)
    Traceback (most recent call last):
    ...
    ValueError: distance=8 must be < 8.0 for lines of 16 positions ...

    """
    if isinstance(distance, str):
        msg = f'{distance=!r} is not an integer or a sequence of integers'
        raise TypeError(msg)
    items = (
        list(distance)
        if isinstance(distance, Sequence | numpy.ndarray)
        else [distance]
    )
    if not items:
        msg = f'{distance=!r} holds no distance'
        raise ValueError(msg)
    values = sorted({check_int(d, 'distance', minimum=0) for d in items})
    largest = values[-1]
    if periodic and largest >= width:
        msg = (
            f'distance={largest} must be < {width} for circular orbits of '
            f'{width} positions'
        )
        raise ValueError(msg)
    if not periodic and not largest < width / 2:
        msg = (
            f'distance={largest} must be < {width / 2} for lines of {width} '
            'positions (or pass periodic=True for a circular orbit)'
        )
        raise ValueError(msg)
    return tuple(values)


def line_mask(
    mask: ArrayLike | str | os.PathLike[str], shape: Sequence[int], /
) -> NDArray[numpy.bool_]:
    """Return a mask of centre positions as bool ``(L, X)``.

    Parameters
    ----------
    mask : array_like, str or os.PathLike
        Boolean, integer (non-zero is True) or floats that are all 0 or
        1, shape ``(X,)`` (every line) or ``(L, X)``; or a file holding
        one: ``.npy``, TIFF (axes of length 1 are dropped), or an
        image that scikit-image reads.
    shape : (int, int)
        Lines L and positions X of the carpet.

    Returns
    -------
    ndarray of bool, shape (L, X)

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file cannot be read or the mask has another shape.
    TypeError
        If the mask is not boolean, integer or 0/1 floats.

    Examples
    --------
    >>> line_mask([0, 1, 1, 0], (2, 4)).astype(int).tolist()
    [[0, 1, 1, 0], [0, 1, 1, 0]]

    """
    nlines, width = (int(n) for n in shape)
    name = 'mask'
    if isinstance(mask, str | os.PathLike):
        from .roi import _read_mask

        name = repr(os.fspath(mask))
        path = pathlib.Path(mask)
        if not path.is_file():
            msg = f'mask file not found: {name}'
            raise FileNotFoundError(msg)
        array = _read_mask(path, name)
    else:
        array = numpy.asarray(mask)
    if array.shape == (width,):
        array = numpy.broadcast_to(array, (nlines, width))
    if array.shape != (nlines, width):
        lines = f' or ({nlines}, {width})' if nlines > 1 else ''
        msg = (
            f'{name} of shape {array.shape} does not match the carpet: '
            f'expected ({width},){lines}, a value per position'
        )
        raise ValueError(msg)
    return check_mask(array, (nlines, width), name=name)


def signed_offsets(distances: Sequence[int], /) -> NDArray[numpy.intp]:
    """Return the signed offsets of distances in increasing order.

    >>> signed_offsets([0, 2, 5]).tolist()
    [-5, -2, 0, 2, 5]

    """
    signed = {int(s) * int(d) for d in distances for s in (-1, 1)}
    return numpy.array(sorted(signed), dtype=numpy.intp)


def line_values(
    carpet: Any,
    offsets: NDArray[numpy.intp],
    *,
    nframes: int,
    edges: tuple[int, ...],
    mode: str,
    periodic: bool,
    mask: NDArray[numpy.bool_] | None,
    engine: Any,
    num_threads: int,
    progress: bool = False,
) -> NDArray[numpy.float32]:
    """Return curves ``(L, X', P, nbins)`` of checked carpet and options.

    `carpet` is ``(T, X)`` or ``(T, L, X)``; `offsets` signed shifts
    along x; `mask` ``(L, X)`` or None; `engine` an engine module of
    :mod:`ipcf.engines` or None for the direct reference. Centres
    outside the mask are NaN.

    """
    from ._rows import RowReader

    width = int(carpet.shape[-1])
    halo = int(numpy.abs(offsets).max())
    lines = _lines(carpet, nframes, periodic=periodic, halo=halo)
    nlines = int(lines.shape[1])
    grid = width if periodic else width - 2 * halo
    centres = None
    if mask is not None:
        centres = mask if periodic else mask[:, halo : halo + grid]
    out = numpy.full(
        (1, nlines, grid, len(offsets), len(edges)), numpy.nan, numpy.float32
    )
    plan = Plan(
        offsets=numpy.stack([offsets, numpy.zeros_like(offsets)], axis=1),
        halo=(0, halo),
        nframes=nframes,
        edges=edges,
        mode=mode,
    )
    reader = RowReader([lines], nframes, names=['carpet'])
    total = nlines * grid
    with progress_bar(
        total, enable=progress, desc='line pCF', unit='px'
    ) as bar:
        if engine is None:
            _reference(plan, reader, out, mask=centres, progress=bar.update)
        else:
            engine.compute(
                plan,
                reader,
                out,
                mask=centres,
                num_threads=num_threads,
                progress=bar.update if progress else None,
            )
        bar.update(total - bar.n)
    if centres is not None:
        out[:, ~centres] = numpy.nan
    return out[0]


def _lines(carpet: Any, nframes: int, *, periodic: bool, halo: int) -> Any:
    """Return the carpet as an image series (T, L, X), padded if periodic.

    Arrays in memory are served as views; a 2-D lazy carpet and a
    periodic one are read into memory (the scans used).

    """
    if periodic:
        values = numpy.asarray(carpet[:nframes])
        if values.ndim == 2:
            values = values[:, None, :]
        if halo == 0:
            return values
        # the orbit's ends on the other side: x + d wraps around
        return numpy.concatenate(
            [values[..., -halo:], values, values[..., :halo]], axis=-1
        )
    if len(carpet.shape) == 3:
        return carpet
    if not isinstance(carpet, numpy.ndarray):
        carpet = numpy.asarray(carpet[:nframes])
    return carpet[:, None, :]


def _reference(
    plan: Plan,
    reader: Any,
    out: NDArray[numpy.float32],
    *,
    mask: NDArray[numpy.bool_] | None = None,
    progress: Any = None,
) -> None:
    """Fill out[0, line, x, offset, bin] by direct sums over scans.

    Plain float64 numpy, no transform: for every delay the products of
    the centre's series with the neighbour's, shifted, are summed.

    """
    nframes = plan.nframes
    half = nframes // 2
    values = numpy.asarray(
        reader.read(0, 0, reader.height, 0, reader.width), numpy.float64
    )
    hx = plan.halo[1]
    steps = plan.offsets[:, 0].tolist()
    delays = numpy.arange(half)
    later = (numpy.arange(nframes)[None, :] + delays[:, None]) % nframes
    for line in range(out.shape[1]):
        for x in range(out.shape[2]):
            if mask is not None and not mask[line, x]:
                continue
            a = values[:, line, x + hx]
            for i, step in enumerate(steps):
                b = values[:, line, x + hx + step]
                curve = _direct_curve(a, b, plan.mode, later, delays)
                binned = average_bins(curve, plan.edges)
                out[0, line, x, i] = smooth(binned)
        if progress is not None:
            progress(out.shape[2])


def _direct_curve(
    a: NDArray, b: NDArray, mode: str, later: NDArray, delays: NDArray
) -> NDArray[numpy.float64]:
    """Return G(tau), centre a toward b, by direct sums (SPEC)."""
    nframes = a.size
    mean_a = a.mean()
    mean_b = b.mean()
    if not (mean_a > 0.0 and mean_b > 0.0):
        return numpy.full(delays.size, numpy.nan)
    if mode == 'circular':
        # sum_t a(t) b(t + tau), t + tau modulo N
        return (b[later] @ a) / (nframes * mean_a * mean_b) - 1.0
    da = a - mean_a
    db = b - mean_b
    sums = numpy.array([da[: nframes - k] @ db[k:] for k in delays.tolist()])
    return sums / (nframes * mean_a * mean_b)


def _engine(engine: Any) -> Any:
    """Return the engine module, or None for the direct reference."""
    from . import engines

    if engine == 'reference':
        return None
    return engines.get(engine)


def _line_time(stored: float | None, dt: Any, line_time: Any) -> float:
    """Return the time between scans from dt, line_time or metadata."""
    dt = check_positive(dt, 'dt')
    if line_time is None:
        if dt == 1.0 and stored is not None:
            return check_positive(stored, 'line_time')
        return dt
    line_time = check_positive(line_time, 'line_time')
    if dt != 1.0 and dt != line_time:
        msg = f'{dt=} and {line_time=} differ; give one of the two'
        raise ValueError(msg)
    return line_time


def _result(
    values: NDArray[numpy.float32],
    offsets: NDArray[numpy.intp],
    edges: tuple[int, ...],
    *,
    origin: int,
    attrs: dict[str, Any],
) -> xarray.DataArray:
    """Return line values as the labelled result of pcf_line."""
    import xarray

    from . import __version__

    lines = values.ndim == 4
    grid = values.shape[-3]
    coords: dict[str, Any] = {
        'x': ('x', numpy.arange(origin, origin + grid)),
        'offset': ('offset', numpy.asarray(offsets)),
        'distance': ('offset', numpy.abs(offsets)),
        'delay': ('delay', bin_delays(edges) * attrs['dt']),
        'bin_edge': ('delay', numpy.asarray(edges)),
    }
    dims: tuple[str, ...] = ('x', 'offset', 'delay')
    if lines:
        coords['line'] = ('line', numpy.arange(values.shape[0]))
        dims = ('line', *dims)
    return xarray.DataArray(
        values,
        name='pcf',
        dims=dims,
        coords=coords,
        attrs={**attrs, 'version': __version__},
    )


def fit_line(
    result: xarray.DataArray,
    /,
    *,
    pixel_size: float,
    w: float | None = None,
    offsets: Sequence[int] | None = None,
    positions: ArrayLike | None = None,
) -> dict[str, Any]:
    """Fit free diffusion to a line pCF averaged over positions.

    Parameters
    ----------
    result : xarray.DataArray
        What :func:`pcf_line` returns, 2-D or of several lines (all are
        averaged).
    pixel_size : float
        Distance between two positions of the scan in µm, > 0.
    w : float, optional
        1/e² radius of the scanning spot in µm, > 0. None (default)
        fits it too.
    offsets : sequence of int, optional
        Signed offsets to fit; None (default) takes the nonzero ones
        (the autocorrelation carries the shot noise of each position at
        short delays).
    positions : array_like of int, optional
        Centre positions (``x`` values) to average; None takes all.

    Returns
    -------
    dict
        ``diffusion`` (µm²/s), ``w`` (µm), ``amplitude``, ``cost`` and
        ``model`` (the fitted curves, ``(offsets, bins)``) and
        ``offsets`` fitted; see :func:`ipcf._pair_model.fit_free`.

    Notes
    -----
    The curves of all fitted offsets are fitted together with
    ``G(tau) = A w² / (w² + 4 D tau) exp(-d² / (w² + 4 D tau))`` (2-D
    diffusion seen through a Gaussian spot, ``d = |offset| *
    pixel_size``), pushed through the same mean subtraction, log bins
    and smoothing as the data. It peaks at ``tau = (d² - w²) / (4 D)``.

    Examples
    --------
    >>> carpet = numpy.random.default_rng(0).poisson(100, (256, 32))
    >>> result = pcf_line(carpet, distance=[2, 4], nbins=8)
    >>> fit = fit_line(result, pixel_size=0.1, w=0.25)
    >>> sorted(fit)[:3]
    ['amplitude', 'cost', 'diffusion']

    """
    from ._pair_model import fit_free

    pixel_size = check_positive(pixel_size, 'pixel_size')
    if w is not None:
        w = check_positive(w, 'w')
    data = result
    if positions is not None:
        data = data.sel(x=numpy.asarray(positions))
    dims = [d for d in data.dims if d in ('line', 'x')]
    curves = data.mean(dim=dims)
    chosen = (
        [int(o) for o in curves['offset'].values if o != 0]
        if offsets is None
        else [int(o) for o in offsets]
    )
    if not chosen:
        msg = 'fit_line needs a nonzero offset; the result holds only 0'
        raise ValueError(msg)
    curves = curves.sel(offset=chosen)
    fit = fit_free(
        numpy.asarray(curves, numpy.float64),
        numpy.abs(numpy.asarray(chosen)) * pixel_size,
        edges=tuple(int(e) for e in result['bin_edge'].values),
        frames=int(result.attrs['frames']),
        mode=str(result.attrs['mode']),
        dt=float(result.attrs['dt']),
        w=w,
    )
    fit['offsets'] = chosen
    return fit


def open_carpet(
    source: Any,
    /,
    *,
    channel: int | None = None,
    z: int | None = None,
    key: str | None = None,
) -> tuple[Any, float | None]:
    """Return a line-scan file as a ``(T, L, X)`` carpet and its line time.

    Parameters
    ----------
    source : str, os.PathLike or ipcf.io.Series
        A file :func:`ipcf.io.open_series` opens, read as ``(scan, line,
        position)``: a TIFF (or any series) whose frames are lines,
        ``(T, 1, X)``, or of L lines scanned together, ``(T, L, X)``; a
        TIFF of one 2-D page, read as ``(time, position)``; a SimFCS
        ``.b64`` carpet (a name holding ``carpet``). An opened series is
        taken as it is.
    channel, z, key : optional
        As for :func:`ipcf.io.open_series`.

    Returns
    -------
    carpet : array_like, shape (T, L, X)
        Lazily read, except a TIFF page (memory-mapped where the file
        allows, else read).
    line_time : float or None
        Seconds between two scans: the ``line_time`` that
        :func:`ipcf.io.imwrite` stored, else the file's frame interval
        (of frames that are lines; a 2-D page declares none), else None.

    Raises
    ------
    ValueError
        If the file holds no 3-D series (T, L, X) nor one 2-D page.
    FileNotFoundError
        If `source` does not exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ipcf.io import imwrite
    >>> tmp = tempfile.TemporaryDirectory()
    >>> lines = numpy.ones((64, 1, 16), numpy.uint16)
    >>> path = pathlib.Path(tmp.name) / 'carpet.tif'
    >>> path = imwrite(path, lines, metadata={'line_time': 0.001})
    >>> carpet, line_time = open_carpet(path)
    >>> carpet.shape, line_time
    ((64, 1, 16), 0.001)
    >>> del carpet
    >>> tmp.cleanup()

    """
    from . import io

    if hasattr(source, 'metadata') and hasattr(source, 'shape'):
        return source, _series_line_time(source.metadata)
    page = _tiff_page(source)
    if page is not None:
        stored = io.read_metadata(source)
        interval = _stored_time(stored)
        return page[:, None, :], interval
    series = io.open_series(source, channel=channel, z=z, key=key)
    if series.ndim != 3:
        msg = (
            f'{os.fspath(source)!r} holds a series of dims {series.dims}; '
            'expected (scans, lines, positions): select a channel and z'
        )
        raise ValueError(msg)
    return series, _series_line_time(series.metadata)


def _series_line_time(metadata: Any) -> float | None:
    """Return the line time a series' metadata give, or None."""
    stored = getattr(metadata, 'stored', None) or {}
    interval = _stored_time(stored)
    if interval is None:
        interval = getattr(metadata, 'frame_interval', None)
    return None if interval is None else float(interval)


def _stored_time(stored: Any) -> float | None:
    """Return line_time (or a frame interval) of stored metadata."""
    for name in ('line_time', 'frame_interval', 'frame_time', 'dt'):
        value = stored.get(name) if hasattr(stored, 'get') else None
        if isinstance(value, int | float) and value > 0:
            return float(value)
    return None


def _tiff_page(source: Any) -> Any:
    """Return the (T, X) image of a TIFF of one 2-D page, else None."""
    from ._files import file_kind

    if not isinstance(source, str | os.PathLike):
        return None
    path = os.fspath(source)
    if not os.path.isfile(path) or file_kind(pathlib.Path(path)) != 'tiff':
        return None
    import tifffile

    with tifffile.TiffFile(path) as tif:
        shape = tuple(int(n) for n in tif.series[0].shape)
    if len([n for n in shape if n > 1]) > 2 or len(shape) < 2:
        return None
    if len(shape) > 2 and numpy.prod(shape[:-2]) > 1:
        return None
    try:
        image = tifffile.memmap(path, mode='r')
    except ValueError:  # compressed or not contiguous: read it
        image = tifffile.imread(path)
    return image.reshape(shape[-2:])


class LineAnalysis:
    """The line-scan pCF as an analysis for :func:`ipcf.pipeline.run`.

    The carpet ``(T, L, X)`` is an image series of L rows; blocks are
    ranges of lines and positions with a halo of the largest distance
    along x. A circular orbit is given to the pipeline padded with its
    own ends (:func:`analyze_line`), so its halo wraps. Stores ``pcf``
    with dims ``('line', 'x', 'offset', 'delay')``, as :func:`pcf_line`
    returns it of a 3-D carpet.

    Parameters
    ----------
    distance, nbins, periodic, truncate, mode, engine :
        As for :func:`pcf_line`.

    Examples
    --------
    >>> analysis = LineAnalysis(distance=[2, 4], nbins=8)
    >>> analysis.name, analysis.halo, analysis.plan(100).nframes
    ('pcf', (0, 4), 64)

    """

    name = 'pcf'
    nchannels = 1
    min_frames = MIN_FRAMES

    def __init__(
        self,
        *,
        distance: int | Sequence[int],
        nbins: int = 32,
        periodic: bool = False,
        truncate: bool = True,
        mode: str = 'circular',
        engine: str = 'auto',
    ) -> None:
        self.periodic = check_bool(periodic, 'periodic')
        # the width is checked with the data (check_shape)
        self.distances = check_distances(distance, 2**62, periodic=True)
        self.nbins = check_int(nbins, 'nbins', minimum=2)
        self.truncate = check_bool(truncate, 'truncate')
        self.mode = check_choice(mode, 'mode', MODES)
        self.engine = engine
        self._compute = _engine(engine)
        self.offsets = signed_offsets(self.distances)
        self.halo = (0, max(self.distances))
        # the file a carpet read into memory or padded came from
        self.source: str | None = None

    def check_shape(self, height: int, width: int) -> None:
        """Raise ValueError if lines of `width` positions are too short."""
        hx = self.halo[1]
        # a periodic input arrives padded by the halo on both sides
        check_distances(
            self.distances,
            width - 2 * hx if self.periodic else width,
            periodic=self.periodic,
        )

    def plan(self, nframes: int) -> Plan:
        """Return the engine plan for a carpet of `nframes` scans."""
        if nframes < MIN_FRAMES:
            msg = (
                f'the carpet has {nframes} scans; at least {MIN_FRAMES} '
                'are needed'
            )
            raise ValueError(msg)
        used = 2 ** int(math.log2(nframes)) if self.truncate else nframes
        return Plan(
            offsets=numpy.stack(
                [self.offsets, numpy.zeros_like(self.offsets)], axis=1
            ),
            halo=self.halo,
            nframes=used,
            edges=tuple(int(e) for e in logbins(used // 2, self.nbins)),
            mode=self.mode,
        )

    def parameters(self) -> dict[str, Any]:
        """Return the options that define the analysis (JSON types)."""
        return {
            'kind': 'line',
            'distance': list(self.distances),
            'nbins': self.nbins,
            'periodic': self.periodic,
            'truncate': self.truncate,
            'mode': self.mode,
            'engine': getattr(self._compute, 'NAME', 'reference'),
        }

    def schema(
        self,
        plan: Plan,
        grid: tuple[int, int],
        origin: tuple[int, int],
        *,
        dt: float,
        **attrs: Any,
    ) -> Any:
        """Return the store schema of the whole result."""
        from . import __version__
        from .store import Schema, Variable

        nlines, width = grid
        y0, x0 = origin
        if self.periodic:
            x0 -= self.halo[1]
        coords: dict[str, tuple[tuple[str, ...], Any]] = {
            'x': (('x',), numpy.arange(x0, x0 + width)),
            'offset': (('offset',), numpy.asarray(self.offsets)),
            'distance': (('offset',), numpy.abs(self.offsets)),
            'delay': (('delay',), bin_delays(plan.edges) * dt),
            'bin_edge': (('delay',), numpy.asarray(plan.edges)),
            'line': (('line',), numpy.arange(y0, y0 + nlines)),
        }
        shape = (nlines, width, len(self.offsets), len(plan.edges))
        return Schema(
            {'pcf': Variable(('line', 'x', 'offset', 'delay'), shape)},
            coords=coords,
            attrs={
                **self.parameters(),
                'dt': dt,
                'frames': plan.nframes,
                **attrs,
                **({'source': self.source} if self.source else {}),
                'version': __version__,
            },
            name='pcf',
        )

    def compute(
        self,
        channels: list[Any],
        plan: Plan,
        mask: NDArray[numpy.bool_] | None,
        *,
        num_threads: int,
    ) -> dict[str, NDArray[numpy.float32]]:
        """Return ``pcf`` (line, x, offset, delay) of one block."""
        values = line_values(
            channels[0],
            self.offsets,
            nframes=plan.nframes,
            edges=plan.edges,
            mode=plan.mode,
            periodic=False,
            mask=mask,
            engine=self._compute,
            num_threads=num_threads,
        )
        return {'pcf': values}


def analyze_line(
    source: Any,
    output: str | os.PathLike[str],
    /,
    *,
    distance: int | Sequence[int],
    nbins: int = 32,
    line_time: float | None = None,
    periodic: bool = False,
    truncate: bool = True,
    mode: str = 'circular',
    bleach: str | None = None,
    mask: ArrayLike | None = None,
    block: int = 64,
    engine: str = 'auto',
    scheduler: str = 'threads',
    num_threads: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    channel: int | None = None,
    z: int | None = None,
) -> pathlib.Path:
    """Compute the pCF carpet of a line scan block by block into a store.

    Parameters
    ----------
    source : str, os.PathLike, ipcf.io.Series or array_like
        A line-scan file (see :func:`open_carpet`), or a carpet
        ``(T, X)`` or ``(T, L, X)`` in memory.
    output : str or os.PathLike
        Result store, ``.h5`` or ``.zarr``; read it with
        :func:`ipcf.load_result`.
    distance, nbins, periodic, truncate, mode, engine :
        As for :func:`pcf_line`.
    line_time : float, optional
        Seconds between scans; default from the file (see
        :func:`open_carpet`), else 1.
    bleach : str, optional
        Photobleaching correction ``METHOD[:param]`` of every position
        (:func:`ipcf.bleach.parse_method`); default None, none, as
        :func:`pcf_line`.
    mask : array_like of bool, shape (X,) or (L, X), str or os.PathLike
        Centre positions to analyse, or a file of them, as for
        :func:`pcf_line`; the curves of the others are NaN.
    block : int, optional, default: 64
        Lines and positions of a block; each block reads all scans of
        its positions and the halo.
    scheduler, num_threads, resume, overwrite, progress :
        As for :func:`ipcf.pipeline.analyze`: an interrupted run
        continues with ``resume=True``.
    channel, z : int, optional
        The plane of a multi-dimensional file.

    Returns
    -------
    pathlib.Path
        The store. :func:`ipcf.load_result` gives ``pcf`` with dims
        ``('line', 'x', 'offset', 'delay')``, equal to
        :func:`pcf_line` of the ``(T, L, X)`` carpet.

    Examples
    --------
    >>> import tempfile, ipcf
    >>> carpet = numpy.random.default_rng(0).poisson(100, (256, 32))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = analyze_line(carpet, f'{tmp}/line.h5', distance=[2, 4],
    ...                         nbins=8, block=8, line_time=1e-3)
    ...     result = ipcf.load_result(path)
    >>> result.dims, result.shape
    (('line', 'x', 'offset', 'delay'), (1, 24, 4, 8))

    """
    from .pipeline import run

    analysis = LineAnalysis(
        distance=distance,
        nbins=nbins,
        periodic=periodic,
        truncate=truncate,
        mode=mode,
        engine=engine,
    )
    data, stored_time, reopen = _pipeline_source(source, channel, z)
    shape = tuple(int(n) for n in data.shape)
    if len(shape) != 3:
        msg = (
            f'carpet.shape={shape} is not 2-D (scans, positions) or 3-D '
            '(scans, lines, positions)'
        )
        raise ValueError(msg)
    check_distances(analysis.distances, shape[-1], periodic=periodic)
    if line_time is None:
        line_time = 1.0 if stored_time is None else stored_time
    line_time = check_positive(line_time, 'line_time')
    if mask is not None:
        mask = line_mask(mask, shape[1:])
    hx = analysis.halo[1]
    if periodic and hx:
        data, reopen = _Orbit(data, hx), False
        if mask is not None:
            mask = numpy.concatenate(
                [mask[:, -hx:], mask, mask[:, :hx]], axis=1
            )
    selection = {'channel': channel, 'z': z}
    if isinstance(source, str | os.PathLike) and not reopen:
        from ._sources import relative_source

        analysis.source = relative_source(source, output)
    return run(
        analysis,
        [source if reopen else data],
        output,
        selections=[selection] if reopen else None,
        dt=line_time,
        bleach=bleach,
        mask=mask,
        block=block,
        scheduler=scheduler,
        num_threads=num_threads,
        resume=resume,
        overwrite=overwrite,
        progress=progress,
    )


def _pipeline_source(
    source: Any, channel: int | None, z: int | None
) -> tuple[Any, float | None, bool]:
    """Return (carpet (T, L, X), line time, whether to reopen source)."""
    if isinstance(source, str | os.PathLike):
        data, interval = open_carpet(source, channel=channel, z=z)
        # a file of frames is reopened by every block, a page is not
        return data, interval, _tiff_page(source) is None
    if hasattr(source, 'metadata') and hasattr(source, 'shape'):
        return (*open_carpet(source), False)
    if not hasattr(source, 'shape') or not hasattr(source, 'dtype'):
        source = numpy.asarray(source)
    if len(source.shape) == 2:
        source = source[:, None, :]
    return source, None, False


class _Orbit:
    """A ``(T, L, X)`` carpet padded with its own ends along x (lazy)."""

    def __init__(self, data: Any, halo: int) -> None:
        self.data = data
        self.halo = int(halo)
        t, lines, width = (int(n) for n in data.shape)
        self.shape = (t, lines, width + 2 * self.halo)
        self.dtype = numpy.dtype(data.dtype)
        self.ndim = 3

    def __getitem__(self, key: Any) -> Any:
        if not isinstance(key, tuple):
            key = (key,)
        key = key + (slice(None),) * (3 - len(key))
        width = self.shape[2] - 2 * self.halo
        columns = numpy.arange(self.shape[2])[key[2]]
        values = numpy.asarray(self.data[key[0], key[1]])
        return values[..., (columns - self.halo) % width]
