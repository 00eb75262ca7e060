"""Metadata of image series as JSON: dumping, parsing and raw sidecars.

:func:`ipcf.io.imwrite` stores a metadata dict as JSON text with the
frames: in a TIFF description or tag, as the HDF5 or zarr attribute
``'metadata'``, or in the JSON sidecar ``<file>.json`` of a raw file,
which also holds the frames' shape, dtype and byte order.
:func:`ipcf.io.read_metadata` gives it back.

>>> text = dump_metadata({'frame_time': numpy.float32(0.5)})
>>> text, parse_metadata(text, 'example')
('{"frame_time": 0.5}', {'frame_time': 0.5})

"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Mapping
from typing import Any

import numpy

__all__ = [
    'attrs_metadata',
    'dump_metadata',
    'find_sidecar',
    'parse_metadata',
    'read_sidecar',
    'sidecar_path',
]


def dump_metadata(metadata: Mapping[str, Any] | None, /) -> str | None:
    """Return metadata as JSON text, or None if it is None.

    Parameters
    ----------
    metadata : dict or None
        JSON-serializable values; numpy scalars and arrays become numbers
        and lists, paths strings. NaN and infinity are kept.

    Returns
    -------
    str or None

    Raises
    ------
    TypeError
        If `metadata` is not a mapping or holds a value JSON cannot
        represent (or refers to itself).

    Examples
    --------
    >>> dump_metadata({'shape': numpy.array([2, 3])})
    '{"shape": [2, 3]}'

    """
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


def parse_metadata(value: Any, name: str, /) -> dict:
    """Return stored metadata (JSON text, bytes or a mapping) as a dict.

    Parameters
    ----------
    value : str, bytes, mapping or None
        What was stored; None gives an empty dict.
    name : str
        The source, for messages.

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        If `value` is not valid JSON or not a JSON object.

    Examples
    --------
    >>> parse_metadata(b'{"a": 1}', 'movie.h5'), parse_metadata(None, '')
    ({'a': 1}, {})

    """
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


def attrs_metadata(attrs: Any, fallback: Any, /, *, name: str) -> dict:
    """Return the ``'metadata'`` attribute of attrs, else of fallback.

    `attrs` and `fallback` are attribute mappings (h5py, zarr) or None;
    the value is parsed by :func:`parse_metadata`. Neither holding one
    gives an empty dict.

    """
    for source in (attrs, fallback):
        if source is None:
            continue
        value = source.get('metadata')
        if value is not None:
            return parse_metadata(value, name)
    return {}


def sidecar_path(path: pathlib.Path, /) -> pathlib.Path:
    """Return the JSON sidecar name ``<path>.json`` that imwrite writes.

    >>> sidecar_path(pathlib.Path('movie.bin')).name
    'movie.bin.json'

    """
    return path.with_name(path.name + '.json')


def find_sidecar(path: pathlib.Path, /) -> pathlib.Path | None:
    """Return the JSON sidecar of a raw file, or None if it has none.

    ``<file>.json`` is looked for first, then ``<stem>.json``.

    """
    for sidecar in (sidecar_path(path), path.with_suffix('.json')):
        if sidecar.is_file():
            return sidecar
    return None


def read_sidecar(sidecar: pathlib.Path, /) -> dict:
    """Return the JSON object of a sidecar file.

    Raises
    ------
    ValueError
        If the file is not valid JSON or does not hold a JSON object.

    """
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
