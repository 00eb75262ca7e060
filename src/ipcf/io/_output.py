"""What the writers of :mod:`ipcf.io` share: output checks and blocks.

Every writer checks its output and its options before it creates
anything, then reads its input a block of frames at a time, so that
memory stays bounded for lazy inputs. Publishing (a hidden temporary
name renamed when complete) is :func:`ipcf._files.publishing`.

"""

from __future__ import annotations

import importlib.util
import math
import os
import pathlib
from collections.abc import Iterator
from typing import Any

import numpy

from .._files import (
    check_target,
    file_kind,
    is_zarr_store,
    writer_kind,
)
from ._lazy import native

__all__ = [
    'COMPRESSION',
    'blocks',
    'check_compression',
    'check_output',
    'frames_per_block',
    'output_kind',
]

# frames per block when writing raw or TIFF: about this many bytes
_BLOCK_BYTES = 64 * 2**20

# zstd in HDF5 is a filter plugin, which hdf5plugin ships
HDF5_ZSTD = importlib.util.find_spec('hdf5plugin') is not None

COMPRESSION: dict[str, tuple[str, ...]] = {
    'raw': (),
    'tiff': ('zlib', 'lzma'),
    'hdf5': ('zlib', 'gzip', 'lzf') + (('zstd',) if HDF5_ZSTD else ()),
    'zarr': ('zlib', 'gzip', 'zstd', 'blosc'),
}
"""Format -> compression names its writers accept (besides None).

HDF5 takes ``'zstd'`` only where hdf5plugin is installed.
"""


def output_kind(path: pathlib.Path, /) -> str:
    """Return the format that imwrite writes to path, by its suffix.

    Raises
    ------
    ValueError
        If the suffix selects none of :data:`COMPRESSION`'s formats.

    >>> output_kind(pathlib.Path('movie.TIFF'))
    'tiff'

    """
    return writer_kind(
        path,
        tuple(COMPRESSION),
        action='write',
        hint=', or imwrite_series for a directory of TIFF files',
    )


def check_compression(compression: Any, kind: str, /) -> str | None:
    """Return compression if the writer of kind accepts it, else raise.

    Raises
    ------
    ValueError
        If `compression` is not None or one of ``COMPRESSION[kind]``.

    >>> check_compression('lzf', 'hdf5')
    'lzf'

    """
    if compression is None:
        return None
    allowed = COMPRESSION[kind]
    if compression not in allowed:
        choices = ', '.join(repr(c) for c in (None, *allowed))
        msg = (
            f'{compression=} is not supported for {kind} files; use {choices}'
        )
        if kind == 'hdf5' and compression == 'zstd':
            msg += ' (zstd in HDF5 needs hdf5plugin: pip install hdf5plugin)'
        raise ValueError(msg)
    return compression


def check_output(
    path: pathlib.Path,
    /,
    *,
    overwrite: bool,
    directory: bool,
    tiffs: bool = False,
) -> None:
    """Raise FileExistsError if path exists and may not be replaced.

    An existing output is replaced only if `overwrite`, and only by one
    of its kind: a file by a file, a zarr store (`directory`) by a zarr
    store, a directory of TIFF files (`tiffs`) by such a directory.

    Raises
    ------
    ipcf._files.OutputExistsError
        If `path` exists and `overwrite` is False.
    FileExistsError
        If `path` is of another kind, or a directory holding other files.

    """
    check_target(path, overwrite=overwrite)
    if not (path.exists() or path.is_symlink()):
        return
    text = repr(os.fspath(path))
    if path.is_dir() != directory:
        kind = 'a directory' if path.is_dir() else 'a file'
        msg = f'{text} exists and is {kind}; remove it first'
        raise FileExistsError(msg)
    if not directory:
        return
    if tiffs:
        other = [
            p.name
            for p in path.iterdir()
            if p.is_dir() or file_kind(p) != 'tiff'
        ]
        if other:
            msg = (
                f'{text} holds other files than TIFF files (e.g. '
                f'{other[0]!r}); not replacing it'
            )
            raise FileExistsError(msg)
    elif any(path.iterdir()) and not is_zarr_store(path):
        msg = f'{text} is not a zarr store; not replacing it'
        raise FileExistsError(msg)


def frames_per_block(data: Any, /) -> int:
    """Return how many frames of data make a write block (at least 1)."""
    frame = math.prod(data.shape[1:]) * numpy.dtype(data.dtype).itemsize
    return max(1, _BLOCK_BYTES // max(frame, 1))


def blocks(data: Any, step: int, /) -> Iterator[tuple[int, numpy.ndarray]]:
    """Yield (first frame, native-endian block of up to step frames)."""
    for t0 in range(0, data.shape[0], step):
        yield t0, native(numpy.asarray(data[t0 : t0 + step]))
