"""Benchmarks of ipcf's implementations, returned as rows of a table.

Each ``bench_*`` function times implementations on data it makes itself and
returns one dict per implementation, ready for :func:`format_table` or
:func:`json.dumps`. Ratios are taken to a baseline timed in the same run.
The library never prints; ``ipcf bench`` and the scripts in ``benchmarks/``
do.

"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy

from ._utils import check_int, limit_threads, number_threads

__all__ = [
    'CORRELATE_COLUMNS',
    'bench_correlate',
    'format_table',
]

CORRELATE_COLUMNS = (
    ('backend', 'backend'),
    ('mode', 'mode'),
    ('t1_ms', '1 thread / ms'),
    ('threads', 'N'),
    ('tn_ms', 'N threads / ms'),
    ('speedup', 'speedup'),
    ('vs_numpy_fft', 'vs numpy_fft'),
)
"""Keys and titles of the :func:`bench_correlate` rows that ``ipcf bench``
shows, for :func:`format_table`."""

CORRELATE_BASELINE = 'numpy_fft'
"""Backend whose circular time the ``vs_numpy_fft`` column divides."""

_DIRECT_BACKENDS = frozenset({'direct', 'numba'})
_DIRECT_LIMIT_S = 1.0
_REPEAT_S = 0.05


def format_table(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str | tuple[str, str]],
) -> str:
    """Return rows as a plain-text table with aligned columns.

    Parameters
    ----------
    rows : iterable of mapping
        One mapping per table row. Missing keys and ``None`` show as
        ``'-'``.
    columns : sequence of str or (str, str)
        Keys to show, in order, each optionally paired with a title.

    Returns
    -------
    str
        Header, rule and one line per row. Numbers are right-aligned;
        floats have 3 significant digits, at least 2 decimals below 100.

    Examples
    --------
    >>> rows = [{'name': 'a', 'ms': 0.1234}, {'name': 'bc', 'ms': 12.5}]
    >>> print(format_table(rows, ['name', ('ms', 'time / ms')]))
    name  time / ms
    ----  ---------
    a          0.12
    bc        12.50

    """
    keys = []
    titles = []
    for column in columns:
        if isinstance(column, str):
            keys.append(column)
            titles.append(column)
        else:
            keys.append(column[0])
            titles.append(column[1])
    cells = []
    numeric = [True] * len(keys)
    for row in rows:
        line = []
        for i, key in enumerate(keys):
            value = row.get(key)
            line.append(_format_cell(value))
            if isinstance(value, str):
                numeric[i] = False
        cells.append(line)
    widths = [
        max([len(title)] + [len(line[i]) for line in cells])
        for i, title in enumerate(titles)
    ]

    def render(line: list[str]) -> str:
        parts = [
            text.rjust(width) if right else text.ljust(width)
            for text, width, right in zip(line, widths, numeric, strict=True)
        ]
        return '  '.join(parts).rstrip()

    lines = [
        render(titles),
        render(['-' * width for width in widths]),
        *(render(line) for line in cells),
    ]
    return '\n'.join(lines)


def _format_cell(value: Any) -> str:
    if value is None:
        return '-'
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if abs(value) >= 100:
            return f'{value:.0f}'
        return f'{value:.2f}' if abs(value) >= 0.1 else f'{value:.3g}'
    return str(value)


def bench_correlate(
    *,
    size: int = 16384,
    threads: int | None = None,
    backends: Sequence[str] | None = None,
    repeat: int = 5,
) -> list[dict[str, Any]]:
    """Return timings of the :func:`ipcf.correlate` backends.

    For each backend, time the correlation of two random float64
    sequences on one thread, and ``N`` correlations at once on ``N``
    threads of a pool, each thread correlating its own pair, as the
    tutorial's table does.

    Parameters
    ----------
    size : int, optional, default: 16384
        Length of the sequences, at least 1.
    threads : int or None, optional
        Number ``N`` of concurrent threads; ``None`` uses all usable cores.
        Also caps the BLAS thread pools during the benchmark.
    backends : sequence of str or None, optional
        Backends to time; ``None`` times all of
        :func:`ipcf.correlate_backends`. The baseline ``'numpy_fft'``
        is timed in any case.
    repeat : int, optional, default: 5
        Timings per backend; the best counts. Each timing runs enough calls
        to take about 50 ms.

    Returns
    -------
    list of dict
        One row per backend, the baseline first, with keys

        - ``backend``, ``mode``: FFT backends are timed in circular mode,
          ``'direct'``, ``'scipy_signal'`` and ``'numba'`` in linear mode,
          the one they compute natively;
        - ``size``, ``threads``: ``size`` and ``N``;
        - ``t1_ms``: milliseconds per correlation on one thread;
        - ``tn_ms``: milliseconds for ``N`` concurrent correlations;
        - ``speedup``: ``t1_ms * N / tn_ms``, ``N`` for perfect scaling;
        - ``vs_numpy_fft``: circular ``'numpy_fft'`` time over ``t1_ms``;
        - ``skipped``: ``None``, or why the backend was not timed
          (the direct sums when one call would take over a second); its
          times are then ``None``.

    Raises
    ------
    ValueError
        If a backend is not available here, or an argument is out of range.

    Examples
    --------
    >>> rows = bench_correlate(size=256, threads=2, backends=['scipy_fft'],
    ...                        repeat=1)
    >>> [row['backend'] for row in rows]
    ['numpy_fft', 'scipy_fft']
    >>> print(format_table(rows, CORRELATE_COLUMNS))  # doctest: +SKIP

    """
    from .correlate import correlate, correlate_backends

    size = check_int(size, 'size', minimum=1)
    repeat = check_int(repeat, 'repeat', minimum=1)
    nthreads = number_threads(threads)
    available = correlate_backends()
    if backends is None:
        names = list(available)
    else:
        if isinstance(backends, str):
            backends = [backends]
        names = list(dict.fromkeys(backends))
        unknown = [name for name in names if name not in available]
        if unknown:
            msg = (
                f'backends {unknown} are not available; choose from '
                f'{available}'
            )
            raise ValueError(msg)
    if CORRELATE_BASELINE in names:
        names.remove(CORRELATE_BASELINE)
    names.insert(0, CORRELATE_BASELINE)

    rng = numpy.random.default_rng(1)
    pairs = [
        (rng.random(size) - 0.5, rng.random(size) - 0.5)
        for _ in range(max(1, nthreads))
    ]
    rows = []
    baseline = None
    with limit_threads(nthreads), ThreadPoolExecutor(nthreads) as pool:
        for name in names:
            mode = 'linear' if name in _NATIVE_LINEAR else 'circular'
            row: dict[str, Any] = {
                'backend': name,
                'mode': mode,
                'size': size,
                'threads': nthreads,
                't1_ms': None,
                'tn_ms': None,
                'speedup': None,
                'vs_numpy_fft': None,
                'skipped': None,
            }
            rows.append(row)

            def call(pair, name=name, mode=mode):
                return correlate(pair[0], pair[1], mode=mode, backend=name)

            if name in _DIRECT_BACKENDS:
                estimate = _estimate_direct(call, size)
                if estimate > _DIRECT_LIMIT_S:
                    row['skipped'] = f'about {estimate:.0f} s per call'
                    continue
            call(pairs[0])  # compile, plan, warm caches
            single = _best(lambda call=call: call(pairs[0]), repeat)
            number = max(1, round(_REPEAT_S / single))
            t1 = _best(
                lambda call=call, number=number: _loop(call, pairs[0], number),
                repeat,
            )
            t1 /= number
            tn = _best(
                lambda call=call, number=number: _concurrent(
                    pool, call, pairs[:nthreads], number
                ),
                repeat,
            )
            tn /= number
            row['t1_ms'] = t1 * 1e3
            row['tn_ms'] = tn * 1e3
            row['speedup'] = t1 * nthreads / tn
            if baseline is None:
                baseline = t1
            row['vs_numpy_fft'] = baseline / t1
    return rows


_NATIVE_LINEAR = frozenset({'direct', 'scipy_signal', 'numba'})


def _best(function: Callable[[], Any], repeat: int) -> float:
    """Return the shortest of repeat wall-clock timings of function."""
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def _loop(call: Callable[[Any], Any], pair: Any, number: int) -> None:
    for _ in range(number):
        call(pair)


def _concurrent(
    pool: ThreadPoolExecutor,
    call: Callable[[Any], Any],
    pairs: Sequence[Any],
    number: int,
) -> None:
    """Run number calls on each pair, one pair per pool thread."""
    futures = [pool.submit(_loop, call, pair, number) for pair in pairs]
    for future in futures:
        future.result()


def _estimate_direct(call: Callable[[Any], Any], size: int) -> float:
    """Return the seconds a quadratic backend would take for size."""
    probe = min(size, 2048)
    rng = numpy.random.default_rng(2)
    pair = (rng.random(probe), rng.random(probe))
    call(pair)  # compile
    seconds = _best(lambda: call(pair), 2)
    return seconds * (size / probe) ** 2
