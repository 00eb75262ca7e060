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
>>> from ipcf.io import imwrite_series, open_series
>>> tmp = tempfile.TemporaryDirectory()
>>> folder = pathlib.Path(tmp.name)
>>> data = numpy.arange(4 * 6 * 8, dtype=numpy.uint16).reshape(4, 6, 8)
>>> frames = imwrite_series(folder / 'frames', data)
>>> out = convert(frames, folder / 'movie.h5', roi=(1, 5, 2, 8))
>>> stored = open_series(out)
>>> stored.shape, bool((stored[:] == data[:, 1:5, 2:8]).all())
((4, 4, 6), True)
>>> stored.file.close()
>>> tmp.cleanup()

"""

from __future__ import annotations

__all__ = ['convert', 'parse_frames']

import logging
import os
import pathlib
from collections.abc import Sequence
from typing import Any

import numpy

from ._containers import create_array, flush, get_json, open_root, set_json
from ._files import (
    SUFFIXES,
    check_target,
    file_kind,
    hidden_path,
    publish,
    remove_path,
)
from ._utils import progress_bar
from ._validate import check_bool, check_int
from .io import open_series, read_metadata
from .io.metadata import dump_metadata
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
        :func:`ipcf.io.open_series` reads it back.
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
        None (default): uncompressed. HDF5: ``'zlib'``/``'gzip'``,
        ``'lzf'``; zarr: ``'zlib'``/``'gzip'``, ``'zstd'``, ``'blosc'``.
        Camera counts compress little; compression costs CPU time.
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
        output is discarded and the conversion starts over.
    block : int, optional, default: 64
        Block size that the sides of an ``'auto'`` region are multiples
        of.
    num_threads : int, optional
        Threads reading the files of a TIFF series. Default: all cores.
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
        If the output exists and `overwrite` is False.
    FileNotFoundError, OSError, ValueError
        If a source file is missing, truncated, corrupt, or of another
        shape or dtype than the first (the message names the file); if an
        option is not valid; or if a partial output to resume from does
        not match. The partial output is kept for `resume`.
    TypeError
        If an option has the wrong type, a number of the wrong kind
        included (``roi=5``, ``roi=(0, 8.5, 0, 8)``, ``block=2.0``,
        ``overwrite=1``).

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

    Examples
    --------
    >>> import tempfile
    >>> data = numpy.zeros((10, 8, 8), numpy.uint16)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     convert(data, f'{tmp}/movie.zarr', frames='2:6').name
    'movie.zarr'

    """
    from .store import fingerprint

    output = pathlib.Path(output)
    kind = _output_kind(output)
    overwrite = check_bool(overwrite, 'overwrite')
    resume = check_bool(resume, 'resume')
    progress = check_bool(progress, 'progress')
    block = check_int(block, 'block', minimum=1)
    data = open_series(
        source, key=key, shape=shape, dtype=dtype, num_threads=num_threads
    )
    nframes, height, width = (int(n) for n in data.shape)
    first, last = _frame_range(frames, nframes)
    box = _region(roi, data, first, last, block)
    y0, y1, x0, x1 = box
    out_shape = (last - first, y1 - y0, x1 - x0)
    out_dtype = numpy.dtype(data.dtype).newbyteorder('=')
    chunks = check_chunks(chunks, out_shape)
    options = compression_options(kind, compression)
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
    done = 0
    if resume and (partial.exists() or partial.is_symlink()):
        done = _resume_point(partial, kind, record)
    else:
        if partial.exists() or partial.is_symlink():
            logger.info('discarding the partial output %s', partial)
        remove_path(partial)
    output.parent.mkdir(parents=True, exist_ok=True)

    bar = progress_bar(
        out_shape[0] * frame_bytes,
        enable=progress,
        desc=f'converting to {output.name}',
        unit='B',
        unit_scale=True,
    )
    with bar, open_root(partial, kind, 'r+' if done else 'w') as root:
        if done:
            array = root['data']
        else:
            array = create_array(
                root,
                'data',
                shape=out_shape,
                dtype=out_dtype,
                chunks=chunks,
                compression=options,
            )
            array.attrs.update(attrs)

        def save(record: dict) -> None:
            flush(root)  # the data first, then the record
            set_json(array, _RECORD, record)
            flush(root)

        bar.update(done * frame_bytes)
        _copy(data, array, save, box, first, done, slab, record, bar)
    # an output that appeared meanwhile is kept unless overwrite; the
    # complete partial output then stays for resume
    publish(partial, output, overwrite=overwrite)
    return output


def _copy(data, array, save, box, first, done, slab, record, bar) -> None:
    """Copy slabs of frames from data to array, reading one ahead."""
    from concurrent.futures import ThreadPoolExecutor

    y0, y1, x0, x1 = box
    total = array.shape[0]
    starts = list(range(done, total, slab))
    if not starts or done == 0:
        save({**record, 'frames_written': done if starts else total})
    if not starts:
        return

    def read(t0: int) -> numpy.ndarray:
        t1 = min(t0 + slab, total)
        key = (slice(first + t0, first + t1), slice(y0, y1), slice(x0, x1))
        return _read_slab(data, key)

    with ThreadPoolExecutor(1) as reader:
        ahead = reader.submit(read, starts[0])
        for i, t0 in enumerate(starts):
            block = ahead.result()
            if i + 1 < len(starts):
                ahead = reader.submit(read, starts[i + 1])
            array[t0 : t0 + len(block)] = block
            save({**record, 'frames_written': t0 + len(block)})
            bar.update(block.nbytes)


def _read_slab(data: Any, key: tuple[slice, slice, slice]) -> numpy.ndarray:
    """Return one slab of the source as a native-endian numpy array."""
    block = numpy.asarray(data[key])
    if not block.dtype.isnative:
        block = block.astype(block.dtype.newbyteorder('='))
    return block


def _output_kind(path: pathlib.Path) -> str:
    """Return 'hdf5' or 'zarr' for the output's suffix."""
    kind = file_kind(path)
    if kind not in KINDS:
        known = ', '.join(s for k in KINDS for s in SUFFIXES[k])
        msg = (
            f'cannot convert to {os.fspath(path)!r}: unsupported suffix '
            f'{path.suffix.lower()!r}; use {known}'
        )
        raise ValueError(msg)
    return kind


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
