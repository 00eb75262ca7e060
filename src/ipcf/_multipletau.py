"""Multiple-tau autocorrelation of many pixel series at once, with errors.

The multiple-tau correlator (Schätzel 1990; Wohland et al. 2001) keeps
``m`` delays per level: level 0 has the delays ``0 .. m`` frames; each
further level correlates the series averaged over pairs of samples of
the level before, at the delays ``m/2 + 1 .. m`` of its own samples
(``2**level`` frames each). Delays are thus spaced linearly at first,
then by factors of two, and each value uses every sample of its level.

:func:`autocorrelate` does this for a ``(T, P)`` array of ``P`` series
in float64, one level at a time for all pixels, and estimates the
standard error of every value by blocking the products it averages.

"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ['autocorrelate', 'delays']

MIN_BLOCKS = 32
"""Fewest block means a blocking estimate of an error is made from."""

_CHUNK_BYTES = 4 * 2**20
"""Most bytes of products held at a time (they stay in cache)."""


def delays(nframes: int, m: int) -> NDArray[numpy.intp]:
    """Return the delays in frames of the correlator for nframes frames.

    Delays whose level has fewer than `m` products are left out.

    >>> delays(64, 8).tolist()
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32]

    """
    return numpy.array([d for d, _, _ in _schedule(nframes, m)], numpy.intp)


def _schedule(nframes: int, m: int) -> list[tuple[int, int, int]]:
    """Return ``(delay, level, lag in samples of the level)`` of each point."""
    points = [(j, 0, j) for j in range(m + 1) if nframes - j >= m]
    level, length = 1, nframes // 2
    while True:
        lags = [j for j in range(m // 2 + 1, m + 1) if length - j >= m]
        if not lags:
            break
        points.extend((j * 2**level, level, j) for j in lags)
        level += 1
        length //= 2
    return points


def autocorrelate(
    series: NDArray, /, *, m: int = 16, offset: float = 0.0
) -> tuple[NDArray[numpy.intp], NDArray[numpy.float64], NDArray]:
    """Return delays, G and its standard errors of series (T, P).

    ``G(d) = sum_t z(t) z(t + j) / ((n - j) (<a> - offset)**2)`` with
    ``z`` the series less its mean (taken once, over all frames) and
    averaged over ``2**level`` frames at the delay's level, ``n`` the
    samples of that level and ``d = j * 2**level``. Series whose mean
    does not exceed `offset` give NaN.

    The error of a value is the largest standard error of the means of
    consecutive blocks of its products, over block lengths ``1, 2, 4,
    ...`` that leave at least :data:`MIN_BLOCKS` blocks (blocking
    analysis, Flyvbjerg and Petersen 1989): the products of nearby
    samples are correlated, and blocks longer than that correlation give
    their independent means.

    >>> z = numpy.random.default_rng(0).normal(10.0, 1.0, (256, 3))
    >>> d, g, e = autocorrelate(z, m=8)
    >>> g.shape == e.shape == (len(d), 3), bool(abs(g[0, 0] - 0.01) < 2e-3)
    (True, True)

    """
    series = numpy.asarray(series, dtype=numpy.float64)
    nframes, npixels = series.shape
    mean = series.mean(axis=0)
    norm = mean - offset
    valid = norm > 0
    scale = numpy.full(npixels, numpy.nan)
    scale[valid] = 1.0 / norm[valid] ** 2
    # pixels along rows: every product, sum and block below runs over
    # contiguous samples (twice as fast as along columns); transposed a
    # band of pixels at a time, which is 3x faster than in one go
    trace = numpy.empty((npixels, nframes))
    for p0 in range(0, npixels, 256):
        band = slice(p0, p0 + 256)
        numpy.subtract(series[:, band].T, mean[band, None], out=trace[band])
    schedule = _schedule(nframes, m)
    values = numpy.empty((len(schedule), npixels))
    errors = numpy.empty((len(schedule), npixels))
    level = 0
    for k, (_, lev, lag) in enumerate(schedule):
        while level < lev:
            n = trace.shape[1] // 2 * 2
            trace = 0.5 * (trace[:, 0:n:2] + trace[:, 1:n:2])
            level += 1
        values[k], errors[k] = _lag(trace, lag)
    values *= scale
    errors *= scale
    return numpy.array([d for d, _, _ in schedule]), values, errors


def _lag(trace: NDArray, lag: int) -> tuple[NDArray, NDArray]:
    """Return the mean product at a lag and its blocking standard error.

    `trace` is ``(P, n)``, one pixel's samples per row.

    """
    npixels, n = trace.shape
    count = n - lag
    step = max(1, _CHUNK_BYTES // (8 * count))
    mean = numpy.empty(npixels)
    error = numpy.empty(npixels)
    for p0 in range(0, npixels, step):
        part = slice(p0, min(npixels, p0 + step))
        products = trace[part, :count] * trace[part, lag:]
        mean[part], error[part] = _blocking(products)
    return mean, error


def _blocking(products: NDArray) -> tuple[NDArray, NDArray]:
    """Return the mean of each row and its largest block standard error.

    `products` is ``(P, count)``. Blocks are kept as sums of ``size``
    products, whose standard error is ``size`` times that of their
    means; each level's variance comes from one pass of sums of squares
    (float64: the block sums are not so far from zero, relative to their
    spread, that this loses digits).

    """
    count = products.shape[1]
    total = products.sum(axis=1)
    mean = total / count
    if count < MIN_BLOCKS:
        return mean, products.std(axis=1, ddof=1) / numpy.sqrt(count)
    best = numpy.zeros(products.shape[0])
    blocks = products
    size = 1
    while True:
        nblocks = blocks.shape[1]
        squares = numpy.einsum('ij,ij->i', blocks, blocks)
        variance = (squares - total * total / nblocks) / (nblocks - 1)
        sem = numpy.sqrt(numpy.maximum(variance, 0.0) / nblocks) / size
        numpy.maximum(best, sem, out=best)
        if nblocks // 2 < MIN_BLOCKS:
            return mean, best
        if nblocks % 2:
            # the last block has no partner and is left out
            total = total - blocks[:, -1]
        half = nblocks // 2 * 2
        blocks = numpy.add(blocks[:, 0:half:2], blocks[:, 1:half:2])
        size *= 2
