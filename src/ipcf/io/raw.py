"""Raw ``.bin`` files: contiguous frames with a JSON sidecar.

A raw file holds the frames one after another, little-endian, with no
header; its shape, dtype, byte order and metadata live in the sidecar
``<file>.json`` (or ``<stem>.json``), which :func:`write_raw` writes.
Files without a sidecar open given the shape and the dtype.

>>> import tempfile, pathlib
>>> tmp = tempfile.TemporaryDirectory()
>>> path = pathlib.Path(tmp.name) / 'movie.bin'
>>> numpy.arange(24, dtype='<u2').tofile(path)
>>> open_raw(path, shape=(3, 4)).shape
(2, 3, 4)
>>> tmp.cleanup()

"""

from __future__ import annotations

import json
import math
import os
import pathlib
from collections.abc import Sequence
from typing import Any

import numpy

from .._files import publishing
from ._lazy import ArrayView, Getter, open_filemap
from ._output import blocks, frames_per_block
from .metadata import find_sidecar, parse_metadata, read_sidecar, sidecar_path

__all__ = ['open_raw', 'raw_metadata', 'write_raw']


def open_raw(
    path: pathlib.Path,
    /,
    *,
    shape: Sequence[int] | None = None,
    dtype: Any = None,
) -> Any:
    """Return a read-only view of a raw file of contiguous frames.

    Parameters
    ----------
    path : pathlib.Path
        An existing raw file.
    shape : sequence of int, optional
        ``(T, H, W)``, or ``(H, W)`` to take the number of frames from the
        file size. Default: the sidecar's.
    dtype : dtype_like, optional
        Default: the sidecar's, else ``uint16``. Little-endian unless
        given with an explicit ``'>'``.

    Returns
    -------
    numpy.memmap or ArrayView, shape (T, H, W)
        A memmap if the file is native-endian, else a lazy view that
        swaps bytes of what is read. Either pickles as the file's name
        and layout, not its data, and maps the file anew when loaded.

    Raises
    ------
    ValueError
        If the shape is unknown, not 2 or 3 positive integers, or does
        not fit the file size, or the sidecar is not valid.
    TypeError
        If the shape is not a sequence, or the dtype is not integer or
        floating-point.

    """
    name = repr(os.fspath(path))
    sidecar = find_sidecar(path)
    content = {} if sidecar is None else read_sidecar(sidecar)
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
    array = open_filemap(path, dtype, 0, shape)
    if dtype.isnative:
        return array
    return ArrayView(Getter(array), shape, dtype)


def raw_metadata(path: pathlib.Path, /) -> dict:
    """Return the metadata in the sidecar of a raw file, or {}.

    Raises
    ------
    ValueError
        If the sidecar or its metadata are not valid JSON.

    """
    sidecar = find_sidecar(path)
    if sidecar is None:
        return {}
    name = repr(os.fspath(path))
    return parse_metadata(read_sidecar(sidecar).get('metadata'), name)


def write_raw(
    path: pathlib.Path,
    data: Any,
    text: str | None,
    /,
    *,
    overwrite: bool,
    bar: Any,
) -> None:
    """Write frames little-endian to path and the sidecar beside it.

    Parameters
    ----------
    path : pathlib.Path
        The raw file; ``<path>.json`` is the sidecar.
    data : array_like, shape (T, H, W)
        Checked frames, read a block at a time.
    text : str or None
        Metadata as JSON text (:func:`ipcf.io.metadata.dump_metadata`).
    overwrite : bool
        Replace existing outputs.
    bar : progress bar
        Updated with the frames written.

    Notes
    -----
    Both files are written under hidden temporary names; the sidecar is
    renamed first, then the data, so that a raw file which exists is
    complete.

    """
    dtype = numpy.dtype(data.dtype).newbyteorder('<')
    sidecar = {
        'format': 'ipcf-raw',
        'version': 1,
        'shape': list(data.shape),
        'dtype': dtype.name,
        'byteorder': '<',
        'metadata': None if text is None else json.loads(text),
    }
    with publishing(path, overwrite=overwrite) as tmp:
        with open(tmp, 'xb') as fh:
            for _, block in blocks(data, frames_per_block(data)):
                block = numpy.ascontiguousarray(block, dtype=dtype)
                fh.write(memoryview(block).cast('B'))
                bar.update(len(block))
        with publishing(sidecar_path(path), overwrite=overwrite) as tmpjson:
            with open(tmpjson, 'x', encoding='utf-8') as fh:
                json.dump(sidecar, fh, indent=1)
                fh.write('\n')


def _as_dtype(dtype: Any, where: str) -> numpy.dtype:
    """Return numpy.dtype(dtype) or raise a TypeError naming where."""
    try:
        return numpy.dtype(dtype)
    except TypeError as exc:
        msg = f'dtype {dtype!r} of {where} is not a numpy dtype'
        raise TypeError(msg) from exc
