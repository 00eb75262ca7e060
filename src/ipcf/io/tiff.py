"""TIFF files and TIFF series: one multi-page file, or one file a frame.

A multi-page, OME-, ImageJ- or BigTIFF file opens as a lazy ``(T, H, W)``
array (memory-mapped when uncompressed, decoded strip by strip when
not); a directory, glob pattern or list of single-frame files opens as a
:class:`TiffSeries`, as light-sheet microscopes stream them to disk.
:func:`imwrite_series` writes such a directory. tifffile is imported
when a TIFF file is first read or written.

>>> import tempfile, pathlib
>>> tmp = tempfile.TemporaryDirectory()
>>> data = numpy.arange(24, dtype=numpy.uint16).reshape(2, 3, 4)
>>> out = imwrite_series(pathlib.Path(tmp.name) / 'frames', data)
>>> TiffSeries(sorted(out.iterdir()))[1, 2].tolist()
[20, 21, 22, 23]
>>> tmp.cleanup()

"""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import logging
import math
import os
import pathlib
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy

from .._files import check_not_input, publishing
from .._utils import number_threads, progress_bar
from .._validate import check_bool, check_int, check_string
from ._lazy import (
    ArrayView,
    Getter,
    LazySeries,
    Planes,
    as_range,
    bounds,
    check_array,
    check_plane,
    normalize_key,
    open_filemap,
    source_paths,
)
from ._output import blocks, check_compression, check_output, frames_per_block
from ._units import imagej_units, irregular_stamps, ome_units
from .metadata import dump_metadata, parse_metadata

__all__ = [
    'TiffSeries',
    'check_numbering',
    'imwrite_series',
    'natural_sorted',
    'open_tiff',
    'tiff_metadata',
    'tiff_units',
    'write_tiff',
]

logger = logging.getLogger('ipcf')

# TIFF output above this size is BigTIFF (classic TIFF offsets are 32-bit;
# some readers treat them as signed, so stay below 2 GiB with a margin)
_BIGTIFF_BYTES = 2**31 - 2**25
# private TIFF tag holding the metadata JSON in OME-TIFF files, whose
# description is the OME-XML
_METADATA_TAG = 65000


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
    stream frames to disk do; :func:`ipcf.io.open_series` reads the
    directory back.

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
    ValueError
        If `data` is not 3-D or empty, `prefix` holds a separator,
        `byteorder` is another string, `digits` are too few for T,
        `compression` is not supported, or `directory` is, holds or lies
        in a file that `data` reads.
    TypeError
        If `data` is not integer or floating-point, or an option is of
        the wrong kind (``digits=2.0``, ``overwrite=1``).

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
    >>> tmp.cleanup()

    """
    data = check_array(data, 'data', convert=True, allow_empty=False)
    text = dump_metadata(metadata)
    directory = pathlib.Path(directory)
    check_string(prefix, 'prefix')
    if any(sep in prefix for sep in ('/', '\\', os.sep)):
        msg = f'{prefix=} must be a file name prefix without separators'
        raise ValueError(msg)
    check_string(byteorder, 'byteorder')
    if byteorder not in {'<', '>'}:
        msg = f"{byteorder=} must be '>' (big-endian) or '<' (little-endian)"
        raise ValueError(msg)
    nframes = data.shape[0]
    if digits is None:
        digits = max(5, len(str(nframes - 1)))
    else:
        digits = check_int(digits, 'digits', minimum=1)
        if 10**digits < nframes:
            msg = f'{digits=} is too few for {nframes} frames'
            raise ValueError(msg)
    compression = check_compression(compression, 'tiff')
    overwrite = check_bool(overwrite, 'overwrite')
    progress = check_bool(progress, 'progress')
    nthreads = number_threads(num_threads)
    check_not_input(directory, source_paths(data))
    check_output(directory, overwrite=overwrite, directory=True, tiffs=True)
    directory.parent.mkdir(parents=True, exist_ok=True)
    description = None if text is None else {'metadata': json.loads(text)}

    import tifffile

    def write(index: int, frame: numpy.ndarray, tmp: pathlib.Path) -> None:
        tifffile.imwrite(
            tmp / f'{prefix}{index:0{digits}d}.tif',
            frame,
            byteorder=byteorder,
            photometric='minisblack',
            compression=compression,
            metadata=description if index == 0 else None,
        )

    bar = progress_bar(
        nframes,
        enable=progress,
        desc=f'writing {directory.name}',
        unit='frame',
    )
    with (
        bar,
        publishing(directory, overwrite=overwrite, directory=True) as tmp,
    ):
        for t0, block in blocks(data, frames_per_block(data)):
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


class TiffSeries(LazySeries):
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
        t, y, x = normalize_key(key, self._shape)
        frames = [t] if isinstance(t, int) else list(as_range(t))
        ylo, yhi, ylocal = bounds(y)
        xlo, xhi, xlocal = bounds(x)
        shape = [len(as_range(k)) for k in (y, x) if isinstance(k, slice)]
        out = numpy.empty((len(frames), *shape), dtype=self._dtype)

        def read(item: tuple[int, int]) -> None:
            index, frame = item
            rows = self._read_rows(frame, ylo, yhi)
            out[index] = rows[:, xlo:xhi][ylocal, xlocal]

        if out.size:
            nthreads = min(self._num_threads, len(frames))
            if nthreads > 1:
                from concurrent.futures import ThreadPoolExecutor

                # map cancels the reads not started at the first failure
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


_NUMBER = re.compile(r'(\d+)')


def check_numbering(
    files: Sequence[str], /, *, gaps: str = 'error', name: str = ''
) -> None:
    """Refuse a series of numbered files in which numbers are missing.

    The names (without folders) must split alike into text and numbers,
    of which one varies: the frame number. It should grow by a constant
    step (the commonest difference, usually 1); a missing number means a
    missing frame, which would shift every later frame in time.
    Names that do not follow one pattern are not checked.

    Parameters
    ----------
    files : sequence of str
        The files in time (natural) order.
    gaps : {'error', 'ignore'}, optional, default: 'error'
        'ignore' logs a warning on the 'ipcf' logger instead of raising.
    name : str, optional
        The source, for messages.

    Raises
    ------
    ValueError
        If numbers are missing or repeated and `gaps` is 'error'; the
        message names the first missing files and how many there are.

    Notes
    -----
    Only the names are checked; time stamps stored in the files
    (ImageJ, OME or MicroManager metadata) are not read.

    Examples
    --------
    >>> check_numbering(['f0.tif', 'f1.tif', 'f2.tif'])
    >>> check_numbering(['f0.tif', 'f1.tif', 'f3.tif', 'f6.tif'])
    Traceback (most recent call last):
    ...
    ValueError: 3 files are missing (numbers step by 1) in the numbered ...

    """
    problem = _numbering_problem(files)
    if problem is None:
        return
    where = f' {name}' if name else ''
    found = f'{problem[0]} in the numbered TIFF series{where}: {problem[1]}'
    if gaps == 'error':
        msg = (
            f"{found}; restore them, or pass gaps='ignore' to read the "
            f'files as one continuous series'
        )
        raise ValueError(msg)
    logger.warning('%s; read as one continuous series', found)


def _numbering_problem(files: Sequence[str]) -> tuple[str, str] | None:
    """Return (what is wrong, which names) of a numbering, or None."""
    if len(files) < 2:
        return None
    parts = [_NUMBER.split(os.path.basename(f)) for f in files]
    texts = {tuple(p[0::2]) for p in parts}
    if len(texts) != 1:
        return None  # not one pattern: nothing to compare
    numbers = [p[1::2] for p in parts]
    varying = [
        i for i in range(len(numbers[0])) if len({n[i] for n in numbers}) > 1
    ]
    if len(varying) != 1:
        return None
    index = varying[0]
    digits = [n[index] for n in numbers]
    values = [int(d) for d in digits]
    steps = [b - a for a, b in zip(values, values[1:], strict=False)]
    counts = collections.Counter(steps)
    most = max(counts.values())
    step = min(d for d, n in counts.items() if n == most)
    if step <= 0 or all(d == step for d in steps):
        return None
    width = len(digits[0]) if len({len(d) for d in digits}) == 1 else 0
    template = parts[0]

    def file_name(value: int) -> str:
        pieces = list(template)
        pieces[2 * index + 1] = f'{value:0{width}d}'
        return ''.join(pieces)

    missing: list[int] = []
    odd: list[str] = []
    for i, diff in enumerate(steps):
        if diff > step and diff % step == 0:
            missing.extend(range(values[i] + step, values[i + 1], step))
        elif diff != step:
            odd.append(
                f'{os.path.basename(files[i])} then '
                f'{os.path.basename(files[i + 1])}'
            )
    if missing:
        shown = ', '.join(file_name(v) for v in missing[:5])
        more = f' and {len(missing) - 5} more' if len(missing) > 5 else ''
        count = len(missing)
        what = (
            f'{count} file{"s are" if count > 1 else " is"} missing'
            f' (numbers step by {step})'
        )
        names = f'{shown}{more}'
        if odd:
            names += f'; irregular: {", ".join(odd[:3])}'
        return what, names
    shown = ', '.join(odd[:3])
    more = f' and {len(odd) - 3} more' if len(odd) > 3 else ''
    return f'the numbers step irregularly (mostly by {step})', shown + more


def natural_sorted(files: list[str], /) -> list[str]:
    """Return files sorted so that numbers compare by value.

    >>> natural_sorted(['frame10.tif', 'frame9.tif'])
    ['frame9.tif', 'frame10.tif']

    """
    from tifffile import natural_sorted as _natural_sorted

    return _natural_sorted(files)


def write_tiff(
    path: pathlib.Path,
    data: Any,
    text: str | None,
    /,
    *,
    compression: str | None,
    overwrite: bool,
    bar: Any,
) -> None:
    """Write frames to one multi-page TIFF file, block by block.

    Parameters
    ----------
    path : pathlib.Path
        The output; a ``.ome.tif`` name writes OME-TIFF.
    data : array_like, shape (T, H, W)
        Checked frames.
    text : str or None
        Metadata as JSON text: in the image description, or in private
        tag 65000 of OME-TIFF files (whose description is the OME-XML).
    compression : {None, 'zlib', 'lzma'}
        Checked compression.
    overwrite : bool
        Replace an existing output.
    bar : progress bar
        Updated with the frames written.

    Notes
    -----
    Files above about 2 GB are BigTIFF.

    """
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
        for _, block in blocks(data, frames_per_block(data)):
            yield from block
            bar.update(len(block))

    with publishing(path, overwrite=overwrite) as tmp:
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


# tifffile's log records ------------------------------------------------


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


# multi-page files ------------------------------------------------------


@_tifffile_notes
def open_tiff(
    path: pathlib.Path,
    /,
    *,
    channel: int | None = None,
    z: int | None = None,
) -> Any:
    """Return a lazy (T, H, W) array of the first series in a TIFF file.

    Parameters
    ----------
    path : pathlib.Path
        A multi-page TIFF, OME-TIFF, ImageJ or BigTIFF file whose first
        series is 3-D, or has more dimensions of which all but
        ``(T, H, W)`` have length 1 or are selected.
    channel, z : int, optional
        Index along the series' C and Z axes (tifffile's axes, as OME
        and ImageJ hyperstacks declare them). Required where that axis
        is longer than 1 and the series has other axes besides.

    Returns
    -------
    numpy.memmap or ArrayView, shape (T, H, W)
        A memmap of uncompressed native-endian files; else a view that
        decodes only the strips or pages a slice needs (through zarr, or
        page by page without it).

    Raises
    ------
    ValueError
        If the file is not readable, truncated, holds no images, a single
        image, or a series of another shape.
    TypeError
        If the dtype is not integer or floating-point.
    ImportError
        If a compressed file needs zarr>=3 to be read lazily.

    """
    name = repr(os.fspath(path))
    tif = _open_tiff_file(path)
    try:
        if not tif.series:
            msg = f'TIFF file {name} holds no images{_tiff_note()}'
            raise ValueError(msg)
        if tif.is_ome:
            note = _time_stamps_note(tif.ome_metadata)
            if note is not None:
                logger.warning('%s: %s', name, note)
        series = tif.series[0]
        full = tuple(series.get_shape(False))
        declared = _declared_shape(tif)
        if declared is not None and math.prod(declared) != math.prod(full):
            msg = (
                f'TIFF file {name} is truncated or damaged: it declares '
                f'shape {declared} but holds {full}'
            )
            raise ValueError(msg)
        keep, fixed, shape = _series_axes(
            full, series.get_axes(False), name, channel=channel, z=z
        )
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
            if math.prod(shape) != math.prod(full):
                # map the whole series; reads touch the selected planes
                array = open_filemap(path, filedtype, offset, full)
                return ArrayView(Planes(array, keep, fixed), shape, filedtype)
            # the axes dropped have length 1: (T, H, W) has their layout
            array = open_filemap(path, filedtype, offset, shape)
            if filedtype.isnative:
                return array
            return ArrayView(Getter(array), shape, filedtype)
        return _tiff_lazy(tif, series, full, keep, fixed, shape, name)
    except BaseException:
        tif.close()
        raise


def _time_stamps_note(xml: str | None, /) -> str | None:
    """Return what is irregular in the OME time stamps of frames, or None.

    The ``DeltaT`` of the planes of the first image (first Z and C) are
    compared: an interval off the median by more than a quarter (a
    dropped frame doubles one) is irregular.

    >>> planes = ''.join(
    ...     f'<Plane TheT="{t}" DeltaT="{d}"/>'
    ...     for t, d in enumerate([0, 0.1, 0.2, 0.4])
    ... )
    >>> xml = f'<OME><Image><Pixels>{planes}</Pixels></Image></OME>'
    >>> _time_stamps_note(xml)  # doctest: +ELLIPSIS
    'time stamps are irregular: 1 of 3 intervals differ ... 0.2 s)'

    """
    if not xml or 'DeltaT' not in xml:
        return None
    import xml.etree.ElementTree as ElementTree

    try:
        root = ElementTree.fromstring(xml)
        pixels = next(e for e in root.iter() if e.tag.endswith('Pixels'))
        stamps = sorted(
            (int(p.get('TheT', 0)), float(p.get('DeltaT')))
            for p in pixels
            if p.tag.endswith('Plane')
            and p.get('DeltaT') is not None
            and p.get('TheZ', '0') == '0'
            and p.get('TheC', '0') == '0'
        )
    except (ElementTree.ParseError, StopIteration, TypeError, ValueError):
        return None
    if len(stamps) < 3:
        return None
    frames = numpy.array([t for t, _ in stamps])
    intervals = numpy.diff([d for _, d in stamps]) / numpy.diff(frames)
    median = float(numpy.median(intervals))
    if median <= 0:
        return 'time stamps do not increase'
    return irregular_stamps(intervals, frames)


@_tifffile_notes
def tiff_metadata(path: Any, /) -> dict:
    """Return the metadata imwrite stored in a TIFF file, or {}.

    The JSON in private tag 65000 (OME-TIFF), else the ``'metadata'``
    entry of a tifffile-written description.

    Raises
    ------
    ValueError
        If the file is not readable or its metadata are not valid JSON.

    """
    tif = _open_tiff_file(path)
    with tif:
        name = repr(os.fspath(path))
        page = tif.pages.first
        tag = page.tags.get(_METADATA_TAG)
        if tag is not None:
            return parse_metadata(tag.value, name)
        shaped = tif.shaped_metadata
        if shaped:
            return parse_metadata(shaped[0].get('metadata'), name)
    return {}


@_tifffile_notes
def tiff_units(path: Any, /) -> dict:
    """Return the units an OME-TIFF or ImageJ TIFF file declares, or {}.

    The OME-XML of an OME-TIFF (:func:`ipcf.io._units.ome_units`), else
    the ImageJ metadata and the XResolution and YResolution tags of an
    ImageJ TIFF (:func:`ipcf.io._units.imagej_units`). Other TIFF files
    give {}.

    Raises
    ------
    ValueError
        If the file is not readable.

    """
    tif = _open_tiff_file(path)
    with tif:
        name = repr(os.fspath(path))
        if tif.is_ome:
            return ome_units(tif.ome_metadata, name=name)
        if tif.is_imagej:
            page = tif.pages.first
            resolution = tuple(
                page.tags[key].value if key in page.tags else None
                for key in ('XResolution', 'YResolution')
            )
            axes = None
            if tif.series:
                series = tif.series[0]
                axes = series.get_axes(False)
                shape = series.get_shape(False)
                if axes.endswith('S') and shape[-1] == 1:
                    axes = axes[:-1]
            return imagej_units(tif.imagej_metadata, resolution, axes=axes)
    return {}


def tiff_layout(path: Any, /) -> tuple[dict[str, int], str]:
    """Return the lengths of the C and Z axes of a TIFF file, and its axes.

    Where the file has no other axis besides Y and X (no time axis),
    the outermost of C and Z serves as the frames, as :func:`open_tiff`
    reads it, and counts 1 here.

    """
    log = logging.getLogger('tifffile')
    quiet = _TifffileNotes()  # the reader that opens the file says them
    log.addFilter(quiet)
    try:
        tif = _open_tiff_file(path)
        try:
            series = tif.series[0] if tif.series else None
            if series is None:
                return {}, ''
            shape = tuple(int(n) for n in series.get_shape(False))
            axes = str(series.get_axes(False))
        finally:
            tif.close()
    finally:
        log.removeFilter(quiet)
    if len(axes) != len(shape):
        return {}, axes
    lengths = dict(zip(axes, shape, strict=True))
    sizes = {'C': lengths.get('C', 1), 'Z': lengths.get('Z', 1)}
    if not any(a not in 'CZYX' and n > 1 for a, n in lengths.items()):
        outer = next((a for a in axes if a in 'CZ' and lengths[a] > 1), None)
        if outer is not None:
            sizes[outer] = 1
    return sizes, axes


def _series_axes(
    shape: tuple[int, ...],
    axes: str,
    name: str,
    *,
    channel: int | None = None,
    z: int | None = None,
) -> tuple[list[int], dict[int, int], tuple[int, int, int]]:
    """Return positions of T, Y, X, the fixed indices, and (T, H, W).

    `channel` and `z` fix the C and Z axes; other length-1 axes than Y
    and X are fixed at 0, last first, until three remain.
    """
    ndim = len(shape)
    labelled = len(axes) == ndim
    if 'Y' in axes and 'X' in axes and labelled:
        image = {axes.index('Y'), axes.index('X')}
    else:
        image = {ndim - 2, ndim - 1}
    fixed: dict[int, int] = {}
    for value, label, option in ((channel, 'C', 'channel'), (z, 'Z', 'z')):
        if value is None:
            continue
        axis = axes.index(label) if labelled and label in axes else None
        length = None if axis is None else shape[axis]
        fixed[axis] = check_plane(  # type: ignore[index]
            value, option, length, label, f'TIFF file {name}'
        )
    keep = [i for i in range(ndim) if i not in fixed]
    for i in reversed(range(ndim)):
        if len(keep) <= 3:
            break
        if i in keep and shape[i] == 1 and i not in image:
            keep.remove(i)
            fixed[i] = 0
    if ndim < 3:
        msg = (
            f'TIFF file {name} holds a single {shape} image, not a time '
            f'series (T, H, W); for one file per frame, open the '
            f'directory, a glob pattern or a list of the files; for a '
            f'line-scan carpet (time, position), ipcf.line.open_carpet '
            f'or ipcf line'
        )
        raise ValueError(msg)
    extra = [i for i in keep if i not in image]
    selectable = [
        option
        for label, option in (('C', 'channel'), ('Z', 'z'))
        if labelled and label in axes and axes.index(label) in extra
    ]
    if len(keep) != 3 and selectable:
        lengths = ', '.join(
            f'{axes[i]}={shape[i]}' for i in range(ndim) if i in keep
        )
        options = ' and '.join(f'{o}=' for o in selectable)
        msg = (
            f'TIFF file {name} holds a series of shape {shape} with axes '
            f'{axes!r} ({lengths}); pass {options} to select one '
            f'{" and one ".join(_AXIS_NAMES[o] for o in selectable)}'
        )
        raise ValueError(msg)
    if len(keep) != 3 or set(keep[1:]) != image:
        msg = (
            f'TIFF file {name} holds a series of shape {shape} with axes '
            f'{axes!r}; expected (T, H, W), other dimensions of length 1'
        )
        raise ValueError(msg)
    return keep, fixed, tuple(shape[i] for i in keep)  # type: ignore


_AXIS_NAMES = {'channel': 'channel', 'z': 'z-plane'}


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
    fixed: dict[int, int],
    shape: tuple[int, int, int],
    name: str,
) -> ArrayView:
    """Return a lazy view decoding only the strips or pages needed."""
    reader = _TiffReader(tif.filehandle.path, full, keep, shape, fixed)
    chunks = reader.attach(tif, series, name)
    return ArrayView(reader, shape, series.dtype, chunks=chunks)


class _TiffReader:
    """Read blocks of the first series of a compressed TIFF file.

    Through zarr (strips or tiles decoded as needed), or page by page
    without it. Pickled, it holds only the file's name and layout and
    opens the file again when first read.

    """

    def __init__(
        self,
        path: str,
        full: tuple[int, ...],
        keep: list[int],
        shape: tuple[int, int, int],
        fixed: dict[int, int] | None = None,
    ) -> None:
        self.path = os.fspath(path)
        self.full = tuple(full)
        self.keep = list(keep)
        self.shape = tuple(shape)
        self.fixed = dict(fixed or {})
        self._lock = threading.Lock()
        self._tif: Any = None
        self._read: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {
            'path': self.path,
            'full': self.full,
            'keep': self.keep,
            'shape': self.shape,
            'fixed': self.fixed,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)

    def attach(self, tif: Any, series: Any, name: str) -> tuple | None:
        """Read through the open tif; return the chunk shape."""
        try:
            import zarr
        except ImportError:
            zarr = None
        if zarr is not None and int(zarr.__version__.split('.')[0]) >= 3:
            store = series.aszarr(level=0, squeeze=False)
            z = zarr.open(store, mode='r')
            self._tif, self._store = tif, store
            self._read = z.__getitem__
            return tuple(int(z.chunks[i]) for i in self.keep)
        # without zarr: pages, if each frame is one page
        if len(series.pages) != self.shape[0] or tuple(
            series.keyframe.shape
        ) != tuple(self.shape[1:]):
            msg = (
                f'reading the compressed TIFF file {name} lazily needs '
                f'zarr>=3; install ipcf[all]'
            )
            raise ImportError(msg)
        self._tif = tif
        self._read = None
        return (1, *self.shape[1:])

    def _open(self) -> None:
        with self._lock:
            if self._tif is not None:
                return
            name = repr(self.path)
            tif = _open_tiff_file(self.path)
            try:
                self.attach(tif, tif.series[0], name)
            except BaseException:
                tif.close()
                raise

    def __call__(self, key: tuple[slice, slice, slice]) -> numpy.ndarray:
        if self._tif is None:
            self._open()
        if self._read is not None:
            full_key: list[int | slice] = [0] * len(self.full)
            for i, value in self.fixed.items():
                full_key[i] = value
            for i, k in zip(self.keep, key, strict=True):
                full_key[i] = k
            try:
                return self._read(tuple(full_key))
            except Exception as exc:
                raise _tiff_error(self.path, exc) from exc
        t, y, x = key
        dtype = self._tif.series[0].dtype
        if t.stop <= t.start:
            return numpy.empty((0, *self.shape[1:]), dtype)[:, y, x]
        with self._lock:
            try:
                data = self._tif.asarray(
                    key=list(range(t.start, t.stop)), series=0
                )
            except Exception as exc:
                raise _tiff_error(self.path, exc) from exc
        return data.reshape(-1, *self.shape[1:])[:, y, x]


# one frame per file ----------------------------------------------------


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
