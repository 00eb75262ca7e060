"""Lazy ``(T, H, W)`` array views and the indexing they accept.

The readers of :mod:`ipcf.io` return objects that read only what a slice
needs. They take basic indices (integers, slices, ``...``); this module
normalizes such keys, turns them into step-1 reads plus a local index,
and checks that an array-like is a 3-D integer or floating-point series.

>>> data = numpy.arange(24, dtype='>u2').reshape(2, 3, 4)
>>> view = ArrayView(lambda key: data[key], data.shape, data.dtype)
>>> view[1, ::-2, 3]
array([23, 15], dtype=uint16)

"""

from __future__ import annotations

import math
import mmap
import numbers
import os
from collections.abc import Callable
from typing import Any

import numpy

__all__ = [
    'ArrayView',
    'FileMap',
    'LazySeries',
    'Planes',
    'as_range',
    'bounds',
    'check_array',
    'check_plane',
    'chunks_of',
    'native',
    'normalize_key',
    'open_filemap',
    'source_paths',
]


class FileMap(numpy.memmap):
    """A read-only memmap that pickles as its file, not as its data.

    Sent to another process (a dask worker), a whole mapping of a file
    is mapped there anew; a view or a computed array pickles its values,
    as numpy arrays do.

    """

    def __reduce__(self) -> Any:
        if isinstance(self.base, mmap.mmap) and self.filename:
            return (
                open_filemap,
                (self.filename, self.dtype.str, self.offset, self.shape),
            )
        return numpy.asarray(self).__reduce__()


def open_filemap(
    path: str | os.PathLike[str],
    dtype: Any,
    offset: int,
    shape: tuple[int, ...],
) -> FileMap:
    """Return a read-only :class:`FileMap` of shape at offset of a file."""
    return FileMap(path, dtype=dtype, mode='r', offset=offset, shape=shape)


class Getter:
    """Read blocks of an array by indexing it: a picklable reader."""

    def __init__(self, array: Any) -> None:
        self.array = array

    def __call__(self, key: tuple[slice, slice, slice]) -> Any:
        return self.array[key]


class Planes:
    """Read (t, y, x) blocks of an N-D array at fixed other indices.

    `keep` gives the positions of the t, y and x axes; `fixed` maps each
    other position to its index (the selected channel or plane, or 0 for
    an axis of length 1). Pickles as the array and the indices.

    >>> data = numpy.arange(24).reshape(2, 3, 2, 2)
    >>> Planes(data, [0, 2, 3], {1: 2})((slice(0, 2),) * 3)[:, 0, 0]
    array([ 8, 20])

    """

    def __init__(
        self, array: Any, keep: list[int], fixed: dict[int, int]
    ) -> None:
        self.array = array
        self.keep = list(keep)
        self.fixed = dict(fixed)
        self.name = getattr(array, 'name', '')

    def __call__(self, key: tuple[slice, slice, slice]) -> Any:
        index: list[Any] = [0] * len(self.array.shape)
        for i, value in self.fixed.items():
            index[i] = value
        for i, part in zip(self.keep, key, strict=True):
            index[i] = part
        return self.array[tuple(index)]


def check_plane(
    value: Any, name: str, length: int | None, axis: str, source: str, /
) -> int:
    """Return value checked as an index of an axis of length `length`.

    `length` None means the source has no such axis.

    >>> check_plane(1, 'channel', 2, 'C', 'a.tif')
    1

    """
    if isinstance(value, bool | numpy.bool_) or not isinstance(
        value, numbers.Integral
    ):
        msg = f'{name}={value!r} is not an integer'
        raise TypeError(msg)
    value = int(value)
    if length is None:
        msg = f'{name}={value} given, but {source} has no {axis} axis'
        raise ValueError(msg)
    if not 0 <= value < length:
        msg = (
            f'{name}={value} is out of range for {source}, whose {axis} '
            f'axis has length {length}: expected 0 to {length - 1}'
        )
        raise ValueError(msg)
    return value


def source_paths(array: Any, /) -> list[str]:
    """Return the files or stores that an array-like reads from.

    Knows the readers of :mod:`ipcf.io` (their ``files`` or ``path``),
    memmaps, h5py datasets and zarr arrays on local stores; [] for
    others (numpy arrays in memory, dask).

    >>> source_paths(numpy.zeros(3))
    []

    """
    if isinstance(array, LazySeries):
        files = getattr(array, 'files', None)
        if files is not None:
            return [os.fspath(f) for f in files]
        path = getattr(array, 'path', None)
        if path is not None:
            return [os.fspath(path)]
        reader = getattr(array, '_read', None)
        inner = getattr(reader, 'array', None)
        return [] if inner is None else source_paths(inner)
    if isinstance(array, numpy.ndarray):
        filename = getattr(array, 'filename', None)  # numpy.memmap
        if isinstance(filename, str | os.PathLike):
            return [os.fspath(filename)]
        return []
    name = getattr(getattr(array, 'file', None), 'filename', None)  # h5py
    if isinstance(name, str) and name:
        return [name]
    root = getattr(getattr(array, 'store', None), 'root', None)  # zarr
    if isinstance(root, str | os.PathLike):
        return [os.fspath(root)]
    return []


class LazySeries:
    """Shape, dtype and conversions shared by the lazy (T, H, W) readers.

    Subclasses set ``_shape`` and ``_dtype`` and implement
    ``__getitem__`` for the keys :func:`normalize_key` accepts.

    """

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


class ArrayView(LazySeries):
    """Lazy read-only ``(T, H, W)`` view over a reader of 3-D blocks.

    ``read(slices)`` gets three step-1 slices and returns that block;
    steps, integers and byte order are handled here. `owner` is kept
    referenced (an open file, say) as long as the view lives.

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
        key = normalize_key(key, self._shape)
        parts = [bounds(k) for k in key]
        block = self._read(tuple(slice(lo, hi) for lo, hi, _ in parts))
        result = block[tuple(local for _, _, local in parts)]
        if isinstance(block, numpy.memmap) or not result.dtype.isnative:
            # a copy, not a view that keeps the file mapped
            result = numpy.array(result, dtype=self._dtype)
        return result[()] if result.ndim == 0 else numpy.asarray(result)


def check_array(
    array: Any,
    name: str,
    /,
    *,
    convert: bool = False,
    allow_empty: bool = True,
) -> Any:
    """Return array-like checked to be 3-D integer or float.

    With `convert`, objects without shape and dtype (nested lists) go
    through :func:`numpy.asarray` first; others are not read.

    Raises
    ------
    TypeError
        If `array` is not array-like (and not `convert`) or its dtype is
        not integer or floating-point.
    ValueError
        If `array` is not 3-D, or has an empty axis and not
        `allow_empty`.

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


def native(array: numpy.ndarray, /) -> numpy.ndarray:
    """Return array in native byte order (a copy if it was swapped)."""
    if array.dtype.isnative:
        return array
    return array.astype(array.dtype.newbyteorder('='))


def chunks_of(array: Any, /) -> tuple[int, ...] | None:
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


def as_range(key: slice, /) -> range:
    """Return the range of a normalized slice."""
    return range(key.start, key.stop, key.step)


def normalize_key(
    key: Any, shape: tuple[int, ...], /
) -> tuple[int | slice, int | slice, int | slice]:
    """Return key as three in-bounds ints or slices with explicit ends.

    Raises
    ------
    IndexError
        If an integer is out of bounds, or there are too many indices or
        ellipses.
    TypeError
        If an index is not an integer, a slice or ``...``.

    >>> normalize_key((Ellipsis, -1), (4, 3, 2))
    (slice(0, 4, 1), slice(0, 3, 1), 1)

    """
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


def bounds(key: int | slice, /) -> tuple[int, int, int | slice]:
    """Return (lo, hi, local key) so that ``a[key] == a[lo:hi][local]``.

    `key` is normalized (:func:`normalize_key`).

    >>> bounds(slice(7, 1, -3))
    (4, 8, slice(3, None, -3))

    """
    if not isinstance(key, slice):
        return key, key + 1, 0
    r = as_range(key)
    if len(r) == 0:
        return 0, 0, slice(0, 0)
    lo, hi = min(r[0], r[-1]), max(r[0], r[-1]) + 1
    stop = r.stop - lo
    return lo, hi, slice(r.start - lo, stop if stop >= 0 else None, r.step)
