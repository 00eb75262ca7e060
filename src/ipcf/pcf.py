"""Pair-correlation function (pCF) of image time series.

The image pCF correlates the intensity time series of every pixel with the
series of the pixels on a circle around it, averages each curve in
logarithmic delay bins and smooths it. This module defines the circle, the
bins, the averaging and smoothing, and :func:`pcf_image`, the public front
door that validates input, reads it tile by tile and hands clean arrays to
an engine (:mod:`ipcf.engines`).

"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy

from ._utils import number_threads, progress_bar
from ._validate import check_int

if TYPE_CHECKING:
    import xarray
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    'average_bins',
    'bin_delays',
    'circle',
    'logbins',
    'pcf_image',
    'smooth',
]

MIN_FRAMES = 16
"""Fewest frames :func:`pcf_image` accepts."""

_SMOOTH_WEIGHT = 0.3


def circle(radius: int, npoints: int | None = 32) -> NDArray[numpy.intp]:
    """Return integer pixel offsets of points on a circle.

    Parameters
    ----------
    radius : int
        Circle radius in pixels, at least 1.
    npoints : int or None, optional, default: 32
        Number of points, at least 1. An even count makes point
        ``i + npoints // 2`` the negative of point ``i``.
        ``None`` chooses ``4 * floor(sqrt(2) * radius + 0.5)`` points,
        which avoids duplicate points up to a radius of 12.

    Returns
    -------
    ndarray, shape (npoints, 2), dtype intp
        Offsets ``(u, v)``: ``u`` along x (columns), ``v`` along y (rows).

    Notes
    -----
    Point ``i`` is at angle ``2 * pi * i / npoints``, rounded half to even:
    ``(round(r * cos(angle)), round(r * sin(angle)))``.

    Examples
    --------
    >>> circle(6, 32)[:8].tolist()
    [[6, 0], [6, 1], [6, 2], [5, 3], [4, 4], [3, 5], [2, 6], [1, 6]]
    >>> len(circle(4, None))
    24

    """
    radius = check_int(radius, 'radius', minimum=1)
    if npoints is None:
        npoints = 4 * math.floor(math.sqrt(2) * radius + 0.5)
    npoints = check_int(npoints, 'npoints', minimum=1)
    angle = numpy.arange(npoints) * (2.0 * numpy.pi / npoints)
    points = numpy.empty((npoints, 2), dtype=numpy.intp)
    points[:, 0] = numpy.round(radius * numpy.cos(angle))
    points[:, 1] = numpy.round(radius * numpy.sin(angle))
    return points


def logbins(size: int, nbins: int = 32) -> NDArray[numpy.intp]:
    """Return exclusive upper edges of logarithmic delay bins.

    Parameters
    ----------
    size : int
        Number of non-negative delays to cover, ``N // 2`` for ``N``
        frames. At least 1.
    nbins : int, optional, default: 32
        Number of bins requested, at least 2. Duplicate edges are dropped,
        so fewer bins may remain.

    Returns
    -------
    ndarray, dtype intp
        Increasing edges; bin 0 holds delays ``[0, edges[0])``, bin ``k``
        holds ``[edges[k-1], edges[k])``. The last edge is `size`.

    Notes
    -----
    ``edges = unique(int(2 ** linspace(0, log2(size), nbins)))``, with the
    last edge set to `size` exactly: for sizes that are not powers of two,
    floating-point rounding would otherwise drop the last delay.

    Examples
    --------
    >>> logbins(8192, 32).tolist()  # doctest: +NORMALIZE_WHITESPACE
    [1, 2, 3, 4, 5, 7, 10, 13, 18, 24, 32, 43, 58, 78, 104, 139, 187,
     250, 334, 447, 598, 800, 1070, 1432, 1915, 2561, 3425, 4580, 6125,
     8192]

    """
    size = check_int(size, 'size', minimum=1)
    nbins = check_int(nbins, 'nbins', minimum=2)
    edges = 2.0 ** numpy.linspace(0.0, math.log2(size), nbins)
    # 2**log2(size) may round below size (e.g. 2.9999 for 3)
    edges[-1] = size
    return numpy.unique(edges.astype(numpy.intp))


def bin_delays(edges: ArrayLike, /) -> NDArray[numpy.float64]:
    """Return the mean delay of each bin, in frames.

    Examples
    --------
    >>> bin_delays([1, 2, 4]).tolist()
    [0.0, 1.0, 2.5]

    """
    edges = numpy.asarray(edges, dtype=numpy.intp)
    lower = numpy.concatenate(([0], edges[:-1]))
    return (lower + edges - 1) / 2.0


def average_bins(
    curves: ArrayLike, edges: ArrayLike, /
) -> NDArray[numpy.float64]:
    """Return the arithmetic mean of curves within each delay bin.

    Parameters
    ----------
    curves : array_like, shape (..., ndelays)
        Curves over delays ``0, 1, ...``; at least ``edges[-1]`` delays.
    edges : array_like of int
        Exclusive upper bin edges from :func:`logbins`.

    Returns
    -------
    ndarray, shape (..., len(edges)), dtype float64

    Examples
    --------
    >>> average_bins([1.0, 2.0, 4.0, 6.0], [1, 2, 4]).tolist()
    [1.0, 2.0, 5.0]

    """
    curves = numpy.asarray(curves, dtype=numpy.float64)
    edges = numpy.asarray(edges, dtype=numpy.intp)
    if curves.shape[-1] < edges[-1]:
        msg = (
            f'curves have {curves.shape[-1]} delays, '
            f'fewer than the last bin edge {edges[-1]}'
        )
        raise ValueError(msg)
    lower = numpy.concatenate(([0], edges[:-1]))
    sums = numpy.add.reduceat(curves[..., : edges[-1]], lower, axis=-1)
    return sums / (edges - lower)


def smooth(binned: ArrayLike, /, *, out: NDArray | None = None) -> NDArray:
    """Return curves smoothed forward and backward along the last axis.

    Parameters
    ----------
    binned : array_like, shape (..., nbins)
        Bin-averaged curves, at least 2 bins.
    out : ndarray, optional
        Output array of the same shape; may be `binned` itself.

    Returns
    -------
    ndarray

    Notes
    -----
    ``s[0] = s[1]``; then ``s[k] = 0.3 * s[k] + 0.7 * s[k-1]`` for
    ``k = 1 .. n-1``; then ``s[k] = 0.3 * s[k] + 0.7 * s[k+1]`` for
    ``k = n-2 .. 0``.

    Examples
    --------
    >>> smooth([0.0, 1.0, 1.0]).tolist()
    [1.0, 1.0, 1.0]

    """
    s = numpy.asarray(binned)
    if s.dtype.kind != 'f':
        s = s.astype(numpy.float64)
    if out is None:
        out = s.copy()
    elif out is not s:
        out[...] = s
    n = out.shape[-1]
    if n < 2:
        msg = f'smoothing needs at least 2 bins, got {n}'
        raise ValueError(msg)
    w = _SMOOTH_WEIGHT
    out[..., 0] = out[..., 1]
    for k in range(1, n):
        out[..., k] *= w
        out[..., k] += (1.0 - w) * out[..., k - 1]
    for k in range(n - 2, -1, -1):
        out[..., k] *= w
        out[..., k] += (1.0 - w) * out[..., k + 1]
    return out


def pcf_image(
    data: ArrayLike,
    *,
    radius: int = 6,
    npoints: int | None = 32,
    nbins: int = 32,
    dt: float = 1.0,
    mask: ArrayLike | None = None,
    truncate: bool = True,
    mode: str = 'circular',
    engine: str = 'auto',
    num_threads: int | None = None,
    progress: bool = False,
) -> xarray.DataArray:
    """Return pair-correlation curves of every pixel of an image series.

    Parameters
    ----------
    data : array_like, shape (T, H, W)
        Image time series of integer or floating-point intensities: numpy
        array, memmap, h5py or zarr dataset, dask array, or anything that
        slices like one. Read tile by tile; not modified.
    radius : int, optional, default: 6
        Circle radius in pixels, at least 1 and below ``min(H, W) / 2``.
    npoints : int or None, optional, default: 32
        Number of circle points, see :func:`circle`.
    nbins : int, optional, default: 32
        Number of logarithmic delay bins requested, at least 2; fewer may
        remain, see :func:`logbins`.
    dt : float, optional, default: 1.0
        Frame interval in seconds; delays are reported in its unit.
    mask : array_like of bool, shape (H, W), optional
        Pixels to analyse. Curves of centre pixels outside the mask are
        NaN (their intensities still serve as neighbours).
    truncate : bool, optional, default: True
        Use the first ``N = 2**floor(log2(T))`` frames. Else use all.
    mode : {'circular', 'linear'}, optional
        Circular (default) or zero-padded linear correlation.
    engine : {'auto', 'reference', 'cpu', 'gpu'}, optional
        Implementation; all agree within 1e-5. ``'auto'`` picks the
        fastest available. See :func:`ipcf.engines.available`.
    num_threads : int, optional
        Number of threads; ``None`` uses all cores. Also caps BLAS and
        FFT thread pools.
    progress : bool, optional, default: False
        Show a progress bar.

    Returns
    -------
    xarray.DataArray, shape (H - 2r, W - 2r, npoints, nbins'), float32
        Named ``'pcf'`` with dims ``('y', 'x', 'point', 'delay')``.
        Coordinates ``y``, ``x`` are input pixel indices (the first is
        `radius`); ``point`` carries ``u``, ``v``, ``angle`` (radians) and
        ``distance`` (pixels); ``delay`` is the mean delay of each bin in
        seconds. ``attrs`` hold every parameter, the frames used, the
        engine and the package version.

    Raises
    ------
    TypeError
        If `data` is not numeric, or an option has the wrong type.
    ValueError
        If `data` is not 3-D, has fewer than 16 frames, contains NaN or
        infinity, or an option is out of range.

    Notes
    -----
    For centre ``a`` and neighbour ``b`` at circle point ``i``, with
    ``t + tau`` taken modulo ``N``::

        G(tau) = <a(t) b(t + tau)> / (<a> <b>) - 1,   tau = 0 .. N/2 - 1

    A peak at delay ``tau`` means intensity seen at the centre is seen at
    the neighbour ``tau`` later. Linear mode computes
    ``sum_{t < N - tau} da(t) db(t + tau) / (N <a> <b>)`` of the
    mean-subtracted series. Each curve is averaged in log bins and
    smoothed (:func:`average_bins`, :func:`smooth`). Curves of pixels
    whose mean intensity is zero are NaN.

    Examples
    --------
    >>> data = numpy.random.default_rng(0).poisson(100, (64, 12, 12))
    >>> result = pcf_image(data, radius=2, npoints=8, nbins=8)
    >>> result.shape
    (8, 8, 8, 7)
    >>> result.dims
    ('y', 'x', 'point', 'delay')

    """
    from . import engines

    data, (nframes, height, width) = _check_data(data)
    radius = check_int(radius, 'radius', minimum=1)
    if not radius < min(height, width) / 2:
        msg = (
            f'{radius=} must be >= 1 and < {min(height, width) / 2} '
            f'for {height}x{width} images'
        )
        raise ValueError(msg)
    points = circle(radius, npoints)
    nbins = check_int(nbins, 'nbins', minimum=2)
    dt = _check_positive(dt, 'dt')
    _check_mode(mode)
    if not isinstance(truncate, bool | numpy.bool_):
        msg = f'{truncate=!r} is not a bool'
        raise TypeError(msg)
    num_threads = number_threads(num_threads)
    mask = _check_mask(mask, height, width, radius)
    compute = engines.get(engine)

    used = 2 ** int(math.log2(nframes)) if truncate else nframes
    edges = logbins(used // 2, nbins)
    out = numpy.full(
        (height - 2 * radius, width - 2 * radius, len(points), len(edges)),
        numpy.nan,
        dtype=numpy.float32,
    )
    itemsize = numpy.dtype(data.dtype).itemsize
    rows = compute.tile_rows(used, height, width, radius, itemsize=itemsize)
    bar = progress_bar(out.shape[0], enable=progress, desc='pCF', unit='row')
    buffer = None
    with bar:
        for y0, y1 in _tiles(out.shape[0], rows):
            tile, buffer = _read_tile(data, used, y0, y1 + 2 * radius, buffer)
            tile_mask = None if mask is None else mask[y0:y1]
            if tile_mask is None or tile_mask.any():
                compute.compute(
                    tile,
                    out[y0:y1],
                    points=points,
                    edges=edges,
                    mask=tile_mask,
                    mode=mode,
                    num_threads=num_threads,
                )
            bar.update(y1 - y0)
    if mask is not None:
        out[~mask] = numpy.nan
    params = {
        'radius': radius,
        'npoints': len(points),
        'nbins': nbins,
        'dt': dt,
        'frames': used,
        'frames_total': nframes,
        'truncate': truncate,
        'mode': mode,
        'engine': compute.NAME,
    }
    return result_array(out, points=points, edges=edges, **params)


def result_array(
    values: NDArray,
    /,
    *,
    points: NDArray,
    edges: NDArray,
    radius: int,
    dt: float,
    y0: int | None = None,
    x0: int | None = None,
    **attrs: Any,
) -> xarray.DataArray:
    """Return pCF values wrapped as the labelled result of :func:`pcf_image`.

    Used by the engines' callers and by :func:`ipcf.load_result` so that
    every result carries the same coordinates and attributes.

    """
    import xarray

    from . import __version__

    ny, nx = values.shape[:2]
    y0 = radius if y0 is None else y0
    x0 = radius if x0 is None else x0
    u = points[:, 0]
    v = points[:, 1]
    attrs = {'radius': radius, 'dt': dt, **attrs, 'version': __version__}
    return xarray.DataArray(
        values,
        name='pcf',
        dims=('y', 'x', 'point', 'delay'),
        coords={
            'y': numpy.arange(y0, y0 + ny),
            'x': numpy.arange(x0, x0 + nx),
            'point': numpy.arange(len(points)),
            'u': ('point', u),
            'v': ('point', v),
            'angle': ('point', numpy.arctan2(v, u)),
            'distance': ('point', numpy.hypot(u, v)),
            'delay': bin_delays(edges) * dt,
            'bin_edge': ('delay', numpy.asarray(edges)),
        },
        attrs=attrs,
    )


def _check_data(data: Any) -> tuple[Any, tuple[int, int, int]]:
    """Return array-like data and its shape after checking kind and rank."""
    if not hasattr(data, 'shape') or not hasattr(data, 'dtype'):
        data = numpy.asarray(data)
    dtype = numpy.dtype(data.dtype)
    if dtype.kind not in 'uif':
        msg = f'data.dtype={dtype} is not an integer or floating-point type'
        raise TypeError(msg)
    shape = tuple(int(n) for n in data.shape)
    if len(shape) != 3:
        msg = f'data.shape={shape} is not 3-D (frames, height, width)'
        raise ValueError(msg)
    if shape[0] < MIN_FRAMES:
        msg = f'data has {shape[0]} frames; at least {MIN_FRAMES} are needed'
        raise ValueError(msg)
    return data, shape  # type: ignore[return-value]


def _check_positive(value: Any, name: str) -> float:
    """Return value as a finite positive float."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        msg = f'{name}={value!r} is not a number'
        raise TypeError(msg) from None
    if not (math.isfinite(value) and value > 0):
        msg = f'{name}={value} must be a finite number > 0'
        raise ValueError(msg)
    return value


def _check_mode(mode: Any, /) -> None:
    """Raise ValueError unless mode is 'circular' or 'linear'."""
    if mode not in {'circular', 'linear'}:
        msg = f"{mode=!r} is not 'circular' or 'linear'"
        raise ValueError(msg)


def _check_mask(
    mask: Any, height: int, width: int, radius: int
) -> NDArray[numpy.bool_] | None:
    """Return the mask of centre pixels, cropped to the result grid."""
    if mask is None:
        return None
    mask = numpy.asarray(mask)
    if mask.shape != (height, width):
        msg = (
            f'mask.shape={mask.shape} does not match the image shape '
            f'{(height, width)}'
        )
        raise ValueError(msg)
    if mask.dtype.kind not in 'bui':
        msg = f'mask.dtype={mask.dtype} is not boolean or integer'
        raise TypeError(msg)
    return mask[radius:-radius, radius:-radius].astype(bool)


def _tiles(nrows: int, rows: int) -> Iterator[tuple[int, int]]:
    """Yield (start, stop) row ranges of at most `rows` rows."""
    for start in range(0, nrows, rows):
        yield start, min(start + rows, nrows)


def _read_tile(
    data: Any, nframes: int, y0: int, y1: int, buffer: NDArray | None
) -> tuple[NDArray, NDArray]:
    """Return frames [0, nframes) of rows [y0, y1), checked, and its buffer.

    Tiles are read into one reused buffer: fresh memory of this size costs
    more to touch the first time than the copy itself.

    """
    shape = (nframes, y1 - y0, int(data.shape[2]))
    size = math.prod(shape)
    dtype = numpy.dtype(data.dtype).newbyteorder('=')
    if buffer is None or buffer.size < size or buffer.dtype != dtype:
        buffer = numpy.empty(size, dtype=dtype)
    tile = buffer[:size].reshape(shape)
    selection = numpy.s_[:nframes, y0:y1, :]
    if hasattr(data, 'read_direct'):  # h5py reads into the buffer
        data.read_direct(tile, selection)
    else:
        part = data[selection]
        if hasattr(part, 'compute'):  # dask
            part = part.compute()
        numpy.copyto(tile, part, casting='unsafe')
    if tile.dtype.kind == 'f' and not numpy.isfinite(tile).all():
        msg = (
            f'data contains NaN or infinite values in rows {y0}..{y1 - 1}; '
            'replace them (e.g. with numpy.nan_to_num) or mask the pixels'
        )
        raise ValueError(msg)
    return tile, buffer
