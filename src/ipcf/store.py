"""Result store: pCF results in HDF5 or zarr, written atomically.

A store holds one group per analysis (default ``'pcf'``) with datasets

``pcf``
    float32 ``(H', W', npoints, nbins)``, chunked by pixel blocks.
``points``
    int ``(npoints, 2)`` circle offsets ``(u, v)``.
``delays``, ``bin_edges``
    Mean delay of each bin in seconds and its exclusive upper edge in
    frames.
``mask``
    bool ``(H', W')`` of analysed centre pixels (all True without mask).

and attributes with every parameter, the grid offset ``y0``, ``x0``, the
source and a fingerprint of its shape and dtype, the package version and
``complete`` (True once every value is written). Files are written under a
temporary name and renamed when complete, so an interrupted write never
leaves a file that looks finished.

"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy

from ._files import remove_path
from ._utils import jsonable

if TYPE_CHECKING:
    import xarray

__all__ = [
    'ResultWriter',
    'fingerprint',
    'load_result',
    'result_info',
    'save_result',
]

_HDF5_SUFFIXES = {'.h5', '.hdf5', '.hdf'}
_ZARR_SUFFIXES = {'.zarr'}


def save_result(
    result: xarray.DataArray,
    path: str | os.PathLike[str],
    /,
    *,
    group: str = 'pcf',
    source: str | None = None,
    overwrite: bool = False,
    chunks: tuple[int, int] = (32, 32),
) -> Path:
    """Write a pCF result to an HDF5 (``.h5``) or zarr (``.zarr``) store.

    Parameters
    ----------
    result : xarray.DataArray
        Result of :func:`ipcf.pcf_image` (or :func:`load_result`).
    path : str or path-like
        Output file; the suffix chooses the format.
    group : str, optional, default: 'pcf'
        Name of the analysis group inside the store.
    source : str, optional
        Description of the input (e.g. its path), stored as an attribute.
    overwrite : bool, optional, default: False
        Replace an existing store. Otherwise raise FileExistsError.
    chunks : tuple of int, optional, default: (32, 32)
        Pixel block of a chunk; each chunk holds all points and bins.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    FileExistsError
        If `path` exists and `overwrite` is False.
    ValueError
        If the suffix is not a supported store format.

    Examples
    --------
    >>> import tempfile, ipcf
    >>> data = numpy.random.default_rng(0).poisson(100, (32, 8, 8))
    >>> result = ipcf.pcf_image(data, radius=1, npoints=4, nbins=4)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_result(result, f'{tmp}/result.h5')
    ...     loaded = load_result(path)
    >>> bool((loaded == result).all())
    True

    """
    path = Path(path)
    values = numpy.asarray(result, dtype=numpy.float32)
    if values.ndim != 4:
        msg = f'result has shape {values.shape}; expected 4-D pCF values'
        raise ValueError(msg)
    attrs = dict(result.attrs)
    if source is not None:
        attrs['source'] = str(source)
    with ResultWriter(
        path,
        shape=values.shape,
        points=numpy.stack([result['u'].values, result['v'].values], 1),
        edges=result['bin_edge'].values,
        y0=int(result['y'][0]),
        x0=int(result['x'][0]),
        attrs=attrs,
        group=group,
        chunks=chunks,
        overwrite=overwrite,
    ) as writer:
        writer.write(values)
    return path


class ResultWriter:
    """Write a pCF result block by block, then publish it atomically.

    The store is built under a temporary name beside `path` and renamed
    to `path` by :meth:`commit` (or on leaving a ``with`` block without
    an exception); :meth:`abort` or an exception removes it.

    Parameters
    ----------
    path : str or path-like
        Output store; ``.h5`` for HDF5, ``.zarr`` for zarr.
    shape : tuple of int
        ``(ny, nx, npoints, nbins)`` of the whole result.
    points : array_like, shape (npoints, 2)
        Circle offsets ``(u, v)``.
    edges : array_like, shape (nbins,)
        Exclusive upper bin edges in frames.
    y0, x0 : int
        Input pixel coordinates of result pixel ``[0, 0]``.
    attrs : dict
        Parameters of the analysis; must include ``radius`` and ``dt``.
    group : str, optional, default: 'pcf'
        Analysis group inside the store.
    chunks : tuple of int, optional, default: (32, 32)
        Pixel block of a chunk.
    overwrite : bool, optional, default: False
        Replace an existing store at commit.

    Examples
    --------
    >>> import tempfile, ipcf
    >>> points = ipcf.circle(1, 4)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with ResultWriter(
    ...         f'{tmp}/r.h5', shape=(2, 2, 4, 3), points=points,
    ...         edges=[1, 2, 4], y0=1, x0=1, attrs={'radius': 1, 'dt': 1.0},
    ...     ) as writer:
    ...         writer.write(numpy.zeros((2, 2, 4, 3)), y=0, x=0)
    ...     load_result(f'{tmp}/r.h5').shape
    (2, 2, 4, 3)

    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        /,
        *,
        shape: tuple[int, int, int, int],
        points: Any,
        edges: Any,
        y0: int,
        x0: int,
        attrs: dict[str, Any],
        group: str = 'pcf',
        chunks: tuple[int, int] = (32, 32),
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        self._kind = _store_kind(self.path)
        if self.path.exists() and not overwrite:
            msg = (
                f'{str(self.path)!r} exists; pass overwrite=True to replace it'
            )
            raise FileExistsError(msg)
        self._overwrite = overwrite
        self.shape = tuple(int(n) for n in shape)
        edges = numpy.asarray(edges, dtype=numpy.int64)
        attrs = {key: jsonable(val) for key, val in attrs.items()}
        attrs.update(y0=int(y0), x0=int(x0), complete=True)
        dt = float(attrs['dt'])
        from .pcf import bin_delays

        arrays = {
            'points': numpy.asarray(points, dtype=numpy.int32),
            'delays': bin_delays(edges) * dt,
            'bin_edges': edges,
        }
        chunk = (
            max(1, min(chunks[0], self.shape[0])),
            max(1, min(chunks[1], self.shape[1])),
            *self.shape[2:],
        )
        self._tmp = self.path.with_name(f'.{self.path.name}.partial')
        remove_path(self._tmp)
        if self._kind == 'hdf5':
            self._file, self._group = _create_hdf5(
                self._tmp, group, self.shape, chunk, arrays, attrs
            )
        else:
            self._file, self._group = _create_zarr(
                self._tmp, group, self.shape, chunk, arrays, attrs
            )
        self._mask = numpy.zeros(self.shape[:2], dtype=bool)

    def write(self, values: Any, /, *, y: int = 0, x: int = 0) -> None:
        """Write a block of result pixels starting at row y, column x."""
        values = numpy.asarray(values, dtype=numpy.float32)
        ny, nx = values.shape[:2]
        self._group['pcf'][y : y + ny, x : x + nx] = values
        self._mask[y : y + ny, x : x + nx] = ~numpy.isnan(values).all(
            axis=(2, 3)
        )

    def commit(self) -> Path:
        """Close the store and move it to its final name."""
        self._group['mask'][...] = self._mask
        self._close()
        if self._overwrite:
            remove_path(self.path)
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Close and remove the unfinished store."""
        self._close()
        remove_path(self._tmp)

    def _close(self) -> None:
        if self._file is not None and hasattr(self._file, 'close'):
            self._file.close()
        self._file = None

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, exc_type: Any, *args: Any) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def load_result(
    path: str | os.PathLike[str], /, *, group: str = 'pcf'
) -> xarray.DataArray:
    """Return a stored pCF result as :func:`ipcf.pcf_image` returns it.

    Parameters
    ----------
    path : str or path-like
        HDF5 or zarr store written by :func:`save_result` or the pipeline.
    group : str, optional, default: 'pcf'
        Analysis group inside the store.

    Returns
    -------
    xarray.DataArray
        Same dims, coordinates and attributes as :func:`ipcf.pcf_image`.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If the store has no such group, or it is incomplete.

    Examples
    --------
    See :func:`save_result`.

    """
    from .pcf import result_array

    path = Path(path)
    kind = _store_kind(path)
    if not path.exists():
        msg = f'{str(path)!r}: no such file'
        raise FileNotFoundError(msg)
    if kind == 'hdf5':
        values, arrays, attrs = _read_hdf5(path, group)
    else:
        values, arrays, attrs = _read_zarr(path, group)
    if not attrs.get('complete', False):
        msg = f'{str(path)!r}: result {group!r} is incomplete'
        raise ValueError(msg)
    attrs = {
        k: v for k, v in attrs.items() if k not in {'complete', 'version'}
    }
    radius = attrs.pop('radius')
    dt = attrs.pop('dt')
    y0 = attrs.pop('y0')
    x0 = attrs.pop('x0')
    result = result_array(
        values,
        points=arrays['points'].astype(numpy.intp),
        edges=arrays['bin_edges'].astype(numpy.intp),
        radius=radius,
        dt=dt,
        y0=y0,
        x0=x0,
        **attrs,
    )
    return result


def result_info(
    path: str | os.PathLike[str], /, *, group: str = 'pcf'
) -> dict[str, Any] | None:
    """Return a summary of a stored result, or None if `path` holds none.

    The summary has the path, format, group, shape, dims and the stored
    parameters; the values are not read.

    Examples
    --------
    >>> result_info('missing.h5') is None
    True

    """
    path = Path(path)
    try:
        kind = _store_kind(path)
    except ValueError:
        return None
    if not path.exists():
        return None
    try:
        if kind == 'hdf5':
            import h5py

            with h5py.File(path, 'r') as h5:
                grp = h5[group]
                shape = grp['pcf'].shape
                attrs = json.loads(grp.attrs['parameters'])
        else:
            import zarr

            grp = zarr.open_group(str(path), mode='r')[group]
            shape = grp['pcf'].shape
            attrs = json.loads(grp.attrs['parameters'])
    except (OSError, KeyError, ValueError, TypeError):
        return None
    return {
        'path': str(path),
        'format': f'{kind} pCF result',
        'group': group,
        'shape': tuple(int(n) for n in shape),
        'dims': ('y', 'x', 'point', 'delay'),
        **attrs,
    }


def fingerprint(shape: tuple[int, ...], dtype: Any, /) -> str:
    """Return a short hash of an array's shape and dtype.

    Stored with results so that a later run can tell whether it is
    continuing work on the same input.

    >>> fingerprint((16, 8, 8), 'uint16')
    '...'

    """
    text = json.dumps([list(shape), numpy.dtype(dtype).str])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _store_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in _HDF5_SUFFIXES:
        return 'hdf5'
    if suffix in _ZARR_SUFFIXES:
        return 'zarr'
    known = ', '.join(sorted(_HDF5_SUFFIXES | _ZARR_SUFFIXES))
    msg = f'{str(path)!r} has an unknown store suffix; use one of {known}'
    raise ValueError(msg)


def _create_hdf5(path, group, shape, chunks, arrays, attrs):
    import h5py

    h5 = h5py.File(path, 'w')
    grp = h5.create_group(group)
    grp.create_dataset(
        'pcf', shape=shape, chunks=chunks, dtype='float32', fillvalue=numpy.nan
    )
    for name, array in arrays.items():
        grp.create_dataset(name, data=array)
    grp.create_dataset('mask', shape=shape[:2], dtype=bool)
    grp.attrs['parameters'] = json.dumps(attrs)
    return h5, grp


def _read_hdf5(path, group):
    import h5py

    try:
        with h5py.File(path, 'r') as h5:
            return _read_group(h5, group, path)
    except OSError as exc:
        msg = f'{str(path)!r} is not a readable HDF5 file ({exc})'
        raise OSError(msg) from None


def _create_zarr(path, group, shape, chunks, arrays, attrs):
    import zarr

    root = zarr.open_group(str(path), mode='w')
    grp = root.create_group(group)
    grp.create_array(
        'pcf',
        shape=shape,
        chunks=chunks,
        dtype='float32',
        fill_value=numpy.nan,
    )
    for name, array in arrays.items():
        arr = grp.create_array(name, shape=array.shape, dtype=array.dtype)
        arr[...] = array
    grp.create_array('mask', shape=shape[:2], dtype=bool)
    grp.attrs['parameters'] = json.dumps(attrs)
    return None, grp


def _read_zarr(path, group):
    import zarr

    root = zarr.open_group(str(path), mode='r')
    return _read_group(root, group, path)


def _read_group(root, group, path):
    """Return values, arrays and attrs of a result group in an open store."""
    if group not in root:
        msg = f'{str(path)!r} has no result group {group!r}'
        raise ValueError(msg)
    grp = root[group]
    values = grp['pcf'][...]
    arrays = {
        name: grp[name][...]
        for name in ('points', 'delays', 'bin_edges', 'mask')
    }
    attrs = json.loads(grp.attrs['parameters'])
    return values, arrays, attrs
