"""Convert image series to chunked HDF5 or zarr stores, resumably.

A light-sheet recording arrives as tens of thousands of TIFF files, one per
frame. The pCF needs every frame of a block of pixels at once, which such a
series serves slowly (one file per frame). :func:`convert` copies a series
(or a region and a range of frames of it) into one HDF5 or zarr dataset
whose chunks hold many frames of a small pixel block, so that the blocked
analysis reads what it needs in a few large reads.

The conversion reads slabs of frames (threaded for TIFF series) while it
writes the previous slab, checks every file, and records its progress in
the unfinished output, ``.<name>.partial`` beside the output, which is
renamed when complete; ``resume=True`` continues an interrupted run.

>>> import tempfile, pathlib
>>> from ipcf.io import imwrite_series, open_frames
>>> tmp = tempfile.TemporaryDirectory()
>>> folder = pathlib.Path(tmp.name)
>>> data = numpy.arange(4 * 6 * 8, dtype=numpy.uint16).reshape(4, 6, 8)
>>> frames = imwrite_series(folder / 'frames', data)
>>> out = convert(frames, folder / 'movie.h5', roi=(1, 5, 2, 8))
>>> stored = open_frames(out)
>>> stored.shape, bool((stored[:] == data[:, 1:5, 2:8]).all())
((4, 4, 6), True)
>>> stored.file.close()
>>> tmp.cleanup()

"""

from __future__ import annotations

__all__ = ['convert', 'parse_frames']

import asyncio
import contextlib
import dataclasses
import errno
import logging
import os
import pathlib
import signal
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy

from ._containers import (
    close_group,
    create_array,
    flush,
    get_json,
    open_group,
    open_root,
    set_json,
)
from ._files import (
    OutputLock,
    check_free_space,
    check_not_input,
    check_target,
    disk_size,
    format_size,
    hidden_path,
    is_no_space,
    publish,
    remove_path,
    writer_kind,
)
from ._utils import number_threads, progress_bar
from ._validate import check_bool, check_choice, check_int
from .io import open_frames, read_metadata
from .io._lazy import source_paths
from .io.metadata import dump_metadata
from .io.read import GAPS
from .io.stores import KINDS, check_chunks, compression_options

logger = logging.getLogger('ipcf')

# a slab (frames converted at once) holds whole chunks of frames and, when
# frames are small, several chunks' worth: about this many bytes
_SLAB_BYTES = 128 * 2**20
# frames averaged for roi='auto'
_ROI_FRAMES = 256
# attribute of the partial output recording the conversion's progress
_RECORD = 'ipcf_convert'


def parse_frames(text: str, /) -> slice:
    """Return the slice of a ``'START:STOP'`` frame range.

    Parameters
    ----------
    text : str
        ``'START:STOP'`` with non-negative integers, either of which may be
        empty (``'1024:'``, ``':17408'``), or ``'START:STOP:1'``.

    Returns
    -------
    slice

    Raises
    ------
    ValueError
        If `text` is not such a range.

    Examples
    --------
    >>> parse_frames('1024:17408')
    slice(1024, 17408, None)
    >>> parse_frames(':512')
    slice(None, 512, None)

    """
    usage = (
        f'frames {text!r} is not "START:STOP" with non-negative integers '
        f'(either may be empty)'
    )
    if not isinstance(text, str):
        raise TypeError(usage)
    parts = [p.strip() for p in text.split(':')]
    if len(parts) not in {2, 3} or (len(parts) == 3 and parts[2] != '1'):
        raise ValueError(usage)
    values: list[int | None] = []
    for part in parts[:2]:
        if not part:
            values.append(None)
            continue
        try:
            value = int(part)
        except ValueError:
            raise ValueError(usage) from None
        if value < 0:
            raise ValueError(usage)
        values.append(value)
    return slice(values[0], values[1])


def convert(
    source: Any,
    output: str | os.PathLike[str],
    /,
    *,
    roi: str | Sequence[int] | None = None,
    frames: str | slice | Sequence[int] | None = None,
    chunks: Sequence[int] | None = None,
    compression: str | None = None,
    key: str | None = None,
    shape: Sequence[int] | None = None,
    dtype: Any = None,
    overwrite: bool = False,
    resume: bool = False,
    block: int = 64,
    num_threads: int | None = None,
    gaps: str = 'error',
    progress: bool = False,
) -> pathlib.Path:
    """Copy an image series into a chunked HDF5 or zarr dataset.

    Parameters
    ----------
    source : str, os.PathLike, sequence of paths, or array_like
        Anything :func:`ipcf.io.open_series` opens: a directory, glob
        pattern or list of TIFF files (one frame each), a multi-page or
        OME-TIFF file, a raw ``.bin`` file, an HDF5 or zarr dataset, or a
        ``(T, H, W)`` array.
    output : str or os.PathLike
        ``.h5`` (also ``.hdf5``, ``.hdf``) or ``.zarr``: the suffix picks
        the format. The dataset is ``data`` (HDF5 dataset; zarr v3 array in
        a group), as :func:`ipcf.io.imwrite` writes, so that
        :func:`ipcf.io.open_series` reads it back. It must not be, hold
        or lie inside an input.
    roi : (y0, y1, x0, x1), 'y0:y1,x0:x1', 'auto' or None, optional
        Keep rows ``y0:y1`` and columns ``x0:x1`` only (integers; in the
        string an empty bound is the frame's edge), as
        :func:`ipcf.roi.region` reads it. ``'auto'`` detects the cell in
        the mean of the first 256 converted frames
        (:func:`ipcf.roi.detect`, sides multiples of `block`). Default:
        the whole frame.
    frames : 'START:STOP', slice, (start, stop) or None, optional
        Keep these frames only (step 1). Default: all.
    chunks : sequence of 3 int, optional
        Chunk shape (frames, rows, columns). Default: ``(512, 16, 16)``
        (each clipped to the data): 256 KiB chunks of uint16 holding 512
        frames of a 16x16 pixel block; see Notes.
    compression : str, optional
        None (default): uncompressed. Else one of
        ``ipcf.io.stores.COMPRESSIONS[format]``: HDF5 ``'zlib'``/
        ``'gzip'``, ``'lzf'`` (and ``'zstd'`` with hdf5plugin); zarr
        ``'zlib'``/``'gzip'``, ``'zstd'``, ``'blosc'``. Camera counts
        compress little; compression costs CPU time.
    key : str, optional
        HDF5 and zarr sources: the dataset to read.
    shape, dtype : optional
        Raw ``.bin`` sources without a JSON sidecar: ``(T, H, W)`` or
        ``(H, W)``, and the dtype (default uint16), as for
        :func:`ipcf.io.open_series`.
    overwrite : bool, optional, default: False
        Replace an existing output (once the conversion is complete).
        Otherwise an existing output raises FileExistsError.
    resume : bool, optional, default: False
        Continue an interrupted conversion from its partial output, which
        must come from the same source and options. Without it, a partial
        output is discarded and the conversion starts over. With it, a
        conversion that fails on bad data or a full disk keeps its
        partial output too.
    block : int, optional, default: 64
        Block size that the sides of an ``'auto'`` region are multiples
        of.
    num_threads : int, optional
        Threads reading the files of a TIFF series. Default: all cores.
    gaps : {'error', 'ignore'}, optional, default: 'error'
        Files missing from the numbering of a TIFF series, or chunks
        missing from a zarr source, as for :func:`ipcf.io.open_series`:
        'error' refuses the source, 'ignore' converts what is there.
    progress : bool, optional, default: False
        Show a progress bar with the bytes written, throughput and time
        left.

    Returns
    -------
    pathlib.Path
        The output written.

    Raises
    ------
    FileExistsError
        If the output exists and `overwrite` is False
        (:class:`ipcf._files.OutputExistsError`), or another process is
        writing it (:class:`ipcf._files.OutputBusyError`).
    OSError
        With errno ENOSPC if the output does not fit on its disk, before
        anything is written, or once the disk fills (the message names
        the output and what became of the partial output).
    FileNotFoundError, OSError, ValueError
        If a source file is missing, truncated, corrupt, or of another
        shape or dtype than the first (the message names the file); if
        files are missing from a numbered series or chunks from a zarr
        store; if the output is an input; if an option is not valid; or
        if a partial output to resume from does not match.
    TypeError
        If an option has the wrong type, a number of the wrong kind
        included (``roi=5``, ``roi=(0, 8.5, 0, 8)``, ``block=2.0``,
        ``overwrite=1``).
    KeyboardInterrupt
        On Ctrl-C, within a moment: the reading threads stop and the
        partial output is kept for `resume`.

    Notes
    -----
    Memory holds two slabs of frames (one read while the other is
    written): ``chunks[0]`` frames of the region, or more when frames are
    small (about 128 MB per slab). With the default chunks and whole
    1024x512 uint16 frames a slab is 512 MB.

    Chunks: the analysis reads blocks of pixels with all their frames.
    Chunks of 512 frames x 16 x 16 pixels serve a 64x64 block of 16,384
    frames in 512 chunk reads of 256 KiB; each chunk is written once per
    slab. Larger pixel blocks per chunk (``(512, 32, 32)``, 1 MiB) make
    fewer, larger reads, but a smaller analysis block then reads pixels
    it does not use.

    Progress is recorded after each slab is written and flushed: the
    partial output's attribute ``'ipcf_convert'`` (JSON) holds the number
    of frames written and a fingerprint of the source's shape and dtype,
    the region, the frame range and the chunks, which `resume` checks.

    What is left on disk: every option and the source are checked before
    the partial output is created. A conversion that fails on bad data
    (a corrupt file found while converting) or a full disk removes its
    partial output, unless `resume` was asked for; one interrupted
    (Ctrl-C) or failing otherwise (a file that went away) keeps it and
    says so. While it runs, the lock file ``.<name>.lock`` beside the
    output holds its process id; it is removed at the end, whatever the
    end. Free space is checked first against the uncompressed size (a
    compressed output that may not fit is only warned about) and again
    before each slab.

    Examples
    --------
    >>> import tempfile
    >>> data = numpy.zeros((10, 8, 8), numpy.uint16)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     convert(data, f'{tmp}/movie.zarr', frames='2:6').name
    'movie.zarr'

    """
    from .io.tiff import TiffSeries
    from .store import fingerprint

    # every check comes before anything is created on disk
    output = pathlib.Path(output)
    kind = _output_kind(output)
    overwrite = check_bool(overwrite, 'overwrite')
    resume = check_bool(resume, 'resume')
    progress = check_bool(progress, 'progress')
    block = check_int(block, 'block', minimum=1)
    threads = number_threads(num_threads)
    check_choice(gaps, 'gaps', GAPS)
    options = compression_options(kind, compression)
    check_not_input(output, source)
    data = open_frames(
        source,
        key=key,
        shape=shape,
        dtype=dtype,
        num_threads=threads,
        gaps=gaps,
    )
    if not isinstance(source, list | tuple):  # a list was checked
        check_not_input(output, source_paths(data))
    nframes, height, width = (int(n) for n in data.shape)
    first, last = _frame_range(frames, nframes)
    box = _region(roi, data, first, last, block)
    y0, y1, x0, x1 = box
    out_shape = (last - first, y1 - y0, x1 - x0)
    out_dtype = numpy.dtype(data.dtype).newbyteorder('=')
    chunks = check_chunks(chunks, out_shape)
    check_target(output, overwrite=overwrite)

    record = {
        'source_fingerprint': fingerprint(data.shape, data.dtype),
        'frames': [first, last],
        'roi': list(box),
        'shape': list(out_shape),
        'dtype': out_dtype.str,
        'chunks': list(chunks),
        'compression': compression,
    }
    try:
        metadata = read_metadata(source, key=key)
    except (OSError, ValueError) as exc:
        logger.warning('metadata of the source are not copied: %s', exc)
        metadata = {}
    attrs = {
        'axes': 'TYX',
        'metadata': dump_metadata(metadata),
        'source': _describe(source),
        'source_shape': [nframes, height, width],
        'source_dtype': out_dtype.name,
        'roi': list(box),
        'frames': [first, last],
    }

    partial = hidden_path(output, 'partial')
    frame_bytes = out_shape[1] * out_shape[2] * out_dtype.itemsize
    per_chunk = chunks[0] * frame_bytes
    slab = chunks[0] * max(1, _SLAB_BYTES // max(per_chunk, 1))
    total_bytes = out_shape[0] * frame_bytes
    margin = min(max(total_bytes // 100, _MARGIN_MIN), _MARGIN_MAX)
    if not resume:
        _check_space(
            output,
            total_bytes,
            margin,
            compression=compression,
            freed=disk_size(partial),
        )
    job = _Job(
        data=data,
        box=box,
        first=first,
        slab=slab,
        record=record,
        threads=threads,
        pieces=isinstance(data, TiffSeries),
        margin=margin if compression is None else 0,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    with OutputLock(output), _interruptible() as stop:
        done = 0
        if resume and (partial.exists() or partial.is_symlink()):
            done = _resume_point(partial, kind, record)
            _check_space(
                output,
                (out_shape[0] - done) * frame_bytes,
                margin,
                compression=compression,
            )
        else:
            if partial.exists() or partial.is_symlink():
                logger.info('discarding the partial output %s', partial)
            remove_path(partial)
        bar = progress_bar(
            total_bytes,
            enable=progress,
            desc=f'converting to {output.name}',
            unit='B',
            unit_scale=True,
        )
        with bar:
            bar.update(done * frame_bytes)
            _write(
                job,
                partial,
                kind,
                done,
                stop,
                bar,
                create={
                    'shape': out_shape,
                    'dtype': out_dtype,
                    'chunks': chunks,
                    'compression': options,
                    'attrs': attrs,
                },
                output=output,
                resume=resume,
            )
        if stop.is_set():  # Ctrl-C in the last slab: stop all the same
            raise KeyboardInterrupt
        # an output that appeared meanwhile is kept unless overwrite; the
        # complete partial output then stays for resume
        publish(partial, output, overwrite=overwrite)
    return output


# free space kept beyond the data for metadata and the progress record:
# 1 % of the data, within these bounds
_MARGIN_MIN = 2**20
_MARGIN_MAX = 64 * 2**20


def _check_space(
    output: pathlib.Path,
    nbytes: int,
    margin: int,
    *,
    compression: str | None,
    freed: int = 0,
) -> None:
    """Refuse an output that does not fit; warn if it may not, compressed."""
    what = f'{output.name} ({format_size(nbytes)} of data, uncompressed)'
    try:
        check_free_space(output, nbytes + margin, what=what, freed=freed)
    except OSError as exc:
        if compression is None:
            raise
        logger.warning(
            'converting to %s with %s compression may fill the disk: %s',
            output,
            compression,
            exc.strerror,
        )


@dataclasses.dataclass
class _Job:
    """What a conversion copies and how: the checked options."""

    data: Any
    box: tuple[int, int, int, int]
    first: int
    slab: int
    record: dict
    threads: int
    pieces: bool  # read frame by frame in threads (a TIFF series)
    margin: int  # free space kept beyond each slab; 0: not checked
    writing: bool = False  # in a write to the output (not a read)


def _write(
    job: _Job,
    partial: pathlib.Path,
    kind: str,
    done: int,
    stop: threading.Event,
    bar: Any,
    *,
    create: dict,
    output: pathlib.Path,
    resume: bool,
) -> None:
    """Fill the partial output; on a failure, keep or remove it and say so.

    Removed after bad data or a full disk, unless resume; kept after an
    interruption or another failure (a file that went away, say).
    """
    root = open_group(partial, kind, 'r+' if done else 'w')
    job.writing = True
    try:
        if done:
            array = root['data']
        else:
            array = create_array(
                root,
                'data',
                shape=create['shape'],
                dtype=create['dtype'],
                chunks=create['chunks'],
                compression=create['compression'],
                complete=True,
            )
            array.attrs.update(create['attrs'])

        def save(record: dict) -> None:
            flush(root)  # the data first, then the record
            set_json(array, _RECORD, record)
            flush(root)

        _copy(job, array, save, done, stop, bar, partial)
        job.writing = True
        close_group(root)
        root = None
    except BaseException as exc:
        full = is_no_space(exc)
        bad = isinstance(exc, ValueError | TypeError)
        keep = resume or not (full or bad)
        intact = _close_after_failure(
            root, kind, partial, keep=keep, writing=job.writing
        )
        if not (keep and intact):
            remove_path(partial)
        if keep and not intact:
            note = f'the partial output {str(partial)!r} could not be kept'
        elif keep:
            note = f'the partial output {str(partial)!r} is kept for resume'
        else:
            note = 'the partial output was removed'
        if isinstance(exc, KeyboardInterrupt):
            logger.info('interrupted: %s', note)
            raise
        if full:
            text = f'no space left on device; {note}'
            raise OSError(errno.ENOSPC, text, os.fspath(output)) from exc
        if keep:
            raise _with_note(exc, note) from exc
        raise


def _close_after_failure(
    root: Any, kind: str, partial: pathlib.Path, *, keep: bool, writing: bool
) -> bool:
    """Close the partial output after a failure; return whether intact.

    zarr: wait for writes still under way (a failed write leaves the
    others of its slab running, which would write into a removed store
    and be destroyed pending at exit). HDF5: a file whose close fails
    (its metadata cannot be flushed to a full disk) stays open and
    crashes the interpreter at exit. So a file not to be kept is emptied
    before it is closed, and so is one whose write failed unless it can
    still be flushed.
    """
    if root is None:
        return True
    if kind == 'zarr':
        _settle_zarr()
        return True
    if keep and writing:
        try:
            root.flush()
        except Exception as exc:
            logger.debug('flushing %s failed: %s', partial, exc)
            keep = False
    if not keep:
        # emptied first: closing then needs no space, and cannot fail in
        # a way that leaves the file open
        with contextlib.suppress(OSError):
            os.truncate(partial, 0)
    try:
        close_group(root)
    except Exception as exc:
        logger.debug('closing %s failed: %s', partial, exc)
        with contextlib.suppress(Exception):
            close_group(root)
        return False
    return keep


def _settle_zarr() -> None:
    """Wait (up to 30 s) for the tasks still running in zarr's loop."""
    try:
        from zarr.core.sync import sync
    except ImportError:  # pragma: no cover - zarr wrote the store
        return

    async def settle() -> None:
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        if tasks:
            await asyncio.wait(tasks, timeout=30)

    with contextlib.suppress(Exception):
        sync(settle())


def _with_note(exc: BaseException, note: str) -> BaseException:
    """Return an exception like exc whose message ends with note."""
    try:
        if isinstance(exc, OSError) and exc.errno is not None:
            extra = [] if exc.filename is None else [exc.filename]
            return type(exc)(exc.errno, f'{exc.strerror}; {note}', *extra)
        return type(exc)(f'{exc}; {note}')
    except Exception:  # an exception type with other arguments
        exc.add_note(note)
        return exc


@contextlib.contextmanager
def _interruptible() -> Iterator[threading.Event]:
    """Yield an event that Ctrl-C sets, instead of raising anywhere.

    Python raises KeyboardInterrupt at whatever bytecode runs next,
    which may be a finalizer, where it is only printed and the work goes
    on. In the main thread with the default handler, Ctrl-C sets the
    event instead, and the conversion stops at its next check (within a
    fraction of a second, or when the slab being written is); a second
    Ctrl-C raises at once.
    """
    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        current = signal.getsignal(signal.SIGINT)
        if current is signal.default_int_handler:

            def handler(signum: int, frame: Any) -> None:
                if stop.is_set():
                    raise KeyboardInterrupt
                stop.set()

            previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _copy(
    job: _Job,
    array: Any,
    save: Any,
    done: int,
    stop: threading.Event,
    bar: Any,
    partial: pathlib.Path,
) -> None:
    """Copy slabs of frames from the source to array, reading one ahead.

    A TIFF series is read frame by frame in a pool of threads, other
    sources a slab at a time in one thread. The first failure or Ctrl-C
    cancels the reads not yet started and waits for those running, so
    that nothing reads or writes once the conversion has given up.
    """
    from concurrent.futures import ThreadPoolExecutor

    y0, y1, x0, x1 = job.box
    total = array.shape[0]
    starts = list(range(done, total, job.slab))
    if not starts or done == 0:
        save({**job.record, 'frames_written': done if starts else total})
    if not starts:
        return
    dtype = numpy.dtype(array.dtype)
    pool = ThreadPoolExecutor(job.threads if job.pieces else 1)

    def submit(t0: int) -> tuple[numpy.ndarray, list]:
        t1 = min(t0 + job.slab, total)
        out = numpy.empty((t1 - t0, y1 - y0, x1 - x0), dtype)
        step = 1 if job.pieces else t1 - t0
        futures = [
            pool.submit(
                _fill_once if job.pieces else _fill,
                job.data,
                out,
                slice(t - t0, min(t + step, t1) - t0),
                (
                    slice(job.first + t, job.first + min(t + step, t1)),
                    slice(y0, y1),
                    slice(x0, x1),
                ),
            )
            for t in range(t0, t1, step)
        ]
        return out, futures

    ahead: tuple[numpy.ndarray, list] | None = None
    job.writing = False
    try:
        ahead = submit(starts[0])
        for i, t0 in enumerate(starts):
            block = _result(ahead, stop)
            ahead = submit(starts[i + 1]) if i + 1 < len(starts) else None
            if job.margin:
                check_free_space(
                    partial, block.nbytes + job.margin, what='the next slab'
                )
            job.writing = True
            array[t0 : t0 + len(block)] = block
            save({**job.record, 'frames_written': t0 + len(block)})
            job.writing = False
            bar.update(block.nbytes)
            if stop.is_set():
                raise KeyboardInterrupt
    finally:
        if ahead is not None:
            for future in ahead[1]:
                future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def _result(
    ahead: tuple[numpy.ndarray, list], stop: threading.Event
) -> numpy.ndarray:
    """Return the slab once its reads are done; raise their first error."""
    from concurrent.futures import FIRST_EXCEPTION, wait

    out, pending = ahead
    while pending:
        finished, pending = wait(
            pending, timeout=0.1, return_when=FIRST_EXCEPTION
        )
        for future in finished:
            error = future.exception()
            if error is not None:
                raise error
        if stop.is_set():
            raise KeyboardInterrupt
    return out


def _fill(data: Any, out: numpy.ndarray, index: slice, key: tuple) -> None:
    """Read frames key of the source into out[index]."""
    out[index] = _read_slab(data, key)


def _fill_once(
    data: Any, out: numpy.ndarray, index: slice, key: tuple
) -> None:
    """Read frames key of a TIFF series into out[index], uncached.

    The files are read once: the system may drop them from its page
    cache, so that the store being written, which the analysis reads
    next, keeps that memory.
    """
    _fill(data, out, index, key)
    if not hasattr(os, 'posix_fadvise'):
        return
    for path in data.files[key[0]]:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _read_slab(data: Any, key: tuple[slice, slice, slice]) -> numpy.ndarray:
    """Return one slab of the source as a native-endian numpy array."""
    block = numpy.asarray(data[key])
    if not block.dtype.isnative:
        block = block.astype(block.dtype.newbyteorder('='))
    return block


def _output_kind(path: pathlib.Path) -> str:
    """Return 'hdf5' or 'zarr' for the output's suffix."""
    return writer_kind(path, tuple(KINDS), action='convert to')


def _frame_range(frames: Any, nframes: int) -> tuple[int, int]:
    """Return (first, stop) of the frames selected."""
    if frames is None:
        return 0, nframes
    if isinstance(frames, str):
        frames = parse_frames(frames)
    elif not isinstance(frames, slice):
        try:
            start, stop = frames
        except (TypeError, ValueError):
            msg = f'{frames=!r} is not "START:STOP", a slice or (start, stop)'
            raise TypeError(msg) from None
        frames = slice(
            None if start is None else check_int(start, 'frames[0]'),
            None if stop is None else check_int(stop, 'frames[1]'),
        )
    if frames.step not in {None, 1}:
        msg = f'{frames=} must have step 1'
        raise ValueError(msg)
    start, stop, _ = frames.indices(nframes)
    if stop <= start:
        msg = f'{frames=} selects none of the {nframes} frames'
        raise ValueError(msg)
    return start, stop


def _region(
    roi: Any, data: Any, first: int, last: int, block: int
) -> tuple[int, int, int, int]:
    """Return the box (y0, y1, x0, x1) to keep, as ipcf.roi reads it."""
    from . import roi as _roi

    window = slice(first, min(last, first + _ROI_FRAMES))
    box = _roi.region(roi, data, block=block, frames=window)
    if isinstance(roi, str) and roi.strip().lower() == 'auto':
        logger.info('roi auto: %s', _roi.format_roi(box))
    return box


def _describe(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, (list, tuple)) and source:
        files = [os.fspath(s) for s in source]
        return f'{len(files)} files in {os.path.commonpath(files)}'
    shape = getattr(source, 'shape', None)
    return f'{type(source).__name__} of shape {tuple(shape or ())}'


def _resume_point(partial: pathlib.Path, kind: str, record: dict) -> int:
    """Return the frames already written to a matching partial output."""
    name = repr(os.fspath(partial))
    try:
        with open_root(partial, kind, 'r') as root:
            stored = get_json(root['data'], _RECORD)
    except Exception as exc:
        msg = (
            f'cannot resume from {name}: {exc}; remove it or convert '
            f'without resume'
        )
        raise ValueError(msg) from exc
    if not isinstance(stored, dict):
        msg = f'cannot resume from {name}: it has no progress record'
        raise ValueError(msg)
    written = stored.pop('frames_written', None)
    different = [k for k in record if stored.get(k) != record[k]]
    if different or not isinstance(written, int):
        what = ', '.join(different) or 'frames_written'
        msg = (
            f'cannot resume from {name}: it was made from another source '
            f'or with other options ({what} differ); remove it or convert '
            f'without resume'
        )
        raise ValueError(msg)
    logger.info('resuming %s after %d frames', partial, written)
    return written
