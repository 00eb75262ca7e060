"""The imaging FCS and N&B commands: ``ipcf acf``, ``ipcf nb``, maps."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._options import (
    add,
    add_sources,
    sources_and_output,
)
from . import (
    _cluster_workers,
    _no_context,
    _refuse_inputs,
    _require,
    _skimage_for,
    _units,
    _zarr_for,
)

# imaging FCS and N&B ----------------------------------------------------

# groups of imaging FCS and N&B results in a store
_FCS_GROUPS = ('acf', 'fcs', 'nb')


def add_fcs_commands(command: Callable[..., Any]) -> None:
    """Add ``ipcf acf`` and ``ipcf nb`` to the parser."""
    p = command('acf', _cmd_acf, 'blocked imaging FCS: the ACF of every pixel')
    add_sources(p, help='the series: a file, directory, glob or files')
    add(p, 'bins', help='log correlator: logarithmic delay bins')
    add(p, 'binning', 'correlator', 'tau_channels', 'dt')
    add(
        p,
        'offset',
        help='camera offset (and constant background) per pixel in '
        'counts, subtracted from the means that normalise the curves',
    )
    add(
        p,
        'bleach',
        default='none',
        help='photobleaching correction: exp, exp2, poly[:DEGREE], '
        'filter[:SIZE] (a bare N is filter:N) or none',
    )
    add(p, 'roi', 'mask')
    add(p, 'block', help='result pixels (binned pixels) per block side')
    add(p, 'channel', 'z', 'engine', 'gaps')
    add(p, 'scheduler', 'cluster', 'workers', 'threads', 'resume', 'overwrite')
    add(p, 'fit')
    add(p, 'pixel_size', 'psf_radius', help='--fit: as for ipcf maps')
    add(p, 'model', 'w_z', 'components', 'fit_range')

    p = command(
        'nb', _cmd_nb, 'blocked number and brightness (N&B) maps of a series'
    )
    add_sources(p, help='the series: a file, directory, glob or files')
    add(
        p,
        'offset',
        help='detector offset in counts, the mean of a dark pixel',
    )
    add(p, 'gain', 'readout_variance', 's_factor', 'detrend', 'dt')
    add(p, 'roi', 'mask')
    add(p, 'block', help='result pixels per block side')
    add(p, 'channel', 'z', 'gaps')
    add(p, 'scheduler', 'cluster', 'workers', 'threads', 'resume', 'overwrite')


def _cmd_acf(args: argparse.Namespace) -> int:
    from ..fcs import AcfAnalysis

    source, output = sources_and_output(args)
    analysis = AcfAnalysis(
        nbins=args.bins,
        binning=args.binning,
        offset=args.offset,
        correlator=args.correlator,
        channels=args.tau_channels,
        engine=args.engine,
    )
    fit_output = None
    units = None
    if args.fit:
        fit_output = _beside(output, 'fit')
        _refuse_inputs(fit_output, source)
        _check_fit_options(args)
        # the fit needs units: refuse now, not after the whole ACF
        units = _units(
            args.pixel_size,
            args.psf_radius,
            source,
            named=source,
            needed=' for --fit',
        )
    else:
        _refuse_fit_options(args)
    path = _run_blocked(args, analysis, source, output, bleach=args.bleach)
    print(f'wrote {path}')
    if fit_output is None or units is None:
        return 0
    return _write_fit(
        path,
        fit_output,
        args,
        pixel_size=units['pixel_size'],
        psf_radius=units['psf_radius'],
    )


def _cmd_nb(args: argparse.Namespace) -> int:
    from ..brightness import NbAnalysis
    from ..store import load_result

    source, output = sources_and_output(args)
    analysis = NbAnalysis(
        offset=args.offset,
        gain=args.gain,
        readout_variance=args.readout_variance,
        s_factor=args.s_factor,
        detrend=args.detrend,
    )
    # the detrending acts on the offset-free counts, inside the analysis
    path = _run_blocked(args, analysis, source, output, bleach=None)
    nb = load_result(path, group=analysis.name)
    medians = ', '.join(
        f'{key} {_median(nb[key].values):.4g}'
        for key in ('B_app', 'epsilon', 'n')
    )
    print(f'wrote {path}; medians: {medians}')
    return 0


def _run_blocked(
    args: argparse.Namespace,
    analysis: Any,
    source: Any,
    output: str,
    *,
    bleach: str | None,
) -> Path:
    """Run an analysis through the blocked pipeline, as ``analyze`` does."""
    from .._binned import run_acf
    from ..pipeline import run

    def report(stage: str, seconds: float) -> None:
        print(f'{stage:<12} {seconds:8.1f} s', flush=True)

    distributed = args.cluster is not None or args.scheduler not in {
        'threads',
        'processes',
        'synchronous',
    }
    _require(
        'dask',
        *(['distributed'] if distributed else []),
        *_zarr_for(source, output),
        *_skimage_for(args.roi),
    )
    options = {
        'dt': args.dt,
        'bleach': bleach,
        'roi': args.roi,
        'mask': args.mask,
        'block': args.block,
        'scheduler': args.scheduler,
        'cluster': args.cluster,
        'num_workers': args.workers,
        'num_threads': args.threads,
        'resume': args.resume,
        'overwrite': args.overwrite,
        'progress': args.progress,
        'gaps': args.gaps,
        'report': report,
    }
    workers = _cluster_workers(args.quiet) if distributed else _no_context()
    with workers:
        if analysis.name == 'acf':
            # binned pixels run on a binned view of the series
            return run_acf(
                analysis,
                source,
                output,
                channel=args.channel,
                z=args.z,
                **options,
            )
        selections = [{'channel': args.channel, 'z': args.z}]
        return run(
            analysis, [source], output, selections=selections, **options
        )


def _beside(output: str | os.PathLike[str], what: str) -> Path:
    """Return OUTPUT_what with the suffix of output, beside it."""
    path = Path(output)
    return path.with_name(f'{path.stem}_{what}{path.suffix}')


def _check_fit_options(args: argparse.Namespace) -> None:
    """Refuse a model without what it needs before any work."""
    if args.model == 'spim' and args.w_z is None:
        msg = '--model spim needs --w-z UM, the axial 1/e² radius'
        raise ValueError(msg)
    if args.model != 'spim' and args.w_z is not None:
        msg = '--w-z applies to --model spim only'
        raise ValueError(msg)


def _fit_options_given(args: argparse.Namespace) -> list[str]:
    """Return the flags of the fit options given on the command line."""
    given = []
    if args.model != '2d':
        given.append('--model')
    if args.w_z is not None:
        given.append('--w-z')
    if args.components != 1:
        given.append('--components')
    if args.fit_range is not None:
        given.append('--fit-range')
    return given


def _refuse_fit_options(args: argparse.Namespace) -> None:
    given = _fit_options_given(args)
    if given:
        msg = f'{given[0]} applies to --fit only; add --fit'
        raise ValueError(msg)


def refuse_acf_options(args: argparse.Namespace) -> None:
    """Refuse options of ACF fits for the maps of a pCF result."""
    given = _fit_options_given(args)
    if given:
        msg = (
            f'{given[0]} applies to ACF results (of ipcf acf) only; '
            f'{args.result} holds a pCF result'
        )
        raise ValueError(msg)


def fcs_group(path: Any) -> str | None:
    """Return the imaging FCS or N&B group of a store, None for others."""
    from ..store import result_groups

    if not isinstance(path, str | os.PathLike):
        return None
    groups = result_groups(path)
    if 'pcf' in groups:
        return None
    return next((g for g in _FCS_GROUPS if g in groups), None)


def write_fcs_maps(args: argparse.Namespace, output: str) -> int:
    """Write the N and D maps of a stored ACF (``ipcf maps``)."""
    from .._sources import source_of
    from ..store import load_result

    group = fcs_group(args.result)
    if group != 'acf':
        kind = 'N&B maps' if group == 'nb' else 'fitted N and D maps'
        msg = (
            f'{args.result} holds {kind} already; draw them with '
            'ipcf plot --kind maps'
        )
        raise ValueError(msg)
    if args.window != 1 or args.threshold != 2.0:
        flag = '--window' if args.window != 1 else '--threshold'
        msg = f'{flag} applies to pCF results only'
        raise ValueError(msg)
    _check_fit_options(args)
    acf = load_result(args.result, group='acf')
    units = _units(
        args.pixel_size,
        args.psf_radius,
        acf.attrs,
        source_of(acf, args.result),
        named=args.result,
    )
    return _write_fit(
        args.result,
        output,
        args,
        pixel_size=units['pixel_size'],
        psf_radius=units['psf_radius'],
        acf=acf,
    )


def _write_fit(
    acf_path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    args: argparse.Namespace,
    /,
    *,
    pixel_size: float | None,
    psf_radius: float | None,
    acf: Any = None,
) -> int:
    """Fit a stored ACF and write the N and D maps (group ``fcs``)."""
    from .._sources import relative_source, source_of
    from ..fcs import fit_acf
    from ..store import load_result, provenance, save_result

    if acf is None:
        acf = load_result(acf_path, group='acf')
    fit_range = args.fit_range
    if fit_range is not None and not math.isfinite(fit_range[1]):
        fit_range = (fit_range[0], float(acf['delay'].values.max()))
    fit = fit_acf(
        acf,
        pixel_size=pixel_size,
        w=psf_radius,
        model=args.model,
        components=args.components,
        w_z=args.w_z,
        fit_range=fit_range,
    )
    # what the maps came from, as seen from where they are written
    fit.attrs['acf_store'] = relative_source(acf_path, output)
    series = source_of(acf, acf_path)
    if series is not None:
        fit.attrs['source'] = relative_source(series, output)
    options = {
        'pixel_size': pixel_size,
        'w': psf_radius,
        'model': args.model,
        'components': args.components,
        'w_z': args.w_z,
        'fit_range': fit_range,
    }
    call = ', '.join(f'{k}={v!r}' for k, v in options.items())
    path = save_result(
        fit,
        output,
        group='fcs',
        overwrite=args.overwrite,
        provenance=provenance(
            source=fit.attrs['acf_store'],
            parameters={k: v for k, v in options.items() if v is not None},
            call=f'ipcf.fit_acf(acf, {call})',
        ),
    )
    fitted = int(fit['D'].notnull().sum())
    print(
        f'wrote {path}; medians over {fitted} pixels: '
        f'N {_median(fit["N"].values):.4g}, '
        f'D {_median(fit["D"].values):.4g} µm²/s'
    )
    return 0


def _median(values: Any) -> float:
    """Return the median of the finite values, NaN if there are none."""
    import numpy

    values = numpy.asarray(values, dtype=numpy.float64)
    values = values[numpy.isfinite(values)]
    return float(numpy.median(values)) if values.size else math.nan
