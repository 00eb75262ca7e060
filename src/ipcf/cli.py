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
    p.add_argument('kind', choices=['channel', 'free'])
    p.add_argument('output', help='.bin (+ .json sidecar), .tif, .h5, .zarr')
    p.add_argument('--frames', type=int, default=None)
    p.add_argument('--shape', type=_int_tuple(2), default=None, help='H,W')
    p.add_argument('--diffusion', type=float, default=None, help='µm²/s')
    p.add_argument('--seed', type=int, default=None)
    p.add_argument('--overwrite', action='store_true')

    p = add('info', _cmd_info, 'describe an image series or result')
    p.add_argument('path', nargs='+', help='file, directory or glob')

    p = add('bench', _cmd_bench, 'time correlation backends or engines')
    p.add_argument('what', choices=['correlate', 'engine'])
    p.add_argument('--size', type=int, default=16384, help='correlate')
    p.add_argument(
        '--shape', type=_int_tuple(3), default=(16384, 64, 64), help='T,H,W'
    )
    p.add_argument('--engine', action='append', default=None)
    p.add_argument('--threads', type=int, default=None)
    p.add_argument('--json', action='store_true', help='print JSON')
    return parser


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
    import inspect

    from . import simulate

    func = getattr(simulate, args.kind)
    options: dict[str, Any] = {'seed': args.seed, 'progress': args.progress}
    if args.diffusion is not None:
        options['diffusion'] = args.diffusion
    if args.frames is not None or args.shape is not None:
        default = inspect.signature(func).parameters['shape'].default
        frames = default[0] if args.frames is None else args.frames
        shape = default[1:] if args.shape is None else args.shape
        options['shape'] = (frames, *shape)
    sim = func(**options)
    sim.save(args.output, overwrite=args.overwrite)
    print(f'wrote {args.output} {sim.data.shape} {sim.data.dtype}')
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from . import io

    source = args.path[0] if len(args.path) == 1 else args.path
    info = io.info(source)
    for key, value in info.items():
        if key == 'metadata' and value:
            value = json.dumps(value, default=str)
        print(f'{key:>9}: {value}')
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from . import bench

    if args.what == 'correlate':
        rows = bench.bench_correlate(size=args.size, threads=args.threads)
        columns = bench.CORRELATE_COLUMNS
    else:
        engines = tuple(args.engine) if args.engine else ('cpu',)
        rows = bench.bench_engine(
            shape=args.shape, engines=engines, threads=args.threads
        )
        columns = bench.ENGINE_COLUMNS
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
    else:
        print(bench.format_table(rows, columns))
    return 0


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
