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

from ._utils import limit_threads, number_threads
from ._validate import check_int

__all__ = [
    'CORRELATE_COLUMNS',
    'ENGINE_COLUMNS',
    'bench_correlate',
    'bench_engine',
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
"""Keys and titles of the :func:`bench_engine` rows that ``ipcf bench
engine`` shows, for :func:`format_table`."""


def bench_engine(
    *,
    shape: Sequence[int] = (16384, 64, 64),
    radius: int = 6,
    npoints: int | None = 32,
    nbins: int = 32,
    engines: Sequence[str] = ('cpu',),
    threads: int | None = None,
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
    threads : int or None, optional
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
    >>> rows = bench_engine(shape=(64, 10, 10), radius=2, npoints=8,
    ...                     nbins=8, repeat=1)
    >>> [row['engine'] for row in rows]
    ['cpu', 'reference (crop)', 'numpy per pixel (crop)']
    >>> print(format_table(rows, ENGINE_COLUMNS))  # doctest: +SKIP

    """
    from . import engines as engines_
    from .pcf import MIN_FRAMES, circle, pcf_image

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
    nthreads = number_threads(threads)
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

    data = _poisson_series((nframes, height, width), 100.0, seed=0)
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
        _numpy_pixel_pcf(crop, **kwargs)
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


def _poisson_series(
    shape: tuple[int, int, int], mean: float, *, seed: int
) -> numpy.ndarray:
    """Return seeded Poisson counts as uint16, made frames at a time."""
    rng = numpy.random.default_rng(seed)
    data = numpy.empty(shape, numpy.uint16)
    step = max(1, 2**24 // max(1, shape[1] * shape[2]))
    for t in range(0, shape[0], step):
        stop = min(shape[0], t + step)
        data[t:stop] = rng.poisson(mean, (stop - t, *shape[1:]))
    return data


def _numpy_pixel_pcf(
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
    from .pcf import average_bins, circle, logbins, smooth

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


PIPELINE_COLUMNS = (
    ('stage', 'stage'),
    ('seconds', 'seconds'),
    ('input_mb', 'input / MB'),
    ('mb_per_s', 'MB/s'),
    ('peak_rss_mb', 'peak RSS / MB'),
)
"""Columns of :func:`bench_pipeline` rows for :func:`format_table`."""

_PIPELINE_STAGES = {
    'simulate': (
        'from ipcf.simulate import spim\n'
        'spim({series!r}, shape={shape!r}, seed=1, overwrite=True)\n'
    ),
    'convert': (
        'from ipcf.convert import convert\n'
        'convert({series!r}, {store!r}, overwrite=True{threads})\n'
    ),
    'analyze': (
        'from ipcf.pipeline import analyze\n'
        'analyze({store!r}, {result!r}, bleach={bleach!r}, block={block},'
        ' engine={engine!r}, overwrite=True{threads})\n'
    ),
}


def bench_pipeline(
    directory: str,
    /,
    *,
    shape: tuple[int, int, int] = (4096 + 2 * 256, 256, 256),
    bleach: int = 256,
    block: int = 64,
    engine: str = 'auto',
    threads: int | None = None,
    stages: tuple[str, ...] = ('simulate', 'convert', 'analyze'),
) -> list[dict[str, Any]]:
    """Time the out-of-core stages from a TIFF series to a stored result.

    Each stage runs in a fresh Python process, so its peak resident memory
    is its own: ``simulate`` writes a light-sheet series of one TIFF per
    frame (:func:`ipcf.simulate.spim`), ``convert`` copies it into a
    chunked HDF5 store, ``analyze`` corrects bleaching and computes the
    pCF (radius 6, 32 points, 32 bins) block by block into a result store.

    Parameters
    ----------
    directory : str
        Working directory for the series, the store and the result (it
        needs about twice the series' size on disk).
    shape : (T, H, W), optional
        Frames and frame size of the series; ``T - 2 * bleach`` frames
        remain after the correction.
    bleach : int, optional, default: 256
        Filter size of the default bleach correction, in frames.
    block : int, optional, default: 64
        Result pixels per block side.
    engine : str, optional, default: 'auto'
        pCF engine.
    threads : int, optional
        Threads for conversion and analysis; None uses all cores.
    stages : tuple of str, optional
        Stages to run, in order; later stages reuse earlier outputs.

    Returns
    -------
    list of dict
        One row per stage: seconds, input size in MB, MB/s and the
        stage's peak resident memory in MB.

    """
    import os
    import subprocess
    import sys

    paths = {
        'series': os.path.join(directory, 'series'),
        'store': os.path.join(directory, 'series.h5'),
        'result': os.path.join(directory, 'result.h5'),
    }
    thread_arg = '' if threads is None else f', num_threads={threads}'
    nbytes = math.prod(shape) * 2
    rows = []
    for stage in stages:
        code = _PIPELINE_STAGES[stage].format(
            shape=tuple(shape),
            bleach=f'filter:{bleach}',
            block=block,
            engine=engine,
            threads=thread_arg,
            **paths,
        )
        script = (
            'import resource, sys, time\n'
            't = time.perf_counter()\n'
            f'{code}'
            't = time.perf_counter() - t\n'
            'rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n'
            'print(t, rss / 1024)\n'
        )
        proc = subprocess.run(
            [sys.executable, '-c', script],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            msg = f'pipeline stage {stage!r} failed: {proc.stderr.strip()}'
            raise RuntimeError(msg)
        seconds, rss = (float(v) for v in proc.stdout.split()[-2:])
        rows.append(
            {
                'stage': stage,
                'shape': list(shape),
                'seconds': seconds,
                'input_mb': nbytes / 1e6,
                'mb_per_s': nbytes / 1e6 / seconds,
                'peak_rss_mb': rss,
            }
        )
    return rows
