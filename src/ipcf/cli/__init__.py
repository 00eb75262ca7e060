"""The ``ipcf`` command line interface.

Run ``ipcf --help`` or ``ipcf COMMAND --help``. Subcommands import what
they need when they run, so ``ipcf --help`` is quick. Options are
declared once, in :mod:`ipcf._options`, and mean the same in every
command. Each command maps its options to one library call. A user
mistake (missing or corrupt file, bad option value, a full disk, too
little memory, a missing optional package) prints one line to stderr and
exits with status 2; ``--debug`` shows the traceback instead. Library
messages are put in the command's terms (``overwrite=True`` becomes
``--overwrite``). Ctrl-C prints one line and exits with status 130. An
output that is, holds or lies inside an input is refused before any
work, with or without ``--overwrite``; figures are written under a
temporary name and renamed when complete, as every other output.

"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .._options import (
    ArgumentParser,
    add,
    add_compression,
    add_output,
    add_sources,
    check_compression,
    output_of,
    parse_frame_count,
    series_shape,
    sources_and_output,
)

__all__ = ['main']

# the benchmarks/ folder of a source checkout, three levels above
_BENCHMARKS = Path(__file__).resolve().parents[3] / 'benchmarks'
_BENCHES = ('correlate', 'engine', 'pipeline')

# default (T, H, W) and the options besides --frames, --shape and --seed
# that each kind of simulation takes; tests compare it with the library
_SIMULATIONS: dict[str, tuple[tuple[int, int, int], tuple[str, ...]]] = {
    'free': ((4096, 64, 64), ('diffusion', 'fraction', 'bleach_time')),
    'channel': ((32000, 64, 64), ('diffusion', 'fraction', 'bleach_time')),
    'flow': (
        (4096, 64, 64),
        ('diffusion', 'fraction', 'velocity', 'bleach_time'),
    ),
    'barrier': (
        (4096, 64, 64),
        (
            'diffusion',
            'fraction',
            'wall',
            'wall_angle',
            'wall_radius',
            'bleach_time',
        ),
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

# optional modules -> (the package that brings them, the extra of ipcf)
_EXTRAS = {
    'matplotlib': ('matplotlib', 'all'),
    'dask': ('dask', 'all'),
    'distributed': ('distributed', 'all'),
    'zarr': ('zarr', 'all'),
    'skimage': ('scikit-image', 'all'),
    'psutil': ('psutil', 'all'),
    'ipywidgets': ('ipywidgets', 'all'),
    'cupy': ('cupy-cuda12x', 'gpu'),
}
# libraries that read data files: their errors mean a corrupt file
_STORAGE = {'h5py', 'zarr', 'numcodecs', 'tifffile', 'imagecodecs'}
# dask's configuration of logging, also read by a cluster's workers
_DASK_LOGGING = 'DASK_LOGGING'
# worker preload scripts (text, not module names: they have spaces);
# level 50 is CRITICAL
_IGNORE_SIGINT = 'import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)'
_QUIET_WORKER = (
    'import logging as log; log.getLogger("distributed").setLevel(50)'
)


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
    with _cluster_logging(logging.ERROR if args.quiet else logging.WARNING):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    """Run the command of args; report a failure in one line."""
    try:
        with _redelivered_interrupts():
            status = int(args.func(args) or 0)
            sys.stdout.flush()  # a closed pipe raises here, not at exit
        return status
    except KeyboardInterrupt:
        hint = '; continue with --resume' if hasattr(args, 'resume') else ''
        print(f'ipcf: interrupted{hint}', file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (ipcf info ... | head): stop quietly, and
        # keep the interpreter's final flush from failing again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as exc:
        message = None if args.debug else _error_message(exc, args)
        if message is None:
            raise
        print(f'ipcf: error: {message}', file=sys.stderr)
        return 2


@contextlib.contextmanager
def _redelivered_interrupts() -> Iterator[None]:
    """Raise again a Ctrl-C that a finalizer swallowed.

    Python raises KeyboardInterrupt at the next bytecode after SIGINT,
    which can be a weakref callback or ``__del__`` run when a long C
    call returns (an h5py write, say). There the exception is only
    printed as ignored and the command goes on, so it is raised again in
    the main thread a moment later, until it lands in ordinary code.

    """
    import _thread
    import threading

    lock = threading.Lock()
    armed = [True]

    def redeliver() -> None:
        with lock:
            if armed[0]:
                _thread.interrupt_main()

    previous = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if issubclass(unraisable.exc_type, KeyboardInterrupt):
            # not from here: raising in the hook would be ignored too
            threading.Timer(0.01, redeliver).start()
            return
        previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        with lock:
            armed[0] = False
        sys.unraisablehook = previous


@contextlib.contextmanager
def _cluster_logging(level: int) -> Iterator[None]:
    """Set the level of dask.distributed's loggers, here and in workers.

    distributed sets its loggers to INFO when it is imported, from dask's
    configuration, which the worker processes of a cluster read from the
    environment: both are set for the command's duration.

    """
    import logging

    # the loggers that distributed's configuration names
    loggers = ('distributed', 'distributed.client', 'distributed.gc')
    levels = dict.fromkeys(loggers, logging.getLevelName(level).lower())
    previous = os.environ.get(_DASK_LOGGING)
    os.environ[_DASK_LOGGING] = repr(levels)
    for logger in loggers:
        logging.getLogger(logger).setLevel(level)
    with contextlib.ExitStack() as stack:
        dask = sys.modules.get('dask')
        if dask is not None:  # configured before: set it anew
            configured = dask.config.get('logging', default={}) or {}
            stack.enter_context(
                dask.config.set({'logging': {**configured, **levels}})
            )
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop(_DASK_LOGGING, None)
            else:
                os.environ[_DASK_LOGGING] = previous


def _error_message(exc: BaseException, args: argparse.Namespace) -> str | None:
    """Return the one-line message of a failure, None for a bug."""
    full = _no_space(exc)
    if full is not None:
        filename, detail = full
        return f'{filename or _output(args)}: no space left on device{detail}'
    if isinstance(exc, MemoryError):
        text = ' '.join(str(exc).split())
        return f'out of memory: {text}' if text else 'out of memory'
    missing = _missing_extra(exc)
    if missing is not None:
        package, extra = missing
        return (
            f'ipcf {args.command} needs {package}; install it with '
            f'pip install "ipcf[{extra}]"'
        )
    if isinstance(exc, (OSError, ValueError, TypeError, ImportError)):
        return _one_line(exc, args)
    if _from_storage(exc):
        return _one_line(exc, args)
    return None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """Yield exc and the exceptions it was raised from or during."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _no_space(exc: BaseException) -> tuple[str, str] | None:
    """Return the file of a full disk ('' if unnamed) and what ipcf says.

    ipcf's own check of the free space says, in parentheses, how much is
    needed and free (:func:`ipcf._files.no_space_error`); that detail is
    kept. None if the disk is not full.

    """
    full = False
    filename = ''
    detail = ''
    for error in _causes(exc):
        if not isinstance(error, OSError):
            continue
        if error.errno == errno.ENOSPC or any(
            text in str(error)
            for text in ('No space left on device', 'errno = 28')
        ):
            full = True
        if error.filename and not filename:
            filename = os.fspath(error.filename)
        reason = error.strerror if isinstance(error.strerror, str) else ''
        if not detail and reason.startswith(f'{_NO_SPACE} ('):
            detail = ' ' + reason.removeprefix(_NO_SPACE).strip()
    return (filename, detail) if full else None


# how ipcf's own check of the free space begins its reason
_NO_SPACE = 'no space left on device'


def _missing_extra(exc: BaseException) -> tuple[str, str] | None:
    """Return (package, extra) of a missing optional module, or None."""
    for error in _causes(exc):
        if isinstance(error, ModuleNotFoundError) and error.name:
            found = _EXTRAS.get(error.name.partition('.')[0])
            if found is not None:
                return found
    return None


def _require(*modules: str) -> None:
    """Raise ModuleNotFoundError before the work if a module is missing."""
    import importlib.util

    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            msg = f'No module named {name!r}'
            raise ModuleNotFoundError(msg, name=name)


def _zarr_for(*paths: Any) -> tuple[str, ...]:
    """Return ('zarr',) if one of paths (or lists of them) is a zarr store."""
    for path in paths:
        items = path if isinstance(path, list) else [path]
        for item in items:
            if isinstance(item, str) and item.rstrip('/\\').lower().endswith(
                '.zarr'
            ):
                return ('zarr',)
    return ()


def _from_storage(exc: BaseException) -> bool:
    """Return whether exc comes from a library that reads data files."""
    modules = {type(exc).__module__.partition('.')[0]}
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is not None:
        modules.add(str(tb.tb_frame.f_globals.get('__name__', '')))
    return any(m.partition('.')[0] in _STORAGE for m in modules)


def _inputs(args: argparse.Namespace) -> list[str]:
    """Return the input paths that the command was given."""
    if args.command in {'analyze', 'convert', 'acf', 'nb'}:
        paths = list(args.paths)
        return paths if args.output is not None else paths[:-1]
    for name in ('result', 'path', 'paths'):
        value = getattr(args, name, None)
        if value is not None:
            return [value] if isinstance(value, str) else list(value)
    return []


def _output(args: argparse.Namespace) -> str:
    """Return the command's output, or 'output' if it has none."""
    try:
        if args.command in {'analyze', 'convert', 'acf', 'nb'}:
            return sources_and_output(args)[1]
        return output_of(args)
    except (AttributeError, ValueError):
        return 'output'


def _one_line(
    exc: BaseException, args: argparse.Namespace | None = None
) -> str:
    """Return the message of exc in one line, in command-line terms."""
    from .._files import OutputExistsError

    if isinstance(exc, OutputExistsError):
        return f'{exc.path!r} exists; use --overwrite to replace it'
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f'{exc.filename}: {exc.strerror}'
    text = ' '.join(text.split())
    # library messages name keywords; the options have the same names
    text = re.sub(
        r'\b(overwrite|resume)=True(?: \(--\1\))?',
        lambda match: f'--{match[1]}',
        text,
    )
    if args is None:
        return text
    if isinstance(exc, UnicodeError | json.JSONDecodeError) or _from_storage(
        exc
    ):
        # a corrupt file: the message of the library does not name it
        inputs = _inputs(args)
        if len(inputs) == 1 and inputs[0] not in text:
            text = f'{inputs[0]}: {text}'
    text = text.replace('choose one by key', _choose_key(args))
    text = text.replace('try clear_border=False', _keep_border(args))
    text = _BARE_KEYWORD.sub(lambda match: _give_option(match, args), text)
    text = _AND_KEYWORD.sub(lambda match: _give_option(match, args), text)
    text = _KEYWORD.sub(lambda match: _option_text(match, args), text)
    # 'pass' is for keywords; an option is given
    return re.sub(r'\bpass (?=--[a-z])', 'give ', text)


def _choose_key(args: argparse.Namespace) -> str:
    if hasattr(args, 'key'):
        return 'choose one with --key NAME'
    return 'copy one into a store of its own with ipcf convert --key NAME'


def _keep_border(args: argparse.Namespace) -> str:
    if hasattr(args, 'keep_border'):
        return 'try --keep-border'
    return 'try ipcf roi --keep-border and give the region it prints to --roi'


# keyword=value in a library message: a quoted text, a number or a flag
_KEYWORD = re.compile(
    r"\b(?P<name>[a-z][a-z_]*)=(?P<value>'[^']*'|-?\d[\w.+-]*|True\b)"
)
# 'pass name=' in a library message: a keyword to give, without a value
_BARE_KEYWORD = re.compile(r"\bpass (?P<name>[a-z][a-z_]*)=(?![\w'\"-])")
# '... and name=' after a keyword to give: 'pass channel= and z='
_AND_KEYWORD = re.compile(
    r"(?<=[A-Z]) and (?P<name>[a-z][a-z_]*)=(?![\w'\"-])"
)
_KEYWORD_OPTIONS = {
    'npoints': 'points',
    'nbins': 'bins',
    'num_threads': 'threads',
    'num_workers': 'workers',
    'w': 'psf_radius',
    'channels': 'tau_channels',
}


def _give_option(match: re.Match[str], args: argparse.Namespace) -> str:
    """Return ``give --option VALUE`` for ``pass keyword=`` of an option."""
    from .._options import OPTIONS

    dest = _KEYWORD_OPTIONS.get(match['name'], match['name'])
    option = OPTIONS.get(dest)
    if option is None or not hasattr(args, dest):
        return match[0]
    value = f' {option.metavar}' if option.metavar else ''
    verb = 'give' if match[0].startswith('pass') else ' and'
    return f'{verb} {option.flags[0]}{value}'


def _option_text(match: re.Match[str], args: argparse.Namespace) -> str:
    """Return ``--option value`` for a keyword of the command's options."""
    from .._options import OPTIONS

    dest = _KEYWORD_OPTIONS.get(match['name'], match['name'])
    option = OPTIONS.get(dest)
    if option is None or not hasattr(args, dest):
        return match[0]
    value = match['value']
    if option.action == 'store_true':
        return option.flags[0] if value == 'True' else match[0]
    value = value.strip("'")
    return f'{option.flags[0]} {value}'


def _parser() -> argparse.ArgumentParser:
    from .. import __version__

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
    from ._imsd import COMPARTMENT_SIMULATIONS, compartment_shapes

    shapes += '; line 16384,64 (T,X)' + compartment_shapes()
    p = command('simulate', _cmd_simulate, 'write a simulated image series')
    kinds = [*_SIMULATIONS, 'line', *COMPARTMENT_SIMULATIONS]
    p.add_argument('kind', choices=kinds, help='simulation')
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
    from ._line import add_line_simulation

    add_line_simulation(p)
    from ._imsd import add_compartment_simulation

    add_compartment_simulation(p)

    p = command('info', _cmd_info, 'describe an image series or result')
    p.add_argument('path', nargs='+', help='file, directory or glob')
    add(p, 'key')

    p = command('convert', _cmd_convert, 'copy a series into a chunked store')
    add_sources(
        p, help='the series: a directory, glob, several files or a file'
    )
    add(p, 'roi', 'frames', 'chunks')
    add_compression(p)
    add(p, 'block', help='--roi auto: the sides are multiples of it')
    add(p, 'key', 'dtype')
    add(p, 'shape', help='raw .bin source without sidecar: [T,]H,W')
    add(p, 'gaps', 'threads', 'overwrite', 'resume')

    p = command('roi', _cmd_roi, 'propose a region of interest (and a figure)')
    p.add_argument('paths', nargs='+', metavar='PATH', help='the series')
    add(
        p,
        'frames',
        default='256',
        help='frames averaged: the first N, or START:STOP (0 or : for all)',
    )
    add(p, 'block', help='the sides are multiples of it')
    add(p, 'sigma', 'keep_border', 'key', 'threads')
    add(
        p,
        'output',
        default='roi.png',
        help='figure of the mean image and the region (.png, .svg or '
        ".pdf); '' for none",
    )
    add(p, 'dpi')

    p = command(
        'maps',
        _cmd_maps,
        'diffusion, flow and barrier maps of a pCF result; N and D maps '
        'of an ACF result (ipcf acf)',
    )
    p.add_argument('result', help='result store (.h5, .zarr)')
    add_output(p, help='maps file: .nc, .h5 or .zarr')
    add(p, 'pixel_size', 'psf_radius', 'window', 'threshold', 'overwrite')
    add(p, 'model', 'w_z', 'components', 'fit_range')
    add(
        p,
        'channel',
        'z',
        help='of a result of several channels or planes: the channels '
        '(centres and neighbours) or planes to map: C, a list C,C or all '
        '(default: all)',
    )

    p = command(
        'analyze', _cmd_analyze, 'blocked pCF of a series into a store'
    )
    add_sources(p, help='the series: a file, directory, glob or files')
    add(p, 'radius', 'points', 'bins', 'dt', 'bleach', 'roi', 'mask')
    add(p, 'block', help='result pixels per block side')
    add(
        p,
        'channel',
        help='channels (C axis, from 0) of a multi-channel SOURCE: C, a '
        'list C,C or all; with two or more, the pCF of each and the cross '
        'pCF of every channel pair (default: all)',
    )
    add(
        p,
        'z',
        help='z-planes (Z axis, from 0) of a multi-plane SOURCE, each '
        'analysed on its own: Z, a list Z,Z or all (default: all); with '
        '--neighbour, one plane of both',
    )
    add(p, 'no_cross')
    add(p, 'mode', 'offset', 'engine', 'neighbour', 'neighbour_channel')
    add(p, 'directions', 'gaps')
    add(p, 'scheduler', 'cluster', 'workers', 'threads', 'resume', 'overwrite')
    p.add_argument(
        '--maps',
        action='store_true',
        help='also write the maps of the result to OUTPUT_maps.h5',
    )
    add(p, 'pixel_size', 'psf_radius', help='--maps: as for ipcf maps')
    from ._fcs import add_fcs_commands
    from ._imsd import add_imsd_commands
    from ._line import add_line_commands

    add_fcs_commands(command)
    add_imsd_commands(command)
    add_line_commands(command)

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
    kinds += '|acf|brightness|line'
    kinds += '|imsd|stics|imsd-maps'
    p = command('plot', _cmd_plot, 'draw a figure of a result or a series')
    p.add_argument('path', help='result store (.h5, .zarr) or image series')
    add_output(p, help='figure: .png, .svg or .pdf')
    p.add_argument(
        '--kind', default='image', metavar=kinds, help='figure to draw'
    )
    add(p, 'data', 'pixel', 'point', 'delay', 'pixel_size', 'psf_radius')
    add(p, 'monomer')
    add(p, 'dpi')
    add(
        p,
        'z',
        'channel',
        'neighbour_channel',
        help='of a result of several planes or channels: the plane, the '
        'channel of the centres and that of the neighbours to draw '
        '(default: the only one)',
    )

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
    _require('matplotlib')  # for the figures, before the simulation
    from ..demo import run_demo

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
    from .. import simulate
    from ._imsd import (
        COMPARTMENT_OPTIONS,
        COMPARTMENT_SIMULATIONS,
        simulate_compartments,
    )
    from ._line import LINE_SIMULATION, simulate_line

    if args.kind in COMPARTMENT_SIMULATIONS or any(
        getattr(args, name) is not None for name in COMPARTMENT_OPTIONS
    ):
        return simulate_compartments(args)
    if args.kind in {'line', 'detectors'} or any(
        getattr(args, name) is not None for name in LINE_SIMULATION
    ):
        return simulate_line(args)
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
    _require(*_zarr_for(output))
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
    from .. import io
    from ..store import result_info

    source = args.path[0] if len(args.path) == 1 else args.path
    _require(*_zarr_for(source))
    info = None
    if isinstance(source, str) and args.key is None:
        info = result_info(source)
    if info is None:
        axes = 'TYX'
        try:
            info = io.info(source, key=args.key)
        except ValueError:
            # io.info reads one plane; a file of several channels or
            # planes is described as the labelled series
            try:
                series = io.open_series(source, key=args.key)
            except (OSError, ValueError, TypeError):
                series = None
            if series is None or series.ndim == 3:
                raise
            axes = ''.join(series.dims)
            info = {
                'path': os.fspath(source)
                if isinstance(source, str | os.PathLike)
                else None,
                'format': series.format,
                'shape': series.shape,
                'dtype': str(series.dtype.newbyteorder('=')),
                'frames': series.shape[0],
                'chunks': None,
                'nbytes': series.nbytes,
                'metadata': series.metadata.stored,
                'files': 1,
            }
        info = {
            'path': info['path'],
            'format': info['format'],
            'axes': axes,
            **{k: v for k, v in info.items() if k not in {'path', 'format'}},
        }
        sizes = dict(zip(axes, info['shape'], strict=True))
        info.update(_units_lines(info.get('metadata') or {}, sizes=sizes))
    width = max(len(key) for key in info)
    for key, value in info.items():
        if key == 'metadata' and value:
            value = json.dumps(value, default=str)
        print(f'{key:>{width}}: {value}')
    return 0


def _units_lines(
    metadata: dict[str, Any], sizes: dict[str, int] | None = None
) -> dict[str, str]:
    """Return the units a series records, as lines for ``ipcf info``.

    `sizes` are the lengths of the series' axes (``{'C': 2, ...}``), for
    the number of channels; the units' sources and any note on what the
    file does not declare come last.
    """
    lines = {}
    sizes = sizes or {}
    sizes_um = [
        metadata.get(k) for k in ('pixel_size', 'pixel_size_y', 'pixel_size_z')
    ]
    if sizes_um[0] is not None:
        named = [f'{v:g}' for v in sizes_um if v is not None]
        lines['pixel size'] = ' x '.join(named) + ' µm'
    else:
        lines['pixel size'] = 'not recorded'
    interval = metadata.get('frame_interval', metadata.get('frame_time'))
    lines['frame interval'] = (
        f'{interval:g} s' if interval is not None else 'not recorded'
    )
    names = [str(c) for c in metadata.get('channels') or ()]
    count = sizes.get('C', 1)
    if names:
        lines['channels'] = ', '.join(names)
    elif count > 1:
        lines['channels'] = f'{count}, not named'
    else:
        lines['channels'] = '1'
    if metadata.get('axes') and metadata['axes'] != ''.join(sizes):
        lines['file axes'] = str(metadata['axes'])
    where = metadata.get('units_source') or {}
    if where:
        lines['units from'] = '; '.join(
            f'{key.replace("_", " ")}: {value}' for key, value in where.items()
        )
    if metadata.get('units_note'):
        lines['units note'] = str(metadata['units_note'])
    return lines


def _cmd_convert(args: argparse.Namespace) -> int:
    from .. import io
    from ..convert import convert

    source, output = sources_and_output(args)
    check_compression(args.compression, output)
    _require(*_zarr_for(source, output), *_skimage_for(args.roi))
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
        gaps=args.gaps,
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
    from .. import io, roi

    source = args.paths[0] if len(args.paths) == 1 else args.paths
    _require('skimage', *_zarr_for(source))
    if args.output:
        # the figure's checks come before the mean image is read
        _figure_format(args.output)
        _refuse_inputs(args.output, args.paths)
        _require('matplotlib')
    if args.key is not None:
        source = io.open_frames(source, key=args.key)
    image = roi.mean_image(
        source,
        frames=args.frames,
        num_threads=args.threads,
        progress=args.progress,
    )
    box = roi.detect(
        image,
        block=args.block,
        sigma=args.sigma,
        clear_border=not args.keep_border,
    )
    print(roi.format_roi(box))
    if args.output:
        from .. import plot

        y0, y1, x0, x1 = box
        fig = plot.roi(
            image,
            box=box,
            title=f'roi {roi.format_roi(box)} ({y1 - y0} x {x1 - x0} pixels)',
        )
        _save_figure(fig, args.output, dpi=args.dpi)
        print(f'wrote {args.output}', file=sys.stderr)
    return 0


def _figure_format(output: str) -> str:
    """Return the format of a figure file by its suffix, or refuse it."""
    suffix = Path(output).suffix.lower()
    if suffix not in {'.png', '.svg', '.pdf'}:
        msg = f'{output}: the output must end in .png, .svg or .pdf'
        raise ValueError(msg)
    return suffix[1:]


def _save_figure(fig: Any, output: str, *, dpi: int) -> None:
    """Write a figure under a temporary name, renamed when complete."""
    from .._files import publishing

    Path(output).parent.mkdir(parents=True, exist_ok=True)
    with publishing(output, overwrite=True) as part:
        fig.savefig(part, format=_figure_format(output), dpi=dpi)


def _refuse_inputs(output: Any, /, *inputs: Any) -> None:
    """Refuse an output that is, contains or lies inside an input."""
    from .._files import check_not_input

    check_not_input(output, [item for item in inputs if item is not None])


def _cmd_maps(args: argparse.Namespace) -> int:
    output = output_of(args)
    _refuse_inputs(output, args.result)
    _require(*_zarr_for(args.result, output))
    from ._fcs import fcs_group, refuse_acf_options, write_fcs_maps

    if fcs_group(args.result) is not None:
        return write_fcs_maps(args, output)
    refuse_acf_options(args)
    return _write_maps(
        args.result,
        output,
        pixel_size=args.pixel_size,
        psf_radius=args.psf_radius,
        window=args.window,
        threshold=args.threshold,
        overwrite=args.overwrite,
        channel=args.channel,
        z=args.z,
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
    channel: Any = None,
    z: Any = None,
) -> int:
    """Write the maps of a stored result (``ipcf maps``, ``--maps``)."""
    from .. import analysis
    from .._sources import source_of
    from ..analysis._blocked import open_stored
    from ..store import result_info

    with open_stored(result_path) as (result, _):  # labels, not values
        attrs, source = result.attrs, source_of(result, result_path)
    units = _units(pixel_size, psf_radius, attrs, source, named=result_path)
    # blocks of rows, written as made: memory stays bounded
    path = analysis.write_maps(
        result_path,
        output,
        pixel_size=units['pixel_size'],
        w=units['psf_radius'],
        window=window,
        threshold=threshold,
        overwrite=overwrite,
        **_channel_selection(result, channel, z),
    )
    # the attributes only of a store; netCDF maps are read whole
    info = result_info(path, group='maps') or analysis.load_maps(path).attrs
    if 'D_pooled_selections' in info:  # several planes or channel pairs
        print(f'wrote {path}; pooled D (µm²/s):')
        for row in info['D_pooled_selections']:
            where = ', '.join(
                f'{key} {value}'
                for key, value in row.items()
                if not key.startswith('D_pooled')
            )
            print(
                f'  {where}: {row["D_pooled"]:.3g} ± '
                f'{row["D_pooled_error"]:.2g} ({row["D_pooled_note"]})'
            )
        return 0
    pooled = info['D_pooled']
    error = info['D_pooled_error']
    note = info.get('D_pooled_note')
    said = f' ({note})' if note else ''
    print(f'wrote {path}; pooled D = {pooled:.3g} ± {error:.2g} µm²/s{said}')
    return 0


def _channel_selection(result: Any, channel: Any, z: Any) -> dict[str, Any]:
    """Return the maps' selection of --channel and --z of a result.

    --channel picks the centres' and the neighbours' channels alike.

    """
    selection: dict[str, Any] = {'z': z, 'channel': channel}
    if channel is not None and 'neighbour_channel' in result.dims:
        selection['neighbour_channel'] = channel
    return selection


def _units(
    pixel_size: float | None,
    psf_radius: float | None,
    /,
    *records: Any,
    named: Any,
    needed: str = '',
) -> dict[str, float | None]:
    """Return the units of the maps; refuse if one is not known."""
    from .._sources import physical_units

    units = physical_units(
        {'pixel_size': pixel_size, 'psf_radius': psf_radius}, *records
    )
    for name in ('pixel_size', 'psf_radius'):
        if units[name] is None:
            flag = '--' + name.replace('_', '-')
            where = named if isinstance(named, str) else _describe(named)
            msg = (
                f'{flag} is needed{needed}: {where} does not record it; '
                f'give {flag} UM'
            )
            raise ValueError(msg)
    return units


def _describe(source: Any) -> str:
    """Return a path, or the first of several and their number."""
    if isinstance(source, list | tuple):
        return f'{source[0]} (and {len(source) - 1} more)'
    return os.fspath(source)


def _cmd_analyze(args: argparse.Namespace) -> int:
    from ..pipeline import analyze

    def report(stage: str, seconds: float) -> None:
        print(f'{stage:<12} {seconds:8.1f} s', flush=True)

    source, output = sources_and_output(args)
    distributed = args.cluster is not None or args.scheduler not in {
        'threads',
        'processes',
        'synchronous',
    }
    _require(
        'dask',
        *(['distributed'] if distributed else []),
        *_zarr_for(source, output, args.neighbour),
        *_skimage_for(args.roi),
    )
    units = None
    if args.maps:
        maps_output = Path(output).with_name(f'{Path(output).stem}_maps.h5')
        _refuse_inputs(maps_output, source, args.neighbour)
        # the maps need units: refuse now, not after the whole pCF
        units = _units(
            args.pixel_size,
            args.psf_radius,
            source,
            named=source,
            needed=' for --maps',
        )
    workers = _cluster_workers(args.quiet) if distributed else _no_context()
    with workers:
        path = _analyze(analyze, args, source, output, report)
    print(f'wrote {path}')
    if units is not None:
        return _write_maps(
            path,
            path.with_name(f'{path.stem}_maps.h5'),
            pixel_size=units['pixel_size'],
            psf_radius=units['psf_radius'],
            overwrite=args.overwrite,
        )
    return 0


def _analyze(
    analyze: Callable[..., Path],
    args: argparse.Namespace,
    source: Any,
    output: str,
    report: Callable[[str, float], None],
) -> Path:
    return analyze(
        source,
        output,
        radius=args.radius,
        npoints=args.points,
        nbins=args.bins,
        dt=args.dt,
        bleach=args.bleach,
        roi=args.roi,
        mask=args.mask,
        channel=args.channel,
        z=args.z,
        cross=not args.no_cross,
        neighbour=args.neighbour,
        neighbour_channel=args.neighbour_channel,
        directions=args.directions,
        block=args.block,
        mode=args.mode,
        offset=args.offset,
        engine=args.engine,
        scheduler=args.scheduler,
        cluster=args.cluster,
        num_workers=args.workers,
        num_threads=args.threads,
        resume=args.resume,
        overwrite=args.overwrite,
        progress=args.progress,
        gaps=args.gaps,
        report=report,
    )


@contextlib.contextmanager
def _no_context() -> Iterator[None]:
    yield


@contextlib.contextmanager
def _cluster_workers(quiet: bool) -> Iterator[None]:
    """Make the worker processes of a dask cluster leave Ctrl-C to ipcf.

    A terminal sends SIGINT to every process of the command: workers
    that die of it print tracebacks while the cluster shuts down. They
    ignore it, and the command closes the cluster. With `quiet` they log
    nothing but critical errors: a block that fails raises its error in
    the command anyway, and errors of their connections while a cluster
    closes early (after Ctrl-C) are noise.

    """
    import dask

    key = 'distributed.worker.preload'
    preload = list(dask.config.get(key, default=None) or [])
    preload.append(_IGNORE_SIGINT)
    if quiet:
        preload.append(_QUIET_WORKER)
    with dask.config.set({key: preload}):
        yield


def _skimage_for(roi: str | None) -> tuple[str, ...]:
    """Return ('skimage',) if ``--roi auto`` is to detect the cell."""
    return ('skimage',) if roi == 'auto' else ()


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
    output = output_of(args)
    _figure_format(output)
    _refuse_inputs(output, args.path, args.data)
    _require('matplotlib', *_zarr_for(args.path, args.data))
    from .. import plot

    fig = plot.draw(
        args.path,
        args.kind,
        data=args.data,
        pixel=args.pixel,
        point=args.point,
        delay=args.delay,
        pixel_size=args.pixel_size,
        psf_radius=args.psf_radius,
        monomer=args.monomer,
        progress=args.progress,
        z=args.z,
        channel=args.channel,
        neighbour_channel=args.neighbour_channel,
    )
    _save_figure(fig, output, dpi=args.dpi)
    print(f'wrote {output}')
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    _require('matplotlib', *_zarr_for(args.path, args.data))
    from ..plot.report import write_report

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
