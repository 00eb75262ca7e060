"""Options of the ``ipcf`` command line, each declared once.

:data:`OPTIONS` names every option with its flags, its syntax (the
argparse ``type`` that parses it and the ``metavar`` that shows it), its
default and its help. Commands and the scripts in ``benchmarks/`` add
options by name with :func:`add`, overriding the help or the default
where a command needs its own, so that an option has the same syntax
wherever it appears. :class:`ArgumentParser` shows each default in
``--help`` and reports a usage mistake in one line.

Syntax shared by several commands:

- ``--frames N|START:STOP``: the first N frames or a range (either end
  may be empty; ``0`` or ``:`` is all). Where only a number of frames
  makes sense (``simulate``, ``demo``, ``bench``), a count.
- ``--shape [T,]H,W``: the frame size, optionally preceded by the number
  of frames.
- ``--bleach METHOD[:PARAM]``: as :func:`ipcf.bleach.parse_method`, a
  bare integer N meaning ``filter:N``.
- ``--psf-radius UM`` (also ``--psf``, ``--w``), ``--pixel-size UM``,
  ``--threads N`` and ``-o/--output PATH``.

"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
from collections.abc import Callable, Sequence
from typing import Any

__all__ = [
    'OPTIONS',
    'ArgumentParser',
    'HelpFormatter',
    'Option',
    'add',
    'add_compression',
    'add_output',
    'add_sources',
    'check_compression',
    'output_of',
    'delay_range',
    'parse_bleach',
    'parse_detrend',
    'parse_frame_count',
    'parse_frames',
    'parse_shape',
    'series_shape',
    'sources_and_output',
]


class HelpFormatter(argparse.HelpFormatter):
    """Help formatter that appends each option's default to its help.

    Defaults of None and False are left out: their help says what they
    mean (``default: all usable cores``).

    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ''
        default = action.default
        if (
            '%(default)' in text
            or default is None
            or default is False
            or default is argparse.SUPPRESS
            or not action.option_strings
        ):
            return text
        return f'{text} (default: %(default)s)'


class ArgumentParser(argparse.ArgumentParser):
    """ArgumentParser that shows defaults and reports errors in one line.

    Examples
    --------
    >>> parser = ArgumentParser(prog='ipcf demo')
    >>> add(parser, 'threads')
    >>> parser.parse_args(['--threads', '2']).threads
    2

    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault('formatter_class', HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        text = ' '.join(message.split())
        self.exit(2, f'{self.prog}: error: {text} (see --help)\n')


# parsers of option values ----------------------------------------------
# Each raises ArgumentTypeError, which argparse reports with the option.

_Error = argparse.ArgumentTypeError


def positive_int(text: str) -> int:
    """Return an integer of at least 1."""
    value = _number(text, int, 'a positive integer')
    if value < 1:
        msg = f'expected a positive integer; got {text!r}'
        raise _Error(msg)
    return value


def nonnegative_int(text: str) -> int:
    """Return an integer of at least 0."""
    value = _number(text, int, 'a non-negative integer')
    if value < 0:
        msg = f'expected a non-negative integer; got {text!r}'
        raise _Error(msg)
    return value


def indices(text: str) -> int | list[int] | None:
    """Return an index, a list of indices or None for ``all``.

    One index selects as before; a comma-separated list keeps several.

    >>> indices('1'), indices('0,2'), indices('all')
    (1, [0, 2], None)

    """
    if text.strip().lower() == 'all':
        return None
    items = [item.strip() for item in text.split(',')]
    expected = "an index, a list such as 0,2 or 'all'"
    values = [_number(item, int, expected) for item in items]
    if any(value < 0 for value in values):
        msg = f'expected non-negative indices; got {text!r}'
        raise _Error(msg)
    return values[0] if len(values) == 1 and ',' not in text else values


def positive_float(text: str) -> float:
    """Return a finite number above 0."""
    value = _number(text, float, 'a positive number')
    if not 0 < value < math.inf:
        msg = f'expected a positive number; got {text!r}'
        raise _Error(msg)
    return value


def nonnegative_float(text: str) -> float:
    """Return a finite number of at least 0."""
    value = _number(text, float, 'a number >= 0')
    if not 0 <= value < math.inf:
        msg = f'expected a number >= 0; got {text!r}'
        raise _Error(msg)
    return value


def _number(text: str, kind: type, expected: str) -> Any:
    try:
        return kind(text)
    except ValueError:
        msg = f'expected {expected}; got {text!r}'
        raise _Error(msg) from None


DPI = (10, 1200)
"""Resolutions of raster figures accepted by ``--dpi``: larger ones
need gigabytes for one figure."""


def dpi(text: str) -> int:
    """Return a resolution of raster figures in dots per inch.

    >>> dpi('150')
    150

    """
    low, high = DPI
    expected = f'a resolution of {low} to {high} dots per inch'
    value = _number(text, int, expected)
    if not low <= value <= high:
        msg = f'expected {expected}; got {text!r}'
        raise _Error(msg)
    return value


def numbers(text: str) -> tuple[float, ...]:
    """Return comma-separated numbers, ``'4'`` or ``'0.5,4'``."""
    try:
        return tuple(float(v) for v in text.split(','))
    except ValueError:
        msg = f'expected numbers like 4 or 0.5,4; got {text!r}'
        raise _Error(msg) from None


def _integers(text: str, sizes: tuple[int, ...], usage: str) -> tuple:
    try:
        values = tuple(int(v) for v in text.replace('x', ',').split(','))
    except ValueError:
        values = ()
    if len(values) not in sizes or min(values) < 1:
        msg = f'expected {usage}; got {text!r}'
        raise _Error(msg)
    return values


def parse_shape(text: str) -> tuple[int, ...]:
    """Return ``(H, W)`` or ``(T, H, W)`` of ``'[T,]H,W'``.

    Examples
    --------
    >>> parse_shape('256,256'), parse_shape('4096,64x64')
    ((256, 256), (4096, 64, 64))

    """
    usage = 'positive integers H,W or T,H,W like 64,64'
    return _integers(text, (2, 3), usage)


def chunks(text: str) -> tuple[int, ...]:
    """Return ``(T, Y, X)`` of ``'T,Y,X'``."""
    return _integers(text, (3,), 'positive integers T,Y,X like 512,16,16')


def pixel(text: str) -> tuple[int, int]:
    """Return ``(y, x)`` of ``'Y,X'``."""
    try:
        y, x = (int(v) for v in text.split(','))
    except ValueError:
        msg = f'expected a pixel Y,X like 20,31; got {text!r}'
        raise _Error(msg) from None
    return y, x


def seconds_list(text: str) -> float | list[float]:
    """Return one delay or several, ``'0.01'`` or ``'0.001,0.01'``."""
    try:
        values = [float(v) for v in text.split(',')]
    except ValueError:
        msg = f'expected seconds like 0.01 or 0.001,0.01; got {text!r}'
        raise _Error(msg) from None
    return values[0] if len(values) == 1 else values


def parse_frames(text: str) -> slice | None:
    """Return the slice of ``'N'`` or ``'START:STOP'``, or None for all.

    A count N is the first N frames, ``slice(None, N)``; ``0`` and ``:``
    are all frames. Ranges are parsed by :func:`ipcf.convert.parse_frames`.

    Examples
    --------
    >>> parse_frames('256'), parse_frames('100:356'), parse_frames(':')
    (slice(None, 256, None), slice(100, 356, None), None)

    """
    text = text.strip()
    if text.isdigit():
        return slice(None, int(text)) if int(text) else None
    from .convert import parse_frames as parse_range

    try:
        frames = parse_range(text)
    except ValueError:
        msg = (
            f'expected a number of frames N or a range START:STOP '
            f'(0 or : for all); got {text!r}'
        )
        raise _Error(msg) from None
    if frames.start in {None, 0} and frames.stop is None:
        return None
    return frames


def parse_frame_count(text: str) -> int:
    """Return the count N of ``'N'`` (or of ``'0:N'`` and ``':N'``).

    Examples
    --------
    >>> parse_frame_count('4096'), parse_frame_count(':512')
    (4096, 512)

    """
    frames = parse_frames(text)
    if frames is not None and frames.start in {None, 0}:
        frames = frames.stop
    if not isinstance(frames, int):
        msg = f'expected a number of frames N here, not a range; got {text!r}'
        raise _Error(msg)
    return frames


def parse_bleach(text: str) -> str:
    """Return the normalized ``'METHOD[:PARAM]'`` of a bleach option.

    Methods are parsed by :func:`ipcf.bleach.parse_method`; a bare
    integer N is ``filter:N``, and ``filter:0`` is ``none``.

    Examples
    --------
    >>> parse_bleach('128'), parse_bleach('exp'), parse_bleach('poly')
    ('filter:128', 'exp', 'poly:2')

    """
    from .bleach import parse_method

    value = text.strip()
    if value.isdigit():
        value = f'filter:{value}'
    try:
        method, param = parse_method(value)
    except ValueError as exc:
        msg = f'{exc}, or a filter size N'
        raise _Error(msg) from None
    return method if param is None else f'{method}:{param}'


def delay_range(text: str) -> tuple[float, float]:
    """Return ``(min, max)`` delays in seconds of ``'MIN:MAX'``.

    An empty bound is 0 or the last delay (``':0.2'``).

    >>> delay_range('0:0.2'), delay_range(':0.5')
    ((0.0, 0.2), (0.0, 0.5))

    """
    low, colon, high = text.partition(':')
    try:
        values = (float(low or 0.0), float(high) if high else math.inf)
    except ValueError:
        values = ()
    if not colon or len(values) != 2 or not 0 <= values[0] < values[1]:
        msg = f'expected delays MIN:MAX in seconds like 0:0.2; got {text!r}'
        raise _Error(msg)
    return values


def parse_detrend(text: str) -> int | str:
    """Return the boxcar K or the bleach method of ``--detrend``.

    >>> parse_detrend('64'), parse_detrend('exp'), parse_detrend('poly')
    (64, 'exp', 'poly:2')

    """
    value = text.strip()
    if value.isdigit():
        if int(value) < 2:
            msg = f'expected a boxcar of K >= 2 frames; got {text!r}'
            raise _Error(msg)
        return int(value)
    from .bleach import parse_method

    try:
        method, param = parse_method(value)
    except ValueError as exc:
        msg = f'{exc}, or a boxcar of K frames'
        raise _Error(msg) from None
    if method == 'none':
        msg = f'expected a boxcar K or a bleach correction; got {text!r}'
        raise _Error(msg)
    return method if param is None else f'{method}:{param}'


# the table of options ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Option:
    """Flags and argparse keywords of one command-line option."""

    flags: tuple[str, ...]
    help: str
    type: Callable[[str], Any] | None = None
    default: Any = None
    metavar: str | None = None
    action: str | None = None
    choices: tuple[str, ...] | None = None

    def keywords(self) -> dict[str, Any]:
        """Return the keywords of ``parser.add_argument``."""
        fields = dataclasses.asdict(self)
        del fields['flags']
        return {k: v for k, v in fields.items() if v is not None}


def _flag(flags: str | tuple[str, ...], help: str) -> Option:
    flags = (flags,) if isinstance(flags, str) else flags
    return Option(flags, help, action='store_true')


OPTIONS: dict[str, Option] = {
    # every command
    'quiet': _flag('--quiet', 'no progress bars'),
    'debug': _flag('--debug', 'show tracebacks instead of one-line errors'),
    # output and runs
    'output': Option(('-o', '--output'), 'output path', metavar='PATH'),
    'overwrite': _flag('--overwrite', 'replace an existing output'),
    'resume': _flag('--resume', 'continue an interrupted run'),
    'threads': Option(
        ('--threads',),
        'threads in all (default: all usable cores)',
        type=positive_int,
        metavar='N',
    ),
    'json': _flag('--json', 'print JSON instead of a table'),
    'repeat': Option(
        ('--repeat',),
        'timings per case; the best counts',
        type=positive_int,
        default=3,
        metavar='N',
    ),
    # series
    'frames': Option(
        ('--frames',),
        'the first N frames, or START:STOP (0 or : for all)',
        type=parse_frames,
        metavar='N|START:STOP',
    ),
    'shape': Option(
        ('--shape',),
        'frame size H,W, optionally preceded by the number of frames T',
        type=parse_shape,
        metavar='[T,]H,W',
    ),
    'roi': Option(
        ('--roi',),
        'region y0:y1,x0:x1 (an empty bound is the edge, as in :,2:18), '
        'or auto to detect the cell (default: the whole frame)',
        metavar='Y0:Y1,X0:X1|auto',
    ),
    'block': Option(
        ('--block',),
        'side of a block in pixels',
        type=positive_int,
        default=64,
        metavar='PIXELS',
    ),
    'chunks': Option(
        ('--chunks',),
        'chunk shape of the store (default: 512,16,16, clipped to the data)',
        type=chunks,
        metavar='T,Y,X',
    ),
    'compression': Option(
        ('--compression',),
        'compression of the output store (default: none)',
        metavar='NAME',
    ),
    'gaps': Option(
        ('--gaps',),
        'frames missing from a numbered TIFF series or chunks missing '
        'from a zarr store: error refuses the series, ignore goes on '
        'without them',
        default='error',
        choices=('error', 'ignore'),
    ),
    'sigma': Option(
        ('--sigma',),
        'smoothing of the mean image in pixels',
        type=positive_float,
        default=2.0,
        metavar='PIXELS',
    ),
    'key': Option(
        ('--key',), 'dataset in an HDF5 or zarr source', metavar='NAME'
    ),
    'keep_border': _flag(
        '--keep-border',
        'keep objects that touch the image border (a cell cut by the frame)',
    ),
    'dtype': Option(
        ('--dtype',),
        'raw .bin source without sidecar: the dtype (default: uint16)',
        metavar='DTYPE',
    ),
    'seed': Option(
        ('--seed',),
        'random seed (default: unseeded)',
        type=nonnegative_int,
        metavar='N',
    ),
    # pCF
    'radius': Option(
        ('--radius',),
        'circle radius in pixels',
        type=positive_int,
        default=6,
        metavar='PIXELS',
    ),
    'points': Option(
        ('--points',),
        'points on the circle',
        type=positive_int,
        default=32,
        metavar='N',
    ),
    'bins': Option(
        ('--bins',),
        'logarithmic delay bins',
        type=positive_int,
        default=32,
        metavar='N',
    ),
    'dt': Option(
        ('--dt',),
        'frame interval in seconds (default: the frame_time recorded '
        'with the series, else 1)',
        type=positive_float,
        metavar='SECONDS',
    ),
    'bleach': Option(
        ('--bleach',),
        'photobleaching correction: filter[:SIZE] (a bare N is filter:N), '
        'exp, exp2, poly[:DEGREE] or none',
        type=parse_bleach,
        default='filter:1024',
        metavar='METHOD[:PARAM]',
    ),
    'mode': Option(
        ('--mode',),
        'correlation of the series',
        default='circular',
        choices=('circular', 'linear'),
    ),
    'offset': Option(
        ('--offset',),
        'camera offset in counts, subtracted from the means that '
        'normalise the curves; pixels whose mean does not exceed it give '
        'NaN',
        type=nonnegative_float,
        default=0.0,
        metavar='COUNTS',
    ),
    'engine': Option(
        ('--engine',),
        'pCF engine: auto, reference, cpu or gpu',
        default='auto',
        metavar='NAME',
    ),
    'mask': Option(
        ('--mask',),
        'image (H, W) of the centre pixels to analyse (default: all)',
        metavar='FILE',
    ),
    'neighbour': Option(
        ('--neighbour',),
        'second channel: a series like SOURCE whose pixels on the circle '
        'are correlated with the centres of SOURCE (default: SOURCE)',
        metavar='SOURCE2',
    ),
    'channel': Option(
        ('--channel',),
        'channel (C axis, from 0) of a multi-channel OME-TIFF, ImageJ '
        'hyperstack or OME-Zarr SOURCE',
        type=indices,
        metavar='C',
    ),
    'z': Option(
        ('--z',),
        'z-plane (Z axis, from 0) of a multi-plane SOURCE, and of the '
        'neighbour',
        type=indices,
        metavar='Z',
    ),
    'neighbour_channel': Option(
        ('--neighbour-channel',),
        'channel of the neighbour series: of --neighbour, else of SOURCE '
        'itself (the cross-channel pCF of two channels of one file)',
        type=nonnegative_int,
        metavar='C',
    ),
    'no_cross': _flag(
        '--no-cross',
        'with two or more channels: only the pCF of each channel, not the '
        'cross pCF of every channel pair',
    ),
    'directions': Option(
        ('--directions',),
        'with --neighbour or --neighbour-channel: forward (centres in '
        'SOURCE, circle points in the neighbour) or both (also the '
        'reverse, in the same pass)',
        default='forward',
        choices=('forward', 'both'),
    ),
    'scheduler': Option(
        ('--scheduler',),
        'threads, processes, synchronous or a scheduler address',
        default='threads',
        metavar='NAME',
    ),
    'cluster': Option(
        ('--cluster',),
        'local:N starts a local cluster of N worker processes',
        metavar='local:N',
    ),
    'workers': Option(
        ('--workers',),
        'blocks computed at once (default: 1, all threads each)',
        type=positive_int,
        metavar='N',
    ),
    # imaging FCS and N&B
    'binning': Option(
        ('--binning',),
        'sum N x N pixels before correlating (1 to 64)',
        type=positive_int,
        default=1,
        metavar='N',
    ),
    'correlator': Option(
        ('--correlator',),
        'log: log bins on the pCF engines; multipletau: multiple-tau '
        'correlator with the error of every point',
        default='log',
        choices=('log', 'multipletau'),
    ),
    'tau_channels': Option(
        ('--tau-channels',),
        'multipletau: delays per level (m), even, at least 4',
        type=positive_int,
        default=16,
        metavar='M',
    ),
    'fit': _flag(
        '--fit',
        'also fit N and D of every pixel and write them to OUTPUT_fit '
        '(needs the pixel size and the PSF radius)',
    ),
    'model': Option(
        ('--model',),
        'ACF model: 2d (focal plane) or spim (light sheet, needs --w-z)',
        default='2d',
        choices=('2d', 'spim'),
    ),
    'w_z': Option(
        ('--w-z',),
        'spim: axial 1/e² radius of the light sheet in µm',
        type=positive_float,
        metavar='UM',
    ),
    'components': Option(
        ('--components',),
        'diffusing species fitted',
        type=positive_int,
        default=1,
        choices=(1, 2),
        metavar='{1,2}',
    ),
    'fit_range': Option(
        ('--fit-range',),
        'smallest and largest delay fitted, in seconds (default: all)',
        type=delay_range,
        metavar='MIN:MAX',
    ),
    'gain': Option(
        ('--gain',),
        'counts per detected photon (1 for photon counting)',
        type=positive_float,
        default=1.0,
        metavar='G',
    ),
    'readout_variance': Option(
        ('--readout-variance',),
        'variance of a dark pixel in counts²',
        type=nonnegative_float,
        default=0.0,
        metavar='COUNTS2',
    ),
    's_factor': Option(
        ('--s-factor',),
        'slope S of the variance against the mean for constant light '
        '(default: the gain; 2 x gain for an EMCCD)',
        type=positive_float,
        metavar='S',
    ),
    'detrend': Option(
        ('--detrend',),
        'before the moments: K >= 2 frames of a boxcar, or a bleach '
        'correction of the offset-free counts (exp, exp2, poly[:DEGREE], '
        'filter:SIZE) (default: none)',
        type=parse_detrend,
        metavar='K|METHOD',
    ),
    'monomer': Option(
        ('--monomer',),
        'brightness: the monomer brightness epsilon, drawn with its '
        'dimer (default: the median epsilon is drawn)',
        type=positive_float,
        metavar='EPSILON',
    ),
    # physical units and maps
    'pixel_size': Option(
        ('--pixel-size',),
        'pixel size in µm (default: recorded with the result or series)',
        type=positive_float,
        metavar='UM',
    ),
    'psf_radius': Option(
        ('--psf-radius', '--psf', '--w'),
        '1/e² radius of the PSF in µm (default: recorded with the '
        'result or series)',
        type=positive_float,
        metavar='UM',
    ),
    'window': Option(
        ('--window',),
        'pixels averaged per side',
        type=positive_int,
        default=1,
        metavar='PIXELS',
    ),
    'threshold': Option(
        ('--threshold',),
        'significance, in multiples of the noise',
        type=positive_float,
        default=2.0,
        metavar='X',
    ),
    # STICS and iMSD
    'max_delay': Option(
        ('--max-delay',),
        'largest delay of the STICS in frames',
        type=positive_int,
        default=32,
        metavar='FRAMES',
    ),
    'max_shift': Option(
        ('--max-shift',),
        'largest spatial shift of the STICS in pixels (default: 16, '
        'less for small images or blocks)',
        type=positive_int,
        metavar='PIXELS',
    ),
    'subtract_immobile': Option(
        ('--subtract-immobile',),
        'subtract a moving average of N frames from every pixel first, '
        'removing immobile structures; N well above --max-delay '
        '(default: none)',
        type=positive_int,
        metavar='N',
    ),
    'step': Option(
        ('--step',),
        'distance in pixels between the blocks of local maps (default: '
        'the block side)',
        type=positive_int,
        metavar='PIXELS',
    ),
    # detector arrays
    'layout': Option(
        ('--layout',),
        'detector layout: square5 (5 x 5 elements, row by row) or '
        'airyscan32 (the Airyscan hexagon, as the microscope numbers it)',
        choices=('square5', 'airyscan32'),
    ),
    'positions': Option(
        ('--positions',),
        'centres x, y of the detection volumes in µm, one element per '
        'line: a CSV (or spaces) or a .npy of shape (ndet, 2)',
        metavar='FILE',
    ),
    'pitch': Option(
        ('--pitch',),
        'spacing of the detection volumes of a --layout in the sample, µm',
        type=positive_float,
        metavar='UM',
    ),
    'sample_time': Option(
        ('--sample-time',),
        'seconds per sample of a detector array',
        type=positive_float,
        metavar='SECONDS',
    ),
    # figures
    'data': Option(
        ('--data',),
        "the result's series (default: its recorded source)",
        metavar='SERIES',
    ),
    'pixel': Option(
        ('--pixel',), 'result pixel Y,X', type=pixel, metavar='Y,X'
    ),
    'point': Option(
        ('--point',),
        'circle point (default: all)',
        type=nonnegative_int,
        metavar='N',
    ),
    'delay': Option(
        ('--delay',),
        'delays in seconds (default: a few spread over the bins)',
        type=seconds_list,
        metavar='S[,S...]',
    ),
    'dpi': Option(
        ('--dpi',),
        f'resolution of raster figures, {DPI[0]} to {DPI[1]}',
        type=dpi,
        default=100,
        metavar='N',
    ),
    # simulations
    'diffusion': Option(
        ('--diffusion',),
        'diffusion coefficient in µm²/s, or D1,D2,... one per population '
        '(default: 4)',
        type=numbers,
        metavar='D[,D...]',
    ),
    'fraction': Option(
        ('--fraction',),
        'fraction of particles in each population but the last',
        type=numbers,
        metavar='F[,F...]',
    ),
    'velocity': Option(
        ('--velocity',),
        'flow velocity VX,VY in µm/s (default: 50,0)',
        type=numbers,
        metavar='VX,VY',
    ),
    'wall': Option(
        ('--wall',), 'wall shape (default: line)', choices=('line', 'ring')
    ),
    'wall_angle': Option(
        ('--wall-angle',),
        'angle of a line wall in degrees (default: 90)',
        type=float,
        metavar='DEGREES',
    ),
    'wall_radius': Option(
        ('--wall-radius',),
        'radius of a ring wall in µm',
        type=positive_float,
        metavar='UM',
    ),
    'bleach_time': Option(
        ('--bleach-time',),
        'mean time in s before a particle bleaches, 0 for none (default: '
        'none; spim: 15, the decay time of its intensity)',
        type=nonnegative_float,
        metavar='SECONDS',
    ),
    'tile': Option(
        ('--tile',),
        'side of the tiles rendered at once in pixels (default: 128)',
        type=positive_int,
        metavar='PIXELS',
    ),
    'domain': Option(
        ('--domain',),
        'confined: side of the square compartments in µm (default: 0.3)',
        type=positive_float,
        metavar='UM',
    ),
    'hop': Option(
        ('--hop',),
        'confined: chance that a step crosses a compartment wall, 0 to 1 '
        '(default: 0, confinement)',
        type=nonnegative_float,
        metavar='P',
    ),
    'alpha': Option(
        ('--alpha',),
        'anomalous: exponent of the mean square displacement, 0 to 2 '
        '(default: 0.7)',
        type=positive_float,
        metavar='A',
    ),
    'immobile_fraction': Option(
        ('--immobile-fraction',),
        'fraction of particles that do not move, 0 to 1 (default: 0.3 '
        'for immobile, else 0)',
        type=nonnegative_float,
        metavar='F',
    ),
}
"""Every option of the command line by name (its ``dest``)."""


def add(
    parser: argparse.ArgumentParser, /, *names: str, **overrides: Any
) -> None:
    """Add the options `names` of :data:`OPTIONS` to parser.

    `overrides` (``help``, ``default``, ``type``, ``action``...) apply to
    every option named; add options one by one to override them apart.

    """
    for name in names:
        option = OPTIONS[name]
        keywords = {**option.keywords(), **overrides}
        parser.add_argument(*option.flags, dest=name, **keywords)


# the names of the store formats in help texts
_FORMAT_NAMES = {'hdf5': 'HDF5', 'zarr': 'zarr'}


def add_compression(parser: argparse.ArgumentParser, /) -> None:
    """Add ``--compression`` with the names each store format takes.

    The names come from :data:`ipcf.io.stores.COMPRESSIONS`, read when
    the option is added, so that the help lists what each format takes
    here (HDF5 takes zstd only with hdf5plugin). Any name of one format
    parses; :func:`check_compression` then refuses one that the output's
    format does not take.

    """
    from .io.stores import COMPRESSIONS

    names = tuple(dict.fromkeys(n for ns in COMPRESSIONS.values() for n in ns))
    formats = []
    for kind, accepted in COMPRESSIONS.items():
        text = f'{_FORMAT_NAMES.get(kind, kind)} {", ".join(accepted)}'
        if kind == 'hdf5' and 'zstd' not in accepted:
            text += ' (zstd with hdf5plugin)'
        formats.append(text)
    add(
        parser,
        'compression',
        choices=names,
        help=f'compression of the output store: {"; ".join(formats)} '
        '(default: none)',
    )


def check_compression(
    compression: str | None, output: str | os.PathLike[str], /
) -> None:
    """Refuse a ``--compression`` that the format of output does not take.

    Examples
    --------
    >>> check_compression('lzf', 'movie.h5')
    >>> check_compression('lzf', 'movie.zarr')
    Traceback (most recent call last):
    ...
    ValueError: --compression lzf does not apply to zarr outputs ...

    """
    from ._files import file_kind
    from .io.stores import COMPRESSIONS

    kind = file_kind(output)
    if compression is None or kind not in COMPRESSIONS:
        return  # no compression, or a suffix that convert refuses
    accepted = COMPRESSIONS[kind]
    if compression in accepted:
        return
    names = ', '.join(accepted[:-1]) + f' or {accepted[-1]}'
    msg = (
        f'--compression {compression} does not apply to '
        f'{_FORMAT_NAMES.get(kind, kind)} outputs ({os.fspath(output)}); '
        f'they take {names}'
    )
    if kind == 'hdf5' and compression == 'zstd':
        msg += ' (zstd in HDF5 needs hdf5plugin: pip install hdf5plugin)'
    raise ValueError(msg)


def add_output(
    parser: argparse.ArgumentParser,
    /,
    *,
    help: str,
    default: str | None = None,
) -> None:
    """Add an optional OUTPUT and its equivalent ``-o/--output PATH``.

    Read the output with :func:`output_of`.

    """
    if default is not None:
        help = f'{help} (default: {default})'
    parser.add_argument('output_path', nargs='?', metavar='OUTPUT', help=help)
    add(parser, 'output', help='the same as OUTPUT')
    parser.set_defaults(default_output=default)


def output_of(args: argparse.Namespace, /) -> str:
    """Return the output given as OUTPUT or ``-o``, else the default.

    Examples
    --------
    >>> output_of(argparse.Namespace(output_path=None, output='a.png'))
    'a.png'

    """
    positional = getattr(args, 'output_path', None)
    option = args.output
    if positional is not None and option is not None and positional != option:
        msg = f'two outputs, {positional!r} and -o {option!r}; give one'
        raise ValueError(msg)
    output = positional or option or getattr(args, 'default_output', None)
    if output is None:
        msg = 'no output: give OUTPUT or -o OUTPUT'
        raise ValueError(msg)
    return output


def add_sources(parser: argparse.ArgumentParser, /, *, help: str) -> None:
    """Add PATH...: one or more sources, then the output unless ``-o``.

    Read them with :func:`sources_and_output`.

    """
    parser.add_argument(
        'paths',
        nargs='+',
        metavar='PATH',
        help=f'{help}, then the output unless -o gives it',
    )
    add(parser, 'output', help='the output, instead of the last PATH')


def sources_and_output(
    args: argparse.Namespace, /
) -> tuple[str | list[str], str]:
    """Return the source (one path or several) and the output.

    Examples
    --------
    >>> sources_and_output(argparse.Namespace(paths=['a', 'b'], output=None))
    ('a', 'b')
    >>> sources_and_output(argparse.Namespace(paths=['a', 'b'], output='c'))
    (['a', 'b'], 'c')

    """
    paths = list(args.paths)
    output = args.output
    if output is None:
        if len(paths) < 2:
            msg = f'no output after {paths[0]!r}: give OUTPUT or -o OUTPUT'
            raise ValueError(msg)
        output = paths.pop()
    return (paths[0] if len(paths) == 1 else paths), output


def series_shape(
    shape: Sequence[int] | None,
    frames: int | None,
    default: Sequence[int],
    /,
) -> tuple[int, int, int]:
    """Return ``(T, H, W)`` of ``--shape [T,]H,W`` and ``--frames N``.

    Examples
    --------
    >>> series_shape((64, 64), 100, (4096, 32, 32))
    (100, 64, 64)
    >>> series_shape(None, None, (4096, 32, 32))
    (4096, 32, 32)

    """
    nframes, height, width = (int(n) for n in default)
    if shape is not None:
        if len(shape) == 3:
            if frames is not None and frames != shape[0]:
                msg = (
                    f'--frames {frames} and --shape '
                    f'{",".join(map(str, shape))} disagree; give the '
                    f'frames once'
                )
                raise ValueError(msg)
            nframes = int(shape[0])
        height, width = (int(n) for n in shape[-2:])
    if frames is not None:
        nframes = int(frames)
    return nframes, height, width
