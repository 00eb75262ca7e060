"""Read and write image time series of shape ``(T, H, W)``.

Supported formats, chosen by the path's suffix:

- raw ``.bin`` (or ``.raw``): frames stored contiguously, little-endian,
  with a JSON sidecar ``<file>.json`` holding shape, dtype and metadata;
- TIFF ``.tif``/``.tiff``: one multi-page, OME- or BigTIFF file;
- TIFF series: a directory of TIFF files, a glob pattern, or a list of
  files, each one 2-D frame (natural sort: ``frame10`` follows ``frame9``);
- HDF5 ``.h5``/``.hdf5``/``.hdf``: one 3-D dataset, ``data`` by default;
- zarr ``.zarr``: a zarr array or a group holding one, ``data`` by default.

:func:`open_series` returns a lazy array-like that reads only what a slice
needs; :func:`imwrite` and :func:`imwrite_series` write atomically, frame
block by frame block, so memory stays bounded for lazy inputs.

>>> import tempfile, pathlib
>>> tmp = tempfile.TemporaryDirectory()
>>> data = numpy.arange(24, dtype=numpy.uint16).reshape(2, 3, 4)
>>> path = imwrite(pathlib.Path(tmp.name) / 'movie.h5', data)
>>> series = open_series(path)
>>> series.shape, int(series[1, 2, 3])
((2, 3, 4), 23)
>>> del series
>>> tmp.cleanup()

"""

from __future__ import annotations

__all__ = [
    'TiffSeries',
    'imread',
    'imwrite',
    'imwrite_series',
    'info',
    'open_series',
    'read_metadata',
]

import contextlib
import glob
import json
import logging
import math
import os
import pathlib
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy

from ._utils import number_threads, progress_bar

logger = logging.getLogger('ipcf')

RAW_SUFFIXES = ('.bin', '.raw')
TIFF_SUFFIXES = ('.tif', '.tiff')
HDF5_SUFFIXES = ('.h5', '.hdf5', '.hdf')
ZARR_SUFFIXES = ('.zarr',)

SUPPORTED = (
    'raw (.bin, .raw), TIFF (.tif, .tiff), TIFF series (directory, glob '
    'pattern or list of files), HDF5 (.h5, .hdf5, .hdf), zarr (.zarr)'
)

# frames per block when writing raw or TIFF: about this many bytes
_BLOCK_BYTES = 64 * 2**20
# TIFF output above this size is BigTIFF (classic TIFF offsets are 32-bit;
# some readers treat them as signed, so stay below 2 GiB with a margin)
_BIGTIFF_BYTES = 2**31 - 2**25
# private TIFF tag holding the metadata JSON in OME-TIFF files, whose
# description is the OME-XML
_METADATA_TAG = 65000
# compression names accepted by imwrite, by format
_COMPRESSION = {
    'raw': (),
    'tiff': ('zlib', 'lzma'),
    'hdf5': ('zlib', 'gzip', 'lzf'),
    'zarr': ('zlib', 'gzip', 'zstd', 'blosc'),
}


def open_series(
    source: Any,
    /,
    *,
    shape: Sequence[int] | None = None,
    dtype: Any = None,
    key: str | None = None,
    num_threads: int | None = None,
) -> Any:
    """Return a lazy ``(T, H, W)`` array-like of an image time series.

    Nothing is read up front: the result has ``shape``, ``dtype`` and
    ``ndim``, and basic slicing ``a[t0:t1, y0:y1, x0:x1]`` (integers,
    slices and ``...``) reads only the frames and rows needed and returns
    a native-endian numpy array; ``numpy.asarray(a)`` reads everything.

    Parameters
    ----------
    source : str, os.PathLike, sequence of paths, or array_like
        What to read, by kind:

        - a ``.bin``/``.raw`` file of contiguous little-endian frames; its
          shape and dtype come from `shape` and `dtype`, else from the
          JSON sidecar ``<file>.json`` (or ``<stem>.json``) that
          :func:`imwrite` writes. Returned as a read-only ``numpy.memmap``.
        - a ``.tif``/``.tiff`` file (multi-page, OME-TIFF, BigTIFF, ImageJ)
          whose first series is 3-D, or has more dimensions of which all
          but ``(T, H, W)`` have length 1. Uncompressed files are
          memory-mapped; compressed ones are read strip by strip.
        - a directory of ``*.tif``/``*.tiff`` files, a glob pattern such as
          ``'data/*.tif'``, or a list of paths: a :class:`TiffSeries`,
          one 2-D frame per file in natural order (``frame2`` before
          ``frame10``).
        - a ``.h5``/``.hdf5``/``.hdf`` file: the ``h5py.Dataset`` itself.
          Its file stays open as long as the dataset is referenced; call
          ``dataset.file.close()`` to close it earlier.
        - a ``.zarr`` directory: the ``zarr.Array``.
        - a numpy array or any object with ``shape``, ``dtype``, ``ndim``
          and ``__getitem__`` (dask arrays, memmaps, h5py and zarr
          arrays): returned unchanged once checked.
    shape : sequence of int, optional
        Raw files only: ``(T, H, W)``, or ``(H, W)`` to take the number of
        frames from the file size. Overrides the sidecar.
    dtype : dtype_like, optional
        Raw files only. Default: the sidecar's, else ``uint16``.
        Little-endian unless given with an explicit ``'>'``.
    key : str, optional
        HDF5 and zarr only: path of the dataset in the file. Default:
        ``'data'`` if that is a 3-D dataset, else the only 3-D dataset.
    num_threads : int, optional
        Threads reading the files of a TIFF series. Default: all cores.

    Returns
    -------
    array-like, shape (T, H, W)
        Integer or floating-point, lazily read.

    Raises
    ------
    FileNotFoundError
        If `source` does not exist or a pattern matches no files.
    ValueError
        If the format is not supported, the data are not 3-D, a raw file
        has no known shape or a wrong size, or an option does not apply.
    TypeError
        If the dtype is not integer or floating-point, or `source` is of
        an unsupported type.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> tmp = tempfile.TemporaryDirectory()
    >>> data = numpy.arange(24, dtype=numpy.uint16).reshape(2, 3, 4)
    >>> path = imwrite(pathlib.Path(tmp.name) / 'movie.tif', data)
    >>> series = open_series(path)
    >>> series.shape, series.dtype
    ((2, 3, 4), dtype('uint16'))
    >>> series[1, :2, :2].tolist()
    [[12, 13], [16, 17]]
    >>> del series
    >>> tmp.cleanup()

    """
    return _open(
        source, shape=shape, dtype=dtype, key=key, num_threads=num_threads
    )[0]


def imread(
    source: Any,
    /,
    *,
    shape: Sequence[int] | None = None,
    dtype: Any = None,
    key: str | None = None,
    num_threads: int | None = None,
) -> numpy.ndarray:
    """Return a whole ``(T, H, W)`` image series as a numpy array.

    Parameters
    ----------
    source, shape, dtype, key, num_threads
        As for :func:`open_series`.

    Returns
    -------
    numpy.ndarray, shape (T, H, W)
        All frames, read into memory, native-endian. Prefer
        :func:`open_series` for data larger than memory.

    Examples
    --------
    >>> imread(numpy.zeros((2, 3, 4), numpy.float32)).shape
    (2, 3, 4)

    """
    array = open_series(
        source, shape=shape, dtype=dtype, key=key, num_threads=num_threads
    )
    return _native(numpy.asarray(array[:]))


def read_metadata(source: Any, /, *, key: str | None = None) -> dict:
    """Return the metadata dict that :func:`imwrite` stored with a series.

    Parameters
    ----------
    source : str, os.PathLike, sequence of paths, or array_like
        As for :func:`open_series`. Arrays with an ``attrs`` mapping
        (h5py, zarr) give their ``'metadata'`` attribute.
    key : str, optional
        HDF5 and zarr only: the dataset, as for :func:`open_series`.

    Returns
    -------
    dict
        The stored metadata, or an empty dict if there is none.

    Raises
    ------
    ValueError
        If stored metadata are not valid JSON.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> tmp = tempfile.TemporaryDirectory()
    >>> data = numpy.zeros((2, 3, 4), numpy.uint16)
    >>> path = pathlib.Path(tmp.name) / 'movie.bin'
    >>> path = imwrite(path, data, metadata={'frame_time': 0.001})
    >>> read_metadata(path)
    {'frame_time': 0.001}
    >>> tmp.cleanup()

    """
    fmt, target, name = _classify(source)
    if fmt == 'raw':
        sidecar = _find_sidecar(target)
        if sidecar is None:
            return {}
        return _parse_metadata(_read_sidecar(sidecar).get('metadata'), name)
    if fmt in {'tiff', 'tiff-series'}:
        path = target if fmt == 'tiff' else target[0]
        return _tiff_metadata(path)
    if fmt == 'hdf5':
        with _open_hdf5(target) as h5:
            dataset = _select_member(h5, key, name, _hdf5_members(h5))
            return _attrs_metadata(dataset.attrs, h5.attrs, name=name)
    if fmt == 'zarr':
        array, root = _open_zarr(target, key, name)
        return _attrs_metadata(
            array.attrs, None if root is None else root.attrs, name=name
        )
    attrs = getattr(source, 'attrs', None)
    if hasattr(attrs, 'get'):
        return _attrs_metadata(attrs, None, name=name)
    return {}


def info(source: Any, /, **kwargs: Any) -> dict[str, Any]:
    """Return a summary of an image series without reading its frames.

    Parameters
    ----------
    source : str, os.PathLike, sequence of paths, or array_like
        As for :func:`open_series`.
    **kwargs
        Options of :func:`open_series` (`shape`, `dtype`, `key`,
        `num_threads`).

    Returns
    -------
    dict
        ``'path'`` (str, or None for arrays), ``'format'`` (``'raw'``,
        ``'tiff'``, ``'tiff-series'``, ``'hdf5'``, ``'zarr'`` or
        ``'array'``), ``'shape'``, ``'dtype'`` (str), ``'frames'``,
        ``'chunks'`` (tuple or None), ``'nbytes'``, ``'metadata'`` (dict)
        and ``'files'`` (number of files, None for arrays).

    Raises
    ------
    OSError, ValueError, TypeError
        As :func:`open_series`; messages are one line naming the file.

    Examples
    --------
    >>> summary = info(numpy.zeros((8, 16, 32), numpy.uint16))
    >>> summary['format'], summary['frames'], summary['nbytes']
    ('array', 8, 8192)

    """
    array, fmt, _, files = _open(source, **kwargs)
    shape = tuple(int(n) for n in array.shape)
    dtype = numpy.dtype(array.dtype)
    if isinstance(source, (str, os.PathLike)):
        path = os.fsdecode(source)
    elif fmt == 'tiff-series':
        path = os.path.commonpath(array.files)
    else:
        path = None
    return {
        'path': path,
        'format': fmt,
        'shape': shape,
        'dtype': str(dtype.newbyteorder('=')),
        'frames': shape[0],
        'chunks': _chunks_of(array),
        'nbytes': math.prod(shape) * dtype.itemsize,
        'metadata': read_metadata(
            array if fmt == 'array' else source, key=kwargs.get('key')
        ),
        'files': files,
    }


def imwrite(
    path: str | os.PathLike[str],
    data: Any,
    /,
    *,
    metadata: Mapping[str, Any] | None = None,
    chunks: Sequence[int] | None = None,
    compression: str | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> pathlib.Path:
    """Write a ``(T, H, W)`` image series to one file chosen by suffix.

    Parameters
    ----------
    path : str or os.PathLike
        Output; the suffix picks the format:

        - ``.bin``/``.raw``: frames contiguous, little-endian, plus a JSON
          sidecar ``<path>.json`` with shape, dtype, byte order and
          metadata;
        - ``.tif``/``.tiff``: one multi-page TIFF (BigTIFF above 2 GB),
          metadata as JSON in the image description (``.ome.tif``: OME-XML
          description, metadata JSON in private tag 65000);
        - ``.h5``/``.hdf5``/``.hdf``: dataset ``data``;
        - ``.zarr``: a zarr v3 group with array ``data``.

        Missing parent directories are created.
    data : array_like, shape (T, H, W)
        Integer or floating-point frames: numpy, memmap, h5py, zarr,
        dask, or the result of :func:`open_series`. Read block by block
        and never modified.
    metadata : dict, optional
        JSON-serializable metadata (numpy scalars and arrays are
        converted); stored as a JSON string (HDF5/zarr attribute
        ``'metadata'`` of the dataset) and given back by
        :func:`read_metadata`.
    chunks : sequence of 3 int, optional
        HDF5 and zarr only. Default: ``(min(T, 512), min(H, 16),
        min(W, 16))``: all frames of a small pixel block sit in a few
        chunks, which suits the pCF's per-pixel time series, and a chunk
        of uint16 is 256 KiB. Data are written ``chunks[0]`` frames at a
        time, so memory holds about ``chunks[0]`` frames.
    compression : str, optional
        None (default) stores uncompressed. ``'zlib'`` for TIFF, HDF5 and
        zarr; also ``'lzma'`` (TIFF), ``'gzip'``, ``'lzf'`` (HDF5),
        ``'gzip'``, ``'zstd'``, ``'blosc'`` (zarr). Raw files are never
        compressed.
    overwrite : bool, optional, default: False
        Replace an existing output instead of raising FileExistsError.
    progress : bool, optional, default: False
        Show a progress bar of frames written.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    FileExistsError
        If the output exists and `overwrite` is False.
    ValueError
        If the suffix, shape, chunks or compression are not supported.
    TypeError
        If `data` is not integer or floating-point, or `metadata` is not a
        JSON-serializable dict.

    Notes
    -----
    Writing is atomic: the data go to a hidden temporary name in the same
    directory, renamed onto `path` only when complete, so an interrupted
    write never leaves a file that looks complete.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> tmp = tempfile.TemporaryDirectory()
    >>> data = numpy.arange(24, dtype=numpy.uint16).reshape(2, 3, 4)
    >>> path = imwrite(pathlib.Path(tmp.name) / 'movie.zarr', data)
    >>> path.name
    'movie.zarr'
    >>> numpy.array_equal(open_series(path)[:], data)
    True
    >>> tmp.cleanup()

    """
    data = _check_array(data, 'data', convert=True, allow_empty=False)
    text = _dump_metadata(metadata)
    path = pathlib.Path(path)
    fmt = _output_format(path)
    chunks = _check_chunks(chunks, data.shape, fmt)
    compression = _check_compression(compression, fmt)
    _check_output(path, overwrite=overwrite, directory=fmt == 'zarr')
    if fmt == 'raw':
        sidecar = _sidecar_path(path)
        _check_output(sidecar, overwrite=overwrite, directory=False)
    path.parent.mkdir(parents=True, exist_ok=True)

    bar = progress_bar(
        data.shape[0],
        enable=progress,
        desc=f'writing {path.name}',
        unit='frame',
    )
    with bar:
        if fmt == 'raw':
            _write_raw(path, data, text, overwrite=overwrite, bar=bar)
        elif fmt == 'tiff':
            _write_tiff(
                path,
                data,
                text,
                compression=compression,
                overwrite=overwrite,
                bar=bar,
            )
        elif fmt == 'hdf5':
            _write_hdf5(
                path,
                data,
                text,
                chunks=chunks,
                compression=compression,
                overwrite=overwrite,
                bar=bar,
            )
        else:
            _write_zarr(
                path,
                data,
                text,
                chunks=chunks,
                compression=compression,
                overwrite=overwrite,
                bar=bar,
            )
    return path


def imwrite_series(
    directory: str | os.PathLike[str],
    data: Any,
    /,
    *,
    prefix: str = 'frame',
    byteorder: str = '>',
    digits: int | None = None,
    metadata: Mapping[str, Any] | None = None,
    compression: str | None = None,
    overwrite: bool = False,
    progress: bool = False,
    num_threads: int | None = None,
) -> pathlib.Path:
    """Write a ``(T, H, W)`` image series as one TIFF file per frame.

    Files are named ``<prefix><index>.tif`` with zero-padded indices
    (``frame00000.tif``, ``frame00001.tif``, ...), as microscopes that
    stream frames to disk do; :func:`open_series` reads the directory back.

    Parameters
    ----------
    directory : str or os.PathLike
        Output directory; must not exist unless `overwrite` is True.
    data : array_like, shape (T, H, W)
        Integer or floating-point frames, read block by block, never
        modified.
    prefix : str, optional, default: 'frame'
        File name prefix, without path separators.
    byteorder : {'>', '<'}, optional, default: '>'
        Byte order of the files: big-endian by default, like the SPIM
        cameras' files this mimics.
    digits : int, optional
        Width of the zero-padded index. Default: at least 5, enough for T.
    metadata : dict, optional
        JSON-serializable metadata, stored in the description of the first
        file only (so that large metadata are not repeated).
    compression : {None, 'zlib', 'lzma'}, optional
        TIFF compression. Default: none.
    overwrite : bool, optional, default: False
        Replace an existing directory that holds only TIFF files.
    progress : bool, optional, default: False
        Show a progress bar of frames written.
    num_threads : int, optional
        Threads writing files. Default: all cores.

    Returns
    -------
    pathlib.Path
        The directory written.

    Raises
    ------
    FileExistsError
        If `directory` exists and `overwrite` is False, or it holds
        other files than TIFF files.
    ValueError, TypeError
        If `data` or an option is not valid.

    Notes
    -----
    The files are written into a hidden temporary directory beside
    `directory`, which is renamed when complete.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> tmp = tempfile.TemporaryDirectory()
    >>> data = numpy.arange(24, dtype=numpy.uint16).reshape(2, 3, 4)
    >>> out = imwrite_series(pathlib.Path(tmp.name) / 'frames', data)
    >>> sorted(p.name for p in out.iterdir())
    ['frame00000.tif', 'frame00001.tif']
    >>> numpy.array_equal(open_series(out)[:], data)
    True
    >>> tmp.cleanup()

    """
    import tifffile

    data = _check_array(data, 'data', convert=True, allow_empty=False)
    text = _dump_metadata(metadata)
    directory = pathlib.Path(directory)
    if not isinstance(prefix, str) or any(
        sep in prefix for sep in ('/', '\\', os.sep)
    ):
        msg = f'{prefix=} must be a file name prefix without separators'
        raise ValueError(msg)
    if byteorder not in {'<', '>'}:
        msg = f"{byteorder=} must be '>' (big-endian) or '<' (little-endian)"
        raise ValueError(msg)
    nframes = data.shape[0]
    if digits is None:
        digits = max(5, len(str(nframes - 1)))
    elif isinstance(digits, bool) or not isinstance(digits, int):
        msg = f'{digits=} is not an integer'
        raise TypeError(msg)
    elif 10**digits < nframes:
        msg = f'{digits=} is too few for {nframes} frames'
        raise ValueError(msg)
    compression = _check_compression(compression, 'tiff')
    nthreads = number_threads(num_threads)
    _check_output(directory, overwrite=overwrite, directory=True, tiffs=True)
    directory.parent.mkdir(parents=True, exist_ok=True)
    description = None if text is None else {'metadata': json.loads(text)}

    def write(index: int, frame: numpy.ndarray, tmp: pathlib.Path) -> None:
        tifffile.imwrite(
            tmp / f'{prefix}{index:0{digits}d}.tif',
            frame,
            byteorder=byteorder,
            photometric='minisblack',
            compression=compression,
            metadata=description if index == 0 else None,
        )

    step = _frames_per_block(data, _BLOCK_BYTES)
    bar = progress_bar(
        nframes,
        enable=progress,
        desc=f'writing {directory.name}',
        unit='frame',
    )
    with bar, _atomic(directory, overwrite=overwrite, directory=True) as tmp:
        for t0, block in _blocks(data, step):
            indices = range(t0, t0 + len(block))
            if nthreads > 1 and len(block) > 1:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(min(nthreads, len(block))) as pool:
                    list(pool.map(write, indices, block, [tmp] * len(block)))
            else:
                for index, frame in zip(indices, block, strict=True):
                    write(index, frame, tmp)
            bar.update(len(block))
    return directory


class _LazySeries:
    """Shape, dtype and conversions shared by the lazy (T, H, W) readers."""

    _shape: tuple[int, int, int]
    _dtype: numpy.dtype

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(T, H, W)``."""
        return self._shape

    @property
    def dtype(self) -> numpy.dtype:
        """Native-endian dtype of the frames."""
        return self._dtype

    @property
    def ndim(self) -> int:
        """Number of dimensions, 3."""
        return 3

    @property
    def size(self) -> int:
        """Number of pixels in all frames."""
        return math.prod(self._shape)

    @property
    def nbytes(self) -> int:
        """Bytes of all frames in memory."""
        return self.size * self._dtype.itemsize

    def __len__(self) -> int:
        return self._shape[0]

    def __array__(
        self, dtype: Any = None, copy: bool | None = None
    ) -> numpy.ndarray:
        if copy is False:
            msg = f'{type(self).__name__} can only be read into a new array'
            raise ValueError(msg)
        result = self[:]
        return result if dtype is None else result.astype(dtype, copy=False)

    def __getitem__(self, key: Any) -> numpy.ndarray:
        raise NotImplementedError


class TiffSeries(_LazySeries):
    """Lazy ``(T, H, W)`` series of TIFF files, one 2-D frame per file.

    Slicing reads only the files and rows needed, in a thread pool when
    several frames are read. The first file fixes shape and dtype; every
    file read is checked against it.

    Parameters
    ----------
    files : sequence of str or os.PathLike
        The frame files, in time order.
    num_threads : int, optional
        Threads reading files. Default: all cores.

    Raises
    ------
    FileNotFoundError
        If a file does not exist.
    ValueError
        If the first file is not a single 2-D TIFF image of integer or
        floating-point type.

    Notes
    -----
    Arrays come back native-endian with the files' dtype, whatever the
    files' byte order. A missing, truncated or corrupt file, or one of
    another shape or dtype, raises OSError or ValueError naming the file
    when its frame is read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> tmp = tempfile.TemporaryDirectory()
    >>> data = numpy.arange(24, dtype=numpy.uint16).reshape(2, 3, 4)
    >>> out = imwrite_series(pathlib.Path(tmp.name) / 'frames', data)
    >>> series = TiffSeries(sorted(out.iterdir()))
    >>> series
    TiffSeries(2 files, shape=(2, 3, 4), dtype=uint16)
    >>> series[:, 1, 1:3]
    array([[ 5,  6],
           [17, 18]], dtype=uint16)
    >>> tmp.cleanup()

    """

    def __init__(
        self,
        files: Sequence[str | os.PathLike[str]],
        /,
        *,
        num_threads: int | None = None,
    ) -> None:
        files = tuple(os.fspath(f) for f in files)
        if not files:
            msg = 'a TIFF series needs at least one file, got none'
            raise ValueError(msg)
        for file in files:
            if not os.path.isfile(file):
                msg = f'TIFF series file not found: {file!r}'
                raise FileNotFoundError(msg)
        height, width, dtype = _tiff_frame_layout(files[0])
        self._files = files
        self._shape = (len(files), height, width)
        self._dtype = dtype
        self._num_threads = number_threads(num_threads)

    @property
    def files(self) -> tuple[str, ...]:
        """Paths of the frame files, in time order."""
        return self._files

    @property
    def chunks(self) -> tuple[int, int, int]:
        """One frame per file: ``(1, H, W)``."""
        return (1, *self._shape[1:])

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}({len(self._files)} files, '
            f'shape={self._shape}, dtype={self._dtype})'
        )

    def __getitem__(self, key: Any) -> numpy.ndarray:
        t, y, x = _normalize_key(key, self._shape)
        frames = [t] if isinstance(t, int) else list(_as_range(t))
        ylo, yhi, ylocal = _bounds(y)
        xlo, xhi, xlocal = _bounds(x)
        shape = [len(_as_range(k)) for k in (y, x) if isinstance(k, slice)]
        out = numpy.empty((len(frames), *shape), dtype=self._dtype)

        def read(item: tuple[int, int]) -> None:
            index, frame = item
            rows = self._read_rows(frame, ylo, yhi)
            out[index] = rows[:, xlo:xhi][ylocal, xlocal]

        if out.size:
            nthreads = min(self._num_threads, len(frames))
            if nthreads > 1:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(nthreads) as pool:
                    list(pool.map(read, enumerate(frames)))
            else:
                for item in enumerate(frames):
                    read(item)
        return out[0] if isinstance(t, int) else out

    def _read_rows(self, frame: int, start: int, stop: int) -> numpy.ndarray:
        """Return rows start:stop of a frame, checking the file."""
        path = self._files[frame]
        return _read_tiff_rows(
            path, start, stop, shape=self._shape[1:], dtype=self._dtype
        )


class _ArrayView(_LazySeries):
    """Lazy read-only ``(T, H, W)`` view over a reader of 3-D blocks.

    ``read(slices)`` gets three step-1 slices and returns that block;
    steps, integers and byte order are handled here.
    """

    def __init__(
        self,
        read: Callable[[tuple[slice, slice, slice]], Any],
        shape: tuple[int, int, int],
        dtype: numpy.dtype,
        *,
        chunks: tuple[int, ...] | None = None,
        owner: Any = None,
    ) -> None:
        self._read = read
        self._shape = tuple(int(n) for n in shape)  # type: ignore[assignment]
        self._dtype = numpy.dtype(dtype).newbyteorder('=')
        self._chunks = chunks
        self._owner = owner  # keeps the open file alive

    @property
    def chunks(self) -> tuple[int, ...] | None:
        """Shape of the storage chunks, or None if not chunked."""
        return self._chunks

    def __repr__(self) -> str:
        return (
            f'<lazy {self._shape[0]}x{self._shape[1]}x{self._shape[2]} '
            f'{self._dtype} series>'
        )

    def __getitem__(self, key: Any) -> numpy.ndarray:
        key = _normalize_key(key, self._shape)
        bounds = [_bounds(k) for k in key]
        block = self._read(tuple(slice(lo, hi) for lo, hi, _ in bounds))
        result = block[tuple(local for _, _, local in bounds)]
        if isinstance(block, numpy.memmap) or not result.dtype.isnative:
            # a copy, not a view that keeps the file mapped
            result = numpy.array(result, dtype=self._dtype)
        return result[()] if result.ndim == 0 else numpy.asarray(result)


def _open(
    source: Any,
    *,
    shape: Sequence[int] | None = None,
    dtype: Any = None,
    key: str | None = None,
    num_threads: int | None = None,
) -> tuple[Any, str, str, int | None]:
    """Return (array, format, name, number of files) of a source."""
    fmt, target, name = _classify(source)
    nthreads = number_threads(num_threads)
    if fmt != 'raw' and (shape is not None or dtype is not None):
        msg = (
            f'shape and dtype apply to raw .bin files only, not to the '
            f'{fmt} source {name}'
        )
        raise ValueError(msg)
    if fmt not in {'hdf5', 'zarr'} and key is not None:
        msg = f'{key=} applies to HDF5 and zarr only, not to {fmt} {name}'
        raise ValueError(msg)
    files: int | None = 1
    if fmt == 'raw':
        array = _open_raw(target, shape, dtype)
    elif fmt == 'tiff':
        array = _open_tiff(target)
    elif fmt == 'tiff-series':
        array = TiffSeries(target, num_threads=nthreads)
        files = len(target)
    elif fmt == 'hdf5':
        array = _open_hdf5_dataset(target, key, name)
    elif fmt == 'zarr':
        array = _open_zarr(target, key, name)[0]
    else:
        array, files = source, None
    member = name
    if fmt in {'hdf5', 'zarr'} and array.name.strip('/'):
        member = f'{name} dataset {array.name.strip("/")!r}'
    _check_array(array, member)
    return array, fmt, name, files


def _classify(source: Any) -> tuple[str, Any, str]:
    """Return (format, path or files or array, display name) of a source."""
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if isinstance(text, bytes):
            text = os.fsdecode(text)
        path = pathlib.Path(text)
        name = repr(text)
        if not path.exists():
            if any(c in text for c in '*?['):
                files = [
                    f
                    for f in glob.glob(text, recursive=True)
                    if os.path.isfile(f)
                ]
                if not files:
                    msg = f'no files match the pattern {text!r}'
                    raise FileNotFoundError(msg)
                return 'tiff-series', _natural_sorted(files), name
            msg = f'no such file or directory: {text!r}'
            raise FileNotFoundError(msg)
        suffix = path.suffix.lower()
        if path.is_dir():
            if suffix in ZARR_SUFFIXES or any(
                (path / marker).exists()
                for marker in ('zarr.json', '.zgroup', '.zarray')
            ):
                return 'zarr', path, name
            files = [
                os.fspath(p)
                for p in path.iterdir()
                if p.suffix.lower() in TIFF_SUFFIXES
                and not p.name.startswith('.')
                and p.is_file()
            ]
            if not files:
                msg = f'no TIFF files (*.tif, *.tiff) in directory {text!r}'
                raise FileNotFoundError(msg)
            return 'tiff-series', _natural_sorted(files), name
        if suffix in RAW_SUFFIXES:
            return 'raw', path, name
        if suffix in TIFF_SUFFIXES:
            return 'tiff', path, name
        if suffix in HDF5_SUFFIXES:
            return 'hdf5', path, name
        msg = f'unsupported file type {text!r}; supported: {SUPPORTED}'
        raise ValueError(msg)
    if isinstance(source, (list, tuple)):
        if not source:
            msg = 'the list of TIFF files is empty'
            raise ValueError(msg)
        bad = [s for s in source if not isinstance(s, (str, os.PathLike))]
        if bad:
            msg = (
                f'a list source must hold file paths, found '
                f'{type(bad[0]).__name__}; convert nested lists of numbers '
                f'with numpy.asarray'
            )
            raise TypeError(msg)
        files = [os.fspath(s) for s in source]
        return 'tiff-series', files, repr(os.path.commonpath(files))
    if all(hasattr(source, a) for a in ('shape', 'dtype', '__getitem__')):
        return 'array', source, f'{type(source).__name__} data'
    msg = (
        f'source of type {type(source).__name__} is not a path, glob '
        f'pattern, list of files or array-like with shape and dtype'
    )
    raise TypeError(msg)


def _check_array(
    array: Any,
    name: str,
    *,
    convert: bool = False,
    allow_empty: bool = True,
) -> Any:
    """Return array-like checked to be 3-D integer or float.

    With `convert`, objects without shape and dtype (nested lists) go
    through numpy.asarray first.
    """
    if not all(hasattr(array, a) for a in ('shape', 'dtype', '__getitem__')):
        if not convert:
            msg = f'{name} is not an array-like with shape and dtype'
            raise TypeError(msg)
        array = numpy.asarray(array)
    shape = tuple(array.shape)
    try:
        dtype = numpy.dtype(array.dtype)
    except TypeError as exc:
        msg = f'{name} has dtype {array.dtype!r}, not a numpy dtype'
        raise TypeError(msg) from exc
    if dtype.kind not in 'uif':
        msg = (
            f'{name} has dtype {dtype}; expected an integer or '
            f'floating-point type'
        )
        raise TypeError(msg)
    if len(shape) != 3:
        msg = f'{name} has shape {shape}; expected 3-D (T, H, W)'
        raise ValueError(msg)
    if not allow_empty and min(shape) < 1:
        msg = f'{name} has shape {shape}; expected no empty dimension'
        raise ValueError(msg)
    return array


def _native(array: numpy.ndarray) -> numpy.ndarray:
    """Return array in native byte order (a copy if it was swapped)."""
    if array.dtype.isnative:
        return array
    return array.astype(array.dtype.newbyteorder('='))


def _natural_sorted(files: list[str]) -> list[str]:
    """Return files sorted so that numbers compare by value."""
    from tifffile import natural_sorted

    return natural_sorted(files)


def _as_range(key: slice) -> range:
    """Return the range of a normalized slice."""
    return range(key.start, key.stop, key.step)


def _normalize_key(
    key: Any, shape: tuple[int, ...]
) -> tuple[int | slice, int | slice, int | slice]:
    """Return key as three in-bounds ints or slices with explicit ends."""
    if not isinstance(key, tuple):
        key = (key,)
    if sum(k is Ellipsis for k in key) > 1:
        msg = "an index can only have a single ellipsis ('...')"
        raise IndexError(msg)
    if any(k is Ellipsis for k in key):
        i = next(i for i, k in enumerate(key) if k is Ellipsis)
        fill = (slice(None),) * (len(shape) - len(key) + 1)
        key = key[:i] + fill + key[i + 1 :]
    if len(key) > len(shape):
        msg = (
            f'too many indices for a {len(shape)}-D series: '
            f'{len(key)} were given'
        )
        raise IndexError(msg)
    key = key + (slice(None),) * (len(shape) - len(key))
    result: list[int | slice] = []
    for axis, (k, n) in enumerate(zip(key, shape, strict=True)):
        if isinstance(k, slice):
            result.append(slice(*k.indices(n)))
        elif isinstance(k, (int, numpy.integer)) and not isinstance(
            k, (bool, numpy.bool_)
        ):
            i = int(k)
            if not -n <= i < n:
                msg = f'index {i} is out of bounds for axis {axis} of size {n}'
                raise IndexError(msg)
            result.append(i % n)
        else:
            msg = (
                f'only integers, slices and ... index a lazy series, '
                f'got {type(k).__name__}; read with [:] first for others'
            )
            raise TypeError(msg)
    return tuple(result)  # type: ignore[return-value]


def _bounds(key: int | slice) -> tuple[int, int, int | slice]:
    """Return (lo, hi, local key) so that a[key] == a[lo:hi][local]."""
    if not isinstance(key, slice):
        return key, key + 1, 0
    r = _as_range(key)
    if len(r) == 0:
        return 0, 0, slice(0, 0)
    lo, hi = min(r[0], r[-1]), max(r[0], r[-1]) + 1
    stop = r.stop - lo
    return lo, hi, slice(r.start - lo, stop if stop >= 0 else None, r.step)


def _chunks_of(array: Any) -> tuple[int, ...] | None:
    """Return the storage chunk shape of an array-like, or None."""
    chunksize = getattr(array, 'chunksize', None)  # dask
    if chunksize is not None:
        return tuple(int(c) for c in chunksize)
    if isinstance(array, numpy.ndarray):
        return None
    chunks = getattr(array, 'chunks', None)
    if chunks is None:
        return None
    try:
        return tuple(int(c) for c in chunks)
    except TypeError:
        return None


# raw -------------------------------------------------------------------


def _sidecar_path(path: pathlib.Path) -> pathlib.Path:
    return path.with_name(path.name + '.json')


def _find_sidecar(path: pathlib.Path) -> pathlib.Path | None:
    """Return the JSON sidecar of a raw file, or None."""
    for sidecar in (_sidecar_path(path), path.with_suffix('.json')):
        if sidecar.is_file():
            return sidecar
    return None


def _read_sidecar(sidecar: pathlib.Path) -> dict:
    try:
        with open(sidecar, encoding='utf-8') as fh:
            content = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        msg = f'sidecar {os.fspath(sidecar)!r} is not valid JSON: {exc}'
        raise ValueError(msg) from exc
    if not isinstance(content, dict):
        msg = f'sidecar {os.fspath(sidecar)!r} does not hold a JSON object'
        raise ValueError(msg)
    return content


def _as_dtype(dtype: Any, where: str) -> numpy.dtype:
    """Return numpy.dtype(dtype) or raise a TypeError naming where."""
    try:
        return numpy.dtype(dtype)
    except TypeError as exc:
        msg = f'dtype {dtype!r} of {where} is not a numpy dtype'
        raise TypeError(msg) from exc


def _open_raw(
    path: pathlib.Path, shape: Sequence[int] | None, dtype: Any
) -> Any:
    """Return a read-only memmap of a raw file of contiguous frames."""
    name = repr(os.fspath(path))
    sidecar = _find_sidecar(path)
    content = {} if sidecar is None else _read_sidecar(sidecar)
    if shape is None:
        shape = content.get('shape')
        if shape is None:
            msg = (
                f'the shape of raw file {name} is needed: pass '
                f'shape=(T, H, W) or (H, W), or write it with ipcf.io.imwrite'
                f' to get a .json sidecar'
            )
            raise ValueError(msg)
        where = f'sidecar {os.fspath(sidecar)!r}'
    else:
        where = 'shape'
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence):
        msg = f'{where} {shape!r} of {name} is not a sequence of integers'
        raise TypeError(msg)
    if len(shape) not in {2, 3} or not all(
        isinstance(n, (int, numpy.integer)) and not isinstance(n, bool)
        for n in shape
    ):
        msg = f'{where} {shape!r} of {name} must be 2 or 3 integers'
        raise ValueError(msg)
    shape = tuple(int(n) for n in shape)
    if min(shape) < 1:
        msg = f'{where} {shape} of {name} must be positive'
        raise ValueError(msg)

    if dtype is None:
        where = name if sidecar is None else f'sidecar {str(sidecar)!r}'
        dtype = _as_dtype(content.get('dtype', 'uint16'), where)
        order = content.get('byteorder', '<')
        if order not in {'<', '>', '|'}:
            msg = f'sidecar {os.fspath(sidecar)!r} has byteorder {order!r}'
            raise ValueError(msg)
        dtype = dtype.newbyteorder('<' if order == '|' else order)
    else:
        explicit = isinstance(dtype, str) and dtype[:1] in {'<', '>'}
        dtype = _as_dtype(dtype, f'raw file {name}')
        if not explicit:
            dtype = dtype.newbyteorder('<')
    if dtype.kind not in 'uif':
        msg = (
            f'raw file {name} has dtype {dtype}; expected an integer or '
            f'floating-point type'
        )
        raise TypeError(msg)

    size = path.stat().st_size
    frame = math.prod(shape[-2:]) * dtype.itemsize
    if len(shape) == 2:
        if size == 0 or size % frame:
            msg = (
                f'raw file {name} has {size} bytes, not a positive multiple'
                f' of the {frame} bytes of one {shape[0]}x{shape[1]} '
                f'{dtype.name} frame'
            )
            raise ValueError(msg)
        shape = (size // frame, *shape)
    expected = math.prod(shape) * dtype.itemsize
    if size != expected:
        problem = 'is truncated' if size < expected else 'is too large'
        msg = (
            f'raw file {name} {problem}: {shape} {dtype.name} needs '
            f'{expected} bytes, the file has {size}'
        )
        raise ValueError(msg)
    array = numpy.memmap(path, dtype=dtype, mode='r', shape=shape)
    if dtype.isnative:
        return array
    return _ArrayView(lambda key: array[key], shape, dtype, owner=array)


# TIFF ------------------------------------------------------------------


class _TifffileNotes(logging.Filter):
    """Hold the tifffile log records of one thread."""

    def __init__(self) -> None:
        super().__init__()
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread != self.thread:
            return True
        self.messages.append(record.getMessage())
        return False


_notes = threading.local()


def _tifffile_notes(function: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a reader of the TIFF file named by its first argument.

    tifffile logs what it finds wrong in a file. Within the reader these
    records are held: if the reader raises, its one-line error stands
    alone (it may quote them through :func:`_tiff_note`); otherwise they
    are logged as warnings on the 'ipcf' logger, naming the file.
    """
    import functools

    @functools.wraps(function)
    def wrapper(path: Any, /, *args: Any, **kwargs: Any) -> Any:
        log = logging.getLogger('tifffile')
        notes = _TifffileNotes()
        outer = getattr(_notes, 'current', None)
        _notes.current = notes
        log.addFilter(notes)
        try:
            result = function(path, *args, **kwargs)
        finally:
            log.removeFilter(notes)
            _notes.current = outer
        for message in dict.fromkeys(notes.messages):
            logger.warning('%r: %s', os.fspath(path), message)
        return result

    return wrapper


def _tiff_note() -> str:
    """Return '; ' and the first held tifffile message, or ''."""
    notes = getattr(_notes, 'current', None)
    if notes is None or not notes.messages:
        return ''
    return f'; {notes.messages[0]}'


def _tiff_error(path: Any, exc: Exception) -> ValueError:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    msg = f'{os.fspath(path)!r} is not a readable TIFF file: {text}'
    return ValueError(msg)


def _open_tiff_file(path: Any) -> Any:
    """Return an open tifffile.TiffFile or raise a one-line error."""
    import tifffile

    try:
        return tifffile.TiffFile(path)
    except OSError:
        raise
    except Exception as exc:  # corrupt files raise many kinds
        raise _tiff_error(path, exc) from exc


def _series_axes(
    shape: tuple[int, ...], axes: str, name: str
) -> tuple[list[int], tuple[int, int, int]]:
    """Return positions of T, Y, X in a TIFF series shape, and (T, H, W).

    Length-1 axes other than Y and X are dropped, last first, until three
    remain.
    """
    ndim = len(shape)
    if 'Y' in axes and 'X' in axes and len(axes) == ndim:
        image = {axes.index('Y'), axes.index('X')}
    else:
        image = {ndim - 2, ndim - 1}
    keep = list(range(ndim))
    for i in reversed(range(ndim)):
        if len(keep) <= 3:
            break
        if shape[i] == 1 and i not in image:
            keep.remove(i)
    if ndim < 3:
        msg = (
            f'TIFF file {name} holds a single {shape} image, not a time '
            f'series (T, H, W); for one file per frame, open the '
            f'directory, a glob pattern or a list of the files'
        )
        raise ValueError(msg)
    if len(keep) != 3 or set(keep[1:]) != image:
        msg = (
            f'TIFF file {name} holds a series of shape {shape} with axes '
            f'{axes!r}; expected (T, H, W), other dimensions of length 1'
        )
        raise ValueError(msg)
    return keep, tuple(shape[i] for i in keep)  # type: ignore[return-value]


@_tifffile_notes
def _open_tiff(path: pathlib.Path) -> Any:
    """Return a lazy (T, H, W) array of the first series in a TIFF file."""
    name = repr(os.fspath(path))
    tif = _open_tiff_file(path)
    try:
        if not tif.series:
            msg = f'TIFF file {name} holds no images{_tiff_note()}'
            raise ValueError(msg)
        series = tif.series[0]
        full = tuple(series.get_shape(False))
        declared = _declared_shape(tif)
        if declared is not None and math.prod(declared) != math.prod(full):
            msg = (
                f'TIFF file {name} is truncated or damaged: it declares '
                f'shape {declared} but holds {full}'
            )
            raise ValueError(msg)
        keep, shape = _series_axes(full, series.get_axes(False), name)
        dtype = series.dtype
        if dtype is None or dtype.kind not in 'uif':
            msg = (
                f'TIFF file {name} has dtype {dtype}; expected an integer '
                f'or floating-point type'
            )
            raise TypeError(msg)
        offset = series.dataoffset
        if offset is not None and series.transform is None:
            filedtype = numpy.dtype(tif.byteorder + dtype.char)
            end = offset + math.prod(full) * filedtype.itemsize
            size = path.stat().st_size
            if size < end:
                msg = (
                    f'TIFF file {name} is truncated: image data end at '
                    f'byte {end}, the file has {size} bytes'
                )
                raise ValueError(msg)
            tif.close()
            array = numpy.memmap(
                path, dtype=filedtype, mode='r', offset=offset, shape=full
            ).reshape(shape)
            if filedtype.isnative:
                return array
            return _ArrayView(lambda key: array[key], shape, filedtype)
        return _tiff_lazy(tif, series, full, keep, shape, name)
    except BaseException:
        tif.close()
        raise


def _declared_shape(tif: Any) -> tuple[int, ...] | None:
    """Return the shape a tifffile-written description declares, or None."""
    if not tif.is_shaped or tif.series[0].kind != 'shaped':
        return None
    with contextlib.suppress(Exception):
        return tuple(int(n) for n in tif.shaped_metadata[0]['shape'])
    return None


def _tiff_lazy(
    tif: Any,
    series: Any,
    full: tuple[int, ...],
    keep: list[int],
    shape: tuple[int, int, int],
    name: str,
) -> _ArrayView:
    """Return a lazy view decoding only the strips or pages needed."""
    try:
        import zarr
    except ImportError:
        zarr = None
    if zarr is not None and int(zarr.__version__.split('.')[0]) >= 3:
        store = series.aszarr(level=0, squeeze=False)
        z = zarr.open(store, mode='r')
        chunks = tuple(int(z.chunks[i]) for i in keep)

        def read_zarr(key: tuple[slice, slice, slice]) -> numpy.ndarray:
            full_key: list[int | slice] = [0] * len(full)
            for i, k in zip(keep, key, strict=True):
                full_key[i] = k
            try:
                return z[tuple(full_key)]
            except Exception as exc:
                raise _tiff_error(tif.filehandle.path, exc) from exc

        return _ArrayView(
            read_zarr, shape, series.dtype, chunks=chunks, owner=(tif, store)
        )
    # without zarr: pages, if each frame is one page
    if len(series.pages) != shape[0] or tuple(series.keyframe.shape) != tuple(
        shape[1:]
    ):
        msg = (
            f'reading the compressed TIFF file {name} lazily needs zarr>=3;'
            f' install ipcf[all]'
        )
        raise ImportError(msg)
    lock = threading.Lock()

    def read_pages(key: tuple[slice, slice, slice]) -> numpy.ndarray:
        t, y, x = key
        if t.stop <= t.start:
            return numpy.empty((0, *shape[1:]), series.dtype)[:, y, x]
        with lock:
            try:
                data = tif.asarray(key=list(range(t.start, t.stop)), series=0)
            except Exception as exc:
                raise _tiff_error(tif.filehandle.path, exc) from exc
        return data.reshape(-1, *shape[1:])[:, y, x]

    return _ArrayView(
        read_pages, shape, series.dtype, chunks=(1, *shape[1:]), owner=tif
    )


@_tifffile_notes
def _tiff_frame_layout(path: str) -> tuple[int, int, numpy.dtype]:
    """Return (H, W, native dtype) of a single-frame TIFF file."""
    tif = _open_tiff_file(path)
    with tif:
        page, shape, dtype = _single_page(tif, path)
    if dtype.kind not in 'uif':
        msg = (
            f'TIFF file {path!r} has dtype {dtype}; expected an integer or '
            f'floating-point type'
        )
        raise TypeError(msg)
    return shape[0], shape[1], dtype


def _single_page(tif: Any, path: str) -> tuple[Any, tuple, numpy.dtype]:
    """Return (page, shape, native dtype) of a one-frame TIFF file."""
    try:
        npages = len(tif.pages)
        page = tif.pages.first
    except Exception as exc:
        raise _tiff_error(path, exc) from exc
    shape = tuple(page.shape)
    if npages != 1 or len(shape) != 2:
        msg = (
            f'TIFF series file {path!r} holds {npages} page(s) of shape '
            f'{shape}; expected one 2-D frame per file'
        )
        raise ValueError(msg)
    if page.dtype is None:
        msg = f'TIFF series file {path!r} has an unsupported pixel format'
        raise ValueError(msg)
    return page, shape, numpy.dtype(page.dtype).newbyteorder('=')


@_tifffile_notes
def _read_tiff_rows(
    path: str,
    start: int,
    stop: int,
    *,
    shape: tuple[int, int],
    dtype: numpy.dtype,
) -> numpy.ndarray:
    """Return rows start:stop of the one frame in a TIFF file, checked."""
    if not os.path.isfile(path):
        msg = f'TIFF series file not found: {path!r}'
        raise FileNotFoundError(msg)
    tif = _open_tiff_file(path)
    with tif:
        page, fshape, fdtype = _single_page(tif, path)
        if fshape != tuple(shape):
            msg = (
                f'TIFF series file {path!r} has shape {fshape}; expected '
                f'{tuple(shape)} like the first file'
            )
            raise ValueError(msg)
        if fdtype != dtype:
            msg = (
                f'TIFF series file {path!r} has dtype {fdtype}; expected '
                f'{dtype} like the first file'
            )
            raise ValueError(msg)
        if not page.is_final:  # compressed or packed: decode it all
            try:
                return page.asarray()[start:stop]
            except OSError:
                raise
            except Exception as exc:
                raise _tiff_error(path, exc) from exc
        offset = page.dataoffsets[0]
        end = offset + page.nbytes
        size = os.path.getsize(path)
        if size < end:
            msg = (
                f'TIFF series file {path!r} is truncated: image data end '
                f'at byte {end}, the file has {size} bytes'
            )
            raise ValueError(msg)
        # read only the rows needed
        filedtype = numpy.dtype(tif.byteorder + fdtype.char)
        rowbytes = shape[1] * filedtype.itemsize
        fh = tif.filehandle
        fh.seek(offset + start * rowbytes)
        buffer = fh.read((stop - start) * rowbytes)
    rows = numpy.frombuffer(buffer, dtype=filedtype)
    return rows.reshape(stop - start, shape[1])


@_tifffile_notes
def _tiff_metadata(path: Any) -> dict:
    """Return the metadata stored by imwrite in a TIFF file."""
    tif = _open_tiff_file(path)
    with tif:
        name = repr(os.fspath(path))
        page = tif.pages.first
        tag = page.tags.get(_METADATA_TAG)
        if tag is not None:
            return _parse_metadata(tag.value, name)
        shaped = tif.shaped_metadata
        if shaped:
            return _parse_metadata(shaped[0].get('metadata'), name)
    return {}


# HDF5 and zarr ---------------------------------------------------------


def _open_hdf5(path: pathlib.Path) -> Any:
    """Return an h5py.File opened read-only, or a one-line OSError."""
    import h5py

    try:
        return h5py.File(path, 'r')
    except OSError as exc:
        text = str(exc).splitlines()[0]
        msg = f'{os.fspath(path)!r} is not a readable HDF5 file: {text}'
        raise OSError(msg) from exc


def _hdf5_members(h5: Any) -> dict[str, tuple[int, ...]]:
    """Return {name: shape} of every dataset in an HDF5 file."""
    import h5py

    members: dict[str, tuple[int, ...]] = {}

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            members[name] = tuple(obj.shape)

    h5.visititems(visit)
    return members


def _select_member(
    group: Any, key: str | None, name: str, members: dict[str, tuple]
) -> Any:
    """Return the dataset named key, 'data', or the only 3-D one."""
    listing = ', '.join(f'{k!r} {s}' for k, s in members.items()) or 'none'
    if key is not None:
        if key.strip('/') not in members:
            msg = f'{name} has no dataset {key=}; datasets: {listing}'
            raise ValueError(msg)
        return group[key.strip('/')]
    if len(members.get('data', ())) == 3:
        return group['data']
    candidates = [k for k, s in members.items() if len(s) == 3]
    if len(candidates) == 1:
        return group[candidates[0]]
    if candidates:
        listing = ', '.join(f'{k!r} {members[k]}' for k in candidates)
        msg = f'{name} has several 3-D datasets, choose one by key: {listing}'
    else:
        msg = f'{name} has no 3-D dataset; datasets: {listing}'
    raise ValueError(msg)


def _open_hdf5_dataset(path: pathlib.Path, key: str | None, name: str) -> Any:
    h5 = _open_hdf5(path)
    try:
        return _select_member(h5, key, name, _hdf5_members(h5))
    except BaseException:
        h5.close()
        raise


def _open_zarr(
    path: pathlib.Path, key: str | None, name: str
) -> tuple[Any, Any]:
    """Return (zarr array, its root group or None)."""
    try:
        import zarr
    except ImportError as exc:
        msg = f'reading the zarr store {name} needs zarr; install ipcf[all]'
        raise ImportError(msg) from exc
    try:
        root = zarr.open(os.fspath(path), mode='r')
    except Exception as exc:
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        msg = f'{name} is not a readable zarr store: {text}'
        raise ValueError(msg) from exc
    if isinstance(root, zarr.Array):
        if key is not None:
            msg = f'{name} is a zarr array, not a group; {key=} is not used'
            raise ValueError(msg)
        return root, None
    members = {
        k: tuple(v.shape)
        for k, v in sorted(root.members(max_depth=None))
        if isinstance(v, zarr.Array)
    }
    return _select_member(root, key, name, members), root


def _attrs_metadata(attrs: Any, fallback: Any, *, name: str) -> dict:
    """Return the 'metadata' attribute, JSON text or mapping, or {}."""
    for source in (attrs, fallback):
        if source is None:
            continue
        value = source.get('metadata')
        if value is not None:
            return _parse_metadata(value, name)
    return {}


def _parse_metadata(value: Any, name: str) -> dict:
    if value is None:
        return {}
    if isinstance(value, bytes):
        value = value.decode('utf-8', 'replace')
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            msg = f'metadata of {name} are not valid JSON: {exc}'
            raise ValueError(msg) from exc
    if not isinstance(value, Mapping):
        msg = f'metadata of {name} are a {type(value).__name__}, not a dict'
        raise ValueError(msg)
    return dict(value)


# writing ---------------------------------------------------------------


def _dump_metadata(metadata: Mapping[str, Any] | None) -> str | None:
    """Return metadata as JSON text, or None; numpy values become lists."""
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        msg = f'metadata must be a dict, got {type(metadata).__name__}'
        raise TypeError(msg)

    def default(value: Any) -> Any:
        if isinstance(value, (numpy.ndarray, numpy.generic)):
            return value.tolist()
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        msg = (
            f'metadata value {value!r} of type {type(value).__name__} '
            f'is not JSON-serializable'
        )
        raise TypeError(msg)

    try:
        return json.dumps(dict(metadata), default=default, allow_nan=True)
    except ValueError as exc:  # circular references
        msg = f'metadata are not JSON-serializable: {exc}'
        raise TypeError(msg) from exc


def _output_format(path: pathlib.Path) -> str:
    suffix = path.suffix.lower()
    for fmt, suffixes in (
        ('raw', RAW_SUFFIXES),
        ('tiff', TIFF_SUFFIXES),
        ('hdf5', HDF5_SUFFIXES),
        ('zarr', ZARR_SUFFIXES),
    ):
        if suffix in suffixes:
            return fmt
    msg = (
        f'cannot write {os.fspath(path)!r}: unsupported suffix '
        f'{suffix!r}; use .bin, .raw, .tif, .tiff, .h5, .hdf5, .hdf or '
        f'.zarr, or imwrite_series for a directory of TIFF files'
    )
    raise ValueError(msg)


def _check_chunks(
    chunks: Sequence[int] | None, shape: tuple[int, ...], fmt: str
) -> tuple[int, int, int] | None:
    if fmt not in {'hdf5', 'zarr'}:
        if chunks is not None:
            msg = f'{chunks=} applies to HDF5 and zarr output only'
            raise ValueError(msg)
        return None
    if chunks is None:
        return (min(shape[0], 512), min(shape[1], 16), min(shape[2], 16))
    if (
        isinstance(chunks, (str, bytes))
        or not isinstance(chunks, Sequence)
        or len(chunks) != 3
        or not all(
            isinstance(c, (int, numpy.integer)) and not isinstance(c, bool)
            for c in chunks
        )
    ):
        msg = f'{chunks=} must be three integers (frames, rows, columns)'
        raise TypeError(msg)
    if min(chunks) < 1:
        msg = f'{chunks=} must be positive'
        raise ValueError(msg)
    return tuple(  # type: ignore[return-value]
        min(int(c), n) for c, n in zip(chunks, shape, strict=True)
    )


def _check_compression(compression: str | None, fmt: str) -> str | None:
    if compression is None:
        return None
    allowed = _COMPRESSION[fmt]
    if compression not in allowed:
        choices = ', '.join(repr(c) for c in (None, *allowed))
        msg = f'{compression=} is not supported for {fmt} files; use {choices}'
        raise ValueError(msg)
    return compression


def _check_output(
    path: pathlib.Path,
    *,
    overwrite: bool,
    directory: bool,
    tiffs: bool = False,
) -> None:
    """Raise FileExistsError if path exists and may not be replaced."""
    if not (path.exists() or path.is_symlink()):
        return
    text = repr(os.fspath(path))
    if not overwrite:
        msg = f'{text} exists; pass overwrite=True to replace it'
        raise FileExistsError(msg)
    if path.is_dir() != directory:
        kind = 'a directory' if path.is_dir() else 'a file'
        msg = f'{text} exists and is {kind}; remove it first'
        raise FileExistsError(msg)
    if directory:
        if tiffs:
            other = [
                p.name
                for p in path.iterdir()
                if p.is_dir() or p.suffix.lower() not in TIFF_SUFFIXES
            ]
            if other:
                msg = (
                    f'{text} holds other files than TIFF files (e.g. '
                    f'{other[0]!r}); not replacing it'
                )
                raise FileExistsError(msg)
        elif any(path.iterdir()) and not any(
            (path / m).exists() for m in ('zarr.json', '.zgroup', '.zarray')
        ):
            msg = f'{text} is not a zarr store; not replacing it'
            raise FileExistsError(msg)


@contextlib.contextmanager
def _atomic(
    path: pathlib.Path, *, overwrite: bool, directory: bool = False
) -> Iterator[pathlib.Path]:
    """Yield a hidden temporary path beside path; rename it on success."""
    tmp = path.with_name(f'.{path.name}.{uuid.uuid4().hex[:12]}.tmp')
    if directory:
        tmp.mkdir()
    try:
        yield tmp
        if not overwrite and path.exists():
            msg = f'{os.fspath(path)!r} exists; pass overwrite=True'
            raise FileExistsError(msg)
        if directory and path.exists():
            old = path.with_name(f'.{path.name}.{uuid.uuid4().hex[:12]}.old')
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise


def _frames_per_block(data: Any, nbytes: int) -> int:
    frame = math.prod(data.shape[1:]) * numpy.dtype(data.dtype).itemsize
    return max(1, nbytes // max(frame, 1))


def _blocks(data: Any, step: int) -> Iterator[tuple[int, numpy.ndarray]]:
    """Yield (first frame, native-endian block of up to step frames)."""
    for t0 in range(0, data.shape[0], step):
        yield t0, _native(numpy.asarray(data[t0 : t0 + step]))


def _write_raw(
    path: pathlib.Path, data: Any, text: str | None, *, overwrite: bool, bar
) -> None:
    dtype = numpy.dtype(data.dtype).newbyteorder('<')
    sidecar = {
        'format': 'ipcf-raw',
        'version': 1,
        'shape': list(data.shape),
        'dtype': dtype.name,
        'byteorder': '<',
        'metadata': None if text is None else json.loads(text),
    }
    with _atomic(path, overwrite=overwrite) as tmp:
        with open(tmp, 'xb') as fh:
            for _, block in _blocks(
                data, _frames_per_block(data, _BLOCK_BYTES)
            ):
                block = numpy.ascontiguousarray(block, dtype=dtype)
                fh.write(memoryview(block).cast('B'))
                bar.update(len(block))
        with _atomic(_sidecar_path(path), overwrite=overwrite) as tmpjson:
            with open(tmpjson, 'x', encoding='utf-8') as fh:
                json.dump(sidecar, fh, indent=1)
                fh.write('\n')


def _write_tiff(
    path: pathlib.Path,
    data: Any,
    text: str | None,
    *,
    compression: str | None,
    overwrite: bool,
    bar,
) -> None:
    import tifffile

    dtype = numpy.dtype(data.dtype).newbyteorder('=')
    nbytes = math.prod(data.shape) * dtype.itemsize
    ome = path.name.lower().endswith(('.ome.tif', '.ome.tiff'))
    metadata: dict[str, Any] = {'axes': 'TYX'}
    extratags = []
    if text is not None:
        if ome:
            extratags.append((_METADATA_TAG, 's', 0, text, True))
        else:
            metadata['metadata'] = json.loads(text)

    def frames() -> Iterator[numpy.ndarray]:
        for _, block in _blocks(data, _frames_per_block(data, _BLOCK_BYTES)):
            yield from block
            bar.update(len(block))

    with _atomic(path, overwrite=overwrite) as tmp:
        with tifffile.TiffWriter(
            tmp, bigtiff=nbytes > _BIGTIFF_BYTES, ome=ome
        ) as tif:
            tif.write(
                frames(),
                shape=data.shape,
                dtype=dtype,
                photometric='minisblack',
                compression=compression,
                metadata=metadata,
                extratags=extratags,
            )


def _hdf5_options(compression: str | None) -> dict[str, Any]:
    """Return h5py create_dataset options for a checked compression."""
    if compression in {'zlib', 'gzip'}:
        return {'compression': 'gzip', 'shuffle': True}
    if compression == 'lzf':
        return {'compression': 'lzf', 'shuffle': True}
    return {}


def _zarr_compressors(compression: str | None) -> Any:
    """Return the zarr 3 codec for a checked compression, or None."""
    from zarr import codecs

    if compression in {'zlib', 'gzip'}:
        return codecs.GzipCodec()
    if compression == 'zstd':
        return codecs.ZstdCodec()
    if compression == 'blosc':
        return codecs.BloscCodec()
    return None


def _write_hdf5(
    path: pathlib.Path,
    data: Any,
    text: str | None,
    *,
    chunks: tuple[int, int, int],
    compression: str | None,
    overwrite: bool,
    bar,
) -> None:
    import h5py

    options = _hdf5_options(compression)
    dtype = numpy.dtype(data.dtype).newbyteorder('=')
    with _atomic(path, overwrite=overwrite) as tmp:
        with h5py.File(tmp, 'w-') as h5:
            dataset = h5.create_dataset(
                'data', shape=data.shape, dtype=dtype, chunks=chunks, **options
            )
            dataset.attrs['axes'] = 'TYX'
            if text is not None:
                dataset.attrs['metadata'] = text
            for t0, block in _blocks(data, chunks[0]):
                dataset[t0 : t0 + len(block)] = block
                bar.update(len(block))


def _write_zarr(
    path: pathlib.Path,
    data: Any,
    text: str | None,
    *,
    chunks: tuple[int, int, int],
    compression: str | None,
    overwrite: bool,
    bar,
) -> None:
    try:
        import zarr
    except ImportError as exc:
        msg = 'writing zarr stores needs zarr>=3; install ipcf[all]'
        raise ImportError(msg) from exc
    if int(zarr.__version__.split('.')[0]) < 3:
        msg = f'writing zarr stores needs zarr>=3, found {zarr.__version__}'
        raise ImportError(msg)
    compressors = _zarr_compressors(compression)
    dtype = numpy.dtype(data.dtype).newbyteorder('=')
    with _atomic(path, overwrite=overwrite, directory=True) as tmp:
        group = zarr.open_group(os.fspath(tmp), mode='w')
        array = group.create_array(
            'data',
            shape=data.shape,
            dtype=dtype,
            chunks=chunks,
            compressors=compressors,
        )
        attrs = {'axes': 'TYX'}
        if text is not None:
            attrs['metadata'] = text
        array.attrs.update(attrs)
        for t0, block in _blocks(data, chunks[0]):
            array[t0 : t0 + len(block)] = block
            bar.update(len(block))
