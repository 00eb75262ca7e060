"""The line-scan commands: ``ipcf line`` and ``ipcf simulate line``."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import Any

from .._options import (
    add,
    add_output,
    output_of,
)
from . import _SIMULATION_OPTIONS, _require, _zarr_for

# line scans --------------------------------------------------------------

# options of ipcf simulate that only line scans take -> line_scan keyword
LINE_SIMULATION = {
    'line_time': 'line_time',
    'pixel_time': 'pixel_time',
    'barrier': 'barrier',
    'crossing': 'crossing',
}


def add_line_commands(command: Callable[..., Any]) -> None:
    """Add ``ipcf line``: the blocked pCF carpet of a line scan."""
    from .._options import nonnegative_int, positive_float

    p = command(
        'line', _cmd_line, 'blocked pCF carpet of a line scan into a store'
    )
    p.add_argument(
        'path',
        metavar='SRC',
        help='the line scan: a TIFF of one-line frames (T, 1, X) or of '
        'lines (T, L, X), a TIFF of one 2-D page (time, position), a '
        'SimFCS *carpet*.b64 or any series ipcf opens',
    )
    add_output(p, help='result store: .h5 or .zarr')
    p.add_argument(
        '--distance',
        type=nonnegative_int,
        nargs='+',
        required=True,
        metavar='D',
        help='distances in positions (pixels); 0 is the autocorrelation',
    )
    p.add_argument(
        '--periodic',
        action='store_true',
        help='a circular orbit: positions wrap around',
    )
    p.add_argument(
        '--line-time',
        type=positive_float,
        metavar='S',
        help='seconds between two scans (default: from the file, else 1)',
    )
    add(p, 'bins')
    add(
        p,
        'bleach',
        default='none',
        help='photobleaching correction of every position: exp, exp2, '
        'poly[:DEGREE], filter[:SIZE] (a bare N is filter:N) or none',
    )
    add(
        p,
        'mask',
        help='centre positions to analyse: a .npy or TIFF of X values '
        '(every line) or L x X, booleans or 0/1; the curves of the others '
        'are NaN (default: all)',
    )
    add(p, 'block', help='lines and positions per block')
    add(p, 'channel', 'z', 'mode', 'engine')
    add(p, 'scheduler', 'threads', 'resume', 'overwrite')


def add_line_simulation(p: argparse.ArgumentParser) -> None:
    """Add the options of ``ipcf simulate line`` to ``ipcf simulate``."""
    from .._options import nonnegative_float, positive_float

    for flag, kind, text in (
        ('--line-time', positive_float, 'line: seconds between scans'),
        ('--pixel-time', positive_float, 'line: pixel dwell in seconds'),
        ('--barrier', nonnegative_float, 'line: a wall at UM along it'),
        ('--crossing', nonnegative_float, 'line: chance to cross the wall'),
    ):
        p.add_argument(flag, type=kind, help=text, metavar=flag[2:].upper())


def _cmd_line(args: argparse.Namespace) -> int:
    from ..line import analyze_line

    output = output_of(args)
    _require('dask', *_zarr_for(args.path, output))
    try:
        path = analyze_line(
            args.path,
            output,
            distance=args.distance,
            nbins=args.bins,
            line_time=args.line_time,
            periodic=args.periodic,
            mode=args.mode,
            bleach=args.bleach,
            mask=args.mask,
            block=args.block,
            engine=args.engine,
            scheduler=args.scheduler,
            num_threads=args.threads,
            resume=args.resume,
            overwrite=args.overwrite,
            progress=args.progress,
            channel=args.channel,
            z=args.z,
        )
    except ValueError as exc:
        # the library's keywords, in the command's options
        text = re.sub(r'\bperiodic=True\b', '--periodic', str(exc))
        text = re.sub(r'\bline_time=', '--line-time ', text)
        if text == str(exc):
            raise
        raise ValueError(text) from None
    from ..store import load_result

    result = load_result(path)
    print(
        f'wrote {path} {dict(result.sizes)}, line time '
        f'{result.attrs["dt"]:g} s'
    )
    return 0


def simulate_line(args: argparse.Namespace) -> int:
    """Write a simulated line scan as a (T, 1, X) series."""
    from .. import simulate
    from ..io import imwrite

    if args.kind != 'line':
        given = [
            '--' + name.replace('_', '-')
            for name in LINE_SIMULATION
            if getattr(args, name) is not None
        ]
        msg = f'{given[0]} applies to line simulations only'
        raise ValueError(msg)
    for name in _SIMULATION_OPTIONS:
        if name != 'diffusion' and getattr(args, name) is not None:
            flag = '--' + name.replace('_', '-')
            msg = f'{flag} does not apply to line simulations'
            raise ValueError(msg)
    nscans, width = 16384, 64
    if args.shape is not None:
        if len(args.shape) != 2:
            msg = (
                f'--shape {",".join(map(str, args.shape))}: a line scan '
                'is T,X (scans, positions)'
            )
            raise ValueError(msg)
        nscans, width = args.shape
    if args.frames is not None:
        nscans = args.frames
    options: dict[str, Any] = {
        'shape': (nscans, width),
        'seed': args.seed,
        'progress': args.progress,
    }
    if args.diffusion is not None:
        if len(args.diffusion) != 1:
            msg = '--diffusion: a line scan simulates one coefficient'
            raise ValueError(msg)
        options['diffusion'] = args.diffusion[0]
    for name, keyword in LINE_SIMULATION.items():
        if getattr(args, name) is not None:
            options[keyword] = getattr(args, name)
    output = output_of(args)
    _require(*_zarr_for(output))
    sim = simulate.line_scan(**options)
    # one line per frame: what ipcf line and ipcf.pcf_line read
    lines = sim.data[:, None, :]
    imwrite(output, lines, metadata=sim.truth, overwrite=args.overwrite)
    print(f'wrote {output} {lines.shape} {lines.dtype}')
    return 0
