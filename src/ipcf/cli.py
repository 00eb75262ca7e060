"""The ``ipcf`` command line interface.

Run ``ipcf --help`` or ``ipcf COMMAND --help``. Subcommands import what
they need when they run, so ``ipcf --help`` is quick. A user mistake
(missing file, bad option value) prints one line to stderr and exits with
status 2; ``--debug`` shows the traceback instead.

"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ['main']


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
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print('ipcf: interrupted', file=sys.stderr)
        return 130
    except (OSError, ValueError, TypeError, ImportError) as exc:
        if args.debug:
            raise
        print(f'ipcf: error: {_one_line(exc)}', file=sys.stderr)
        return 2


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f'{exc.filename}: {exc.strerror}'
    return ' '.join(text.split())


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        '--quiet', action='store_true', help='no progress bars'
    )
    common.add_argument('--debug', action='store_true', help='show tracebacks')
    parser = argparse.ArgumentParser(
        prog='ipcf',
        description='Image pair-correlation function (pCF) analysis.',
        parents=[common],
    )
    parser.add_argument(
        '--version', action='version', version=f'ipcf {__version__}'
    )
    parser.set_defaults(command=None)
    sub = parser.add_subparsers(title='commands', metavar='COMMAND')

    def add(name: str, func: Callable[[Any], int], help: str):
        p = sub.add_parser(name, help=help, description=help, parents=[common])
        p.set_defaults(command=name, func=func)
        return p

    p = add('demo', _cmd_demo, 'simulate, analyse and plot a channel')
    p.add_argument('directory', nargs='?', default='demo-output')
    p.add_argument('--frames', type=int, default=32000)
    p.add_argument('--engine', default='auto')
    p.add_argument('--threads', type=int, default=None)

    p = add('simulate', _cmd_simulate, 'write a simulated image series')
    p.add_argument(
        'kind', choices=['barrier', 'channel', 'flow', 'free', 'spim']
    )
    p.add_argument('--bleach-time', type=float, default=None, help='spim: s')
    p.add_argument('--tile', type=int, default=None, help='spim: pixels')
    p.add_argument('output', help='.bin (+ .json sidecar), .tif, .h5, .zarr')
    p.add_argument('--frames', type=int, default=None)
    p.add_argument('--shape', type=_int_tuple(2), default=None, help='H,W')
    p.add_argument(
        '--diffusion', type=_numbers, default=None, help='µm²/s, or D1,D2'
    )
    p.add_argument(
        '--fraction', type=_numbers, default=None, help='of each population'
    )
    p.add_argument(
        '--velocity', type=_numbers, default=None, help='VX,VY µm/s'
    )
    p.add_argument('--wall', choices=['line', 'ring'], default=None)
    p.add_argument('--wall-angle', type=float, default=None, help='degrees')
    p.add_argument('--wall-radius', type=float, default=None, help='µm')
    p.add_argument('--seed', type=int, default=None)
    p.add_argument('--overwrite', action='store_true')

    p = add('info', _cmd_info, 'describe an image series or result')
    p.add_argument('path', nargs='+', help='file, directory or glob')

    p = add('convert', _cmd_convert, 'copy a series into a chunked store')
    p.add_argument('source', nargs='+', help='directory, glob, files, file')
    p.add_argument('output', help='.h5 or .zarr')
    p.add_argument('--roi', default=None, help='y0:y1,x0:x1 or auto')
    p.add_argument('--frames', default=None, help='START:STOP')
    p.add_argument('--chunks', type=_int_tuple(3), default=None, help='T,Y,X')
    p.add_argument('--compression', default=None, help='zlib, lzf, zstd')
    p.add_argument('--block', type=int, default=64, help='--roi auto: side')
    p.add_argument('--key', default=None, help='dataset in an HDF5/zarr')
    p.add_argument('--shape', default=None, help='raw .bin: H,W or T,H,W')
    p.add_argument('--dtype', default=None, help='raw .bin: e.g. uint16')
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--overwrite', action='store_true')
    p.add_argument('--resume', action='store_true')

    p = add('roi', _cmd_roi, 'propose a region of interest (and a figure)')
    p.add_argument('path', nargs='+', help='series: file, directory, glob')
    p.add_argument('--block', type=int, default=64, help='side multiple')
    p.add_argument('--frames', type=int, default=256, help='0 for all')
    p.add_argument('--sigma', type=float, default=2.0, help='pixels')
    p.add_argument('-o', '--output', default='roi.png', help="'' for none")

    p = add('maps', _cmd_maps, 'diffusion, flow and barrier maps of a result')
    p.add_argument('result', help='result store (.h5, .zarr)')
    p.add_argument('output', help='maps file: .nc, .h5 or .zarr')
    p.add_argument('--pixel-size', type=float, default=None, help='µm')
    p.add_argument('--w', '--psf', type=float, default=None, help='PSF µm')
    p.add_argument('--window', type=int, default=1, help='pixels to average')
    p.add_argument('--threshold', type=float, default=2.0, help='x noise')
    p.add_argument('--overwrite', action='store_true')

    p = add('analyze', _cmd_analyze, 'blocked pCF of a series into a store')
    p.add_argument('source', nargs='+', help='series: file, directory, glob')
    p.add_argument('output', help='result store, .h5 or .zarr')
    p.add_argument('--radius', type=int, default=6)
    p.add_argument('--points', type=int, default=32)
    p.add_argument('--bins', type=int, default=32)
    p.add_argument('--dt', type=float, default=None, help='frame time, s')
    p.add_argument(
        '--bleach', default='filter:1024', help='METHOD[:param] or none'
    )
    p.add_argument('--roi', default=None, help='y0:y1,x0:x1 or auto')
    p.add_argument('--mask', default=None, help='mask image (H, W)')
    p.add_argument('--block', type=int, default=64, help='pixels per side')
    p.add_argument('--mode', choices=['circular', 'linear'])
    p.add_argument('--engine', default='auto')
    p.add_argument(
        '--scheduler',
        default='threads',
        help='threads, processes, synchronous or a scheduler address',
    )
    p.add_argument('--cluster', default=None, help='local:N')
    p.add_argument('--workers', type=int, default=None)
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--resume', action='store_true')
    p.add_argument('--overwrite', action='store_true')
    p.add_argument(
        '--maps', action='store_true', help='also write OUTPUT_maps.h5'
    )
    p.add_argument('--pixel-size', type=float, default=None, help='--maps')
    p.add_argument('--w', '--psf', type=float, default=None, help='--maps')

    p = add('bench', _cmd_bench, 'time backends, engines or the pipeline')
    p.add_argument('what', choices=['correlate', 'engine', 'pipeline'])
    p.add_argument('--size', type=int, default=16384, help='correlate')
    p.add_argument(
        '--shape',
        type=_int_tuple(3),
        default=None,
        help='T,H,W (engine: 16384,64,64; pipeline: 4608,256,256)',
    )
    p.add_argument('--bleach', type=int, default=256, help='pipeline')
    p.add_argument(
        '--dir', default=None, help='pipeline: work directory (kept)'
    )
    p.add_argument('--engine', action='append', default=None)
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--json', action='store_true', help='print JSON')

    kinds = 'mean|trace|curve|carpet|polar|lines|image|roi|maps'
    p = add('plot', _cmd_plot, 'draw a figure of a result or a series')
    p.add_argument('path', help='result store (.h5, .zarr) or image series')
    p.add_argument('-o', '--output', required=True, help='.png .svg .pdf')
    p.add_argument('--kind', default='image', metavar=kinds)
    p.add_argument('--data', default=None, help="the result's series")
    p.add_argument('--pixel', type=_pixel_arg, default=None, help='Y,X')
    p.add_argument('--point', type=int, default=None, help='circle point')
    p.add_argument(
        '--delay', type=_float_list, default=None, help='seconds: S[,S...]'
    )
    p.add_argument('--pixel-size', type=float, default=None, help='µm')
    p.add_argument('--psf', type=float, default=None, help='1/e² radius µm')
    p.add_argument('--dpi', type=int, default=100)

    p = add('report', _cmd_report, 'write a self-contained HTML report')
    p.add_argument('path', help='result store (.h5, .zarr)')
    p.add_argument('-o', '--output', default='report.html')
    p.add_argument('--data', default=None, help="the result's series")
    p.add_argument(
        '--pixel',
        type=_pixel_arg,
        action='append',
        default=None,
        help='Y,X (repeat for several)',
    )
    p.add_argument('--pixel-size', type=float, default=None, help='µm')
    p.add_argument('--psf', type=float, default=None, help='1/e² radius µm')
    return parser


def _pixel_arg(text: str) -> tuple[int, int]:
    try:
        y, x = (int(v) for v in text.split(','))
    except ValueError:
        msg = f'expected a pixel Y,X like 20,31; got {text!r}'
        raise argparse.ArgumentTypeError(msg) from None
    return y, x


def _float_list(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(',')]
    except ValueError:
        msg = f'expected seconds like 0.01 or 0.001,0.01; got {text!r}'
        raise argparse.ArgumentTypeError(msg) from None


def _cmd_plot(args: argparse.Namespace) -> int:
    from . import plot

    if Path(args.output).suffix.lower() not in {'.png', '.svg', '.pdf'}:
        msg = f'{args.output}: the output must end in .png, .svg or .pdf'
        raise ValueError(msg)
    delay = args.delay
    if delay is not None and len(delay) == 1:
        delay = delay[0]
    fig = plot.draw(
        args.path,
        args.kind,
        data=args.data,
        pixel=args.pixel,
        point=args.point,
        delay=delay,
        pixel_size=args.pixel_size,
        psf_radius=args.psf,
        progress=args.progress,
    )
    fig.savefig(args.output, dpi=args.dpi)
    print(f'wrote {args.output}')
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    path = write_report(
        args.path,
        args.output,
        data=args.data,
        pixels=args.pixel,
        pixel_size=args.pixel_size,
        psf_radius=args.psf,
        progress=args.progress,
    )
    print(f'wrote {path}')
    return 0


def _numbers(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(','))
    except ValueError:
        msg = f'expected numbers like 4 or 0.5,4; got {text!r}'
        raise argparse.ArgumentTypeError(msg) from None


def _int_tuple(n: int) -> Callable[[str], tuple[int, ...]]:
    def parse(text: str) -> tuple[int, ...]:
        try:
            values = tuple(int(v) for v in text.replace('x', ',').split(','))
        except ValueError:
            values = ()
        if len(values) != n or min(values) < 1:
            msg = f'expected {n} positive integers like 64,64; got {text!r}'
            raise argparse.ArgumentTypeError(msg)
        return values

    return parse


def _cmd_simulate(args: argparse.Namespace) -> int:
    if args.kind == 'spim':
        return _simulate_spim(args)
    for flag in ('bleach_time', 'tile'):
        if getattr(args, flag) is not None:
            msg = f'--{flag.replace("_", "-")} applies to spim only'
            raise ValueError(msg)
    import inspect

    from . import simulate

    func = getattr(simulate, args.kind)
    options: dict[str, Any] = {'seed': args.seed, 'progress': args.progress}
    accepted = inspect.signature(func).parameters
    for name in (
        'diffusion',
        'fraction',
        'velocity',
        'wall',
        'wall_angle',
        'wall_radius',
    ):
        value = getattr(args, name)
        if value is None:
            continue
        if name not in accepted:
            flag = '--' + name.replace('_', '-')
            msg = f'{flag} does not apply to {args.kind!r} simulations'
            raise ValueError(msg)
        if name in {'diffusion', 'fraction'} and len(value) == 1:
            value = value[0]
        options[name] = value
    if args.frames is not None or args.shape is not None:
        default = inspect.signature(func).parameters['shape'].default
        frames = default[0] if args.frames is None else args.frames
        shape = default[1:] if args.shape is None else args.shape
        options['shape'] = (frames, *shape)
    sim = func(**options)
    sim.save(args.output, overwrite=args.overwrite)
    print(f'wrote {args.output} {sim.data.shape} {sim.data.dtype}')
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    from .pipeline import analyze

    def report(stage: str, seconds: float) -> None:
        print(f'{stage:<12} {seconds:8.1f} s', flush=True)

    source = args.source[0] if len(args.source) == 1 else args.source
    path = analyze(
        source,
        args.output,
        radius=args.radius,
        npoints=args.points,
        nbins=args.bins,
        dt=args.dt,
        bleach=args.bleach,
        roi=args.roi,
        mask=args.mask,
        block=args.block,
        mode=args.mode or 'circular',
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
        maps_args = argparse.Namespace(
            result=str(path),
            output=str(path.with_name(f'{path.stem}_maps.h5')),
            pixel_size=args.pixel_size,
            w=args.w,
            window=1,
            threshold=2.0,
            overwrite=args.overwrite,
        )
        return _cmd_maps(maps_args)
    return 0


def _simulate_spim(args: argparse.Namespace) -> int:
    from . import simulate

    options: dict[str, Any] = {'seed': args.seed, 'progress': args.progress}
    for name in ('fraction', 'velocity', 'wall', 'wall_angle', 'wall_radius'):
        if getattr(args, name, None) is not None:
            flag = '--' + name.replace('_', '-')
            msg = f'{flag} does not apply to spim simulations'
            raise ValueError(msg)
    if args.diffusion is not None:
        if len(args.diffusion) != 1:
            msg = f'--diffusion {args.diffusion}: spim takes one value'
            raise ValueError(msg)
        options['diffusion'] = args.diffusion[0]
    if args.bleach_time is not None:
        options['bleach_time'] = args.bleach_time or None
    if args.tile is not None:
        options['tile'] = args.tile
    default = (18432, 512, 1024)
    frames = default[0] if args.frames is None else args.frames
    options['shape'] = (frames, *(args.shape or default[1:]))
    start = time.perf_counter()
    path = simulate.spim(args.output, overwrite=args.overwrite, **options)
    seconds = time.perf_counter() - start
    nbytes = 2 * frames * options['shape'][1] * options['shape'][2]
    print(
        f'wrote {path} {options["shape"]} uint16 (big-endian TIFF per '
        f'frame) in {seconds:.1f} s, {nbytes / seconds / 1e6:.0f} MB/s'
    )
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from .convert import convert

    shape = None
    if args.shape is not None:
        try:
            shape = tuple(int(v) for v in args.shape.split(','))
        except ValueError:
            msg = f'--shape {args.shape!r} is not H,W or T,H,W'
            raise ValueError(msg) from None
    source = args.source[0] if len(args.source) == 1 else args.source
    start = time.perf_counter()
    path = convert(
        source,
        args.output,
        roi=args.roi,
        frames=args.frames,
        chunks=args.chunks,
        compression=args.compression,
        key=args.key,
        shape=shape,
        dtype=args.dtype,
        overwrite=args.overwrite,
        resume=args.resume,
        block=args.block,
        num_threads=args.threads,
        progress=args.progress,
    )
    seconds = time.perf_counter() - start
    from . import io

    summary = io.info(path)
    rate = summary['nbytes'] / max(seconds, 1e-9) / 1e6
    print(
        f'wrote {path} {summary["shape"]} {summary["dtype"]} chunks '
        f'{summary["chunks"]} in {seconds:.1f} s ({rate:.0f} MB/s)'
    )
    return 0


def _cmd_roi(args: argparse.Namespace) -> int:
    from . import roi

    source = args.path[0] if len(args.path) == 1 else args.path
    image = roi.mean_image(
        source, frames=args.frames or None, progress=args.progress
    )
    box = roi.detect(image, block=args.block, sigma=args.sigma)
    print(roi.format_roi(box))
    if args.output:
        path = roi.save_roi_figure(image, box, args.output)
        print(f'wrote {path}', file=sys.stderr)
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


def _cmd_maps(args: argparse.Namespace) -> int:
    from . import analysis
    from .store import load_result

    result = load_result(args.result)
    # a simulation's truth, stored beside its data, knows both sizes
    truth: dict[str, Any] = {}
    source = result.attrs.get('source')
    if source and (args.pixel_size is None or args.w is None):
        from .io import read_metadata

        try:
            truth.update(read_metadata(source) or {})
        except (OSError, ValueError):
            pass
    truth.update(result.attrs)
    pixel_size = args.pixel_size
    if pixel_size is None:
        pixel_size = truth.get('pixel_size')
    w = truth.get('psf_radius') if args.w is None else args.w
    if pixel_size is None or w is None:
        missing = '--pixel-size' if pixel_size is None else '--w'
        msg = f'{missing} is needed: {args.result} does not record it'
        raise ValueError(msg)
    out = analysis.maps(
        result,
        pixel_size=float(pixel_size),
        w=float(w),
        window=args.window,
        threshold=args.threshold,
    )
    path = analysis.save_maps(out, args.output, overwrite=args.overwrite)
    pooled = out.attrs['D_pooled']
    error = out.attrs['D_pooled_error']
    print(f'wrote {path}; pooled D = {pooled:.3g} ± {error:.2g} µm²/s')
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from . import bench

    if args.what == 'correlate':
        rows = bench.bench_correlate(size=args.size, threads=args.threads)
        columns = bench.CORRELATE_COLUMNS
    elif args.what == 'engine':
        engines = tuple(args.engine) if args.engine else ('cpu',)
        rows = bench.bench_engine(
            shape=args.shape or (16384, 64, 64),
            engines=engines,
            threads=args.threads,
        )
        columns = bench.ENGINE_COLUMNS
    else:
        rows = _bench_pipeline(args)
        columns = bench.PIPELINE_COLUMNS
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
    else:
        print(bench.format_table(rows, columns))
    return 0


def _bench_pipeline(args: argparse.Namespace) -> list[dict[str, Any]]:
    import tempfile

    from . import bench

    options = {
        'bleach': args.bleach,
        'threads': args.threads,
        'engine': args.engine[0] if args.engine else 'auto',
    }
    if args.shape is not None:
        options['shape'] = args.shape
    if args.dir is not None:
        Path(args.dir).mkdir(parents=True, exist_ok=True)
        return bench.bench_pipeline(args.dir, **options)
    with tempfile.TemporaryDirectory(dir='.') as tmp:
        return bench.bench_pipeline(tmp, **options)


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    def report(step: str, seconds: float, path: Path | None) -> None:
        where = f' -> {path}' if path is not None else ''
        print(f'{step:<28} {seconds:7.1f} s{where}', flush=True)

    start = time.perf_counter()
    outputs = run_demo(
        args.directory,
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
