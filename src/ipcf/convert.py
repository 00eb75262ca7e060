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

import contextlib
import json
import logging
import os
import pathlib
import shutil
from collections.abc import Sequence
from typing import Any

import numpy

from ._files import remove_path
from ._utils import progress_bar
from ._validate import check_int

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
        Keep rows ``y0:y1`` and columns ``x0:x1`` only. ``'auto'`` detects
        the cell in the mean of the first 256 converted frames
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
        If an option has the wrong type.

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
    from . import io
    from .store import fingerprint

    output = pathlib.Path(output)
    fmt = _output_format(output)
    data = io.open_series(
        source, key=key, shape=shape, dtype=dtype, num_threads=num_threads
    )
    nframes, height, width = (int(n) for n in data.shape)
    first, last = _frame_range(frames, nframes)
    if isinstance(block, bool):
        msg = f'{block=} is not an integer'
        raise TypeError(msg)
    block = check_int(block, 'block', minimum=1)
    box = _region(roi, data, first, last, block)
    y0, y1, x0, x1 = box
    out_shape = (last - first, y1 - y0, x1 - x0)
    out_dtype = numpy.dtype(data.dtype).newbyteorder('=')
    chunks = io._check_chunks(chunks, out_shape, fmt)
    compression = io._check_compression(compression, fmt)
    if output.exists() and not overwrite:
        msg = (
            f'{os.fspath(output)!r} exists; pass overwrite=True (--overwrite)'
            f' to replace it'
        )
        raise FileExistsError(msg)

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
        metadata = io.read_metadata(source, key=key)
    except (OSError, ValueError) as exc:
        logger.warning('metadata of the source are not copied: %s', exc)
        metadata = {}
    attrs = {
        'axes': 'TYX',
        'metadata': json.dumps(metadata, default=_jsonable),
        'source': _describe(source),
        'source_shape': [nframes, height, width],
        'source_dtype': out_dtype.name,
        'roi': list(box),
        'frames': [first, last],
    }

    partial = output.with_name(f'.{output.name}.partial')
    frame_bytes = out_shape[1] * out_shape[2] * out_dtype.itemsize
    per_chunk = chunks[0] * frame_bytes
    slab = chunks[0] * max(1, _SLAB_BYTES // max(per_chunk, 1))
    done = 0
    if resume and (partial.exists() or partial.is_symlink()):
        done = _resume_point(partial, fmt, record)
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
    with (
        bar,
        _open_output(
            partial,
            fmt,
            out_shape,
            out_dtype,
            chunks,
            compression,
            attrs,
            done,
        ) as (array, save),
    ):
        bar.update(done * frame_bytes)
        _copy(data, array, save, box, first, done, slab, record, bar)
    _finish(partial, output, overwrite=overwrite)
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


def _output_format(path: pathlib.Path) -> str:
    suffix = path.suffix.lower()
    if suffix in {'.h5', '.hdf5', '.hdf'}:
        return 'hdf5'
    if suffix == '.zarr':
        return 'zarr'
    msg = (
        f'cannot convert to {os.fspath(path)!r}: unsupported suffix '
        f'{suffix!r}; use .h5 (HDF5) or .zarr'
    )
    raise ValueError(msg)


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
    """Return the box (y0, y1, x0, x1) to keep."""
    from . import roi as _roi

    height, width = (int(n) for n in data.shape[1:])
    if roi is None:
        return (0, height, 0, width)
    if isinstance(roi, str):
        roi = _roi.parse_roi(roi, shape=(height, width))
        if roi == 'auto':
            image = _roi.mean_image(
                data, frames=slice(first, min(last, first + _ROI_FRAMES))
            )
            box = _roi.detect(image, block=block)
            logger.info('roi auto: %s', _roi.format_roi(box))
            return box
    try:
        y0, y1, x0, x1 = (int(v) for v in roi)
    except (TypeError, ValueError):
        msg = f'{roi=!r} is not (y0, y1, x0, x1), "y0:y1,x0:x1" or "auto"'
        raise TypeError(msg) from None
    if not (0 <= y0 < y1 <= height and 0 <= x0 < x1 <= width):
        msg = (
            f'roi {y0}:{y1},{x0}:{x1} is empty or outside the '
            f'{height}x{width} frames'
        )
        raise ValueError(msg)
    return (y0, y1, x0, x1)


def _describe(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, (list, tuple)) and source:
        files = [os.fspath(s) for s in source]
        return f'{len(files)} files in {os.path.commonpath(files)}'
    shape = getattr(source, 'shape', None)
    return f'{type(source).__name__} of shape {tuple(shape or ())}'


def _jsonable(value: Any) -> Any:
    if isinstance(value, (numpy.ndarray, numpy.generic)):
        return value.tolist()
    return str(value)


def _resume_point(partial: pathlib.Path, fmt: str, record: dict) -> int:
    """Return the frames already written to a matching partial output."""
    name = repr(os.fspath(partial))
    try:
        if fmt == 'hdf5':
            import h5py

            with h5py.File(partial, 'r') as h5:
                text = h5['data'].attrs.get(_RECORD)
        else:
            import zarr

            text = zarr.open_group(os.fspath(partial), mode='r')[
                'data'
            ].attrs.get(_RECORD)
    except Exception as exc:
        msg = (
            f'cannot resume from {name}: {exc}; remove it or convert '
            f'without resume'
        )
        raise ValueError(msg) from exc
    try:
        stored = json.loads(text)
    except (TypeError, ValueError):
        stored = None
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


@contextlib.contextmanager
def _open_output(partial, fmt, shape, dtype, chunks, compression, attrs, done):
    """Yield (array, save) of the partial output, created if done is 0.

    ``save(record)`` stores the progress record once the data written so
    far are on disk.
    """
    from .io import _hdf5_options, _zarr_compressors

    if fmt == 'hdf5':
        import h5py

        options = _hdf5_options(compression)
        with h5py.File(partial, 'r+' if done else 'w') as h5:
            if done:
                array = h5['data']
            else:
                array = h5.create_dataset(
                    'data', shape=shape, dtype=dtype, chunks=chunks, **options
                )
                for name, value in attrs.items():
                    array.attrs[name] = _attr(value)

            def save(record: dict) -> None:
                h5.flush()  # the data first, then the record
                array.attrs[_RECORD] = json.dumps(record)
                h5.flush()

            yield array, save
        return

    import zarr

    if done:
        group = zarr.open_group(os.fspath(partial), mode='r+')
        array = group['data']
    else:
        compressors = _zarr_compressors(compression)
        group = zarr.open_group(os.fspath(partial), mode='w')
        array = group.create_array(
            'data',
            shape=shape,
            dtype=dtype,
            chunks=chunks,
            compressors=compressors,
        )
        array.attrs.update(attrs)

    def save(record: dict) -> None:
        # zarr writes each chunk synchronously: the data are already on
        # disk when the record is written
        array.attrs[_RECORD] = json.dumps(record)

    yield array, save


def _attr(value: Any) -> Any:
    """Return value as an HDF5 attribute (lists of numbers as arrays)."""
    if isinstance(value, list):
        return numpy.asarray(value)
    return value


def _finish(
    partial: pathlib.Path, output: pathlib.Path, *, overwrite: bool
) -> None:
    """Move the complete partial output onto output."""
    if output.exists() or output.is_symlink():
        if not overwrite:
            msg = (
                f'{os.fspath(output)!r} appeared during the conversion; '
                f'not replaced (the result is in {os.fspath(partial)!r})'
            )
            raise FileExistsError(msg)
        if output.is_dir() and not output.is_symlink():
            old = output.with_name(f'.{output.name}.old')
            remove_path(old)
            os.replace(output, old)
            os.replace(partial, output)
            shutil.rmtree(old, ignore_errors=True)
            return
    os.replace(partial, output)
