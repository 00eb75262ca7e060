"""Out-of-core analysis: overlapping pixel blocks on dask, stored resumably.

:func:`run` computes any analysis of an image series (or of two series,
for the cross-channel pCF) block by block. The result grid is split into
square blocks of pixels; each block is read with all its frames and the
halo the analysis asks for, corrected for photobleaching and handed to
the analysis, so it equals the same pixels of the whole image's result.
Blocks run as dask tasks on threads, processes or a dask.distributed
cluster; each finished block is recorded at once
(:class:`ipcf.store.BlockRecord`), so an interrupted run continues where
it stopped (``resume=True``). When every block is done, the result is
written to the store (:class:`ipcf.store.ResultWriter`) under a
temporary name and renamed: an output that exists is complete.

An analysis is an object with

``name``
    Its group in the store (``'pcf'``).
``halo``
    Input pixels ``(hy, hx)`` needed around a block of result pixels.
``nchannels``
    Number of input series (1, or 2 with a neighbour channel).
``min_frames``
    Fewest frames it analyses (after the bleach correction).
``check_shape(height, width)``
    Raise ValueError if images of that size cannot be analysed.
``plan(nframes)``
    What to compute for a series of `nframes` frames (picklable).
``parameters()``
    Its options, JSON-serializable, for provenance and resuming.
``schema(plan, grid, origin, *, dt, **attrs)``
    The :class:`ipcf.store.Schema` of the whole result: variables whose
    dims start with ``('y', 'x')`` are assembled from the blocks.
``compute(channels, plan, mask, *, num_threads)``
    The variables of one block from its inputs with the halo.
``pulls_rows`` (optional, default False)
    True if `compute` takes lazy ``(T, H, W)`` inputs that its engine
    pulls rows from and every variable it returns starts with
    ``(y, x)``: neighbouring blocks are then computed as one area (up to
    :data:`_GROUP_PIXELS`), whose rows are read and bleach-corrected a
    slab at a time as the engine asks for them, so the halo is read once
    per area and memory does not grow with it. Each block is still
    recorded on its own.

:func:`analyze` runs :class:`ipcf.pcf.PcfAnalysis`; later analyses plug
in the same way and get blocks, masks, ROI, bleach correction, resume,
schedulers and clusters without pipeline code of their own.

"""

from __future__ import annotations

import inspect
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy

from ._utils import number_threads, progress_bar
from ._validate import (
    check_any,
    check_bool,
    check_choice,
    check_int,
    check_mask,
    check_positive,
    check_string,
)
from ._workspace import Workspace

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ['analyze', 'plan_blocks', 'run']

_LOCAL_SCHEDULERS = ('threads', 'processes', 'synchronous')


def analyze(
    source: Any,
    output: str | os.PathLike[str],
    /,
    *,
    channel: int | Sequence[int] | None = None,
    z: int | Sequence[int] | None = None,
    cross: bool = True,
    neighbour: Any = None,
    neighbour_channel: int | None = None,
    directions: str = 'forward',
    radius: int = 6,
    npoints: int | None = 32,
    nbins: int = 32,
    dt: float | None = None,
    bleach: str | None = 'filter:1024',
    roi: str | tuple[int, int, int, int] | None = None,
    mask: ArrayLike | str | os.PathLike[str] | None = None,
    block: int = 64,
    mode: str = 'circular',
    offset: float = 0.0,
    engine: str = 'auto',
    scheduler: str = 'threads',
    cluster: str | None = None,
    num_workers: int | None = None,
    num_threads: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    group: str = 'pcf',
    gaps: str = 'error',
    report: Callable[[str, float], None] | None = None,
) -> Path:
    """Compute the pCF of an image series block by block into a store.

    Parameters
    ----------
    source : str, path, list of paths or array_like, shape (T, H, W)
        Image series: anything :func:`ipcf.io.open_series` opens, or an
        array-like. Paths are reopened by each worker, so processes and
        clusters never receive the data itself.
    output : str or path-like
        Result store, ``.h5`` or ``.zarr``; read it with
        :func:`ipcf.load_result`.
    channel, z : int, sequence of int or None, optional
        The channels and z-planes of a multi-dimensional file (OME-TIFF,
        ImageJ hyperstack, OME-Zarr, the microscope formats) to analyse,
        as for :func:`ipcf.io.open_series`: None (default) for all of
        them, an index for one, a list for several. Every selected plane
        is analysed on its own (a 2-D pCF per plane, see Notes for the
        layout); with two or more channels, each channel's pCF and the
        cross pCF of every ordered pair of channels (see `cross`). One
        channel and one plane give the plain layout of a single series,
        as before. With `neighbour` or `neighbour_channel`, `channel`
        and `z` must be single indices where the file has those axes;
        `z` then selects the plane of the neighbour too. Each block
        reopens the same selection.
    cross : bool, optional, default: True
        With two or more channels and no `neighbour_channel`, also the
        cross pCF of every ordered channel pair (both directions of a
        pair from one pass). False gives each channel's own pCF only.
        Ignored with one channel.
    neighbour : str, path, list of paths or array_like, optional
        A second channel of the same shape for the cross-channel pCF:
        centres from `source`, circle neighbours from `neighbour`. Each
        channel is bleach-corrected on its own.
    neighbour_channel : int, optional
        The channel of the neighbour series: of `neighbour` where given,
        else of `source` itself, so that ``channel=0,
        neighbour_channel=1`` is the cross-channel pCF of two channels
        of one file.
    directions, radius, npoints, nbins, mode, offset, engine :
        As for :func:`ipcf.pcf_image`. `offset` is the camera offset in
        counts, subtracted from the means that normalise the curves
        (after the photobleaching correction); pixels whose mean does not
        exceed it give NaN.
    dt : float, optional
        Frame interval in seconds; default from the source's metadata
        (``frame_time``) or 1.
    bleach : str or None, optional, default: 'filter:1024'
        Photobleaching correction ``METHOD[:param]`` (see
        :func:`ipcf.bleach.parse_method`); ``None`` or ``'none'`` for
        none. The correction runs per pixel on all frames before the
        series is truncated to a power of two.
    roi : (y0, y1, x0, x1), 'y0:y1,x0:x1', 'auto' or None, optional
        Region of the input to analyse (:func:`ipcf.roi.region`);
        ``'auto'`` detects the cell. Result coordinates stay in input
        pixels.
    mask : array_like of bool, shape (H, W), or path, optional
        Centre pixels to analyse; the others are NaN, and blocks without
        any cost nothing.
    block : int, optional, default: 64
        Result pixels per block side: each block is recorded on its own
        (``resume`` continues from the blocks recorded). With the cpu
        engine, neighbouring blocks of up to 256 x 192 result pixels are
        computed together: the engine pulls their rows, with the halo of
        the radius and all frames, a slab of about 256 MB at a time, so
        that the halo is read once per such area. The other engines get
        each block whole.
    scheduler : str, optional, default: 'threads'
        ``'threads'``, ``'processes'``, ``'synchronous'``, or the address
        of a dask.distributed scheduler (``'tcp://host:8786'``).
    cluster : str, optional
        ``'local:N'`` starts a dask.distributed LocalCluster of N worker
        processes for this run (overrides `scheduler`).
    num_workers : int, optional
        Blocks computed at once on a local scheduler; default 1, so each
        block uses every thread.
    num_threads : int, optional
        Threads in all; each worker's engine gets its share.
    resume : bool, optional, default: False
        Continue an interrupted run with the same parameters.
    overwrite : bool, optional, default: False
        Replace an existing output and discard an interrupted run.
    progress : bool, optional, default: False
        Show a progress bar over blocks.
    group : str, optional, default: 'pcf'
        Analysis group in the store.
    gaps : {'error', 'ignore'}, optional, default: 'error'
        What to do with frames missing from a numbered TIFF series or
        chunks missing from a zarr store (see
        :func:`ipcf.io.open_series`): refuse, or go on without them.
    report : callable, optional
        Called as ``report(stage, seconds)`` after each stage.

    Returns
    -------
    pathlib.Path
        The output store.

    Raises
    ------
    FileExistsError
        If `output` exists (without `overwrite`), or an interrupted run
        exists and neither `resume` nor `overwrite` is given.
    ValueError
        If an option is out of range, or `resume` finds a run with other
        parameters or another input.

    Notes
    -----
    **Channels and planes.** Of a series of one channel and one plane
    (or a selection of one of each) the result is that of
    :func:`ipcf.pcf_image`: dims ``('y', 'x', 'point', 'delay')``, and
    ``attrs['channel']`` and ``attrs['z']`` record a selection. A file
    of several channels or planes gives, in the same ``pcf`` variable:

    - several planes: a leading ``z`` dim, ``('z', 'y', 'x', ...)``,
      whose coordinate holds the planes' indices in the file; each plane
      is analysed as an image of its own (a circle in the plane, not the
      sphere of a volume pCF, so no ``w`` coordinate);
    - several channels with `cross`: dims ``channel`` and
      ``neighbour_channel`` after ``x``, ``(['z',] 'y', 'x', 'channel',
      'neighbour_channel', 'point', 'delay')``: centres in ``channel``,
      circle points in ``neighbour_channel``. The diagonal holds each
      channel's own pCF, ``result.sel(channel=0, neighbour_channel=1)``
      the cross pCF from channel 0 toward channel 1 and ``(1, 0)`` the
      reverse. Coordinates hold the channels' indices in the file and,
      where the file names them, ``channel_name`` and
      ``neighbour_channel_name``;
    - several channels without `cross`: a ``channel`` dim only.

    ``attrs['channel']`` and ``attrs['z']`` then list the selected
    indices, ``attrs['cross']`` says whether the pairs were computed.
    ``result.sel(z=k, channel=c, neighbour_channel=d)`` is a result of
    the plain layout, for :func:`ipcf.maps` and the plots. Each channel
    is bleach-corrected on its own, plane by plane. Blocks are keyed by
    plane and pixel block and hold every selected channel and pair, so
    an interrupted run resumes across planes.

    Examples
    --------
    >>> import tempfile, ipcf
    >>> data = numpy.random.default_rng(0).poisson(100, (64, 20, 20))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = analyze(data, f'{tmp}/r.h5', radius=2, npoints=8,
    ...                    nbins=8, bleach=None, block=8)
    ...     blocked = ipcf.load_result(path)
    >>> whole = ipcf.pcf_image(data, radius=2, npoints=8, nbins=8)
    >>> bool(numpy.allclose(blocked, whole, atol=1e-6))
    True

    Every channel and plane of an OME-TIFF of 2 channels and 3 planes:

    >>> import tifffile
    >>> stack = numpy.random.default_rng(1).poisson(
    ...     100, (64, 2, 3, 12, 12)).astype('uint16')
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     tifffile.imwrite(f'{tmp}/cell.ome.tif', stack, ome=True,
    ...                      metadata={'axes': 'TCZYX'})
    ...     path = analyze(f'{tmp}/cell.ome.tif', f'{tmp}/r.h5', radius=2,
    ...                    npoints=8, nbins=8, bleach=None)
    ...     result = ipcf.load_result(path)
    >>> result.dims
    ('z', 'y', 'x', 'channel', 'neighbour_channel', 'point', 'delay')
    >>> result.shape
    (3, 8, 8, 2, 2, 8, 7)

    """
    from .pcf import PcfAnalysis

    pcf_options = {
        'radius': radius,
        'npoints': npoints,
        'nbins': nbins,
        'mode': mode,
        'offset': offset,
        'engine': engine,
    }
    run_options = {
        'dt': dt,
        'bleach': bleach,
        'roi': roi,
        'mask': mask,
        'block': block,
        'scheduler': scheduler,
        'cluster': cluster,
        'num_workers': num_workers,
        'num_threads': num_threads,
        'resume': resume,
        'overwrite': overwrite,
        'progress': progress,
        'group': group,
        'gaps': gaps,
        'report': report,
    }
    cross = check_bool(cross, 'cross')
    if neighbour is None and neighbour_channel is None:
        labelled = _labelled(source, channel, z, gaps)
        if labelled is not None:
            return _analyze_planes(
                labelled,
                output,
                cross=cross,
                directions=directions,
                pcf_options=pcf_options,
                run_options=run_options,
            )
    channel = _single(channel, 'channel')
    z = _single(z, 'z')
    analysis = PcfAnalysis(
        **pcf_options,
        cross=neighbour is not None or neighbour_channel is not None,
        directions=directions,
    )
    sources = [source]
    selections = [{'channel': channel, 'z': z}]
    if neighbour is not None or neighbour_channel is not None:
        sources.append(source if neighbour is None else neighbour)
        selections.append({'channel': neighbour_channel, 'z': z})
    return run(analysis, sources, output, selections=selections, **run_options)


def _analyze_planes(
    labelled: Any,
    output: str | os.PathLike[str],
    *,
    cross: bool,
    directions: str,
    pcf_options: dict[str, Any],
    run_options: dict[str, Any],
) -> Path:
    """Analyse every selected channel and plane of a labelled series."""
    from .pcf import DIRECTIONS, PcfAnalysis, PcfChannelsAnalysis

    channels = labelled.channel_indices
    planes = labelled.plane_indices
    sizes = labelled.sizes
    path = labelled.source
    check_choice(directions, 'directions', DIRECTIONS)
    several = len(channels) > 1
    if directions == 'both' and not (several and cross):
        msg = (
            "directions='both' needs a second channel; pass neighbour=, "
            'or analyse two or more channels with cross=True'
        )
        raise ValueError(msg)
    analysis: Any
    if several:
        names = labelled.metadata.channels
        analysis = PcfChannelsAnalysis(
            channels,
            names=[names[c] for c in channels]
            if len(names) == sizes['C']
            else None,
            cross=cross,
            **pcf_options,
        )
    else:
        analysis = PcfAnalysis(**pcf_options)
    # each input names its channel; a single plane is part of the
    # selection, several go one by one
    selections = []
    for c in channels:
        select = {'channel': c} if sizes['C'] > 1 else {}
        if len(planes) == 1 and sizes['Z'] > 1:
            select['z'] = planes[0]
        selections.append(select)
    return run(
        analysis,
        [path] * len(channels),
        output,
        selections=selections,
        planes=list(planes) if len(planes) > 1 else None,
        **run_options,
    )


def _labelled(source: Any, channel: Any, z: Any, gaps: str) -> Any:
    """Return the labelled series of several channels or planes, or None.

    None where the source (with the selection) is one channel and one
    plane, or is not a file: the plain single-series run handles it and
    reports any error of the source in its own order.
    """
    from . import io as _io

    if isinstance(source, _io.Series):
        if source.ndim == 3 or not _is_path_like(source.source):
            return None
        channel = _within(channel, source.channel_indices, 'channel')
        z = _within(z, source.plane_indices, 'z')
        labelled = _io.open_series(
            source.source, channel=channel, z=z, gaps=gaps
        )
    elif _is_path_like(source):
        if _is_many(channel) or _is_many(z):
            # lists select several: their errors are the run's
            labelled = _io.open_series(source, channel=channel, z=z, gaps=gaps)
        elif channel is not None and z is not None:
            return None
        else:
            try:
                labelled = _io.open_series(
                    source, channel=channel, z=z, gaps=gaps
                )
            except (OSError, ValueError, TypeError):
                return None
    else:
        return None
    return None if labelled.ndim == 3 else labelled


def _within(value: Any, indices: tuple[int, ...], name: str) -> Any:
    """Return a selection among a series' indices (None: all of them)."""
    if value is None:
        return list(indices)
    values = list(value) if _is_many(value) else [value]
    for item in values:
        if check_int(item, name, minimum=0) not in indices:
            msg = f"{name}={item} is not among the series' {list(indices)}"
            raise ValueError(msg)
    return value


def _is_many(value: Any) -> bool:
    return isinstance(value, list | tuple | range)


def _single(value: Any, name: str) -> Any:
    """Return the one index of a selection of one; refuse several."""
    if not _is_many(value):
        return value
    if len(value) != 1:
        msg = (
            f'{name}={list(value)!r}: with neighbour= or '
            f'neighbour_channel=, give one index (or leave '
            f'neighbour_channel= out for the pCF of every channel pair)'
        )
        raise ValueError(msg)
    return value[0]


def run(
    analysis: Any,
    sources: Sequence[Any],
    output: str | os.PathLike[str],
    /,
    *,
    selections: Sequence[dict[str, int | None]] | None = None,
    planes: Sequence[int] | None = None,
    dt: float | None = None,
    bleach: str | None = 'filter:1024',
    roi: str | Sequence[int] | None = None,
    mask: ArrayLike | str | os.PathLike[str] | None = None,
    block: int = 64,
    scheduler: str = 'threads',
    cluster: str | None = None,
    num_workers: int | None = None,
    num_threads: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    group: str | None = None,
    gaps: str = 'error',
    report: Callable[[str, float], None] | None = None,
    stages: Any = None,
) -> Path:
    """Run an analysis over blocks of one or two series into a store.

    Parameters
    ----------
    analysis : object
        An analysis as the module docstring describes, e.g.
        :class:`ipcf.pcf.PcfAnalysis`.
    sources : sequence
        One series per input channel of the analysis (see
        :func:`analyze`); all of one shape.
    selections : sequence of dict, optional
        For each source, the options ``'channel'`` and ``'z'`` of
        :func:`ipcf.io.open_series` (None for the whole series); each
        block reopens the source with them. Recorded in the result
        (``channel``, ``z``, ``neighbour_channel``), and a resumed run
        must select the same. An analysis of several channels of one
        file (:class:`ipcf.pcf.PcfChannelsAnalysis`) records them as
        the list ``channel``.
    planes : sequence of int, optional
        The z-planes of path sources to analyse one by one (indices in
        the file): each block of each plane reopens every source with
        its selection and ``z=`` that plane. Variables whose dims start
        with ``('y', 'x')`` gain a leading ``z`` dim (coordinate: these
        indices), ``attrs['z']`` lists them, and block keys start with
        the plane's position, so a resumed run continues across planes.
    output, dt, bleach, roi, mask, block, scheduler, cluster, \
num_workers, num_threads, resume, overwrite, progress, gaps, report :
        As for :func:`analyze`.
    group : str, optional
        Group in the store; default the analysis' name.
    stages : ipcf._stages.StageTimes, optional
        Gets the seconds of each stage of the blocks (``read``,
        ``bleach``, ``compute`` and the cpu engine's steps in it,
        ``write``) and of the ``store``, for benchmarks; local schedulers
        and analyses of the pCF of one channel
        (:class:`ipcf.pcf.PcfAnalysis`) only. None (default) times
        nothing.

    Returns
    -------
    pathlib.Path
        The output store.

    """
    from . import bleach as _bleach
    from . import io as _io
    from . import roi as _roi
    from ._files import OutputLock, check_not_input, store_kind
    from ._sources import relative_source
    from .store import (
        DIRECT_WRITES,
        BlockRecord,
        ResultWriter,
        fingerprint,
        provenance,
    )

    start = time.perf_counter()
    # every check comes before anything is created on disk
    output = Path(output)
    check_not_input(output, list(sources))
    store_kind(output)
    if len(sources) != analysis.nchannels:
        msg = (
            f'the analysis reads {analysis.nchannels} series; '
            f'{len(sources)} were given'
        )
        raise ValueError(msg)
    if selections is None:
        selections = [{} for _ in sources]
    selections = [
        {k: v for k, v in dict(select).items() if v is not None}
        for select in selections
    ]
    if len(selections) != len(sources):
        msg = (
            f'{len(selections)} selections were given for '
            f'{len(sources)} series'
        )
        raise ValueError(msg)
    if planes is not None:
        planes = _check_planes(planes, sources, selections)
    # the first plane stands for all: shape, ROI, fingerprint
    first = [{'z': planes[0]} if planes else {} for _ in sources]
    series = [
        _io.open_frames(s, gaps=gaps, **select, **more)
        for s, select, more in zip(sources, selections, first, strict=True)
    ]
    shape = tuple(int(n) for n in series[0].shape)
    for other in series[1:]:
        if tuple(int(n) for n in other.shape) != shape:
            msg = (
                f'the series have different shapes: {shape} and '
                f'{tuple(other.shape)}'
            )
            raise ValueError(msg)
    nframes, height, width = shape
    block = check_int(block, 'block', minimum=1)
    cluster_workers = _parse_cluster(cluster)
    check_string(scheduler, 'scheduler')
    if num_workers is not None:
        num_workers = check_int(num_workers, 'num_workers', minimum=1)
    threads = number_threads(num_threads)
    if dt is None:
        dt = _frame_time(sources[0])
    dt = check_positive(dt, 'dt')
    method, param = _bleach.parse_method(bleach)
    dropped = _bleach.frames_dropped(method, param)
    remaining = nframes - dropped
    if remaining < analysis.min_frames:
        msg = f'the series has {nframes} frames'
        if dropped:
            msg += (
                f' and the {method}:{param} bleach correction drops '
                f'{dropped} of them'
            )
        msg += f'; at least {analysis.min_frames} must remain'
        raise ValueError(msg)
    plan = analysis.plan(remaining)
    box = _roi.region(roi, series[0], block=block)
    y0, y1, x0, x1 = box
    hy, hx = analysis.halo
    try:
        analysis.check_shape(y1 - y0, x1 - x0)
    except ValueError as exc:
        msg = f'roi {y0}:{y1},{x0}:{x1}: {exc}'
        raise ValueError(msg) from None
    full_mask = _resolve_mask(mask, height, width)
    if full_mask is not None:
        check_any(full_mask[y0 + hy : y1 - hy, x0 + hx : x1 - hx])
    grid = (y1 - y0 - 2 * hy, x1 - x0 - 2 * hx)
    blocks = plan_blocks(grid, block)
    if planes:
        # a block of a plane is keyed by the plane's index in the file
        blocks = [(z, *spec) for z in planes for spec in blocks]

    described = [relative_source(s, output) for s in sources]
    attrs = {
        'frames_total': nframes,
        'bleach': f'{method}:{param}' if method != 'none' else 'none',
        'roi': list(box),
        'block': block,
        'source': described[0],
        'source_fingerprint': fingerprint(series[0]),
    }
    for option, value in selections[0].items():
        attrs[option] = value
    channels = _file_channels(analysis)
    if channels is not None:
        # inputs are channels of one file, listed by the analysis
        if 'channel' in selections[0]:
            attrs['channel'] = list(channels)
    elif len(sources) > 1:
        attrs['neighbour'] = described[1]
        attrs['neighbour_fingerprint'] = fingerprint(series[1])
        if 'channel' in selections[1]:
            attrs['neighbour_channel'] = selections[1]['channel']
    if planes:
        attrs['z'] = list(planes)
    params = {
        **analysis.parameters(),
        'dt': dt,
        'frames': plan.nframes,
        **attrs,
        'mask_fingerprint': _mask_fingerprint(full_mask),
    }
    schema = analysis.schema(plan, grid, (y0 + hy, x0 + hx), dt=dt, **attrs)
    if planes:
        schema = _by_plane(schema, planes)
    # HDF5 results are written block by block where they are published;
    # worker processes record theirs for the main process to copy in
    direct = store_kind(output) == 'hdf5' and DIRECT_WRITES
    in_process = cluster_workers is None and scheduler in (
        'threads',
        'synchronous',
    )
    _check_space(schema, output, resume=resume, once=direct and in_process)
    chunks = (min(block, 64), min(block, 64))
    position = {z: k for k, z in enumerate(planes or ())}
    with OutputLock(output):
        if resume:
            _check_selection(output, params)
        record = BlockRecord(
            output, params, resume=resume, overwrite=overwrite
        )
        made = provenance(
            source=described[0],
            parameters=params,
            call=_call(analysis, described, output, params),
        )
        writer = None
        if direct:
            try:
                writer = ResultWriter(
                    output,
                    schema,
                    group=group or analysis.name,
                    overwrite=overwrite,
                    provenance=made,
                    partial=record.partial,
                    direct=True,
                    resume=not record.created,
                )
            except BaseException:
                if record.created:
                    record.remove()
                raise
            if not writer.resumed:
                record.forget_marks()
        try:
            return _run_and_store(
                analysis,
                output,
                record,
                writer,
                blocks=blocks,
                sources=sources,
                selections=selections,
                series=series,
                planes=planes,
                position=position,
                plan=plan,
                box=box,
                method=method,
                param=param,
                full_mask=full_mask,
                schema=schema,
                scheduler=scheduler,
                cluster=cluster_workers,
                num_workers=num_workers,
                threads=threads,
                progress=progress,
                in_process=in_process,
                gaps=gaps,
                stages=stages,
                report=report,
                chunks=chunks,
                group=group,
                overwrite=overwrite,
                store_provenance=made,
                start=start,
            )
        finally:
            if writer is not None:
                writer.close()


def _run_and_store(
    analysis: Any,
    output: Path,
    record: Any,
    writer: Any,
    *,
    blocks: list[tuple[int, ...]],
    sources: Sequence[Any],
    selections: list[dict],
    series: list[Any],
    planes: Any,
    position: dict[int, int],
    plan: Any,
    box: tuple[int, int, int, int],
    method: str,
    param: Any,
    full_mask: Any,
    schema: Any,
    scheduler: str,
    cluster: int | None,
    num_workers: int | None,
    threads: int,
    progress: bool,
    in_process: bool,
    gaps: str,
    stages: Any,
    report: Any,
    chunks: tuple[int, int],
    group: str | None,
    overwrite: bool,
    store_provenance: Any,
    start: float,
) -> Path:
    """Run the blocks not yet done, then publish the result store.

    With a direct `writer` (HDF5) blocks computed in this process go
    straight into the partial store; those of worker processes come as
    record files and are copied in at the end. Otherwise (zarr) every
    block is a record file and the store is written from them.
    """
    from .store import ResultWriter

    timings = {'prepare': time.perf_counter() - start}
    _step(report, 'prepare', start)

    # the result records this run's stage times; a resumed run its
    # own, with the blocks that were done before
    start = time.perf_counter()
    # paths travel with their selection; other sources as opened
    task_sources = [
        (s, select) if _is_path_like(s) else (d, {})
        for s, select, d in zip(sources, selections, series, strict=True)
    ]
    todo = [
        (spec, _plane_sources(task_sources, spec, planes))
        for spec in blocks
        if not record.done(spec)
    ]
    if getattr(analysis, 'pulls_rows', False) and todo:
        side = max(max(spec[-2:]) for spec in blocks)
        tasks = _group_blocks(todo, side)
    else:
        tasks = [([spec], sources) for spec, sources in todo]
    options = {
        'analysis': analysis,
        'plan': plan,
        'bleach': (method, param),
        'box': box,
        'record': record,
        # only threads of this process share the open store
        'writer': writer if in_process else None,
        'position': position,
        # names this run for the readers kept open by its threads
        'run': f'{os.getpid()}:{time.time_ns()}',
        'gaps': gaps,
        'stages': stages,
    }
    try:
        _run_blocks(
            tasks,
            full_mask,
            options,
            scheduler=scheduler,
            cluster=cluster,
            num_workers=num_workers,
            threads=threads,
            total=len(blocks),
            done=len(blocks) - len(todo),
            progress=progress,
        )
    except (ValueError, TypeError):
        # bad data (NaN in a block, say): a rerun would fail the same
        # way, so a run that started the record leaves nothing behind
        if record.created:
            record.remove()
        raise
    timings[f'{analysis.name} blocks'] = time.perf_counter() - start
    if len(todo) < len(blocks):
        timings['resumed_blocks'] = len(blocks) - len(todo)
    schema.attrs['timings'] = timings
    _step(report, f'{analysis.name} blocks', start)

    start = time.perf_counter()
    if writer is not None:
        for spec in blocks:
            if record.saved(spec):
                _store_block(writer, spec, record.load(spec), position)
        writer.commit(attrs=schema.attrs)
    else:
        with ResultWriter(
            output,
            schema,
            group=group or analysis.name,
            chunks=chunks,
            overwrite=overwrite,
            provenance=store_provenance,
        ) as out:
            for spec in blocks:
                _store_block(out, spec, record.load(spec), position)
    record.remove()
    _step(report, 'store', start)
    if stages is not None:
        stages.add('store', time.perf_counter() - start)
    return output


def _check_planes(
    planes: Any, sources: Sequence[Any], selections: list[dict]
) -> list[int]:
    """Return the checked z indices of a run by planes."""
    if not _is_many(planes) or not planes:
        msg = f'planes={planes!r} is not a non-empty list of z indices'
        raise ValueError(msg)
    planes = [check_int(z, 'planes', minimum=0) for z in planes]
    if len(set(planes)) != len(planes):
        msg = f'planes={planes!r} repeats a plane'
        raise ValueError(msg)
    for source, select in zip(sources, selections, strict=True):
        if not _is_path_like(source):
            msg = (
                'planes= needs sources that are files (they are reopened '
                f'plane by plane); got a {type(source).__name__}'
            )
            raise TypeError(msg)
        if 'z' in select:
            msg = 'planes= and a selection with z= exclude each other'
            raise ValueError(msg)
    return planes


def _plane_sources(
    sources: list[tuple[Any, dict]], spec: tuple[int, ...], planes: Any
) -> list[tuple[Any, dict]]:
    """Return the (source, options) of a block: with its plane, if any."""
    if not planes:
        return sources
    return [(s, {**select, 'z': spec[0]}) for s, select in sources]


def _by_plane(schema: Any, planes: list[int]) -> Any:
    """Return the schema with a leading z dim on the blocked variables."""
    import dataclasses

    from .store import Schema

    variables = {}
    for key, var in schema.variables.items():
        if var.dims[:2] == ('y', 'x'):
            var = dataclasses.replace(
                var,
                dims=('z', *var.dims),
                shape=(len(planes), *var.shape),
            )
        variables[key] = var
    coords = {'z': (('z',), numpy.asarray(planes, dtype=numpy.intp))}
    coords.update(schema.coords)
    return Schema(
        variables,
        coords=coords,
        attrs=schema.attrs,
        name=schema.name,
        coord_attrs=schema.coord_attrs,
    )


def _check_selection(output: Path, params: dict[str, Any]) -> None:
    """Refuse a resumed run of other channels or planes, saying so."""
    from ._utils import jsonable
    from .store import BlockRecord

    previous = BlockRecord.previous(output)
    if previous is None:
        return
    now = jsonable({k: params.get(k) for k in ('channel', 'z')})
    then = {k: previous.get(k) for k in ('channel', 'z')}
    if now == then:
        return
    msg = (
        f'cannot resume {str(output)!r}: the interrupted run used other '
        f'parameters: it analysed {_selection_text(then)}, this one '
        f'{_selection_text(now)}; pass channel= and z= to select as it did'
    )
    raise ValueError(msg)


def _selection_text(selection: dict[str, Any]) -> str:
    """Return 'channel 0, z-planes 0, 1' for a recorded selection."""
    words = []
    for key, name in (('channel', 'channel'), ('z', 'z-plane')):
        value = selection.get(key)
        if value is None:
            words.append(f'every {name}')
        elif isinstance(value, list):
            listed = ', '.join(str(v) for v in value)
            words.append(f'{name}s {listed}')
        else:
            words.append(f'{name} {value}')
    return ' and '.join(words)


def _check_space(
    schema: Any, output: Path, *, resume: bool, once: bool
) -> None:
    """Refuse a result that cannot fit in the output's file system.

    The store needs the result once and, unless blocks go straight into
    it (`once`), the block records once more; a resumed run has part of
    them already and is not checked.

    """
    from ._files import check_free_space

    if resume:
        return
    need = sum(
        math.prod(v.shape) * numpy.dtype(v.dtype).itemsize
        for v in schema.variables.values()
    )
    if once:
        check_free_space(output, need, what='the result')
    else:
        check_free_space(
            output, 2 * need, what='the result and its block records'
        )


def _store_block(
    writer: Any,
    spec: tuple[int, ...],
    values: dict[str, Any] | None,
    position: dict[int, int],
) -> None:
    """Write one block's values (None: the fill value) into a store."""
    y, x, ny, nx = spec[-4:]
    z = position[spec[0]] if position else None
    if values is not None:
        writer.write(values, y=y, x=x, z=z)
    elif writer.direct:
        writer.fill(ny, nx, y=y, x=x, z=z)


def _save_block(
    spec: tuple[int, ...], values: Any, options: dict[str, Any]
) -> None:
    """Put a finished block into the partial store, or into a record."""
    writer = options.get('writer')
    record = options['record']
    if writer is None:
        record.save(spec, values)
        return
    _store_block(writer, spec, values, options['position'])
    writer.sync()
    record.mark(spec)


def plan_blocks(
    grid: tuple[int, int], block: int, /
) -> list[tuple[int, int, int, int]]:
    """Return ``(y, x, ny, nx)`` of the blocks that tile a result grid.

    >>> plan_blocks((5, 3), 2)
    [(0, 0, 2, 2), (0, 2, 2, 1), (2, 0, 2, 2), (2, 2, 2, 1), (4, 0, 1, 2), \
(4, 2, 1, 1)]

    """
    ny, nx = grid
    return [
        (y, x, min(block, ny - y), min(block, nx - x))
        for y in range(0, ny, block)
        for x in range(0, nx, block)
    ]


class _BlocksDone(NamedTuple):
    """What a block task returns: blocks recorded and its seconds."""

    count: int
    seconds: float


_GROUP_PIXELS = (256, 192)
"""Result rows and columns of the blocks computed at once by analyses
that pull rows: the halo of a larger area is a smaller share of it."""


def _group_blocks(
    todo: list[tuple[tuple[int, ...], Any]], side: int
) -> list[tuple[list[tuple[int, ...]], Any]]:
    """Return the (spec, sources) tasks as (specs, sources) groups.

    Blocks of one plane within a tile of about :data:`_GROUP_PIXELS`
    result pixels form a group.

    >>> todo = [((y, x, 2, 2), None) for y in (0, 2) for x in (0, 2)]
    >>> [len(specs) for specs, _ in _group_blocks(todo, 2)]
    [4]
    """
    ny = max(1, _GROUP_PIXELS[0] // side) * side
    nx = max(1, _GROUP_PIXELS[1] // side) * side
    groups: dict[tuple[int, ...], tuple[list[tuple[int, ...]], Any]] = {}
    for spec, sources in todo:
        key = (*spec[:-4], spec[-4] // ny, spec[-3] // nx)
        groups.setdefault(key, ([], sources))[0].append(spec)
    return list(groups.values())


def _compute_block(
    specs: list[tuple[int, ...]],
    sources: list[tuple[Any, dict[str, int]]],
    mask: numpy.ndarray | None,
    num_threads: int,
    options: dict[str, Any],
) -> _BlocksDone:
    """Analyse blocks of (source, open_series options) and record each.

    Each spec is ``(y, x, ny, nx)``, or ``(z, y, x, ny, nx)`` of a run by
    planes (whose sources then carry ``z=``); the blocks of one call
    share their plane. Several blocks are computed as the one area that
    covers them (analyses that pull rows, whose variables all start with
    ``(y, x)``), then recorded one by one.
    """
    from ._stages import timed

    start = time.perf_counter()
    stages = options.get('stages')
    analysis = options['analysis']
    plan = options['plan']
    hy, hx = analysis.halo
    y0, _, x0, _ = options['box']
    live = []
    for spec in specs:
        by, bx, ny, nx = spec[-4:]
        centres = (
            None
            if mask is None
            else mask[
                y0 + by + hy : y0 + by + ny + hy,
                x0 + bx + hx : x0 + bx + nx + hx,
            ]
        )
        if centres is None or centres.any():
            live.append(spec)
        else:
            _save_block(spec, None, options)
    if not live:
        return _BlocksDone(len(specs), time.perf_counter() - start)
    uy0 = min(spec[-4] for spec in live)
    ux0 = min(spec[-3] for spec in live)
    uy1 = max(spec[-4] + spec[-2] for spec in live)
    ux1 = max(spec[-3] + spec[-1] for spec in live)
    rows = slice(y0 + uy0, y0 + uy1 + 2 * hy)
    cols = slice(x0 + ux0, x0 + ux1 + 2 * hx)
    block_mask = None if mask is None else mask[rows, cols]
    method, param = options['bleach']
    pulled = getattr(analysis, 'pulls_rows', False)
    buffers = _BlockBuffers.acquire() if pulled else None
    try:
        channels = []
        for index, (source, select) in enumerate(sources):
            with timed(stages, 'read'):
                series = _block_reader(source, select, options)
            if pulled:
                channels.append(
                    _CorrectedRows(
                        series,
                        rows,
                        cols,
                        plan.nframes,
                        (method, param),
                        num_threads=num_threads,
                        buffers=(buffers, f'channel {index}'),
                        stages=stages,
                    )
                )
            else:
                channels.append(
                    _read_block(series, rows, cols, options, num_threads)
                )
        timing = {} if stages is None else {'stages': stages}
        with timed(stages, 'compute'):
            values = analysis.compute(
                channels, plan, block_mask, num_threads=num_threads, **timing
            )
    finally:
        if buffers is not None:
            buffers.release()
    with timed(stages, 'write'):
        for spec in live:
            by, bx, ny, nx = spec[-4:]
            part = values
            if (by, bx, ny, nx) != (uy0, ux0, uy1 - uy0, ux1 - ux0):
                where = (
                    slice(by - uy0, by - uy0 + ny),
                    slice(bx - ux0, bx - ux0 + nx),
                )
                part = {name: v[where] for name, v in values.items()}
            _save_block(spec, part, options)
    return _BlocksDone(len(specs), time.perf_counter() - start)


def _read_block(
    series: Any, rows: slice, cols: slice, options: dict, num_threads: int
) -> numpy.ndarray:
    """Return a block of a series with all frames, bleach-corrected."""
    from . import bleach as _bleach
    from ._stages import timed

    stages = options.get('stages')
    method, param = options['bleach']
    with timed(stages, 'read'):
        pixels = numpy.asarray(series[:, rows, cols])
    if method != 'none':
        with timed(stages, 'bleach'):
            pixels = _bleach.correct(
                pixels, method=method, param=param, num_threads=num_threads
            )
    return pixels


class _CorrectedRows:
    """A block of a series, read and bleach-corrected as an engine pulls it.

    Sliced like a ``(nframes, H, W)`` array by the engine's row reader
    (:class:`ipcf._rows.RowReader`), which reads a slab of rows at a
    time: each slab is read with every frame of the series, corrected,
    and only its first `nframes` frames are kept. A block then needs the
    memory of a slab, not of its pixels, and its rows are corrected
    once, as the engine first needs them.
    """

    def __init__(
        self,
        series: Any,
        rows: slice,
        cols: slice,
        nframes: int,
        bleach: tuple[str, int | None],
        *,
        num_threads: int,
        buffers: tuple[Any, str],
        stages: Any = None,
    ) -> None:
        self.series = series
        self.buffers, self.name = buffers
        self.y0, self.x0 = int(rows.start), int(cols.start)
        height = int(rows.stop) - self.y0
        width = int(cols.stop) - self.x0
        self.shape = (int(nframes), height, width)
        self.dtype = numpy.dtype(series.dtype).newbyteorder('=')
        self.bleach = bleach
        self.num_threads = num_threads
        self.stages = stages
        # sums of whole rows over the frames served, as the filter gives
        # them: the engine then skips its own pass for the means
        self._sums = numpy.zeros((height, width))
        self._summed = numpy.zeros(height, bool)
        # slabs end on the series' chunk rows if the block starts on one
        chunks = getattr(series, 'chunks', None)
        self.chunks = None
        if chunks is not None and self.y0 % int(chunks[1]) == 0:
            self.chunks = tuple(chunks)

    def read_direct(
        self,
        array: numpy.ndarray,
        source_sel: tuple[slice, slice, slice],
        dest_sel: tuple[slice, ...] | None = None,
    ) -> None:
        """Fill ``array[dest_sel]`` with the rows and columns of source_sel.

        As h5py's ``read_direct``, into a C-ordered `array` (`dest_sel`
        selects whole frames and columns, and rows); the frames written
        are the first ``len(array)`` of the block, whatever source_sel
        says. Rows are read and corrected a few at a time, so that the
        raw samples of all frames need little memory.
        """
        if not array.flags.c_contiguous:
            # as h5py; the kernels vectorize on C-ordered arrays only
            msg = 'read_direct needs a C-contiguous array'
            raise TypeError(msg)
        _, rows, cols = source_sel
        y0, y1, _ = rows.indices(self.shape[1])
        x0, x1, _ = cols.indices(self.shape[2])
        row = 0
        if dest_sel is not None:
            row = dest_sel[1].indices(array.shape[1])[0]
        start = time.perf_counter()
        self._correct_rows(array, row, y0, y1, x0, x1)
        if self.stages is not None:
            # inside the engine's time: benchmarks take it out again
            self.stages.add('pulled', time.perf_counter() - start)

    def _correct_rows(
        self, out: numpy.ndarray, row: int, y0: int, y1: int, x0: int, x1: int
    ) -> None:
        """Correct rows y0..y1, columns x0..x1 into out[:, row:]."""
        from ._stages import timed
        from .bleach import _correct_head

        method, param = self.bleach
        whole = (x0, x1) == (0, self.shape[2]) and len(out) == self.shape[0]
        exact = self.dtype.kind in 'ui'
        nframes = self.series.shape[0]
        direct = hasattr(self.series, 'read_direct')  # h5py
        # groups of rows that end on the series' chunk rows; other
        # sources (TIFF files, say) are read once for all the rows
        step = self.chunks[1] if self.chunks else 1
        row_bytes = nframes * (x1 - x0) * self.dtype.itemsize
        count = max(step, _RAW_BYTES // row_bytes)
        count -= count % step
        if not direct:
            count = y1
        r0 = y0
        while r0 < y1:
            r1 = min(y1, (r0 // count + 1) * count)
            selection = numpy.s_[
                :, self.y0 + r0 : self.y0 + r1, self.x0 + x0 : self.x0 + x1
            ]
            with timed(self.stages, 'read'):
                if direct:
                    shape = (nframes, r1 - r0, x1 - x0)
                    name = f'{self.name} raw'
                    raw = self.buffers.array(name, shape, self.dtype)
                    self.series.read_direct(raw, selection)
                else:
                    raw = numpy.asarray(self.series[selection])
                    raw = numpy.ascontiguousarray(raw, dtype=self.dtype)
            with timed(self.stages, 'bleach'):
                sums = numpy.empty(raw.shape[1:]) if whole and exact else None
                if _correct_head(
                    raw, out, method, param, num_threads=self.num_threads,
                    sums=sums, row=row + r0 - y0,
                ):  # fmt: skip
                    self._sums[r0:r1] = sums
                    self._summed[r0:r1] = True
            r0 = r1

    def slab_buffer(
        self, shape: tuple[int, ...], dtype: numpy.dtype
    ) -> numpy.ndarray | None:
        """Lend a row reader a C-ordered buffer for its slabs, or None.

        The same buffer serves the next block: fresh pages are slow to
        touch first.
        """
        if numpy.dtype(dtype) != self.dtype:
            return None
        return self.buffers.array(f'{self.name} slab', shape, self.dtype)

    def pixel_means(self, y0: int, y1: int) -> numpy.ndarray | None:
        """Return the float64 means of rows y0..y1 if read already, else None.

        Exact sums of integer samples divided by the frame count: what an
        engine's own pass over the rows would give, bit for bit.
        """
        if not self._summed[y0:y1].all():
            return None
        return self._sums[y0:y1] / self.shape[0]

    def __getitem__(self, key: tuple[slice, slice, slice]) -> numpy.ndarray:
        frames, rows, cols = key
        y0, y1, _ = rows.indices(self.shape[1])
        x0, x1, _ = cols.indices(self.shape[2])
        values = numpy.empty((self.shape[0], y1 - y0, x1 - x0), self.dtype)
        self.read_direct(values, (frames, rows, cols))
        return values[frames]


_RAW_BYTES = 64 * 2**20
"""Bytes of raw samples, with all frames, read at a time for a block."""


class _BlockBuffers(Workspace):
    """The buffers of the rows that blocks read, reused by the next block."""


_READERS = threading.local()
"""Each thread's open readers of the blocks of the run it works for."""


def _block_reader(source: Any, select: dict, options: dict) -> Any:
    """Return the (T, H, W) reader of a block's source, opened once a run.

    A file is opened once per thread and run rather than per block: an
    OME-TIFF of many channels and planes has a page per frame of each,
    whose index alone takes seconds to read. A thread keeps the readers
    of its latest run only; other sources are opened as given.
    """
    from . import io as _io

    if not isinstance(source, str | os.PathLike):
        return _io.open_frames(source, gaps=options['gaps'], **select)
    run = options.get('run')
    kept = getattr(_READERS, 'kept', None)
    if kept is None or kept[0] != run:
        kept = (run, {})
        _READERS.kept = kept
    key = (os.fspath(source), tuple(sorted(select.items())))
    readers = kept[1]
    if key not in readers:
        readers[key] = _io.open_frames(source, gaps=options['gaps'], **select)
    return readers[key]


def _run_blocks(
    todo,
    mask,
    options,
    *,
    scheduler,
    cluster,
    num_workers,
    threads,
    total,
    done,
    progress,
) -> None:
    """Run the block tasks, (specs, sources) each, on the chosen scheduler."""
    bar = progress_bar(total, enable=progress, desc='blocks', unit='block')
    bar.update(done)
    if cluster is not None or scheduler not in _LOCAL_SCHEDULERS:
        with bar:
            _run_distributed(
                todo, mask, options, scheduler, cluster, threads, bar
            )
        return
    import dask
    from dask.callbacks import Callback

    workers = 1 if num_workers is None else num_workers
    per_worker = max(1, threads // workers)
    tasks = [
        dask.delayed(_compute_block, pure=False)(
            specs, sources, mask, per_worker, options
        )
        for specs, sources in todo
    ]

    class _Progress(Callback):
        def _posttask(self, key, result, dsk, state, worker_id):
            if isinstance(result, _BlocksDone):
                bar.update(result.count)

    extra = {}
    if scheduler == 'processes':
        extra['initializer'] = _exit_with_parent
    with bar, _Progress():
        dask.compute(*tasks, scheduler=scheduler, num_workers=workers, **extra)


def _exit_with_parent() -> None:
    """Make a worker process end when the process that started it does.

    A killed run must not leave workers computing for nobody: Linux
    sends them SIGKILL when their parent dies; elsewhere a thread
    watches the parent.
    """
    import signal
    import threading

    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    if os.getppid() != parent:  # pragma: no cover - died meanwhile
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _run_distributed(
    todo, mask, options, scheduler, cluster, threads, bar
) -> None:
    """Run the block tasks on a dask.distributed cluster."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        msg = (
            'a dask cluster needs dask.distributed; install it with '
            'pip install "ipcf[all]"'
        )
        raise ImportError(msg) from exc
    local = None
    if cluster is not None:
        local = LocalCluster(
            n_workers=cluster,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
        client = Client(local)
        per_worker = max(1, threads // cluster)
    else:
        client = Client(scheduler)
        per_worker = 1
    futures = []
    try:
        futures = [
            client.submit(
                _compute_block,
                specs,
                sources,
                mask,
                per_worker,
                options,
                pure=False,
            )
            for specs, sources in todo
        ]
        for future in as_completed(futures):
            bar.update(future.result().count)
    finally:
        # cancelled first, so that no worker is cut off mid-task by the
        # scheduler closing under it
        client.cancel(futures)
        client.close()
        if local is not None:
            local.close()


def _parse_cluster(cluster: Any) -> int | None:
    """Return the worker count of 'local:N', None for no cluster."""
    if cluster is None:
        return None
    check_string(cluster, 'cluster')
    kind, _, count = cluster.partition(':')
    if kind != 'local' or not count.isdigit() or int(count) < 1:
        msg = f"{cluster=!r} is not 'local:N' with N >= 1"
        raise ValueError(msg)
    return int(count)


def _resolve_mask(mask: Any, height: int, width: int) -> Any:
    """Return the mask of the whole input as bool, or None."""
    if mask is None:
        return None
    if isinstance(mask, str | os.PathLike):
        from .roi import load_mask

        return load_mask(mask, (height, width))
    return check_mask(mask, (height, width))


def _mask_fingerprint(mask: Any) -> str | None:
    if mask is None:
        return None
    import hashlib

    return hashlib.sha256(numpy.packbits(mask).tobytes()).hexdigest()[:16]


def _frame_time(source: Any) -> float:
    """Return the frame interval recorded with the source, else 1."""
    if not _is_path_like(source):
        return 1.0
    from ._sources import physical_units

    interval = physical_units(source)['frame_interval']
    return 1.0 if interval is None else interval


def _is_path_like(source: Any) -> bool:
    if isinstance(source, str | os.PathLike):
        return True
    return isinstance(source, list | tuple) and all(
        isinstance(s, str | os.PathLike) for s in source
    )


def _call(analysis: Any, sources: list[str], output: Path, params) -> str:
    """Return the Python call that repeats a run."""
    run = {
        'dt': params['dt'],
        'bleach': params['bleach'],
        'roi': tuple(params['roi']),
        'block': params['block'],
    }
    for option in ('channel', 'z'):
        if option in params:
            run[option] = params[option]
    from .pcf import PcfAnalysis, PcfChannelsAnalysis

    if not isinstance(analysis, PcfAnalysis | PcfChannelsAnalysis):
        # analyses that ipcf.analyze does not run: their class, with the
        # options that define it
        inner = getattr(analysis, 'outer', analysis)
        kind = type(inner)
        accepted = inspect.signature(kind).parameters
        made = ', '.join(
            f'{k}={v!r}'
            for k, v in inner.parameters().items()
            if k in accepted
        )
        text = ', '.join(f'{k}={v!r}' for k, v in run.items())
        return (
            f'ipcf.pipeline.run({kind.__module__}.{kind.__qualname__}'
            f'({made}), {sources!r}, {str(output)!r}, {text})'
        )
    keys = [k for k in analysis.parameters() if k not in {'cross', 'truncate'}]
    options = {k: params[k] for k in keys if k in params}
    options.update(run)
    if _file_channels(analysis) is not None:
        # the channels of one file: every pair unless cross=False
        if not analysis.cross:
            options['cross'] = False
        sources = sources[:1]
    same = len(sources) > 1 and sources[1] == sources[0]
    if len(sources) > 1 and not (same and 'neighbour_channel' in params):
        options['neighbour'] = sources[1]
    if 'neighbour_channel' in params:
        options['neighbour_channel'] = params['neighbour_channel']
    text = ', '.join(f'{k}={v!r}' for k, v in options.items())
    return f'ipcf.analyze({sources[0]!r}, {str(output)!r}, {text})'


def _file_channels(analysis: Any) -> tuple[int, ...] | None:
    """Return the file channels of a channel-pair analysis, else None."""
    from .pcf import PcfChannelsAnalysis

    if isinstance(analysis, PcfChannelsAnalysis):
        return analysis.channels
    return None


def _step(report: Any, name: str, start: float) -> None:
    if report is not None:
        report(name, time.perf_counter() - start)
