"""Write a series to one file whose suffix picks the format.

:func:`imwrite` checks the data and every option before it creates
anything, then hands the frames to the writer of the format
(:func:`~ipcf.io.raw.write_raw`, :func:`~ipcf.io.tiff.write_tiff`,
:func:`~ipcf.io.stores.write_store`), which writes them block by block
under a hidden temporary name and renames it when complete.

"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

from .._files import check_not_input
from .._utils import progress_bar
from .._validate import check_bool
from ._lazy import check_array, source_paths
from ._output import check_compression, check_output, output_kind
from .metadata import dump_metadata, sidecar_path
from .raw import write_raw
from .stores import KINDS, check_chunks, write_store
from .tiff import write_tiff

__all__ = ['imwrite']


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
        dask, or the result of :func:`~ipcf.io.open_series`. Read block
        by block and never modified.
    metadata : dict, optional
        JSON-serializable metadata (numpy scalars and arrays are
        converted); stored as a JSON string (HDF5/zarr attribute
        ``'metadata'`` of the dataset) and given back by
        :func:`~ipcf.io.read_metadata`.
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
        If the suffix, shape, chunks or compression are not supported,
        or the output is, holds or lies in a file that `data` reads
        (a dataset of :func:`~ipcf.io.open_series`, a memmap, ...).
    TypeError
        If `data` is not integer or floating-point, `metadata` is not a
        JSON-serializable dict, or an option is of the wrong kind.

    Notes
    -----
    Writing is atomic: the data go to a hidden temporary name in the same
    directory, renamed onto `path` only when complete, so an interrupted
    write never leaves a file that looks complete.

    Examples
    --------
    >>> import tempfile, pathlib, numpy
    >>> from ipcf.io import open_series
    >>> tmp = tempfile.TemporaryDirectory()
    >>> data = numpy.arange(24, dtype=numpy.uint16).reshape(2, 3, 4)
    >>> path = imwrite(pathlib.Path(tmp.name) / 'movie.zarr', data)
    >>> path.name
    'movie.zarr'
    >>> numpy.array_equal(open_series(path)[:], data)
    True
    >>> tmp.cleanup()

    """
    data = check_array(data, 'data', convert=True, allow_empty=False)
    text = dump_metadata(metadata)
    path = pathlib.Path(path)
    kind = output_kind(path)
    if kind in KINDS:
        chunks = check_chunks(chunks, data.shape)
    elif chunks is not None:
        msg = f'{chunks=} applies to HDF5 and zarr output only'
        raise ValueError(msg)
    compression = check_compression(compression, kind)
    overwrite = check_bool(overwrite, 'overwrite')
    progress = check_bool(progress, 'progress')
    check_not_input(path, source_paths(data))
    check_output(path, overwrite=overwrite, directory=kind == 'zarr')
    if kind == 'raw':
        check_output(sidecar_path(path), overwrite=overwrite, directory=False)
    path.parent.mkdir(parents=True, exist_ok=True)

    bar = progress_bar(
        data.shape[0],
        enable=progress,
        desc=f'writing {path.name}',
        unit='frame',
    )
    with bar:
        if kind == 'raw':
            write_raw(path, data, text, overwrite=overwrite, bar=bar)
        elif kind == 'tiff':
            write_tiff(
                path,
                data,
                text,
                compression=compression,
                overwrite=overwrite,
                bar=bar,
            )
        else:
            write_store(
                path,
                data,
                text,
                kind=kind,
                chunks=chunks,
                compression=compression,
                overwrite=overwrite,
                bar=bar,
            )
    return path
