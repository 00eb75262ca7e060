"""Print the table of pCF engines against the reference and plain numpy.

    python benchmarks/bench_engine.py [--shape 16384,64,64] [--threads N]
                                      [--engine cpu] [--repeat 3]
                                      [--stages] [--json]

Times ``pcf_image`` with each engine on a Poisson series (mean 100,
uint16; radius 6, 32 points, 32 requested bins), after a warm-up on a
small crop that compiles kernels. The reference engine and a plain numpy
per-pixel loop are timed on a crop in the same run and compared per
curve. ``--stages`` also times the stages of the cpu engine (wall clock).
"""

import argparse
import collections
import json
import os
import platform
import sys
import time

import numba
import numpy
import scipy

from ipcf.bench import ENGINE_COLUMNS, bench_engine, format_table


def stages(shape, threads, repeat):
    """Return wall-clock seconds per stage of the cpu engine (best run)."""
    from ipcf.bench import _poisson_series
    from ipcf.engines import cpu
    from ipcf.pcf import pcf_image

    totals = collections.defaultdict(float)
    parallel = cpu._parallel
    compute = cpu.compute

    def timed_parallel(pool, arguments, function):
        start = time.perf_counter()
        try:
            return parallel(pool, arguments, function)
        finally:
            totals[function.__name__] += time.perf_counter() - start

    def timed_compute(*args, **kwargs):
        start = time.perf_counter()
        try:
            return compute(*args, **kwargs)
        finally:
            totals['engine'] += time.perf_counter() - start

    data = _poisson_series(shape, 100.0, seed=0)
    pcf_image(data[:, :16, :16], engine='cpu', num_threads=threads)
    cpu._parallel = timed_parallel
    cpu.compute = timed_compute
    best = None
    try:
        for _ in range(repeat):
            totals.clear()
            start = time.perf_counter()
            pcf_image(data, engine='cpu', num_threads=threads)
            total = time.perf_counter() - start
            if best is None or total < best['total']:
                best = dict(totals, total=total)
    finally:
        cpu._parallel = parallel
        cpu.compute = compute
    names = {
        'series_means': 'means (one pass over the tile)',
        'load_series': 'transpose to float32 series',
        '_spectra': 'FFT, spectra to band planes',
        'pair_sums': 'cross-spectra and GEMM binning',
        'scatter_curves': 'smoothing and storing curves',
    }
    rows = [(title, best.get(key, 0.0)) for key, title in names.items()]
    rows.append(
        ('rest of the engine', best['engine'] - sum(s for _, s in rows))
    )
    rows.append(
        ('pcf_image outside the engine', best['total'] - best['engine'])
    )
    return best['total'], rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shape', default='16384,64,64')
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--engine', nargs='+', default=['cpu'])
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--stages', action='store_true')
    parser.add_argument('--json', action='store_true', help='print JSON')
    args = parser.parse_args(argv)
    shape = tuple(int(n) for n in args.shape.split(','))
    rows = bench_engine(
        shape=shape,
        engines=args.engine,
        threads=args.threads,
        repeat=args.repeat,
    )
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(
        f'{platform.machine()} {platform.processor() or platform.system()}, '
        f'{len(os.sched_getaffinity(0))} cores; Python '
        f'{platform.python_version()}, numpy {numpy.__version__}, '
        f'scipy {scipy.__version__}, numba {numba.__version__}'
    )
    print('uint16 Poisson counts (mean 100), radius 6, 32 points, 32 bins\n')
    print(format_table(rows, ENGINE_COLUMNS))
    if args.stages:
        total, parts = stages(shape, args.threads, args.repeat)
        print(f'\ncpu engine stages, wall clock, best of {args.repeat}:')
        print(
            format_table(
                [
                    {'stage': name, 's': s, 'percent': 100 * s / total}
                    for name, s in parts
                ],
                ['stage', ('s', 'seconds'), ('percent', '%')],
            )
        )
    return 0


if __name__ == '__main__':
    sys.exit(main())
