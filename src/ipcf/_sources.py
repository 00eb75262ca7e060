"""Where a result came from, and the physical units that came with it.

Results record the series they were computed from (``attrs['source']``)
and the store they were loaded from (``attrs['store']``, set by the
store when it reads them). Plots, the report, the maps and the command
line ask this module, and only this one, for that series and for the
pixel size, PSF radius and frame interval known about it.

"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ['physical_units', 'relative_source', 'source_of']

_UNIT_KEYS = {
    'pixel_size': ('pixel_size',),
    'psf_radius': ('psf_radius', 'w'),
    'frame_interval': ('frame_interval', 'frame_time', 'dt'),
}


def source_of(
    result: Any, /, path: str | os.PathLike[str] | None = None
) -> Path | None:
    """Return the series a result was computed from, if it exists.

    A relative ``source`` is resolved against the directory of the result
    store first (the `path` given, else ``encoding['store']`` that
    :func:`ipcf.load_result` sets), then against
    the working directory, so that a result can be used from anywhere.

    Examples
    --------
    >>> import xarray
    >>> source_of(xarray.DataArray([0])) is None
    True

    """
    attrs = getattr(result, 'attrs', {}) or {}
    source = attrs.get('source')
    if not isinstance(source, str) or not source:
        return None
    source_path = Path(source)
    if path is None:
        encoding = getattr(result, 'encoding', {}) or {}
        path = encoding.get('store') or attrs.get('store')
    candidates = []
    if source_path.is_absolute():
        candidates.append(source_path)
    else:
        if path:
            folder = Path(path).parent
            candidates += [folder / source_path, folder / source_path.name]
        candidates.append(source_path)
    for candidate in candidates:
        if candidate.exists():
            return candidate
    return None


def relative_source(source: Any, output: str | os.PathLike[str], /) -> str:
    """Return how a result at output records the series it came from.

    A path is written relative to the directory of `output` (so that the
    pair can be moved together and used from anywhere); a list of files
    by its first file and count; an array by its type and shape.

    >>> relative_source('data/a.tif', 'data/out/r.h5')
    '../a.tif'

    """
    if isinstance(source, str | os.PathLike):
        folder = os.path.dirname(os.path.abspath(output))
        return os.path.relpath(os.path.abspath(source), folder)
    if isinstance(source, list | tuple) and source:
        first = relative_source(source[0], output)
        return f'{len(source)} files from {first}'
    shape = getattr(source, 'shape', None)
    shape = '' if shape is None else str(tuple(int(n) for n in shape))
    return f'{type(source).__name__} {shape}'.strip()


def physical_units(*records: Any) -> dict[str, float | None]:
    """Return pixel size (µm), PSF radius (µm), frame interval (s).

    Each record is a mapping (result attrs, metadata) or a source that
    :func:`ipcf.io.read_metadata` reads; the first that knows a value
    gives it. Unknown values are None. Of a source, the metadata ipcf
    stored come first, then the units its file declares (OME-TIFF,
    ImageJ TIFF, OME-Zarr: ``pixel_size`` and ``frame_interval``).

    Examples
    --------
    >>> physical_units({'pixel_size': 0.1}, {'psf_radius': 0.25})
    {'pixel_size': 0.1, 'psf_radius': 0.25, 'frame_interval': None}

    """
    units: dict[str, float | None] = dict.fromkeys(_UNIT_KEYS)
    for record in records:
        if record is None:
            continue
        if not isinstance(record, dict):
            record = _metadata(record)
        for name, keys in _UNIT_KEYS.items():
            if units[name] is not None:
                continue
            for key in keys:
                value = record.get(key)
                if _is_number(value):
                    units[name] = float(value)
                    break
    return units


def _metadata(source: Any) -> dict[str, Any]:
    from .io import read_metadata

    try:
        return dict(read_metadata(source) or {})
    except (OSError, ValueError, TypeError):
        return {}


def _is_number(value: Any) -> bool:
    import numbers

    return isinstance(value, numbers.Real) and not isinstance(value, bool)
