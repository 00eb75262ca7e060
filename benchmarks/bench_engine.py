"""Print the table of pCF engines against the reference and plain numpy.

    python benchmarks/bench_engine.py [--shape [T,]H,W] [--frames N]
                                      [--threads N] [--engine NAME ...]
                                      [--repeat 3] [--stages] [--json]

Times ``pcf_image`` with each engine on a Poisson series (mean 100,
uint16; radius 6, 32 points, 32 requested bins), after a warm-up on a
small crop that compiles kernels. The reference engine and a plain numpy
per-pixel loop are timed on a crop in the same run and compared per
curve. ``--stages`` also times the stages of the cpu engine (wall clock).
``ipcf bench engine`` runs this script with the same options.
"""

import collections
import json
import math
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy
from _common import format_table, machine, poisson_series

from ipcf import engines as engines_
from ipcf._options import ArgumentParser, add, parse_frame_count, series_shape
from ipcf._utils import limit_threads, number_threads
from ipcf._validate import check_int
from ipcf.pcf import (
    MIN_FRAMES,
    average_bins,
    circle,
    logbins,
    pcf_image,
    smooth,
)

DEFAULT_SHAPE = (16384, 64, 64)

ENGINE_COLUMNS = (
    ('engine', 'engine'),
    ('shape', 'T x H x W'),
    ('threads', 'threads'),
    ('seconds', 'best / s'),
    ('first_s', 'first / s'),
    ('us_per_curve', 'us / curve'),
    ('us_per_pair', 'us / pair'),
    ('vs_reference', 'x reference (per curve, crop)'),
    ('vs_numpy', 'x numpy per pixel (per curve, crop)'),
)
"""Keys and titles of the :func:`bench_engine` rows in the table."""


def bench_engine(
    *,
    shape: Sequence[int] = DEFAULT_SHAPE,
    radius: int = 6,
    npoints: int | None = 32,
    nbins: int = 32,
    engines: Sequence[str] = ('cpu',),
    num_threads: int | None = None,
    repeat: int = 3,
    reference_crop: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Return timings of :func:`ipcf.pcf_image` engines.

    Each engine analyses a seeded Poisson series (mean 100 counts, uint16)
    of the given shape. Two baselines are timed in the same run on a crop
    of the same series and compared per curve: the reference engine and a
    plain numpy implementation that transforms each pixel once, then runs
    one inverse FFT per pair of pixels and bins it, in a loop over pixels.

    Parameters
    ----------
    shape : sequence of 3 int, optional, default: (16384, 64, 64)
        Frames, height and width of the series; the frames used are the
        largest power of two.
    radius, npoints, nbins : optional
        Circle and bins, as for :func:`ipcf.pcf_image`.
    engines : sequence of str, optional, default: ('cpu',)
        Engines to time, see :func:`ipcf.engines.available`.
    num_threads : int or None, optional
        Threads of every engine and baseline; ``None`` uses all cores.
        Also caps the BLAS thread pools.
    repeat : int, optional, default: 3
        Full-size runs per engine after a warm-up on a small crop (which
        compiles kernels); the best counts.
    reference_crop : sequence of 2 int or None, optional
        Height and width of the crop the baselines analyse (all frames).
        ``None`` gives ``2 * radius + 4`` pixels each way, 16 centres.

    Returns
    -------
    list of dict
        One row per engine, then the two baselines, with keys

        - ``engine``: engine name, or the baseline with ``(crop)``;
        - ``shape``: ``'TxHxW'`` of the series timed; ``threads``;
        - ``curves``: curves computed, ``centres * npoints``;
        - ``seconds``: best wall-clock time; ``first_s``: the first
          full-size run, which also allocates the engine's buffers;
        - ``us_per_curve``: microseconds per curve; ``us_per_pair``: per
          unordered pair of pixels, which serves two curves;
        - ``vs_reference``, ``vs_numpy``: the baseline's time per curve
          (timed on the crop, extrapolated per curve) over this row's.

    Raises
    ------
    ValueError
        If an engine is not available here, or an argument is out of range.

    Examples
    --------
    >>> rows = bench_engine(
    ...     shape=(64, 10, 10), radius=2, npoints=8, nbins=8, repeat=1
    ... )
    >>> [row['engine'] for row in rows]
    ['cpu', 'reference (crop)', 'numpy per pixel (crop)']
    >>> print(format_table(rows, ENGINE_COLUMNS))  # doctest: +SKIP

    """
    if len(shape) != 3:
        msg = f'{shape=} is not (frames, height, width)'
        raise ValueError(msg)
    nframes, height, width = (check_int(n, 'shape', minimum=1) for n in shape)
    if nframes < MIN_FRAMES:
        msg = f'{shape=} has fewer than {MIN_FRAMES} frames'
        raise ValueError(msg)
    radius = check_int(radius, 'radius', minimum=1)
    if not radius < min(height, width) / 2:
        msg = f'{radius=} does not fit {height}x{width} images'
        raise ValueError(msg)
    repeat = check_int(repeat, 'repeat', minimum=1)
    nthreads = number_threads(num_threads)
    if isinstance(engines, str):
        engines = [engines]
    available = engines_.available()
    unknown = [name for name in engines if name not in available]
    if unknown:
        msg = f'engines {unknown} are not available; choose from {available}'
        raise ValueError(msg)
    if reference_crop is None:
        reference_crop = (2 * radius + 4, 2 * radius + 4)
    crop_height, crop_width = (
        check_int(n, 'reference_crop', minimum=2 * radius + 1)
        for n in reference_crop
    )
    crop_height = min(crop_height, height)
    crop_width = min(crop_width, width)
    npoints_ = len(circle(radius, npoints))

    def curves(h: int, w: int) -> int:
        return (h - 2 * radius) * (w - 2 * radius) * npoints_

    data = poisson_series((nframes, height, width), 100.0, seed=0)
    crop = numpy.ascontiguousarray(data[:, :crop_height, :crop_width])
    kwargs = {'radius': radius, 'npoints': npoints, 'nbins': nbins}
    rows = []
    with limit_threads(nthreads):
        for name in engines:
            warm = data[:, : 2 * radius + 2, : 2 * radius + 2]
            pcf_image(warm, engine=name, num_threads=nthreads, **kwargs)
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                pcf_image(data, engine=name, num_threads=nthreads, **kwargs)
                times.append(time.perf_counter() - start)
            rows.append(
                {
                    'engine': name,
                    'shape': 'x'.join(str(n) for n in data.shape),
                    'threads': nthreads,
                    'curves': curves(height, width),
                    'seconds': min(times),
                    'first_s': times[0],
                }
            )
        start = time.perf_counter()
        pcf_image(crop, engine='reference', num_threads=nthreads, **kwargs)
        reference = time.perf_counter() - start
        start = time.perf_counter()
        numpy_pixel_pcf(crop, **kwargs)
        plain = time.perf_counter() - start
    for name, seconds in (
        ('reference (crop)', reference),
        ('numpy per pixel (crop)', plain),
    ):
        rows.append(
            {
                'engine': name,
                'shape': 'x'.join(str(n) for n in crop.shape),
                'threads': nthreads,
                'curves': curves(crop_height, crop_width),
                'seconds': seconds,
                'first_s': seconds,
            }
        )
    reference_us = rows[-2]['seconds'] / rows[-2]['curves'] * 1e6
    plain_us = rows[-1]['seconds'] / rows[-1]['curves'] * 1e6
    for row in rows:
        row['us_per_curve'] = row['seconds'] / row['curves'] * 1e6
        row['us_per_pair'] = 2.0 * row['us_per_curve']
        row['vs_reference'] = reference_us / row['us_per_curve']
        row['vs_numpy'] = plain_us / row['us_per_curve']
    return rows


def numpy_pixel_pcf(
    data: numpy.ndarray,
    *,
    radius: int,
    npoints: int | None,
    nbins: int,
) -> numpy.ndarray:
    """Return the circular image pCF by a plain per-pixel numpy loop.

    The baseline of :func:`bench_engine`: each pixel's real FFT once, then
    per centre and circle point one inverse FFT of the cross-spectrum,
    bin averages and smoothing, as :func:`ipcf.pcf_image` defines them
    (frames truncated to a power of two).

    """
    nframes = 2 ** int(math.log2(data.shape[0]))
    series = numpy.asarray(data[:nframes], dtype=numpy.float64)
    height, width = series.shape[1:]
    points = circle(radius, npoints)
    edges = logbins(nframes // 2, nbins)
    ndelays = nframes // 2
    spectra = numpy.fft.rfft(series, axis=0)
    means = series.mean(axis=0)
    out = numpy.full(
        (height - 2 * radius, width - 2 * radius, len(points), len(edges)),
        numpy.nan,
        dtype=numpy.float32,
    )
    for y in range(radius, height - radius):
        for x in range(radius, width - radius):
            centre = spectra[:, y, x].conj()
            for i, (u, v) in enumerate(points):
                norm = nframes * means[y, x] * means[y + v, x + u]
                if norm == 0.0:
                    continue
                product = centre * spectra[:, y + v, x + u]
                curve = numpy.fft.irfft(product, nframes)[:ndelays]
                binned = average_bins(curve / norm - 1.0, edges)
                out[y - radius, x - radius, i] = smooth(binned)
    return out


def stages(shape, threads, repeat):
    """Return wall-clock seconds per stage of the cpu engine (best run)."""
    from ipcf.engines import cpu

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

    data = poisson_series(shape, 100.0, seed=0)
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
        'block_means': 'means (one pass over each block)',
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


def main(argv=None, prog=None):
    """Print the table (or JSON) of the options in argv; return 0."""
    parser = ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    add(parser, 'shape', default=','.join(map(str, DEFAULT_SHAPE)))
    add(
        parser,
        'frames',
        type=parse_frame_count,
        metavar='N',
        help='frames of the series (default: T of --shape)',
    )
    add(parser, 'threads')
    add(
        parser,
        'engine',
        action='append',
        default=None,
        help='engine to time; repeat for several (default: cpu)',
    )
    add(parser, 'repeat')
    parser.add_argument(
        '--stages',
        action='store_true',
        help='also time the stages of the cpu engine',
    )
    add(parser, 'json')
    args = parser.parse_args(argv)
    shape = series_shape(args.shape, args.frames, DEFAULT_SHAPE)
    rows = bench_engine(
        shape=shape,
        engines=args.engine or ['cpu'],
        num_threads=args.threads,
        repeat=args.repeat,
    )
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(machine())
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
