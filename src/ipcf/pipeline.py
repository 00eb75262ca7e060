"""Out-of-core pCF: overlapping pixel blocks on dask, written resumably.

:func:`analyze` splits the result grid of an image series into square
blocks of pixels. Each block is read with all its frames and a halo of
the circle radius, corrected for photobleaching, truncated and analysed
with :func:`ipcf.pcf_image`, so it equals the same pixels of the whole
image's result. Blocks run as dask tasks on threads, processes or a
dask.distributed cluster; each finished block is saved as a file in a
hidden work directory beside the output, so an interrupted run continues
where it stopped (``resume=True``). When every block is done, the result
store is assembled under a temporary name and renamed: an output that
exists is complete.

"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy

from ._utils import number_threads, progress_bar
from ._validate import check_int

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = ['analyze', 'plan_blocks']

_MANIFEST = 'manifest.json'


def analyze(
    source: Any,
    output: str | os.PathLike[str],
    /,
    *,
    radius: int = 6,
    npoints: int | None = 32,
    nbins: int = 32,
    dt: float | None = None,
    bleach: str | None = 'filter:1024',
    roi: str | tuple[int, int, int, int] | None = None,
    mask: ArrayLike | str | os.PathLike[str] | None = None,
    block: int = 64,
    mode: str = 'circular',
    engine: str = 'auto',
    scheduler: str = 'threads',
    cluster: str | None = None,
    num_workers: int | None = None,
    num_threads: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = False,
    group: str = 'pcf',
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
    radius, npoints, nbins, mode, engine :
        As for :func:`ipcf.pcf_image`.
    dt : float, optional
        Frame interval in seconds; default from the source's metadata
        (``frame_time``) or 1.
    bleach : str or None, optional, default: 'filter:1024'
        Photobleaching correction ``METHOD[:param]`` (see
        :func:`ipcf.bleach.parse_method`); ``None`` or ``'none'`` for
        none. The correction runs per pixel on all frames before the
        series is truncated to a power of two.
    roi : (y0, y1, x0, x1), 'y0:y1,x0:x1', 'auto' or None, optional
        Region of the input to analyse; ``'auto'`` detects the cell
        (:func:`ipcf.roi.detect`). Result coordinates stay in input
        pixels.
    mask : array_like of bool, shape (H, W), or path, optional
        Centre pixels to analyse; the others are NaN, and blocks without
        any cost nothing.
    block : int, optional, default: 64
        Result pixels per block side. Each block reads
        ``block + 2 * radius`` pixels square with all frames.
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

    """
    from . import bleach as _bleach
    from . import engines
    from . import io as _io
    from .pcf import MIN_FRAMES, _check_mode, _check_positive, circle, logbins
    from .store import ResultWriter, _store_kind, fingerprint

    start = time.perf_counter()
    output = Path(output)
    _store_kind(output)
    data = _io.open_series(source)
    nframes, height, width = (int(n) for n in data.shape)
    radius = check_int(radius, 'radius', minimum=1)
    block = check_int(block, 'block', minimum=1)
    points = circle(radius, npoints)
    nbins = check_int(nbins, 'nbins', minimum=2)
    _check_mode(mode)
    engine_name = engines.get(engine).NAME
    cluster_workers = _parse_cluster(cluster)
    if not isinstance(scheduler, str):
        msg = f'{scheduler=!r} is not a string'
        raise TypeError(msg)
    if num_workers is not None:
        num_workers = check_int(num_workers, 'num_workers', minimum=1)
    if dt is None:
        dt = _frame_time(source)
    dt = _check_positive(dt, 'dt')
    method, param = _bleach.parse_method(bleach or 'none')
    dropped = _bleach.frames_dropped(method, param)
    remaining = nframes - dropped
    if remaining < MIN_FRAMES:
        msg = f'the series has {nframes} frames'
        if dropped:
            msg += (
                f' and the {method}:{param} bleach correction drops '
                f'{dropped} of them'
            )
        msg += f'; at least {MIN_FRAMES} must remain'
        raise ValueError(msg)
    used = 2 ** int(math.log2(remaining))
    edges = logbins(used // 2, nbins)

    box = _resolve_roi(roi, data, block)
    y0, y1, x0, x1 = box
    if min(y1 - y0, x1 - x0) <= 2 * radius:
        msg = (
            f'roi {y0}:{y1},{x0}:{x1} is too small for {radius=}: it '
            f'needs more than {2 * radius} pixels per side'
        )
        raise ValueError(msg)
    full_mask = _resolve_mask(mask, height, width)
    grid = (y1 - y0 - 2 * radius, x1 - x0 - 2 * radius)
    blocks = plan_blocks(grid, block)

    params = {
        'radius': radius,
        'npoints': len(points),
        'nbins': nbins,
        'dt': dt,
        'frames': used,
        'frames_total': nframes,
        'truncate': True,
        'mode': mode,
        'engine': engine_name,
        'bleach': f'{method}:{param}' if method != 'none' else 'none',
        'roi': list(box),
        'block': block,
        'source': _describe(source),
        'source_fingerprint': fingerprint(data.shape, data.dtype),
        'mask_fingerprint': _mask_fingerprint(full_mask),
    }
    work = output.with_name(f'.{output.name}.work')
    _prepare(output, work, params, resume=resume, overwrite=overwrite)
    _step(report, 'prepare', start)

    start = time.perf_counter()
    todo = [b for b in blocks if not _done(work, b)]
    task_source = source if _is_path_like(source) else data
    kwargs = {
        'radius': radius,
        'npoints': npoints,
        'nbins': nbins,
        'dt': dt,
        'mode': mode,
        'engine': engine_name,
        'bleach': (method, param),
        'box': box,
        'work': str(work),
    }
    _run_blocks(
        todo,
        task_source,
        full_mask,
        kwargs,
        scheduler=scheduler,
        cluster=cluster_workers,
        num_workers=num_workers,
        num_threads=num_threads,
        total=len(blocks),
        done=len(blocks) - len(todo),
        progress=progress,
    )
    _step(report, 'pcf blocks', start)

    start = time.perf_counter()
    attrs = {k: v for k, v in params.items() if k != 'mask_fingerprint'}
    with ResultWriter(
        output,
        shape=(*grid, len(points), len(edges)),
        points=points,
        edges=edges,
        y0=y0 + radius,
        x0=x0 + radius,
        attrs=attrs,
        group=group,
        chunks=(min(block, 64), min(block, 64)),
        overwrite=overwrite,
    ) as writer:
        for by, bx, ny, nx in blocks:
            values = _load_block(work, (by, bx, ny, nx))
            if values is not None:
                writer.write(values, y=by, x=bx)
    shutil.rmtree(work)
    _step(report, 'store', start)
    return output


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


def _compute_block(
    spec: tuple[int, int, int, int],
    source: Any,
    mask: numpy.ndarray | None,
    num_threads: int,
    options: dict[str, Any],
) -> tuple[int, int, float]:
    """Analyse one block and save it in the work directory."""
    from . import bleach as _bleach
    from . import io as _io
    from .pcf import pcf_image

    start = time.perf_counter()
    by, bx, ny, nx = spec
    radius = options['radius']
    y0, _, x0, _ = options['box']
    rows = slice(y0 + by, y0 + by + ny + 2 * radius)
    cols = slice(x0 + bx, x0 + bx + nx + 2 * radius)
    work = Path(options['work'])
    block_mask = None
    if mask is not None:
        block_mask = mask[rows, cols]
        if not block_mask[radius:-radius, radius:-radius].any():
            _save_block(work, spec, None)
            return by, bx, time.perf_counter() - start
    data = _io.open_series(source)
    pixels = numpy.asarray(data[:, rows, cols])
    method, param = options['bleach']
    if method != 'none':
        pixels = _bleach.correct(
            pixels, method=method, param=param, num_threads=num_threads
        )
    result = pcf_image(
        pixels,
        radius=radius,
        npoints=options['npoints'],
        nbins=options['nbins'],
        dt=options['dt'],
        mask=block_mask,
        mode=options['mode'],
        engine=options['engine'],
        num_threads=num_threads,
    )
    _save_block(work, spec, result.values)
    return by, bx, time.perf_counter() - start


def _run_blocks(
    todo,
    source,
    mask,
    options,
    *,
    scheduler,
    cluster,
    num_workers,
    num_threads,
    total,
    done,
    progress,
) -> None:
    """Run the block tasks on the chosen dask scheduler."""
    import dask

    bar = progress_bar(total, enable=progress, desc='pCF blocks', unit='block')
    bar.update(done)
    threads = number_threads(num_threads)
    if cluster is not None or scheduler not in {
        'threads',
        'processes',
        'synchronous',
    }:
        _run_distributed(
            todo, source, mask, options, scheduler, cluster, threads, bar
        )
        bar.close()
        return
    workers = (
        1
        if num_workers is None
        else check_int(num_workers, 'num_workers', minimum=1)
    )
    per_worker = max(1, threads // workers)
    tasks = [
        dask.delayed(_compute_block, pure=False)(
            spec, source, mask, per_worker, options
        )
        for spec in todo
    ]
    from dask.callbacks import Callback

    class _Progress(Callback):
        def _posttask(self, key, result, dsk, state, worker_id):
            if isinstance(result, tuple) and len(result) == 3:
                bar.update(1)

    with bar, _Progress():
        dask.compute(*tasks, scheduler=scheduler, num_workers=workers)


def _run_distributed(
    todo, source, mask, options, scheduler, cluster, threads, bar
) -> None:
    """Run the block tasks on a dask.distributed cluster."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        msg = 'a dask cluster needs dask.distributed; install ipcf[all]'
        raise ImportError(msg) from exc
    local = None
    if cluster is not None:
        workers = cluster
        local = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
        client = Client(local)
        per_worker = max(1, threads // workers)
    else:
        client = Client(scheduler)
        per_worker = 1
    try:
        futures = [
            client.submit(
                _compute_block,
                spec,
                source,
                mask,
                per_worker,
                options,
                pure=False,
            )
            for spec in todo
        ]
        for future in as_completed(futures):
            future.result()
            bar.update(1)
    finally:
        client.close()
        if local is not None:
            local.close()


def _parse_cluster(cluster) -> int | None:
    """Return the worker count of 'local:N', None for no cluster."""
    if cluster is None:
        return None
    kind, _, count = str(cluster).partition(':')
    if kind != 'local' or not count.isdigit() or int(count) < 1:
        msg = f"{cluster=!r} is not 'local:N' with N >= 1"
        raise ValueError(msg)
    return int(count)


def _block_path(work: Path, spec) -> Path:
    by, bx, ny, nx = spec
    return work / 'blocks' / f'{by}_{bx}_{ny}_{nx}.npy'


def _save_block(work: Path, spec, values) -> None:
    """Save a block's values atomically; None marks a skipped block."""
    path = _block_path(work, spec)
    tmp = path.with_name(f'.{path.name}.{os.getpid()}.tmp')
    with open(tmp, 'wb') as fh:
        if values is None:
            numpy.save(fh, numpy.zeros(0, numpy.float32))
        else:
            numpy.save(fh, numpy.asarray(values, numpy.float32))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _load_block(work: Path, spec) -> numpy.ndarray | None:
    values = numpy.load(_block_path(work, spec))
    return None if values.size == 0 else values


def _done(work: Path, spec) -> bool:
    return _block_path(work, spec).exists()


def _prepare(output, work, params, *, resume, overwrite) -> None:
    """Create or check the work directory of a run."""
    if output.exists() and not overwrite:
        msg = (
            f'{str(output)!r} exists; pass overwrite=True (--overwrite) '
            'to replace it'
        )
        raise FileExistsError(msg)
    manifest = work / _MANIFEST
    if work.exists():
        if overwrite and not resume:
            shutil.rmtree(work)
        elif not resume:
            msg = (
                f'an interrupted run of {str(output)!r} exists; pass '
                'resume=True (--resume) to continue it or overwrite=True '
                '(--overwrite) to start again'
            )
            raise FileExistsError(msg)
        else:
            try:
                previous = json.loads(manifest.read_text())
            except (OSError, ValueError):
                previous = None
            if previous != json.loads(json.dumps(params)):
                msg = (
                    f'cannot resume {str(output)!r}: the interrupted run '
                    'used other parameters or another input'
                )
                raise ValueError(msg)
            return
    (work / 'blocks').mkdir(parents=True)
    manifest.write_text(json.dumps(params, indent=1))


def _resolve_roi(roi, data, block) -> tuple[int, int, int, int]:
    """Return the analysed region (y0, y1, x0, x1) of the input."""
    height, width = (int(n) for n in data.shape[1:])
    if roi is None:
        return (0, height, 0, width)
    if isinstance(roi, str):
        from . import roi as _roi

        if roi == 'auto':
            return tuple(
                int(v) for v in _roi.detect(_roi.mean_image(data), block=block)
            )
        roi = _roi.parse_roi(roi)
    try:
        y0, y1, x0, x1 = (int(v) for v in roi)
    except (TypeError, ValueError):
        msg = f'{roi=!r} is not (y0, y1, x0, x1), a string or None'
        raise ValueError(msg) from None
    if not (0 <= y0 < y1 <= height and 0 <= x0 < x1 <= width):
        msg = f'{roi=} is outside the {height}x{width} image'
        raise ValueError(msg)
    return (y0, y1, x0, x1)


def _resolve_mask(mask, height, width) -> numpy.ndarray | None:
    if mask is None:
        return None
    if isinstance(mask, str | os.PathLike):
        from .roi import load_mask

        return load_mask(mask, (height, width))
    mask = numpy.asarray(mask)
    if mask.shape != (height, width):
        msg = (
            f'mask.shape={mask.shape} does not match the image shape '
            f'{(height, width)}'
        )
        raise ValueError(msg)
    return mask.astype(bool)


def _mask_fingerprint(mask) -> str | None:
    if mask is None:
        return None
    import hashlib

    return hashlib.sha256(numpy.packbits(mask).tobytes()).hexdigest()[:16]


def _frame_time(source) -> float:
    """Return the frame interval recorded with the source, else 1."""
    if not _is_path_like(source):
        return 1.0
    from . import io as _io

    try:
        return float(_io.read_metadata(source).get('frame_time', 1.0))
    except (OSError, ValueError, TypeError):
        return 1.0


def _is_path_like(source) -> bool:
    if isinstance(source, str | os.PathLike):
        return True
    return isinstance(source, list | tuple) and all(
        isinstance(s, str | os.PathLike) for s in source
    )


def _describe(source) -> str:
    if isinstance(source, str | os.PathLike):
        return str(source)
    if _is_path_like(source):
        return f'{len(source)} files from {source[0]}'
    return f'{type(source).__name__} {tuple(source.shape)}'


def _step(report, name, start) -> None:
    if report is not None:
        report(name, time.perf_counter() - start)
