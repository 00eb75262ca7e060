"""Line scans and detector arrays: ``ipcf line``, ``ipcf detectors``.

``ipcf line SRC OUT`` computes the pCF carpet of a line scan block by
block into a store; ``ipcf detectors SRC OUT`` the pCF of every pair of
elements of a detector array (and, with ``--fit``, D and w of their
distance groups). ``ipcf simulate line`` and ``ipcf simulate detectors``
write the simulations they are checked on, the truth in the file.

"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import Any

from .._options import (
    OPTIONS,
    add,
    add_output,
    output_of,
)
from . import _SIMULATION_OPTIONS, _require, _zarr_for

# line scans --------------------------------------------------------------

# options of ipcf simulate that only line scans take -> line_scan keyword
_LINE_OPTIONS = {
    'line_time': 'line_time',
    'pixel_time': 'pixel_time',
    'barrier': 'barrier',
    'crossing': 'crossing',
    'psf_radius': 'psf_radius',
}
# ... that only detector arrays take -> detector_array keyword
_ARRAY_OPTIONS = {
    'layout': 'positions',
    'positions': 'positions',
    'pitch': 'pitch',
    'sample_time': 'sample_time',
    'psf_radius': 'psf_radius',
}
# the kinds of ipcf simulate written here, with their options
SIMULATIONS = {'line': _LINE_OPTIONS, 'detectors': _ARRAY_OPTIONS}
# the kinds in messages: '--pitch applies to detector simulations only'
_KIND_NAMES = {'line': 'line', 'detectors': 'detector'}
# every option of ipcf simulate that only these kinds take -> keyword
LINE_SIMULATION = {**_LINE_OPTIONS, **_ARRAY_OPTIONS}
# default samples of ipcf simulate detectors
_ARRAY_FRAMES = 65536


def add_line_commands(command: Callable[..., Any]) -> None:
    """Add ``ipcf line`` and ``ipcf detectors``."""
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
    add_detector_command(command)


def add_detector_command(command: Callable[..., Any]) -> None:
    """Add ``ipcf detectors``: the pCF of the pairs of a detector array."""
    p = command(
        'detectors',
        _cmd_detectors,
        'pCF of every pair of elements of a detector array (and a fit of '
        'D and w)',
    )
    p.add_argument(
        'path',
        metavar='SRC',
        help='the counts (T, ndet): a .npy, an HDF5 or zarr dataset, a '
        'TIFF of one page (T, ndet) or of frames (T, 1, ndet), or any '
        'series ipcf opens (frames of H x W elements are taken row by '
        'row)',
    )
    add_output(p, help='result store: .h5, .zarr or .nc')
    add(
        p,
        'layout',
        help='detector layout: square5 (5 x 5, row by row) or airyscan32 '
        '(default: the positions the file records)',
    )
    add(p, 'pitch', help='spacing of the --layout in µm (default: recorded)')
    add(p, 'positions')
    add(p, 'bins')
    add(
        p,
        'dt',
        help='seconds per sample (default: the sample_time or frame '
        'interval recorded with the data, else 1)',
    )
    add(p, 'mode', 'engine', 'key', 'channel', 'z', 'threads')
    add(
        p,
        'fit',
        help='also fit D and w to the distance groups (free diffusion), '
        'store the fit and print it',
    )
    add(
        p,
        'psf_radius',
        help='--fit: the 1/e² radius of the detection volumes in µm, fixed '
        '(default: fitted)',
    )
    add(p, 'overwrite')


def _cmd_detectors(args: argparse.Namespace) -> int:
    from .._sources import relative_source
    from ..detectors import fit_detectors, pcf_detectors, read_detectors
    from ..store import provenance, save_result
    from . import _refuse_inputs

    output = output_of(args)
    _refuse_inputs(output, args.path, args.positions)
    _require(*_zarr_for(args.path, output))
    if args.psf_radius is not None and not args.fit:
        msg = '--psf-radius applies to --fit'
        raise ValueError(msg)
    if args.layout is not None and args.positions is not None:
        msg = 'give --layout or --positions, not both'
        raise ValueError(msg)
    if args.pitch is not None and args.layout is None:
        msg = '--pitch applies to a --layout; --positions are in µm'
        raise ValueError(msg)
    counts, metadata = read_detectors(
        args.path, key=args.key, channel=args.channel, z=args.z
    )
    positions, pitch = _array_positions(args, metadata)
    dt = args.dt if args.dt is not None else _sample_time(metadata)
    options = {
        'pitch': pitch,
        'nbins': args.bins,
        'dt': dt,
        'mode': args.mode,
        'engine': args.engine,
    }
    result = pcf_detectors(
        counts, positions, num_threads=args.threads, **options
    )
    fit = None
    if args.fit:
        fit = fit_detectors(result, w=args.psf_radius)
        result = with_fit(result, fit)
    source = relative_source(args.path, output)
    result.attrs['source'] = source
    shown = args.layout or ('file' if args.positions else 'recorded')
    parameters = {'positions': shown, **options}
    if fit is not None:
        parameters['fit_w'] = args.psf_radius
    call = ', '.join(f'{k}={v!r}' for k, v in parameters.items())
    path = save_result(
        result,
        output,
        group='detectors',
        overwrite=args.overwrite,
        provenance=provenance(
            source=source,
            data=counts,
            parameters=parameters,
            call=f'ipcf.detectors.pcf_detectors(counts, {call})',
        ),
    )
    nframes, ndet = (int(n) for n in counts.shape)
    print(
        f'wrote {path}: {ndet} detectors, {result.attrs["frames"]} of '
        f'{nframes} samples of {dt:g} s, {result.sizes["group"]} distance '
        'groups'
    )
    if fit is not None:
        print(fit_summary(fit))
    return 0


def with_fit(result: Any, fit: dict[str, Any], /) -> Any:
    """Return the detector pCF with its fit: ``fit`` curves and attrs.

    The fitted model is the variable ``fit`` ``(group, delay)``, NaN in
    the groups not fitted; the attrs ``fit_diffusion`` (µm²/s),
    ``fit_diffusion_error``, ``fit_w`` (µm), ``fit_w_error`` (absent
    where w was fixed), ``fit_w_fixed``, ``fit_amplitude``, ``fit_cost``
    and ``fit_groups`` hold the rest.

    """
    import numpy

    curves = numpy.full(result['grouped'].shape, numpy.nan, numpy.float32)
    curves[fit['groups']] = fit['model']
    out = result.assign(fit=(('group', 'delay'), curves))
    attrs = {
        'fit_diffusion': float(fit['diffusion']),
        'fit_diffusion_error': float(fit['diffusion_error']),
        'fit_w': float(fit['w']),
        'fit_w_fixed': fit['w_error'] is None,
        'fit_amplitude': float(fit['amplitude']),
        'fit_cost': float(fit['cost']),
        'fit_groups': [int(g) for g in fit['groups']],
    }
    if fit['w_error'] is not None:
        attrs['fit_w_error'] = float(fit['w_error'])
    out.attrs = {**result.attrs, **attrs}
    return out


def fit_summary(fit: dict[str, Any], /) -> str:
    """Return D and w of a detector fit with their errors, in one line.

    >>> fit_summary({'diffusion': 10.71, 'diffusion_error': 0.05,
    ...              'w': 0.1955, 'w_error': None, 'groups': [1, 2]})
    'D = 10.71 ± 0.05 µm²/s, w = 0.1955 µm (fixed), 2 distance groups'

    """
    w = f'w = {fit["w"]:.4g} µm'
    if fit['w_error'] is None:
        w += ' (fixed)'
    else:
        w = f'w = {fit["w"]:.4g} ± {fit["w_error"]:.2g} µm'
    return (
        f'D = {fit["diffusion"]:.4g} ± {fit["diffusion_error"]:.2g} µm²/s, '
        f'{w}, {len(fit["groups"])} distance groups'
    )


def _array_positions(
    args: argparse.Namespace, metadata: dict[str, Any]
) -> tuple[Any, float | None]:
    """Return the positions (or a preset) and its pitch of the command."""
    if args.positions is not None:
        from ..detectors import read_positions

        return read_positions(args.positions), None
    if args.layout is not None:
        pitch = args.pitch
        if pitch is None and metadata.get('preset') == args.layout:
            pitch = metadata.get('pitch')
        if not isinstance(pitch, int | float) or pitch <= 0:
            msg = (
                f'--layout {args.layout} needs --pitch UM: {args.path} '
                'records none'
            )
            raise ValueError(msg)
        return args.layout, float(pitch)
    recorded = metadata.get('positions')
    if recorded is None:
        msg = (
            f'{args.path} records no detector positions; give --layout '
            'NAME --pitch UM or --positions FILE'
        )
        raise ValueError(msg)
    return recorded, None


def _sample_time(metadata: dict[str, Any]) -> float:
    """Return the seconds per sample that metadata record, else 1."""
    for name in ('sample_time', 'frame_interval', 'frame_time', 'dt'):
        value = metadata.get(name)
        if isinstance(value, int | float) and value > 0:
            return float(value)
    return 1.0


def add_line_simulation(p: argparse.ArgumentParser) -> None:
    """Add the options of ``simulate line`` and ``simulate detectors``."""
    from .._options import nonnegative_float, positive_float

    for flag, kind, text in (
        ('--line-time', positive_float, 'line: seconds between scans'),
        ('--pixel-time', positive_float, 'line: pixel dwell in seconds'),
        ('--barrier', nonnegative_float, 'line: a wall at UM along it'),
        ('--crossing', nonnegative_float, 'line: chance to cross the wall'),
    ):
        p.add_argument(flag, type=kind, help=text, metavar=flag[2:].upper())
    add(
        p,
        'psf_radius',
        help='line, detectors: 1/e² radius of the spot (of each detection '
        'volume) in µm (default: 0.25; detectors 0.2)',
    )
    add(p, 'layout', help='detectors: the layout (default: airyscan32)')
    add(p, 'positions', help='detectors: ' + OPTIONS['positions'].help)
    add(
        p,
        'pitch',
        help='detectors: spacing of a --layout in µm (default: 0.05)',
    )
    add(
        p, 'sample_time', help='detectors: seconds per sample (default: 1e-05)'
    )
    # the kinds of this module among the choices of the simulation
    for action in p._actions:
        if action.dest == 'kind' and action.choices is not None:
            action.choices = [*action.choices, 'detectors']


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
    """Write a simulated line scan or detector array as (T, 1, X)."""
    from .. import simulate

    accepted = SIMULATIONS.get(args.kind, {})
    for name in LINE_SIMULATION:
        if getattr(args, name) is not None and name not in accepted:
            kinds = ' and '.join(
                _KIND_NAMES[k] for k, o in SIMULATIONS.items() if name in o
            )
            msg = f'{_flag(name)} applies to {kinds} simulations only'
            raise ValueError(msg)
    what = 'line' if args.kind == 'line' else 'detector array'
    for name in _SIMULATION_OPTIONS:
        if name != 'diffusion' and getattr(args, name) is not None:
            msg = f'{_flag(name)} does not apply to {what} simulations'
            raise ValueError(msg)
    if args.diffusion is not None and len(args.diffusion) != 1:
        msg = f'--diffusion: a {what} simulation takes one coefficient'
        raise ValueError(msg)
    if args.kind == 'detectors':
        return _simulate_detectors(args)
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
        options['diffusion'] = args.diffusion[0]
    for name, keyword in _LINE_OPTIONS.items():
        if getattr(args, name) is not None:
            options[keyword] = getattr(args, name)
    output = output_of(args)
    _require(*_zarr_for(output))
    sim = simulate.line_scan(**options)
    # one line per frame: what ipcf line and ipcf.pcf_line read
    path = sim.save(output, overwrite=args.overwrite)
    nscans, width = sim.data.shape
    print(f'wrote {path} {(nscans, 1, width)} {sim.data.dtype}')
    return 0


def _simulate_detectors(args: argparse.Namespace) -> int:
    """Write a simulated detector array: counts (T, 1, ndet), the truth."""
    from .. import simulate

    if args.shape is not None:
        msg = '--shape does not apply to detector simulations; give --frames'
        raise ValueError(msg)
    if args.layout is not None and args.positions is not None:
        msg = 'give --layout or --positions, not both'
        raise ValueError(msg)
    if args.positions is not None and args.pitch is not None:
        msg = '--pitch applies to a --layout; --positions are in µm'
        raise ValueError(msg)
    options: dict[str, Any] = {
        'frames': _ARRAY_FRAMES if args.frames is None else args.frames,
        'seed': args.seed,
        'progress': args.progress,
    }
    if args.diffusion is not None:
        options['diffusion'] = args.diffusion[0]
    if args.positions is not None:
        from ..detectors import read_positions

        options['positions'] = read_positions(args.positions)
    elif args.layout is not None:
        options['positions'] = args.layout
    for name in ('pitch', 'sample_time', 'psf_radius'):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    output = output_of(args)
    _require(*_zarr_for(output))
    sim = simulate.detector_array(**options)
    path = sim.save(output, overwrite=args.overwrite)
    nframes, ndet = sim.data.shape
    truth = sim.truth
    print(
        f'wrote {path} {(nframes, 1, ndet)} {sim.data.dtype}: {ndet} '
        f'detectors, D {truth["diffusion"]:g} µm²/s, w '
        f'{truth["psf_radius"]:g} µm, {truth["sample_time"]:g} s per sample'
    )
    return 0


def _flag(name: str) -> str:
    """Return the command-line flag of an option's name."""
    return '--' + name.replace('_', '-')
