"""Open any supported source as a lazy series; read metadata; summarize.

The source's kind (raw, TIFF, TIFF series, HDF5, zarr, array) is found
from its type, its suffix and, for directories, their contents; the
format modules (:mod:`~ipcf.io.raw`, :mod:`~ipcf.io.tiff`,
:mod:`~ipcf.io.stores`) then open it.

>>> open_series(numpy.zeros((2, 3, 4), numpy.float32)).shape
(2, 3, 4)

"""

from __future__ import annotations

import glob
import math
import os
import pathlib
from collections.abc import Sequence
from typing import Any

import numpy

from .._files import SUFFIXES, file_kind, is_zarr_store
from .._utils import number_threads
from .._validate import check_choice, check_string
from ._lazy import check_array, chunks_of, native
from ._units import merge_units
from ._vendor import FORMATS, format_units, open_format
from .metadata import attrs_metadata
from .raw import open_raw, raw_metadata
from .series import Series
from .stores import open_dataset, store_metadata, store_units
from .tiff import (
    TiffSeries,
    check_numbering,
    natural_sorted,
    open_tiff,
    tiff_metadata,
    tiff_units,
)

__all__ = [
    'GAPS',
    'SUPPORTED',
    'imread',
    'info',
    'open_frames',
    'open_series',
    'read_metadata',
]

GAPS = ('error', 'ignore')
"""What :func:`open_series` may do with missing frames or chunks."""

SUPPORTED = (
    f'raw ({", ".join(SUFFIXES["raw"])}), '
    f'TIFF ({", ".join(SUFFIXES["tiff"])}), '
    f'TIFF series (directory, glob pattern or list of files), '
    f'HDF5 ({", ".join(SUFFIXES["hdf5"])}), '
    f'zarr ({", ".join(SUFFIXES["zarr"])}), '
    f'Zeiss CZI ({", ".join(SUFFIXES["czi"])}), '
    f'Leica LIF ({", ".join(SUFFIXES["lif"])}), '
    f'Nikon ND2 ({", ".join(SUFFIXES["nd2"])}), '
    f'SimFCS stacks ({", ".join(SUFFIXES["lfd"])})'
)
"""The source formats, for messages."""


def open_series(
    source: Any,
    /,
    *,
    shape: Sequence[int] | None = None,
    dtype: Any = None,
    key: str | None = None,
    num_threads: int | None = None,
    gaps: str = 'error',
    channel: int | Sequence[int] | None = None,
    z: int | Sequence[int] | None = None,
) -> Series:
    """Return an image series, lazily read, with named axes and metadata.

    Nothing is read up front: the :class:`~ipcf.io.series.Series` has
    ``shape``, ``dtype``, ``ndim`` and ``dims``, named from
    ``('T', 'C', 'Z', 'Y', 'X')``: T, Y and X always, C and Z where the
    file has more than one channel or z-plane (axes of length 1 are
    dropped, so a ``(T, H, W)`` file gives a ``(T, H, W)`` series).
    Basic slicing ``a[t0:t1, y0:y1, x0:x1]`` (integers, slices and
    ``...``) reads only the frames and rows needed and returns a
    native-endian numpy array; ``numpy.asarray(a)`` reads everything.
    ``a.frames(channel=c, z=k)`` is the lazy ``(T, H, W)`` array of one
    channel and plane, ``a.metadata`` the
    :class:`~ipcf.io.series.SeriesMetadata` (pixel sizes in µm, frame
    interval in s, channel names, wavelengths, acquisition date, the
    file's own axes) and ``a.data`` the format's own reader of a
    single-plane series (memmap, h5py dataset, zarr array, TIFF view).

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
          but ``(T, H, W)`` have length 1 or are selected by `channel`
          and `z`. Uncompressed files are memory-mapped; compressed ones
          are read strip by strip.
        - a directory of ``*.tif``/``*.tiff`` files, a glob pattern such as
          ``'data/*.tif'``, or a list of paths: a :class:`TiffSeries`,
          one 2-D frame per file in natural order (``frame2`` before
          ``frame10``).
        - a ``.h5``/``.hdf5``/``.hdf`` file: the ``h5py.Dataset`` itself.
          Its file stays open as long as the dataset is referenced; call
          ``dataset.file.close()`` to close it earlier.
        - a ``.zarr`` directory: the ``zarr.Array``. An OME-Zarr (NGFF)
          group gives its first resolution level, whose axes must be
          ``t``, ``y``, ``x`` in that order, any others of length 1 or
          selected by `channel` (axis ``c``) and `z` (then read through
          a lazy ``(T, H, W)`` view).
        - a Zeiss ``.czi``, Leica ``.lif`` or Nikon ``.nd2`` file, read
          through pylibCZIrw, liffile or nd2 (``pip install
          "ipcf[formats]"``): the T axis as frames, one channel and
          z-plane selected by `channel` and `z` (a LIF file's image by
          `key`); only the frames and rows a slice needs are read.
        - a SimFCS ``.b64`` (int16, memory-mapped) or ``.z64`` (float32,
          decompressed when first read) image stack, through lfdfiles.
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
        LIF files: name or path of the image, required where the file
        holds several.
    num_threads : int, optional
        Threads reading the files of a TIFF series. Default: all cores.
    gaps : {'error', 'ignore'}, optional, default: 'error'
        What to do with missing pieces: files missing from the numbering
        of a TIFF series given as a directory or glob pattern
        (``frame00250.tif`` absent between 249 and 251), and chunks
        missing from a zarr array (which would read as the fill value).
        'error' raises ValueError naming them; 'ignore' logs a warning
        and reads what is there (a list of files is taken as given).
        Only the file names are checked, not time stamps stored in the
        files.
    channel : int or sequence of int, optional
        Files with a C axis (OME-TIFF, ImageJ hyperstack, OME-Zarr and
        the microscope formats): the channel to read (its axis is then
        dropped) or the channels to keep, from 0. Default: all.
    z : int or sequence of int, optional
        As `channel`, for the z-planes (Z axis). Only the selected planes
        are read; the series pickles with its selection.

    Returns
    -------
    Series
        Integer or floating-point, lazily read, shape ``(T, [C,] [Z,]
        H, W)``. It pickles (the file's name and layout, not its data),
        as dask.distributed sends it to workers.

    Raises
    ------
    FileNotFoundError
        If `source` does not exist or a pattern matches no files.
    ValueError
        If the format is not supported, the data are not 3-D, a raw file
        has no known shape or a wrong size, an option does not apply,
        files are missing from a numbered series or chunks from a zarr
        array (unless ``gaps='ignore'``), a file has C or Z axes longer
        than 1 and `channel` or `z` is not given, or an index is out of
        range or given for a file without that axis.
    TypeError
        If the dtype is not integer or floating-point, `source` is of
        an unsupported type, or `channel` or `z` is not an integer.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ipcf.io import imwrite
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
    from .series import open_labelled

    return open_labelled(
        source,
        channel=channel,
        z=z,
        shape=shape,
        dtype=dtype,
        key=key,
        num_threads=num_threads,
        gaps=gaps,
    )


def open_frames(
    source: Any,
    /,
    *,
    shape: Sequence[int] | None = None,
    dtype: Any = None,
    key: str | None = None,
    num_threads: int | None = None,
    gaps: str = 'error',
    channel: int | None = None,
    z: int | None = None,
) -> Any:
    """Return the format's own lazy (T, H, W) reader of one plane.

    As :func:`open_series` with one `channel` and one `z` (required
    where the file has more than one), without the labels: the memmap,
    h5py dataset, zarr array or TIFF view itself, or an array source
    unchanged. This is what the analyses read.

    >>> open_frames(numpy.zeros((2, 3, 4), numpy.float32)).shape
    (2, 3, 4)

    """
    return _open(
        source,
        shape=shape,
        dtype=dtype,
        key=key,
        num_threads=num_threads,
        gaps=gaps,
        channel=channel,
        z=z,
    )[0]


def imread(
    source: Any,
    /,
    *,
    shape: Sequence[int] | None = None,
    dtype: Any = None,
    key: str | None = None,
    num_threads: int | None = None,
    gaps: str = 'error',
) -> numpy.ndarray:
    """Return a whole ``(T, H, W)`` image series as a numpy array.

    Parameters
    ----------
    source, shape, dtype, key, num_threads, gaps
        As for :func:`open_series`.

    Returns
    -------
    numpy.ndarray, shape (T, H, W)
        All frames, read into memory, native-endian. Prefer
        :func:`open_series` for data larger than memory.

    Raises
    ------
    OSError, ValueError, TypeError
        As :func:`open_series`.

    Examples
    --------
    >>> imread(numpy.zeros((2, 3, 4), numpy.float32)).shape
    (2, 3, 4)

    """
    array = open_frames(
        source,
        shape=shape,
        dtype=dtype,
        key=key,
        num_threads=num_threads,
        gaps=gaps,
    )
    return native(numpy.asarray(array[:]))


def read_metadata(source: Any, /, *, key: str | None = None) -> dict:
    """Return the metadata of a series: stored by ipcf, and the file's units.

    Parameters
    ----------
    source : str, os.PathLike, sequence of paths, or array_like
        As for :func:`open_series`. Arrays with an ``attrs`` mapping
        (h5py, zarr) give their ``'metadata'`` attribute.
    key : str, optional
        HDF5 and zarr only: the dataset, as for :func:`open_series`;
        LIF files: the image.

    Returns
    -------
    dict
        The JSON metadata that :func:`imwrite` stored, and what the file
        itself declares in microscope units, where it does:

        - ``'pixel_size'`` (µm, along x), ``'pixel_size_y'``,
          ``'pixel_size_z'`` (µm);
        - ``'frame_interval'`` (s); absent where the file gives none,
          and ``'units_note'`` says so;
        - ``'channels'`` (names), ``'axes'`` (the file's own axes, as
          ``'TZCYX'``), ``'acquisition_date'``;
        - ``'units_source'``: for each of these, where it came from.

        Read are OME-TIFF (``PhysicalSizeX/Y/Z`` and their units,
        ``TimeIncrement`` and its unit, else the median interval of the
        planes' ``DeltaT``, logged as a warning when the intervals differ
        by more than 1 %, ``Channel Name``, ``AcquisitionDate``), ImageJ
        TIFF (``finterval``, ``unit`` with the XResolution and YResolution
        tags, ``spacing``) and OME-Zarr (the ``multiscales`` axes' units
        with the scale of dataset 0, ``omero`` channel labels), CZI
        (``Scaling``, the ``TimeStamps`` attachment, channel names and
        emission wavelengths, ``AcquisitionDateAndTime``), LIF (the
        dimensions' lengths, the ``TimeStampList``), ND2 (calibration,
        z step, frame time stamps, channel names and emission
        wavelengths) and SimFCS stacks (which declare nothing: only
        ``axes`` and ``units_note``); per-frame time stamps give the
        median interval, logged as a warning when irregular. The
        first file of a TIFF series is read. Files that declare none of
        these add nothing; an empty dict means nothing is known.

    Notes
    -----
    The order of precedence, first wins: the metadata ipcf stored (a
    quantity stored under any of its names, ``frame_time`` or ``dt`` for
    the frame interval, is not taken from the file), then the file's
    own tags. :func:`ipcf._sources.physical_units` then takes from it the
    pixel size, PSF radius and frame interval that the analysis, maps
    and plots use.

    Raises
    ------
    ValueError
        If stored metadata are not valid JSON.
    OSError, TypeError
        As :func:`open_series`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from ipcf.io import imwrite
    >>> tmp = tempfile.TemporaryDirectory()
    >>> data = numpy.zeros((2, 3, 4), numpy.uint16)
    >>> path = pathlib.Path(tmp.name) / 'movie.bin'
    >>> path = imwrite(path, data, metadata={'frame_time': 0.001})
    >>> read_metadata(path)
    {'frame_time': 0.001}
    >>> tmp.cleanup()

    """
    if key is not None:
        check_string(key, 'key')
    fmt, target, name = _classify(source)
    if fmt == 'raw':
        return raw_metadata(target)
    if fmt in {'tiff', 'tiff-series'}:
        path = target if fmt == 'tiff' else target[0]
        return merge_units(tiff_metadata(path), tiff_units(path))
    if fmt == 'zarr':
        stored = store_metadata(target, fmt, key=key, name=name)
        return merge_units(stored, store_units(target, name=name))
    if fmt == 'hdf5':
        return store_metadata(target, fmt, key=key, name=name)
    if fmt in FORMATS:
        if key is not None and fmt != 'lif':
            msg = (
                f'{key=} applies to HDF5 and zarr files and LIF images '
                f'only, not to {name}'
            )
            raise ValueError(msg)
        return format_units(fmt, target, key=key)
    attrs = getattr(source, 'attrs', None)
    if hasattr(attrs, 'get'):
        return attrs_metadata(attrs, None, name=name)
    return {}


def info(source: Any, /, **kwargs: Any) -> dict[str, Any]:
    """Return a summary of an image series without reading its frames.

    Parameters
    ----------
    source : str, os.PathLike, sequence of paths, or array_like
        As for :func:`open_series`.
    **kwargs
        Options of :func:`open_series` (`shape`, `dtype`, `key`,
        `num_threads`, `gaps`).

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
        'chunks': chunks_of(array),
        'nbytes': math.prod(shape) * dtype.itemsize,
        'metadata': read_metadata(
            array if fmt == 'array' else source, key=kwargs.get('key')
        ),
        'files': files,
    }


def _open(
    source: Any,
    *,
    shape: Sequence[int] | None = None,
    dtype: Any = None,
    key: str | None = None,
    num_threads: int | None = None,
    gaps: str = 'error',
    channel: int | None = None,
    z: int | None = None,
    classified: tuple[str, Any, str] | None = None,
) -> tuple[Any, str, str, int | None]:
    """Return (array, format, name, number of files) of a source.

    `classified` is what :func:`_classify` returned for it, if known
    (a directory of TIFF files is then listed once).
    """
    if key is not None:
        check_string(key, 'key')
    check_choice(gaps, 'gaps', GAPS)
    if classified is None:
        classified = _classify(source)
    fmt, target, name = classified
    nthreads = number_threads(num_threads)
    if fmt != 'raw' and (shape is not None or dtype is not None):
        msg = (
            f'shape and dtype apply to raw .bin files only, not to the '
            f'{fmt} source {name}'
        )
        raise ValueError(msg)
    if fmt not in {'hdf5', 'zarr', 'lif'} and key is not None:
        msg = (
            f'{key=} applies to HDF5 and zarr files and LIF images only, '
            f'not to {fmt} {name}'
        )
        raise ValueError(msg)
    for value, option in ((channel, 'channel'), (z, 'z')):
        if value is not None and fmt not in {'tiff', 'zarr', *FORMATS}:
            msg = (
                f'{option}={value!r} applies to TIFF and OME-Zarr files '
                f'and the microscope formats (CZI, LIF, ND2, SimFCS) '
                f'only, not to the {fmt} source {name}'
            )
            raise ValueError(msg)
    files: int | None = 1
    if fmt == 'raw':
        array = open_raw(target, shape=shape, dtype=dtype)
    elif fmt == 'tiff':
        array = open_tiff(target, channel=channel, z=z)
    elif fmt == 'tiff-series':
        if isinstance(source, (str, os.PathLike)):  # a folder or pattern
            check_numbering(target, gaps=gaps, name=name)
        array = TiffSeries(target, num_threads=nthreads)
        files = len(target)
    elif fmt in {'hdf5', 'zarr'}:
        array = open_dataset(
            target, fmt, key=key, name=name, gaps=gaps, channel=channel, z=z
        )
    elif fmt in FORMATS:
        array = open_format(fmt, target, channel=channel, z=z, key=key)
    else:
        array, files = source, None
    member = name
    member_name = (getattr(array, 'name', '') or '').strip('/')
    if fmt in {'hdf5', 'zarr'} and member_name:
        member = f'{name} dataset {member_name!r}'
    check_array(array, member)
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
                return 'tiff-series', natural_sorted(files), name
            msg = f'no such file or directory: {text!r}'
            raise FileNotFoundError(msg)
        kind = file_kind(path)
        if path.is_dir():
            if kind == 'zarr' or is_zarr_store(path):
                return 'zarr', path, name
            files = [
                os.fspath(p)
                for p in path.iterdir()
                if file_kind(p) == 'tiff'
                and not p.name.startswith('.')
                and p.is_file()
            ]
            if not files:
                msg = f'no TIFF files (*.tif, *.tiff) in directory {text!r}'
                raise FileNotFoundError(msg)
            return 'tiff-series', natural_sorted(files), name
        if kind in {'raw', 'tiff', 'hdf5', *FORMATS}:
            return kind, path, name
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
