"""Print the table of 1-D cross-correlation backends.

    python benchmarks/bench_correlate.py [--size 16384] [--threads N]
                                         [--repeat 5] [--json]

Times every available :func:`ipcf.correlate` backend on one thread and on
N concurrent threads, and the ratio to ``numpy_fft`` timed in the same run.
"""

import argparse
import json
import os
import platform
import sys

import numba
import numpy
import scipy

from ipcf.bench import CORRELATE_COLUMNS, bench_correlate, format_table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=int, default=16384)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--backends', nargs='+', default=None)
    parser.add_argument('--json', action='store_true', help='print JSON')
    args = parser.parse_args(argv)
    rows = bench_correlate(
        size=args.size,
        threads=args.threads,
        backends=args.backends,
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
    print(f'{args.size} float64 samples\n')
    print(format_table(rows, [*CORRELATE_COLUMNS, ('skipped', 'note')]))
    timed = [row for row in rows if row['t1_ms'] is not None]
    best = min(timed, key=lambda row: row['t1_ms'])
    print(
        f'\nfastest: {best["backend"]}, {best["vs_numpy_fft"]:.2f}x '
        'numpy_fft (circular, same run)'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
