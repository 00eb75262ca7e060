"""Maps in the result store: one ``maps`` group with its provenance.

:func:`save_maps` writes the Dataset of :func:`ipcf.maps` with
:func:`ipcf.store.save_result`, recording the parameters of the maps and
the source of the pCF result they came from; :func:`load_maps` reads it
back with :func:`ipcf.store.load_result`.

"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .._validate import check_bool

if TYPE_CHECKING:
    from pathlib import Path

    import xarray

__all__ = ['load_maps', 'save_maps']

GROUP = 'maps'
"""Group of the maps in a store."""

_PARAMETERS = (
    'pixel_size',
    'w',
    'pixel_size_z',
    'w_z',
    'window',
    'threshold',
    'diffusion_range',
)
"""Attributes of the maps that are parameters of :func:`ipcf.maps`."""


def save_maps(
    maps: xarray.Dataset,
    path: str | os.PathLike[str],
    /,
    *,
    overwrite: bool = False,
) -> Path:
    """Write maps to HDF5 (``.h5``), zarr (``.zarr``) or netCDF (``.nc``).

    Parameters
    ----------
    maps : xarray.Dataset
        Result of :func:`ipcf.maps` (any Dataset of numbers goes).
    path : str or path-like
        Output file; the suffix chooses the format of the result store
        (:func:`ipcf.store.save_result`): HDF5 (``.h5``, ``.hdf5``) and
        zarr hold the maps in the group ``maps``; ``.nc`` is netCDF-3
        written by scipy; ``.zarr`` needs the zarr package.
    overwrite : bool, optional, default: False
        Replace an existing file. Otherwise raise FileExistsError.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    TypeError
        If `maps` is not an :class:`xarray.Dataset` or `overwrite` not a
        bool.
    FileExistsError
        If `path` exists and `overwrite` is False.
    ValueError
        If the suffix is not ``.h5`` (``.hdf5``, ``.hdf``), ``.zarr`` or
        ``.nc``.

    Notes
    -----
    The provenance (``load_maps(path).encoding['provenance']``) records
    the parameters of the maps (``pixel_size``, ``w``, ``window``,
    ``threshold`` and ``diffusion_range``, from their attributes, and
    ``pixel_size_z`` and ``w_z`` for maps of volumes), the
    ``source`` of the pCF result, the call and the package version. The
    file is written under a hidden name and renamed when complete.

    Examples
    --------
    >>> import tempfile, numpy, xarray
    >>> data = xarray.Dataset(
    ...     {'D': (('y', 'x'), numpy.ones((2, 3)))},
    ...     attrs={'pixel_size': 0.1, 'w': 0.25},
    ... )
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_maps(data, f'{tmp}/maps.h5')
    ...     loaded = load_maps(path)
    >>> loaded.identical(data)
    True
    >>> loaded.encoding['provenance']['parameters']
    {'pixel_size': 0.1, 'w': 0.25}

    """
    import xarray

    from ..store import save_result

    if not isinstance(maps, xarray.Dataset):
        msg = f'maps is a {type(maps).__name__}, not an xarray.Dataset'
        raise TypeError(msg)
    overwrite = check_bool(overwrite, 'overwrite')
    return save_result(
        maps,
        path,
        group=GROUP,
        overwrite=overwrite,
        provenance=_provenance(maps),
    )


def load_maps(path: str | os.PathLike[str], /) -> xarray.Dataset:
    """Return maps written by :func:`save_maps`.

    Parameters
    ----------
    path : str or path-like
        ``.h5`` (``.hdf5``, ``.hdf``), ``.zarr`` or ``.nc`` store.

    Returns
    -------
    xarray.Dataset
        The maps as written; ``encoding['provenance']`` holds their
        provenance and ``encoding['store']`` the path.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If the suffix is not supported, or the file holds no maps.

    Examples
    --------
    See :func:`save_maps`.

    """
    import xarray

    from ..store import load_result

    maps = load_result(path, group=GROUP)
    if not isinstance(maps, xarray.Dataset):
        msg = (
            f'{os.fspath(path)!r} holds a {type(maps).__name__}, not maps; '
            'write maps with ipcf.analysis.save_maps'
        )
        raise ValueError(msg)
    return maps


def _provenance(maps: xarray.Dataset) -> dict[str, Any]:
    """Return the provenance record of maps from their attributes."""
    from ..store import provenance

    attrs = maps.attrs
    parameters = {key: attrs[key] for key in _PARAMETERS if key in attrs}
    call = None
    if 'pixel_size' in parameters and 'w' in parameters:
        options = dict(parameters)
        if 'diffusion_range' in options:
            options['diffusion_range'] = tuple(options['diffusion_range'])
        args = ', '.join(f'{key}={value!r}' for key, value in options.items())
        call = f'ipcf.maps(result, {args})'
    return provenance(
        source=attrs.get('source'), parameters=parameters, call=call
    )
