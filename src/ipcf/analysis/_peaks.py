"""Correlation peaks per pixel and point, their noise, and connectivity.

:func:`find_peaks` locates the peak of every curve by a parabola in log
delay; :func:`peak_rise` measures its height above the first delay;
:func:`noise_level` estimates the noise of the curves over the whole map
and :func:`connectivity` marks the directions whose rise stands out of
it: where molecules can go.

"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ['connectivity', 'find_peaks', 'noise_level', 'peak_rise']


def find_peaks(
    curves: NDArray, delays: NDArray
) -> tuple[NDArray, NDArray, NDArray[numpy.intp]]:
    """Return peak delay, amplitude and bin of curves.

    Parameters
    ----------
    curves : numpy.ndarray, shape (..., nbins)
        Curves on the result's bins; bin 0 (zero delay) is ignored.
    delays : numpy.ndarray, shape (nbins,)
        Delay of each bin, > 0 from bin 1 on.

    Returns
    -------
    peak_delay : numpy.ndarray, shape (...)
        Delay of the vertex, NaN where the maximum is at the first or
        last of bins 1.. (no peak).
    amplitude : numpy.ndarray, shape (...)
        Value at the vertex, or at the maximum where there is no peak.
    index : numpy.ndarray of intp, shape (...)
        Bin of the maximum (of the full curve, bin 0 included).

    Notes
    -----
    The maximum over bins 1.. is refined by a parabola in log delay
    through it and its two neighbours.

    Examples
    --------
    >>> delays = numpy.array([0.0, 1.0, 2.0, 4.0, 8.0, 16.0])
    >>> x = numpy.log(delays[1:])
    >>> curve = numpy.r_[0.0, 1.0 - (x - numpy.log(3.0)) ** 2]
    >>> delay, amplitude, index = find_peaks(curve, delays)
    >>> round(float(delay), 6), round(float(amplitude), 6), int(index)
    (3.0, 1.0, 3)

    """
    x = numpy.log(delays[1:])
    c = curves[..., 1:]
    n = c.shape[-1]
    k = numpy.where(numpy.isnan(c), -numpy.inf, c).argmax(axis=-1)
    mid = numpy.clip(k, 1, n - 2)

    def at(index: NDArray) -> NDArray:
        return numpy.take_along_axis(c, index[..., None], axis=-1)[..., 0]

    y0, y1, y2 = at(mid - 1), at(mid), at(mid + 1)
    x0, x1, x2 = x[mid - 1], x[mid], x[mid + 1]
    with numpy.errstate(invalid='ignore', divide='ignore'):
        slope0 = (y1 - y0) / (x1 - x0)
        slope1 = (y2 - y1) / (x2 - x1)
        curvature = (slope1 - slope0) / (x2 - x0)
        # vertex of y1 + b (x - x1) + curvature (x - x1)**2
        b = slope0 + curvature * (x1 - x0)
        shift = numpy.where(curvature < 0, -b / (2 * curvature), 0.0)
    shift = numpy.clip(shift, x0 - x1, x2 - x1)
    vertex = y1 + b * shift + curvature * shift * shift
    interior = (k == mid) & numpy.isfinite(vertex)
    peak_delay = numpy.where(interior, numpy.exp(x1 + shift), numpy.nan)
    amplitude = numpy.where(interior, vertex, at(k))
    return peak_delay, amplitude, k + 1


def peak_rise(
    curves: NDArray,
    peak_delay: NDArray,
    peak_amplitude: NDArray,
    finite: NDArray,
) -> NDArray:
    """Return the height of each peak above the curve at one frame.

    Parameters
    ----------
    curves : numpy.ndarray, shape (ny, nx, npoints, nbins)
        The curves; bin 1 holds the delay of one frame.
    peak_delay, peak_amplitude : numpy.ndarray, shape (ny, nx, npoints)
        From :func:`find_peaks`.
    finite : numpy.ndarray of bool, shape (ny, nx)
        Pixels with data; others get NaN.

    Returns
    -------
    numpy.ndarray, shape (ny, nx, npoints)
        ``peak_amplitude - curves[..., 1]`` where there is a peak, 0
        where there is none. Offsets common to a whole curve cancel.

    """
    start = curves[..., 1]
    rise = numpy.where(numpy.isfinite(peak_delay), peak_amplitude - start, 0.0)
    return numpy.where(finite[..., None], rise, numpy.nan)


def noise_level(
    curves: NDArray, reach: int | tuple[int, ...], *, per_point: bool = False
) -> NDArray:
    """Return a robust noise level per bin from curves `reach` apart.

    Parameters
    ----------
    curves : numpy.ndarray, shape (ny, nx, npoints, nbins)
        Curves, NaN at pixels without data; of a volume (nz, ny, nx,
        npoints, nbins).
    reach : int or tuple of int
        Distance in pixels of the pairs compared, beyond the circle; one
        per spatial axis for a volume (planes, rows, columns).
    per_point : bool, optional, default: False
        On maps no wider than `reach`, take the deviations from the
        median curve of each point rather than of all points (the
        points of a sphere differ more than those of a circle).

    Returns
    -------
    numpy.ndarray, shape (nbins,)
        ``1.4826 * median |g(p) - g(p + reach)| / sqrt(2)`` over all
        pixels, points and every axis longer than its reach; on maps no
        wider than `reach`, the scaled median deviation from the median
        curve. NaN without data.

    Examples
    --------
    >>> rng = numpy.random.default_rng(0)
    >>> curves = rng.normal(0.0, 2.0, (40, 40, 4, 3))
    >>> numpy.round(noise_level(curves, 8), 1)
    array([2., 2., 2.])

    """
    spatial = curves.ndim - 2
    if isinstance(reach, int):
        reach = (reach,) * spatial
    parts = []
    for axis in reversed(range(spatial)):  # x first, then y (and z)
        step = reach[axis]
        if curves.shape[axis] > step:
            ahead = numpy.take(curves, range(step, curves.shape[axis]), axis)
            behind = numpy.take(curves, range(curves.shape[axis] - step), axis)
            parts.append((ahead - behind).ravel())
    nbins = curves.shape[-1]
    if parts:
        diffs = numpy.concatenate([part.reshape(-1, nbins) for part in parts])
        scale = 1.0 / math.sqrt(2.0)
    elif per_point:  # too small a map: spread about the median instead
        flat = curves.reshape(-1, *curves.shape[-2:])
        flat = flat[numpy.isfinite(flat).all(axis=(1, 2))]
        diffs = flat - (numpy.median(flat, axis=0) if len(flat) else 0.0)
        diffs = diffs.reshape(-1, nbins)
        scale = 1.0
    else:
        flat = curves.reshape(-1, nbins)
        flat = flat[numpy.isfinite(flat).all(axis=1)]
        diffs = flat - (numpy.median(flat, axis=0) if len(flat) else 0.0)
        scale = 1.0
    diffs = diffs[numpy.isfinite(diffs).all(axis=1)]
    if not len(diffs):
        return numpy.full(nbins, numpy.nan)
    return 1.4826 * scale * numpy.median(numpy.abs(diffs), axis=0)


def connectivity(
    rise: NDArray, noise: NDArray, peak_bin: NDArray, threshold: float
) -> NDArray[numpy.bool_]:
    """Return where a peak rises above `threshold` times the noise.

    The noise is taken at the bin of each peak; NaN rises (pixels
    without data) are not connected.

    >>> connectivity(
    ...     numpy.array([0.5, 3.0, numpy.nan]), numpy.array([0.0, 1.0]),
    ...     numpy.array([1, 1, 1]), 2.0,
    ... ).tolist()
    [False, True, False]

    """
    with numpy.errstate(invalid='ignore'):
        return rise > threshold * noise[peak_bin]
