"""The iMSD command and its simulations: ``ipcf imsd``, ``ipcf simulate``.

``ipcf imsd SRC OUT`` computes the STICS of a series (or of a region of
it) and fits the iMSD model of motion to the widths of its peak; with
``--block`` it computes local maps through the blocked, resumable
pipeline instead. ``ipcf simulate confined|anomalous|immobile`` write
the series with known truth that the iMSD is checked on.

"""

from __future__ import annotations

import argparse
import math
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._options import add, add_output, output_of, series_shape
from . import (
    _SIMULATION_OPTIONS,
    _refuse_inputs,
    _require,
    _skimage_for,
    _zarr_for,
)
from ._line import LINE_SIMULATION

__all__ = [
    'COMPARTMENT_OPTIONS',
    'COMPARTMENT_SIMULATIONS',
    'MODELS',
    'add_compartment_simulation',
    'add_imsd_commands',
    'compartment_shapes',
    'simulate_compartments',
]

# the models of ipcf.imsd, here so that --help needs no numpy
MODELS = ('free', 'anomalous', 'confined', 'flow')

# the parameters of each model in the summary line, with their units
_SUMMARY = {
    'free': (('D', 'µm²/s'), ('sigma0', 'µm')),
    'anomalous': (('D', 'µm²/s^α'), ('alpha', ''), ('sigma0', 'µm')),
    'confined': (('L', 'µm'), ('tau_c', 's'), ('D', 'µm²/s')),
    'flow': (
        ('speed', 'µm/s'),
        ('direction', '°'),
        ('D', 'µm²/s'),
    ),
}

# delays of each tile's STICS that local maps keep (as ipcf.imsd)
_KEEP_STICS = 5

# pixels per side of a block of the pipeline for local maps: the
# multiple of --step nearest this, so that tiles line up across blocks
_PIPELINE_BLOCK = 64

# default (T, H, W) of each simulation and its options -> keyword
COMPARTMENT_SIMULATIONS: dict[
    str, tuple[tuple[int, int, int], dict[str, str]]
] = {
    'confined': (
        (4096, 64, 64),
        {
            'diffusion': 'diffusion',
            'domain': 'compartment',
            'hop': 'hop',
            'immobile_fraction': 'immobile',
            'bleach_time': 'bleach_time',
        },
    ),
    'anomalous': (
        (4096, 64, 64),
        {
            'diffusion': 'diffusion',
            'alpha': 'alpha',
            'immobile_fraction': 'immobile',
            'bleach_time': 'bleach_time',
        },
    ),
    'immobile': (
        (4096, 64, 64),
        {
            'diffusion': 'diffusion',
            'immobile_fraction': 'fraction',
            'bleach_time': 'bleach_time',
        },
    ),
}
# options of ipcf simulate that only these simulations take
COMPARTMENT_OPTIONS = ('domain', 'hop', 'alpha', 'immobile_fraction')


def add_imsd_commands(command: Callable[..., Any]) -> None:
    """Add ``ipcf imsd``: the iMSD of a series, or local iMSD maps."""
    p = command(
        'imsd',
        _cmd_imsd,
        'iMSD of a series from its STICS: D, alpha, L or the flow; '
        'local maps with --block',
    )
    p.add_argument(
        'path',
        metavar='SRC',
        help='the series: a file, directory or glob that ipcf opens',
    )
    add_output(p, help='result store: .h5 or .zarr')
    add(
        p,
        'model',
        default='free',
        choices=MODELS,
        help='model of motion fitted to the widths sigma2(tau): free '
        '(D), anomalous (D, alpha), confined (L, tau_c) or flow (v, D)',
    )
    add(p, 'max_delay', 'max_shift')
    add(
        p,
        'bins',
        default=None,
        help='about N delays spaced logarithmically up to --max-delay '
        '(default: every delay)',
    )
    add(p, 'subtract_immobile')
    add(
        p,
        'offset',
        help='camera offset (and constant background) in counts, '
        'subtracted from the mean that normalises the STICS',
    )
    add(
        p,
        'pixel_size',
        help='pixel size in µm (default: recorded with the series; needed)',
    )
    add(p, 'dt')
    add(p, 'roi')
    add(p, 'mask', help='image (H, W) of the pixels to use (default: all)')
    add(
        p,
        'block',
        default=None,
        help='local maps: side of the square analysed around each tile, '
        'at least 4 (default: the whole field, one iMSD)',
    )
    add(
        p,
        'step',
        help='local maps: side of the tiles, at most --block, '
        'each holding the iMSD of the block centred on it (default: '
        '--block)',
    )
    p.add_argument(
        '--keep-stics',
        type=_keep_stics,
        default=_KEEP_STICS,
        metavar='N|all|L,L,...',
        help="local maps: the delays of each tile's STICS to store for "
        'ipcf plot --kind stics --pixel Y,X: N spread from delay 0, all, '
        'or delays in frames with commas; 0 stores none',
    )
    add(p, 'channel', 'z', 'gaps')
    add(p, 'scheduler', help='local maps: ' + _help('scheduler'))
    add(p, 'threads', 'overwrite')
    add(p, 'resume', help='local maps: continue an interrupted run')


def _keep_stics(text: str) -> int | tuple[int, ...]:
    """Return the --keep-stics value: a count or delays in frames."""
    text = text.strip()
    if text == 'all':
        return sys.maxsize
    try:
        if ',' in text:
            return tuple(int(v) for v in text.split(',') if v.strip())
        return int(text)
    except ValueError:
        msg = f'{text!r} is not a count, all, or delays with commas'
        raise argparse.ArgumentTypeError(msg) from None


def _help(name: str) -> str:
    from .._options import OPTIONS

    return OPTIONS[name].help


def _cmd_imsd(args: argparse.Namespace) -> int:
    output = output_of(args)
    _refuse_inputs(output, args.path, args.mask)
    _require(*_zarr_for(args.path, output), *_skimage_for(args.roi))
    if args.block is None:
        for flag, given in (
            ('--step', args.step is not None),
            ('--resume', args.resume),
            ('--scheduler', args.scheduler != 'threads'),
            ('--keep-stics', args.keep_stics != _KEEP_STICS),
        ):
            if given:
                msg = (
                    f'{flag} applies to local maps only; add --block '
                    'PIXELS (the iMSD of the whole field is one pass)'
                )
                raise ValueError(msg)
    elif args.step is not None and args.step > args.block:
        msg = f'--step {args.step} must not exceed --block {args.block}'
        raise ValueError(msg)
    units = _imsd_units(args)
    start = time.perf_counter()
    if args.block is None:
        # one pass leaves nothing to resume: an interrupt gives no hint
        # (the command line offers --resume where args has it)
        del args.resume
        path, result = _whole_field(args, output, **units)
        summary = _summary(result)
    else:
        path = _local_maps(args, output, **units)
        from ..store import load_result

        summary = _map_summary(load_result(path, group='imsd'))
    seconds = time.perf_counter() - start
    print(f'wrote {path} in {seconds:.1f} s; {summary}')
    return 0


def _imsd_units(args: argparse.Namespace) -> dict[str, float]:
    """Return the pixel size and frame interval; refuse an unknown size."""
    from .._sources import physical_units

    units = physical_units(
        {'pixel_size': args.pixel_size, 'frame_interval': args.dt},
        args.path,
    )
    if units['pixel_size'] is None:
        msg = (
            f'--pixel-size is needed: {args.path} does not record it; '
            'give --pixel-size UM'
        )
        raise ValueError(msg)
    interval = units['frame_interval']
    return {
        'pixel_size': units['pixel_size'],
        'dt': 1.0 if interval is None else interval,
    }


def _whole_field(
    args: argparse.Namespace, output: str, *, pixel_size: float, dt: float
) -> tuple[Path, Any]:
    """Write the STICS and the iMSD of the series or its region."""
    from .. import io
    from .. import roi as _roi
    from .._sources import relative_source
    from ..imsd import imsd
    from ..stics import stics
    from ..store import provenance, save_result

    series = io.open_frames(
        args.path, gaps=args.gaps, channel=args.channel, z=args.z
    )
    _, height, width = (int(n) for n in series.shape)
    box = _roi.region(args.roi, series, block=1)
    mask = None
    if args.mask is not None:
        mask = _roi.load_mask(args.mask, (height, width))
    data, mask = _cropped(series, mask, box)
    options = {
        'max_delay': args.max_delay,
        'nbins': args.bins,
        'max_shift': args.max_shift,
        'subtract_immobile': args.subtract_immobile,
        'offset': args.offset,
        'dt': dt,
        'pixel_size': pixel_size,
    }
    start = time.perf_counter()
    correlation = _library(
        stics,
        data,
        mask=mask,
        num_threads=args.threads,
        progress=args.progress,
        **options,
    )
    # what ipcf.imsd(data, ...) computes: the fit of this STICS
    seconds = time.perf_counter() - start
    result = _library(imsd, correlation, model=args.model)
    timings = {'stics': seconds, 'fits': time.perf_counter() - start - seconds}
    source = relative_source(args.path, output)
    extra = {
        'source': source,
        'roi': list(box),
        'masked': mask is not None,
        'channel': args.channel,
        'z': args.z,
        'timings': timings,
    }
    result.attrs.update({k: v for k, v in extra.items() if v is not None})
    result['stics'] = correlation
    call = ', '.join(f'{k}={v!r}' for k, v in options.items())
    path = save_result(
        result,
        output,
        group='imsd',
        overwrite=args.overwrite,
        provenance=provenance(
            source=source,
            data=series,
            parameters={**options, 'model': args.model, 'roi': list(box)},
            call=f'ipcf.imsd(data, model={args.model!r}, {call})',
        ),
    )
    return path, result


def _cropped(series: Any, mask: Any, box: tuple[int, int, int, int]) -> Any:
    """Return the series and mask within box (a lazy view of the series)."""
    import numpy

    from ..io._lazy import ArrayView

    y0, y1, x0, x1 = box
    nframes, height, width = (int(n) for n in series.shape)
    if mask is not None:
        mask = mask[y0:y1, x0:x1]
        if not mask.any():
            msg = f'--mask selects no pixel in the region {y0}:{y1},{x0}:{x1}'
            raise ValueError(msg)
    if (y0, y1, x0, x1) == (0, height, 0, width):
        return series, mask

    def read(key: tuple[slice, slice, slice]) -> Any:
        rows = slice(y0 + key[1].start, y0 + key[1].stop)
        cols = slice(x0 + key[2].start, x0 + key[2].stop)
        return numpy.asarray(series[key[0], rows, cols])

    view = ArrayView(read, (nframes, y1 - y0, x1 - x0), series.dtype)
    return view, mask


def _library(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the library; put its keywords in the command's options."""
    try:
        return function(*args, **kwargs)
    except ValueError as exc:
        text = _options_text(str(exc))
        if text == str(exc):
            raise
        raise ValueError(text) from None


def _options_text(text: str) -> str:
    """Return a library message with keywords named as options."""
    for keyword, flag in (
        ('window', '--block'),
        ('block', '--block'),
        ('step', '--step'),
        ('max_delay', '--max-delay'),
        ('max_shift', '--max-shift'),
        ('subtract_immobile', '--subtract-immobile'),
        ('nbins', '--bins'),
        ('keep_stics', '--keep-stics'),
    ):
        text = re.sub(rf'\b{keyword}=', f'{flag} ', text)
    return text


def _local_maps(
    args: argparse.Namespace, output: str, *, pixel_size: float, dt: float
) -> Path:
    """Write local iMSD maps through the blocked pipeline."""
    from ..imsd import ImsdAnalysis
    from ..pipeline import run

    def report(stage: str, seconds: float) -> None:
        print(f'{stage:<12} {seconds:8.1f} s', flush=True)

    _require('dask')
    step = args.block if args.step is None else args.step
    analysis = _library(
        ImsdAnalysis,
        window=args.block,
        step=step,
        model=args.model,
        max_delay=args.max_delay,
        nbins=args.bins,
        max_shift=args.max_shift,
        subtract_immobile=args.subtract_immobile,
        offset=args.offset,
        pixel_size=pixel_size,
        keep_stics=args.keep_stics,
    )
    # pipeline blocks of whole tiles: tiles start at each block's corner
    block = step * max(1, round(_PIPELINE_BLOCK / step))
    return _library(
        run,
        analysis,
        [args.path],
        output,
        selections=[{'channel': args.channel, 'z': args.z}],
        dt=dt,
        bleach=None,
        roi=args.roi,
        mask=args.mask,
        block=block,
        scheduler=args.scheduler,
        num_threads=args.threads,
        resume=args.resume,
        overwrite=args.overwrite,
        progress=args.progress,
        gaps=args.gaps,
        report=report,
    )


def _summary(result: Any) -> str:
    """Return the model's parameters with their errors in one line."""
    model = result.attrs['model']
    parts = []
    for name, unit in _SUMMARY[model]:
        value = float(result[name])
        error = float(result[f'{name}_error'])
        parts.append(f'{name} {_pm(value, error)}{" " + unit if unit else ""}')
    used = int(result['used'].values.sum())
    return (
        f'{model} model: {", ".join(parts)} ({used} of '
        f'{result.sizes["delay"]} delays fitted)'
    )


def _map_summary(maps: Any) -> str:
    """Return the medians of the maps' parameters and errors."""
    import numpy

    model = maps.attrs['model']
    parts = []
    for name, unit in _SUMMARY[model]:
        value = _median(maps[name].values)
        error = _median(maps[f'{name}_error'].values)
        parts.append(f'{name} {_pm(value, error)}{" " + unit if unit else ""}')
    finite = numpy.isfinite(numpy.asarray(maps['D'].values, float))
    return (
        f'{model} model, medians of the maps: {", ".join(parts)} '
        f'({int(finite.sum())} of {finite.size} pixels fitted)'
    )


def _pm(value: float, error: float) -> str:
    """Return 'value ± error' to the error's precision."""
    if not math.isfinite(value):
        return 'nan'
    if not math.isfinite(error):
        return f'{value:.4g}'
    return f'{value:.4g} ± {error:.2g}'


def _median(values: Any) -> float:
    import numpy

    values = numpy.asarray(values, dtype=numpy.float64)
    values = values[numpy.isfinite(values)]
    return float(numpy.median(values)) if values.size else math.nan


# simulations --------------------------------------------------------------


def add_compartment_simulation(p: argparse.ArgumentParser) -> None:
    """Add the options of the confined, anomalous and immobile kinds."""
    add(p, *COMPARTMENT_OPTIONS)


def compartment_shapes() -> str:
    """Return the default shapes of these simulations for --help."""
    return ''.join(
        f'; {kind} {",".join(map(str, shape))}'
        for kind, (shape, _) in COMPARTMENT_SIMULATIONS.items()
    )


def simulate_compartments(args: argparse.Namespace) -> int:
    """Write a confined, anomalous or partly immobile simulation."""
    from .. import simulate

    kind = args.kind
    if kind not in COMPARTMENT_SIMULATIONS:
        given = next(n for n in COMPARTMENT_OPTIONS if _given(args, n))
        msg = f'{_flag(given)} applies to {_kinds_of(given)} simulations only'
        raise ValueError(msg)
    shape, accepted = COMPARTMENT_SIMULATIONS[kind]
    others = [*_SIMULATION_OPTIONS, *LINE_SIMULATION, *COMPARTMENT_OPTIONS]
    for name in others:
        if _given(args, name) and name not in accepted:
            msg = f'{_flag(name)} does not apply to {kind!r} simulations'
            if name in COMPARTMENT_OPTIONS:
                msg += f'; it applies to {_kinds_of(name)} only'
            raise ValueError(msg)
    options: dict[str, Any] = {'seed': args.seed, 'progress': args.progress}
    for name, keyword in accepted.items():
        value = getattr(args, name)
        if value is None:
            continue
        if name == 'diffusion':
            if len(value) != 1:
                msg = f'--diffusion: {kind} simulates one coefficient'
                raise ValueError(msg)
            value = value[0]
        if name == 'bleach_time':
            value = value or None  # 0: no bleaching
        if name in {'hop', 'immobile_fraction'} and value > 1:
            msg = f'{_flag(name)} {value:g} must be <= 1'
            raise ValueError(msg)
        options[keyword] = value
    options['shape'] = series_shape(args.shape, args.frames, shape)
    output = output_of(args)
    _require(*_zarr_for(output))
    sim = getattr(simulate, kind)(**options)
    sim.save(output, overwrite=args.overwrite)
    print(f'wrote {output} {sim.data.shape} {sim.data.dtype}')
    return 0


def _given(args: argparse.Namespace, name: str) -> bool:
    return getattr(args, name, None) is not None


def _flag(name: str) -> str:
    return '--' + name.replace('_', '-')


def _kinds_of(name: str) -> str:
    """Return the simulations that take an option, as text."""
    kinds = [
        k for k, (_, keys) in COMPARTMENT_SIMULATIONS.items() if name in keys
    ]
    return ', '.join(kinds)
