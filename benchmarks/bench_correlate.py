"""Print the table of 1-D cross-correlation backends.

    python benchmarks/bench_correlate.py [--size 16384] [--threads N]
                                         [--repeat 5] [--backends NAME ...]
                                         [--json]

Times every available :func:`ipcf.correlate` backend on one thread and on
N concurrent threads, and the ratio to ``numpy_fft`` timed in the same run.
``ipcf bench correlate`` runs this script with the same options.
"""

import json
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy
from _common import best, format_table, machine

from ipcf._options import ArgumentParser, add, positive_int
from ipcf._utils import limit_threads, number_threads
from ipcf._validate import check_int
from ipcf.correlate import correlate, correlate_backends

CORRELATE_COLUMNS = (
    ('backend', 'backend'),
    ('mode', 'mode'),
    ('t1_ms', '1 thread / ms'),
    ('threads', 'N'),
    ('tn_ms', 'N threads / ms'),
    ('speedup', 'speedup'),
    ('vs_numpy_fft', 'vs numpy_fft'),
)
"""Keys and titles of the :func:`bench_correlate` rows in the table."""

CORRELATE_BASELINE = 'numpy_fft'
"""Backend whose circular time the ``vs_numpy_fft`` column divides."""

_DIRECT_BACKENDS = frozenset({'direct', 'numba'})
_DIRECT_LIMIT_S = 1.0
_REPEAT_S = 0.05


def bench_correlate(
    *,
    size: int = 16384,
    num_threads: int | None = None,
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
    num_threads : int or None, optional
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
    >>> rows = bench_correlate(
    ...     size=256, num_threads=2, backends=['scipy_fft'], repeat=1
    ... )
    >>> [row['backend'] for row in rows]
    ['numpy_fft', 'scipy_fft']
    >>> print(format_table(rows, CORRELATE_COLUMNS))  # doctest: +SKIP

    """
    size = check_int(size, 'size', minimum=1)
    repeat = check_int(repeat, 'repeat', minimum=1)
    nthreads = number_threads(num_threads)
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
            single = best(lambda call=call: call(pairs[0]), repeat)
            number = max(1, round(_REPEAT_S / single))
            t1 = best(
                lambda call=call, number=number: _loop(call, pairs[0], number),
                repeat,
            )
            t1 /= number
            tn = best(
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
    seconds = best(lambda: call(pair), 2)
    return seconds * (size / probe) ** 2


def main(argv=None, prog=None):
    """Print the table (or JSON) of the options in argv; return 0."""
    parser = ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument(
        '--size',
        type=positive_int,
        default=16384,
        metavar='N',
        help='samples per sequence',
    )
    add(parser, 'threads', help='concurrent threads N (default: all cores)')
    add(parser, 'repeat', default=5)
    parser.add_argument(
        '--backends',
        nargs='+',
        default=None,
        metavar='NAME',
        help='backends to time (default: all available)',
    )
    add(parser, 'json')
    args = parser.parse_args(argv)
    rows = bench_correlate(
        size=args.size,
        num_threads=args.threads,
        backends=args.backends,
        repeat=args.repeat,
    )
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(machine())
    print(f'{args.size} float64 samples\n')
    print(format_table(rows, [*CORRELATE_COLUMNS, ('skipped', 'note')]))
    timed = [row for row in rows if row['t1_ms'] is not None]
    fastest = min(timed, key=lambda row: row['t1_ms'])
    print(
        f'\nfastest: {fastest["backend"]}, {fastest["vs_numpy_fft"]:.2f}x '
        'numpy_fft (circular, same run)'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
