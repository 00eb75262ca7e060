"""The ``ipcf`` command line interface.

Run ``ipcf --help`` or ``ipcf COMMAND --help``. Subcommands import what
they need when they run, so ``ipcf --help`` is quick. Options are
declared once, in :mod:`ipcf._options`, and mean the same in every
command. Each command maps its options to one library call. A user
mistake (missing file, bad option value) prints one line to stderr and
exits with status 2; ``--debug`` shows the traceback instead.

"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ._options import (
    ArgumentParser,
    add,
    add_output,
    add_sources,
    output_of,
    parse_frame_count,
    series_shape,
    sources_and_output,
)

__all__ = ['main']

# the benchmarks/ folder of a source checkout: src/ipcf/cli.py -> ../..
_BENCHMARKS = Path(__file__).resolve().parents[2] / 'benchmarks'
_BENCHES = ('correlate', 'engine', 'pipeline')

# default (T, H, W) and the options besides --frames, --shape and --seed
# that each kind of simulation takes; tests compare it with the library
_SIMULATIONS: dict[str, tuple[tuple[int, int, int], tuple[str, ...]]] = {
    'free': ((4096, 64, 64), ('diffusion', 'fraction')),
    'channel': ((32000, 64, 64), ('diffusion', 'fraction')),
    'flow': ((4096, 64, 64), ('diffusion', 'fraction', 'velocity')),
    'barrier': (
        (4096, 64, 64),
        ('diffusion', 'fraction', 'wall', 'wall_angle', 'wall_radius'),
    ),
    'spim': (
        (18432, 512, 1024),
        ('diffusion', 'bleach_time', 'tile', 'threads'),
    ),
}
_SIMULATION_OPTIONS = (
    'diffusion',
    'fraction',
    'velocity',
    'wall',
    'wall_angle',
    'wall_radius',
    'bleach_time',
    'tile',
    'threads',
)
_KEYWORDS = {'threads': 'num_threads'}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line interface and return the exit status.

    Examples
    --------
    >>> main(['--version'])  # doctest: +ELLIPSIS
    ipcf ...
    0

    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version or a usage error
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help()
        return 2
    import logging

    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format='ipcf: %(levelname)s: %(message)s',
    )
    args.progress = not args.quiet and sys.stderr.isatty()
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe raises here, not at exit
        return status
    except KeyboardInterrupt:
        print('ipcf: interrupted', file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (ipcf info ... | head): stop quietly, and
        # keep the interpreter's final flush from failing again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except (OSError, ValueError, TypeError, ImportError) as exc:
        if args.debug:
            raise
        print(f'ipcf: error: {_one_line(exc)}', file=sys.stderr)
        return 2


def _one_line(exc: BaseException) -> str:
    """Return the message of exc in one line, in command-line terms."""
    from ._files import OutputExistsError

    if isinstance(exc, OutputExistsError):
        return f'{exc.path!r} exists; use --overwrite to replace it'
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f'{exc.filename}: {exc.strerror}'
    # library messages name keywords; the options have the same names
    text = re.sub(
        r'\b(overwrite|resume)=True(?: \(--\1\))?',
        lambda match: f'--{match[1]}',
        text,
    )
    return ' '.join(text.split())


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = ArgumentParser(
        prog='ipcf',
        description='Image pair-correlation function (pCF) analysis.',
    )
    add(parser, 'quiet', 'debug')
    parser.add_argument(
        '--version', action='version', version=f'ipcf {__version__}'
    )
    parser.set_defaults(command=None)
    # the same flags after the command; SUPPRESS keeps those given before
    common = ArgumentParser(add_help=False)
    add(common, 'quiet', 'debug', default=argparse.SUPPRESS)
    sub = parser.add_subparsers(title='commands', metavar='COMMAND')

    def command(name: str, func: Callable[[Any], int], help: str):
        p = sub.add_parser(name, help=help, description=help, parents=[common])
        p.set_defaults(command=name, func=func)
        return p

    p = command('demo', _cmd_demo, 'simulate, analyse and plot a channel')
    add_output(p, help='output directory', default='demo-output')
    add(
        p,
        'frames',
        type=parse_frame_count,
        metavar='N',
        default='32000',
        help='frames to simulate',
    )
    add(p, 'engine', 'threads')

    shapes = '; '.join(
        f'{kind} {",".join(map(str, shape))}'
        for kind, (shape, _) in _SIMULATIONS.items()
    )
    p = command('simulate', _cmd_simulate, 'write a simulated image series')
    p.add_argument('kind', choices=list(_SIMULATIONS), help='simulation')
    add_output(
        p, help='.bin (+ .json sidecar), .tif, .h5, .zarr; spim: directory'
    )
    add(
        p,
        'frames',
        type=parse_frame_count,
        metavar='N',
        help='frames to simulate (default: T of the default shape)',
    )
    add(p, 'shape', help=f'series shape [T,]H,W (default: {shapes})')
    add(p, 'seed', *_SIMULATION_OPTIONS)
    add(p, 'overwrite')

    p = command('info', _cmd_info, 'describe an image series or result')
    p.add_argument('path', nargs='+', help='file, directory or glob')

    p = command('convert', _cmd_convert, 'copy a series into a chunked store')
    add_sources(
        p, help='the series: a directory, glob, several files or a file'
    )
    add(p, 'roi', 'frames', 'chunks', 'compression')
    add(p, 'block', help='--roi auto: the sides are multiples of it')
    add(p, 'key', 'dtype')
    add(p, 'shape', help='raw .bin source without sidecar: [T,]H,W')
    add(p, 'threads', 'overwrite', 'resume')

    p = command('roi', _cmd_roi, 'propose a region of interest (and a figure)')
    p.add_argument('paths', nargs='+', metavar='PATH', help='the series')
    add(
        p,
        'frames',
        default='256',
        help='frames averaged: the first N, or START:STOP (0 or : for all)',
    )
    add(p, 'block', help='the sides are multiples of it')
    add(p, 'sigma', 'threads')
    add(
        p,
        'output',
        default='roi.png',
        help="figure of the mean image and the region; '' for none",
    )

    p = command(
        'maps', _cmd_maps, 'diffusion, flow and barrier maps of a result'
    )
    p.add_argument('result', help='result store (.h5, .zarr)')
    add_output(p, help='maps file: .nc, .h5 or .zarr')
    add(p, 'pixel_size', 'psf_radius', 'window', 'threshold', 'overwrite')

    p = command(
        'analyze', _cmd_analyze, 'blocked pCF of a series into a store'
    )
    add_sources(p, help='the series: a file, directory, glob or files')
    add(p, 'radius', 'points', 'bins', 'dt', 'bleach', 'roi', 'mask')
    add(p, 'block', help='result pixels per block side')
    add(p, 'mode', 'engine', 'neighbour', 'scheduler', 'cluster', 'workers')
    add(p, 'threads', 'resume', 'overwrite')
    p.add_argument(
        '--maps',
        action='store_true',
        help='also write the maps of the result to OUTPUT_maps.h5',
    )
    add(p, 'pixel_size', 'psf_radius', help='--maps: as for ipcf maps')

    p = command('bench', _cmd_bench, 'time backends, engines or the pipeline')
    p.add_argument('what', choices=_BENCHES, help='what to time')
    p.add_argument(
        'args',
        nargs=argparse.REMAINDER,
        metavar='...',
        help='options of the benchmark: see ipcf bench WHAT --help '
        '(needs a source checkout of ipcf)',
    )

    kinds = 'mean|trace|curve|carpet|polar|lines|image|roi|maps'
    p = command('plot', _cmd_plot, 'draw a figure of a result or a series')
    p.add_argument('path', help='result store (.h5, .zarr) or image series')
    add_output(p, help='figure: .png, .svg or .pdf')
    p.add_argument(
        '--kind', default='image', metavar=kinds, help='figure to draw'
    )
    add(p, 'data', 'pixel', 'point', 'delay', 'pixel_size', 'psf_radius')
    add(p, 'dpi')

    p = command('report', _cmd_report, 'write a self-contained HTML report')
    p.add_argument('path', help='result store (.h5, .zarr)')
    add_output(p, help='HTML file', default='report.html')
    add(p, 'data')
    add(
        p,
        'pixel',
        action='append',
        help='result pixel Y,X to show; repeat for several '
        '(default: a few chosen)',
    )
    add(p, 'pixel_size', 'psf_radius')
    return parser


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    def report(step: str, seconds: float, path: Path | None) -> None:
        where = f' -> {path}' if path is not None else ''
        print(f'{step:<28} {seconds:7.1f} s{where}', flush=True)

    start = time.perf_counter()
    outputs = run_demo(
        output_of(args),
        frames=args.frames,
        engine=args.engine,
        num_threads=args.threads,
        progress=args.progress,
        report=report,
    )
    print(f'done in {time.perf_counter() - start:.1f} s; results:')
    for name, path in outputs.items():
        print(f'  {name:<8} {path}')
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from . import simulate

    shape, accepted = _SIMULATIONS[args.kind]
    options: dict[str, Any] = {'seed': args.seed, 'progress': args.progress}
    for name in _SIMULATION_OPTIONS:
        value = getattr(args, name)
        if value is None:
            continue
        flag = '--' + name.replace('_', '-')
        if name not in accepted:
            kinds = [
                k for k, (_, keys) in _SIMULATIONS.items() if name in keys
            ]
            msg = (
                f'{flag} does not apply to {args.kind!r} simulations; it '
                f'applies to {", ".join(kinds)} only'
            )
            raise ValueError(msg)
        if name in {'diffusion', 'fraction'}:
            if len(value) == 1:
                value = value[0]
            elif args.kind == 'spim':
                msg = f'{flag}: spim simulates one diffusion coefficient'
                raise ValueError(msg)
        if name == 'bleach_time':
            value = value or None  # 0: no bleaching
        options[_KEYWORDS.get(name, name)] = value
    options['shape'] = series_shape(args.shape, args.frames, shape)
    output = output_of(args)
    start = time.perf_counter()
    if args.kind == 'spim':
        path = simulate.spim(output, overwrite=args.overwrite, **options)
        seconds = time.perf_counter() - start
        nbytes = 2 * math.prod(options['shape'])
        print(
            f'wrote {path} {options["shape"]} uint16 (big-endian TIFF per '
            f'frame) in {seconds:.1f} s, {nbytes / seconds / 1e6:.0f} MB/s'
        )
        return 0
    sim = getattr(simulate, args.kind)(**options)
    sim.save(output, overwrite=args.overwrite)
    print(f'wrote {output} {sim.data.shape} {sim.data.dtype}')
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from . import io
    from .store import result_info

    source = args.path[0] if len(args.path) == 1 else args.path
    info = None
    if isinstance(source, str):
        info = result_info(source)
    if info is None:
        info = io.info(source)
    width = max(len(key) for key in info)
    for key, value in info.items():
        if key == 'metadata' and value:
            value = json.dumps(value, default=str)
        print(f'{key:>{width}}: {value}')
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from . import io
    from .convert import convert

    source, output = sources_and_output(args)
    start = time.perf_counter()
    path = convert(
        source,
        output,
        roi=args.roi,
        frames=args.frames,
        chunks=args.chunks,
        compression=args.compression,
        key=args.key,
        shape=args.shape,
        dtype=args.dtype,
        overwrite=args.overwrite,
        resume=args.resume,
        block=args.block,
        num_threads=args.threads,
        progress=args.progress,
    )
    seconds = time.perf_counter() - start
    summary = io.info(path)
    rate = summary['nbytes'] / max(seconds, 1e-9) / 1e6
    print(
        f'wrote {path} {summary["shape"]} {summary["dtype"]} chunks '
        f'{summary["chunks"]} in {seconds:.1f} s ({rate:.0f} MB/s)'
    )
    return 0


def _cmd_roi(args: argparse.Namespace) -> int:
    from . import roi

    source = args.paths[0] if len(args.paths) == 1 else args.paths
    image = roi.mean_image(
        source,
        frames=args.frames,
        num_threads=args.threads,
        progress=args.progress,
    )
    box = roi.detect(image, block=args.block, sigma=args.sigma)
    print(roi.format_roi(box))
    if args.output:
        path = roi.save_roi_figure(image, box, args.output)
        print(f'wrote {path}', file=sys.stderr)
    return 0


def _cmd_maps(args: argparse.Namespace) -> int:
    return _write_maps(
        args.result,
        output_of(args),
        pixel_size=args.pixel_size,
        psf_radius=args.psf_radius,
        window=args.window,
        threshold=args.threshold,
        overwrite=args.overwrite,
    )


def _write_maps(
    result_path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    /,
    *,
    pixel_size: float | None,
    psf_radius: float | None,
    window: int = 1,
    threshold: float = 2.0,
    overwrite: bool = False,
) -> int:
    """Write the maps of a stored result (``ipcf maps``, ``--maps``)."""
    from . import analysis
    from ._sources import physical_units, source_of
    from .store import load_result

    result = load_result(result_path)
    units = physical_units(
        {'pixel_size': pixel_size, 'psf_radius': psf_radius},
        result.attrs,
        source_of(result, result_path),
    )
    for name in ('pixel_size', 'psf_radius'):
        if units[name] is None:
            flag = '--' + name.replace('_', '-')
            msg = f'{flag} is needed: {result_path} does not record it'
            raise ValueError(msg)
    out = analysis.maps(
        result,
        pixel_size=units['pixel_size'],
        w=units['psf_radius'],
        window=window,
        threshold=threshold,
    )
    path = analysis.save_maps(out, output, overwrite=overwrite)
    pooled = out.attrs['D_pooled']
    error = out.attrs['D_pooled_error']
    print(f'wrote {path}; pooled D = {pooled:.3g} ± {error:.2g} µm²/s')
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    from .pipeline import analyze

    def report(stage: str, seconds: float) -> None:
        print(f'{stage:<12} {seconds:8.1f} s', flush=True)

    source, output = sources_and_output(args)
    path = analyze(
        source,
        output,
        radius=args.radius,
        npoints=args.points,
        nbins=args.bins,
        dt=args.dt,
        bleach=args.bleach,
        roi=args.roi,
        mask=args.mask,
        neighbour=args.neighbour,
        block=args.block,
        mode=args.mode,
        engine=args.engine,
        scheduler=args.scheduler,
        cluster=args.cluster,
        num_workers=args.workers,
        num_threads=args.threads,
        resume=args.resume,
        overwrite=args.overwrite,
        progress=args.progress,
        report=report,
    )
    print(f'wrote {path}')
    if args.maps:
        return _write_maps(
            path,
            path.with_name(f'{path.stem}_maps.h5'),
            pixel_size=args.pixel_size,
            psf_radius=args.psf_radius,
            overwrite=args.overwrite,
        )
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    script = _BENCHMARKS / f'bench_{args.what}.py'
    if not script.is_file():
        print(
            f'ipcf: error: ipcf bench needs a source checkout of ipcf; '
            f'there is no {script}',
            file=sys.stderr,
        )
        return 2
    rest = [arg for arg in args.args if arg not in {'--quiet', '--debug'}]
    args.debug = args.debug or '--debug' in args.args
    module = _benchmark(args.what)
    try:
        return int(module.main(rest, prog=f'ipcf bench {args.what}') or 0)
    except SystemExit as exc:  # --help or a usage error of the benchmark
        return exc.code if isinstance(exc.code, int) else 2


def _benchmark(name: str) -> Any:
    """Return the module benchmarks/bench_<name>.py of the checkout."""
    import importlib

    folder = str(_BENCHMARKS)
    sys.path.insert(0, folder)  # the scripts import their shared module
    try:
        return importlib.import_module(f'bench_{name}')
    finally:
        sys.path.remove(folder)


def _cmd_plot(args: argparse.Namespace) -> int:
    from . import plot

    output = output_of(args)
    if Path(output).suffix.lower() not in {'.png', '.svg', '.pdf'}:
        msg = f'{output}: the output must end in .png, .svg or .pdf'
        raise ValueError(msg)
    fig = plot.draw(
        args.path,
        args.kind,
        data=args.data,
        pixel=args.pixel,
        point=args.point,
        delay=args.delay,
        pixel_size=args.pixel_size,
        psf_radius=args.psf_radius,
        progress=args.progress,
    )
    fig.savefig(output, dpi=args.dpi)
    print(f'wrote {output}')
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .plot.report import write_report

    path = write_report(
        args.path,
        output_of(args),
        data=args.data,
        pixels=args.pixel,
        pixel_size=args.pixel_size,
        psf_radius=args.psf_radius,
        progress=args.progress,
    )
    print(f'wrote {path}')
    return 0
