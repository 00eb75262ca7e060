"""Print the cpu engine's cost per curve on narrow and wide images.

    python benchmarks/bench_wide.py [--frames 16384] [--rows 64]
                                    [--widths 64,1024] [--repeat 3]

The engine pulls rows from a reader and keeps the spectra of the rows it
has transformed, so a wide image costs what a narrow one does per curve:
only strips of columns share a column halo. Both shapes are timed in the
same run (uint16 Poisson counts, radius 6, 32 points, 32 bins), after a
warm-up that compiles the kernels; the ratio is per curve, wide over the
first width.
"""

import argparse
import sys

from _common import best, format_table, machine, poisson_series

import ipcf


def main(argv=None):
    """Print the table; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--frames', type=int, default=16384)
    parser.add_argument('--rows', type=int, default=64)
    parser.add_argument('--widths', default='64,1024')
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args(argv)
    widths = [int(w) for w in args.widths.split(',')]
    options = {'radius': 6, 'npoints': 32, 'nbins': 32, 'engine': 'cpu'}
    warm = poisson_series((args.frames, 16, 16), 100.0, seed=1)
    ipcf.pcf_image(warm, num_threads=args.threads, **options)
    rows = []
    for width in widths:
        data = poisson_series((args.frames, args.rows, width), 100.0, seed=0)
        seconds = best(
            lambda data=data: ipcf.pcf_image(
                data, num_threads=args.threads, **options
            ),
            args.repeat,
        )
        curves = (args.rows - 12) * (width - 12) * 32
        rows.append(
            {
                'shape': f'{args.frames}x{args.rows}x{width}',
                'seconds': seconds,
                'us_curve': seconds / curves * 1e6,
            }
        )
    for row in rows:
        row['ratio'] = row['us_curve'] / rows[0]['us_curve']
    print(machine())
    print(
        format_table(
            rows,
            [
                'shape',
                ('seconds', 'best / s'),
                ('us_curve', 'µs / curve'),
                ('ratio', 'per curve vs first'),
            ],
        )
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
