"""Time the out-of-core pipeline: simulate, convert, analyze.

    python benchmarks/bench_pipeline.py [--shape [T,]H,W] [--frames N]
                                        [--bleach METHOD[:PARAM]]
                                        [--block 64] [--engine NAME]
                                        [--threads N] [--dir DIR] [--json]

Each stage runs in a fresh Python process and reports its time, its
throughput and its peak resident memory. The series, the store and the
result go to --dir (kept) or to a temporary folder in the working
directory (removed). ``ipcf bench pipeline`` runs this script with the
same options.

A second table splits the analysis into its steps and gives each one's
share of its time (:data:`ANALYZE_STAGES`): reading the blocks, the
bleach correction, the engine's means, conversion to float, FFTs,
binning (the cross-spectra's matrix products) and scattering of the
curves, the rest of the engine, writing the blocks' records, copying
them into the result store, and what is left (preparing, scheduling), so
that the next bottleneck shows.
"""

import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import format_table, timed_in_subprocess

from ipcf._options import ArgumentParser, add, parse_frame_count, series_shape

DEFAULT_SHAPE = (4096 + 2 * 256, 256, 256)
DEFAULT_BLEACH = 'filter:256'

PIPELINE_COLUMNS = (
    ('stage', 'stage'),
    ('seconds', 'seconds'),
    ('input_mb', 'input / MB'),
    ('mb_per_s', 'MB/s'),
    ('peak_rss_mb', 'peak RSS / MB'),
)
"""Keys and titles of the :func:`bench_pipeline` rows in the table."""

SHARE_COLUMNS = (
    ('stage', 'analyze stage'),
    ('seconds', 'seconds'),
    ('share', 'share'),
)
"""Keys and titles of the :func:`stage_shares` rows in the table."""

ANALYZE_STAGES = {
    'read': ('read',),
    'bleach': ('bleach',),
    'means': ('means',),
    'convert': ('convert',),
    'fft': ('fft',),
    'binning': ('binning',),
    'scatter': ('scatter',),
    'engine other': (),
    'write': ('write',),
    'store': ('store',),
    'other': (),
}
"""Rows of the share table and the timed steps that each one sums.

``engine other`` is the engine's time (``compute``) outside its timed
steps and the reading and correction of the rows it pulls (``pulled``);
``other`` the analysis' wall time outside every timed step.
"""

STAGES = {
    'simulate': (
        'from ipcf.simulate import spim\n'
        'spim({series!r}, shape={shape!r}, seed=1, overwrite=True)\n'
    ),
    'convert': (
        'from ipcf.convert import convert\n'
        'convert({series!r}, {store!r}, overwrite=True{threads})\n'
    ),
    'analyze': (
        'import json\n'
        'from ipcf._stages import StageTimes\n'
        'from ipcf.pcf import PcfAnalysis\n'
        'from ipcf.pipeline import run\n'
        'times = StageTimes()\n'
        'run(PcfAnalysis(engine={engine!r}), [{store!r}], {result!r},'
        ' bleach={bleach!r}, block={block}, overwrite=True, stages=times'
        '{threads})\n'
        'print(json.dumps(times.seconds))\n'
    ),
}


def bench_pipeline(
    directory: str,
    /,
    *,
    shape: tuple[int, int, int] = DEFAULT_SHAPE,
    bleach: str = DEFAULT_BLEACH,
    block: int = 64,
    engine: str = 'auto',
    num_threads: int | None = None,
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
    shape : (T, H, W), optional, default: (4608, 256, 256)
        Frames and frame size of the series; ``T - 2 * 256`` frames
        remain after the default correction.
    bleach : str, optional, default: 'filter:256'
        Photobleaching correction of the analysis, ``METHOD[:param]`` as
        for :func:`ipcf.pipeline.analyze`.
    block : int, optional, default: 64
        Result pixels per block side.
    engine : str, optional, default: 'auto'
        pCF engine.
    num_threads : int, optional
        Threads for conversion and analysis; None uses all cores.
    stages : tuple of str, optional
        Stages to run, in order; later stages reuse earlier outputs.

    Returns
    -------
    list of dict
        One row per stage: seconds, input size in MB, MB/s and the
        stage's peak resident memory in MB; the ``analyze`` row also
        ``stages``, the seconds of its timed steps
        (:func:`ipcf.pipeline.run` with ``stages=``), which
        :func:`stage_shares` turns into shares.

    """
    paths = {
        'series': os.path.join(directory, 'series'),
        'store': os.path.join(directory, 'series.h5'),
        'result': os.path.join(directory, 'result.h5'),
    }
    thread_arg = '' if num_threads is None else f', {num_threads=}'
    nbytes = math.prod(shape) * 2
    rows = []
    for stage in stages:
        code = STAGES[stage].format(
            shape=tuple(shape),
            bleach=bleach,
            block=block,
            engine=engine,
            threads=thread_arg,
            **paths,
        )
        seconds, rss, lines = timed_in_subprocess(
            code, f'pipeline stage {stage!r}'
        )
        row = {
            'stage': stage,
            'shape': list(shape),
            'seconds': seconds,
            'input_mb': nbytes / 1e6,
            'mb_per_s': nbytes / 1e6 / seconds,
            'peak_rss_mb': rss,
        }
        if stage == 'analyze':
            row['stages'] = json.loads(lines[-1])
        rows.append(row)
    return rows


def stage_shares(
    stages: dict[str, float], seconds: float
) -> list[dict[str, Any]]:
    """Return the rows of :data:`ANALYZE_STAGES` with their shares.

    Parameters
    ----------
    stages : dict
        Seconds of the timed steps of an analysis (``read``, ``bleach``,
        ``compute`` and the engine's steps within it, ``write``,
        ``store``).
    seconds : float
        Wall time of the analysis.

    Returns
    -------
    list of dict
        ``stage``, ``seconds`` and ``share`` (of the larger of the wall
        time and the steps' sum, so that the shares add up to 1 also
        where blocks ran in parallel).

    Examples
    --------
    >>> rows = stage_shares({'read': 1.0, 'compute': 2.0, 'fft': 1.5}, 4.0)
    >>> [(r['stage'], r['share']) for r in rows if r['share']]
    [('read', 0.25), ('fft', 0.375), ('engine other', 0.125), \
('other', 0.25)]

    """
    named = {
        stage: sum(stages.get(key, 0.0) for key in keys)
        for stage, keys in ANALYZE_STAGES.items()
    }
    engine = sum(
        named[stage]
        for stage in ('means', 'convert', 'fft', 'binning', 'scatter')
    )
    # rows that engines pull are read and corrected in their time
    inside = stages.get('compute', 0.0) - stages.get('pulled', 0.0)
    named['engine other'] = max(0.0, inside - engine)
    timed = sum(named.values())
    named['other'] = max(0.0, seconds - timed)
    total = max(seconds, timed)
    return [
        {
            'stage': stage,
            'seconds': value,
            'share': value / total if total > 0 else 0.0,
        }
        for stage, value in named.items()
    ]


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
    add(parser, 'bleach', default=DEFAULT_BLEACH)
    add(parser, 'block', help='result pixels per block side')
    add(parser, 'engine', 'threads')
    parser.add_argument(
        '--dir',
        default=None,
        metavar='DIR',
        help='work directory, kept (default: a temporary one, removed)',
    )
    add(parser, 'json')
    args = parser.parse_args(argv)
    options = {
        'shape': series_shape(args.shape, args.frames, DEFAULT_SHAPE),
        'bleach': args.bleach,
        'block': args.block,
        'engine': args.engine,
        'num_threads': args.threads,
    }
    if args.dir is not None:
        Path(args.dir).mkdir(parents=True, exist_ok=True)
        rows = bench_pipeline(args.dir, **options)
    else:
        with tempfile.TemporaryDirectory(dir='.') as tmp:
            rows = bench_pipeline(tmp, **options)
    for row in rows:
        if 'stages' in row:
            row['shares'] = stage_shares(row['stages'], row['seconds'])
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(format_table(rows, PIPELINE_COLUMNS))
    for row in rows:
        if 'shares' in row:
            print()
            print(format_table(row['shares'], SHARE_COLUMNS))
    return 0


if __name__ == '__main__':
    sys.exit(main())
