"""The spectral route shared by the cpu and gpu engines.

The bin average of a correlation curve is linear in the cross-spectrum
of the two series, so it can be taken in the frequency domain by a
matrix product, with no inverse transform. With ``A`` and ``B`` the real
FFTs (length ``L``) of the mean-free series of a centre and of its
neighbour, ``X = conj(A) * B`` at frequencies ``f = 1 .. L // 2`` and,
for bin ``k`` with delays ``[lo, hi)``::

    M[f, k] = w_f / (L * N) * mean over tau in [lo, hi) of exp(2j pi f tau / L)

(``w_f = 1`` at ``f = L / 2``, else 2), the binned curve from the centre
toward the neighbour is ``Re(X) @ Re(M) - Im(X) @ Im(M)`` and the curve
from the neighbour back toward the centre is their sum: one pair of real
matrix products serves two directions. Smoothing is linear too and is
folded into ``M``. The zero frequency is left out: the series are
mean-free. Circular mode uses ``L = N``; linear mode zero-pads to a fast
length ``L >= N + N // 2 - 1``, which no delay below ``N / 2`` wraps.

This module builds ``M`` and groups a plan's offsets into pairs; the
engines hold only their own plumbing.

"""

from __future__ import annotations

import functools
from typing import Any

import numpy

from ..plan import smoothing_matrix

__all__ = [
    'binning_matrix',
    'fast_length',
    'is_forward',
    'pair_tasks',
    'transform_length',
]


def fast_length(
    size: int, /, *, primes: tuple[int, ...] = (2, 3, 5, 7)
) -> int:
    """Return the smallest product of powers of primes that is >= size.

    >>> fast_length(24575), fast_length(1000), fast_length(11)
    (24576, 1000, 12)
    >>> fast_length(7, primes=(2, 3, 5))
    8

    """
    size = max(1, int(size))
    best = 1 << (size - 1).bit_length()
    products = [1]
    for prime in primes[1:]:
        more = []
        for product in products:
            p = product
            while p < best:
                more.append(p)
                p *= prime
        products = more
    for product in products:
        m = product
        while m < size:
            m *= 2
        best = min(best, m)
    return best


def transform_length(
    nframes: int, mode: str, /, *, primes: tuple[int, ...] = (2, 3, 5, 7)
) -> int:
    """Return the FFT length L of a plan's frames and mode.

    >>> transform_length(16, 'circular'), transform_length(16, 'linear')
    (16, 24)

    """
    if mode == 'circular':
        return int(nframes)
    # delays below N/2 do not wrap around a length of 3N/2 - 1
    return fast_length(nframes + nframes // 2 - 1, primes=primes)


@functools.lru_cache(maxsize=8)
def binning_matrix(
    nframes: int, length: int, edges: tuple[int, ...], smoothing: bool
) -> numpy.ndarray:
    """Return M[f - 1, k] for f = 1 .. length // 2, complex128, read-only.

    ``w_f / (L N)`` times the mean of ``exp(2j pi f tau / L)`` over the
    delays of bin k, by the closed-form geometric sum; with `smoothing`,
    times the smoothing matrix. Phases are reduced modulo 2 pi in
    integers, so M is exact to float64 rounding for any length.

    >>> m = binning_matrix(8, 8, (1, 2, 4), False)
    >>> m.shape, bool(numpy.allclose(m[:, 0], 2 / 64))
    ((4, 3), False)

    """
    upper = numpy.asarray(edges, dtype=numpy.int64)
    lower = numpy.concatenate(([0], upper[:-1]))
    count = upper - lower
    freq = numpy.arange(1, length // 2 + 1, dtype=numpy.int64)[:, None]
    weight = numpy.where(2 * freq == length, 1.0, 2.0) / (length * nframes)
    period = 2 * length
    phase = numpy.pi / length * ((freq * (2 * lower + count - 1)) % period)
    ratio = numpy.sin(numpy.pi / length * ((freq * count) % period)) / (
        count * numpy.sin(numpy.pi / length * freq)
    )
    matrix = weight * ratio * numpy.exp(1j * phase)
    if smoothing:
        matrix = matrix @ smoothing_matrix(len(edges))
    matrix.flags.writeable = False
    return matrix


def is_forward(offset: Any, /) -> bool:
    """Return whether an offset points forward in row-major pixel order.

    Its last nonzero coordinate in the order x, y, z counted from z (the
    slowest axis) is positive; the zero offset is forward.

    >>> is_forward((1, 0)), is_forward((-1, 1)), is_forward((1, -1))
    (True, True, False)
    >>> is_forward((0, 0))
    True

    """
    for value in reversed(list(offset)):
        if value:
            return value > 0
    return True


def pair_tasks(
    offsets: Any,
    /,
    *,
    cross: bool,
    reverse: bool = False,
    curves: Any = None,
) -> list[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
    """Return the plan's offsets grouped into pixel pairs to correlate.

    Each task ``(offset, plus, minus)`` pairs every centre pixel ``p``
    with ``p + offset``. The pair gives the curves of the points in
    `plus` (those with this offset) of centre ``p``, and of the points in
    `minus` (those with the negated offset) of centre ``p + offset``.

    Within one channel, offsets and their negatives share a task whose
    offset points forward (:func:`is_forward`), so each unordered pair is
    transformed once. Across channels (`cross`) every distinct offset is a
    task; its `plus` points are the curves from channel 0 to channel 1,
    and with `reverse` its `minus` points are those from channel 1 at
    ``p + offset`` back to channel 0 at ``p``. Duplicate points share a
    task. `curves` (bool, ``(directions, points)``, see
    :class:`ipcf.plan.Plan`) drops the curves not wanted, and the tasks
    left without any.

    Examples
    --------
    >>> pair_tasks([[1, 0], [0, 1], [-1, 0], [0, -1]], cross=False)
    [((1, 0), (0,), (2,)), ((0, 1), (1,), (3,))]
    >>> pair_tasks([[1, 0], [-1, 0]], cross=True, reverse=True)
    [((1, 0), (0,), (1,)), ((-1, 0), (1,), (0,))]

    """
    offsets = [tuple(int(c) for c in o) for o in numpy.asarray(offsets)]
    if curves is None:
        wanted = numpy.ones((2, len(offsets)), bool)
    else:
        wanted = numpy.asarray(curves, bool)
        wanted = numpy.concatenate([wanted, wanted[:1]])  # row 1 if 1 dir
    groups: dict[tuple[int, ...], tuple[list[int], list[int]]] = {}
    if cross:
        for i, offset in enumerate(offsets):
            if wanted[0, i]:
                groups.setdefault(offset, ([], []))[0].append(i)
        if reverse:
            for i, offset in enumerate(offsets):
                if wanted[1, i]:
                    negated = tuple(-c for c in offset)
                    groups.setdefault(negated, ([], []))[1].append(i)
    else:
        for i, offset in enumerate(offsets):
            if not wanted[0, i]:
                continue
            if is_forward(offset):
                groups.setdefault(offset, ([], []))[0].append(i)
            else:
                negated = tuple(-c for c in offset)
                groups.setdefault(negated, ([], []))[1].append(i)
    return [
        (offset, tuple(plus), tuple(minus))
        for offset, (plus, minus) in groups.items()
    ]
