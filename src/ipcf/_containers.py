"""HDF5 and zarr groups behind one small interface.

The store, the converter and the image writers keep arrays in HDF5 files
(h5py) or zarr stores; this module opens either by kind and creates,
reads and annotates their arrays the same way, so that no other module
branches on the format.

"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from typing import Any

import numpy

from ._utils import jsonable

__all__ = [
    'close_group',
    'create_array',
    'flush',
    'get_json',
    'open_group',
    'open_root',
    'require_group',
    'set_json',
]


def _zarr() -> Any:
    try:
        import zarr
    except ImportError as exc:
        msg = 'zarr stores need zarr; install it with pip install "ipcf[all]"'
        raise ImportError(msg) from exc
    return zarr


def open_group(
    path: str | os.PathLike[str], kind: str, /, mode: str = 'r'
) -> Any:
    """Return the root group of an HDF5 file or zarr store, open.

    `mode` is ``'r'`` (read), ``'w'`` (create, replacing), ``'r+'`` or
    ``'a'``. :func:`close_group` closes it.

    """
    path = os.fspath(path)
    if kind == 'hdf5':
        import h5py

        try:
            return h5py.File(path, mode)
        except OSError as exc:
            msg = f'{path!r} is not a readable HDF5 file ({exc})'
            raise OSError(msg) from None
    if kind == 'zarr':
        zarr = _zarr()
        try:
            return zarr.open_group(path, mode=mode)
        except (FileNotFoundError, ValueError, KeyError) as exc:
            msg = f'{path!r} is not a readable zarr store ({exc})'
            raise OSError(msg) from None
    msg = f'{kind=!r} is not a container kind'  # pragma: no cover
    raise ValueError(msg)  # pragma: no cover


def close_group(root: Any, /) -> None:
    """Close a root group from :func:`open_group` (zarr needs nothing)."""
    if _is_hdf5(root):
        root.close()


@contextlib.contextmanager
def open_root(
    path: str | os.PathLike[str], kind: str, /, mode: str = 'r'
) -> Iterator[Any]:
    """Yield the root group of an HDF5 file or zarr store, then close it.

    `mode` is ``'r'`` (read), ``'w'`` (create, replacing) or ``'a'``.

    """
    root = open_group(path, kind, mode)
    try:
        yield root
    finally:
        close_group(root)


def require_group(root: Any, name: str, /) -> Any:
    """Return group name of root, creating it (and its parents)."""
    if name in ('', '/'):
        return root
    if name in root:
        return root[name]
    return root.create_group(name)


def create_array(
    group: Any,
    name: str,
    /,
    *,
    data: Any = None,
    shape: tuple[int, ...] | None = None,
    dtype: Any = None,
    chunks: tuple[int, ...] | None = None,
    fill_value: Any = None,
    compression: dict[str, Any] | None = None,
    complete: bool = False,
) -> Any:
    """Create an array in an h5py or zarr group; return it.

    Either `data` or `shape` and `dtype` are given. `compression` holds
    keyword arguments of the library's own (``compression=`` for h5py,
    ``compressors=`` for zarr). With `complete`, zarr stores every chunk
    written, those equal to the fill value too, so that a chunk missing
    from the store is known to be lost (:mod:`ipcf.io` checks).

    """
    if data is not None:
        data = numpy.asarray(data)
        shape, dtype = data.shape, data.dtype
    dtype = numpy.dtype(dtype)
    options = dict(compression or {})
    if _is_hdf5(group):
        if chunks is not None:
            options['chunks'] = tuple(int(c) for c in chunks)
        if fill_value is not None:
            options['fillvalue'] = fill_value
        array = group.create_dataset(name, shape=shape, dtype=dtype, **options)
    else:
        if chunks is not None:
            options['chunks'] = tuple(int(c) for c in chunks)
        if fill_value is not None:
            options['fill_value'] = fill_value
        if complete:
            options['config'] = {'write_empty_chunks': True}
        array = group.create_array(name, shape=shape, dtype=dtype, **options)
    if data is not None and data.size:
        array[...] = data
    return array


def flush(root: Any, /) -> None:
    """Write what an HDF5 file buffers to disk; zarr writes at once.

    Call it before recording progress, so that the record never claims
    data that are not yet on disk.

    """
    if _is_hdf5(root):
        root.flush()


def set_json(node: Any, key: str, value: Any, /) -> None:
    """Store value as a JSON text attribute of a group or array."""
    node.attrs[key] = json.dumps(jsonable(value))


def get_json(node: Any, key: str, /, default: Any = None) -> Any:
    """Return the JSON attribute key of node, or default if absent."""
    if key not in node.attrs:
        return default
    text = node.attrs[key]
    if isinstance(text, bytes):
        text = text.decode()
    return json.loads(text)


def _is_hdf5(node: Any) -> bool:
    return any(c.__module__.startswith('h5py') for c in type(node).__mro__)
