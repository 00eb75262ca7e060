"""Result store: labelled results of every analysis, with provenance.

One store (an HDF5 file or a zarr directory, chosen by suffix; maps may
also go to netCDF) holds one group per analysis: ``pcf``, ``maps``, and
the analyses to come. A group holds one array per data variable and per
coordinate of the result, each with its dims and attributes, and a JSON
record ``ipcf`` with the result's kind (``DataArray`` or ``Dataset``),
its attributes, its provenance and ``complete``. Any
:class:`xarray.DataArray` or :class:`xarray.Dataset` of numbers goes in
and comes back identical.

Provenance is what a later reader needs to trust and repeat a result:
every parameter, the source and its :func:`fingerprint` (shape, dtype and
a hash of the first and last frames), the package version, and the call
as it can be re-run. It is returned in ``result.encoding['provenance']``
(and ``encoding['store']`` is where the result was read from), so that
the result's own attributes survive a round trip unchanged.

Stores are written under a temporary name and renamed when complete
(:class:`ResultWriter`); long analyses record each finished block in a
hidden work directory beside the output (:class:`BlockRecord`), so an
interrupted run continues where it stopped. An output that exists is
complete.

"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import io as _stdio
import json
import math
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy

from ._containers import create_array, get_json, open_root, set_json
from ._files import (
    check_target,
    fsync_write,
    hidden_path,
    publish,
    publishing,
    remove_path,
    store_kind,
)
from ._utils import jsonable

if TYPE_CHECKING:
    import xarray

__all__ = [
    'BlockRecord',
    'InterruptedRunError',
    'ResultWriter',
    'Schema',
    'Variable',
    'fingerprint',
    'load_result',
    'provenance',
    'result_groups',
    'result_info',
    'save_result',
]

_RECORD = 'ipcf'
_FORMAT = 'ipcf-result-1'
# writing at file offsets needs os.pwrite (POSIX; not on Windows)
DIRECT_WRITES = hasattr(os, 'pwrite')
_KINDS = ('hdf5', 'zarr', 'netcdf')


@dataclasses.dataclass(frozen=True)
class Variable:
    """Shape of one data variable of a result, before its values exist.

    Variables whose dims start with ``('y', 'x')`` or ``('z', 'y',
    'x')`` are written block by block (:meth:`ResultWriter.write`);
    others at once.

    """

    dims: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: str = 'float32'
    fill: float | int | bool | None = numpy.nan
    attrs: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Schema:
    """What a result holds: variables, coordinates and attributes.

    ``name`` is set when the result is one :class:`xarray.DataArray` (its
    only variable is called so); otherwise it is a Dataset.

    Examples
    --------
    >>> schema = Schema(
    ...     {'D': Variable(('y', 'x'), (2, 3))},
    ...     coords={'y': (('y',), numpy.arange(2))},
    ... )
    >>> schema.variables['D'].shape
    (2, 3)

    """

    variables: dict[str, Variable]
    coords: dict[str, tuple[tuple[str, ...], Any]] = dataclasses.field(
        default_factory=dict
    )
    attrs: dict[str, Any] = dataclasses.field(default_factory=dict)
    name: str | None = None
    coord_attrs: dict[str, dict[str, Any]] = dataclasses.field(
        default_factory=dict
    )

    @classmethod
    def of(cls, result: Any, /) -> Schema:
        """Return the schema of an in-memory DataArray or Dataset."""
        dataset, name = _as_dataset(result)
        variables = {
            key: Variable(
                tuple(str(d) for d in var.dims),
                tuple(int(n) for n in var.shape),
                numpy.dtype(var.dtype).str,
                _default_fill(var.dtype),
                dict(var.attrs),
            )
            for key, var in dataset.data_vars.items()
        }
        coords = {
            str(key): (
                tuple(str(d) for d in var.dims),
                numpy.asarray(var.values),
            )
            for key, var in dataset.coords.items()
        }
        coord_attrs = {
            str(key): dict(var.attrs) for key, var in dataset.coords.items()
        }
        return cls(variables, coords, dict(dataset.attrs), name, coord_attrs)


class InterruptedRunError(FileExistsError):
    """An interrupted run of an output exists and was not to be touched.

    The message speaks Python (``resume=True``, ``overwrite=True``); the
    command line catches this class and names its own options.

    """

    def __init__(self, path: str | os.PathLike[str], /) -> None:
        self.path = os.fspath(path)
        super().__init__(
            f'an interrupted run of {self.path!r} exists; pass resume=True '
            'to continue it or overwrite=True to start again'
        )


def save_result(
    result: xarray.DataArray | xarray.Dataset,
    path: str | os.PathLike[str],
    /,
    *,
    group: str | None = None,
    source: str | None = None,
    overwrite: bool = False,
    chunks: tuple[int, int] = (32, 32),
    provenance: Mapping[str, Any] | None = None,
) -> Path:
    """Write a labelled result to HDF5 (``.h5``), zarr or netCDF (``.nc``).

    Parameters
    ----------
    result : xarray.DataArray or xarray.Dataset
        Result of any analysis, e.g. :func:`ipcf.pcf_image` or
        :func:`ipcf.maps`. Values must be numbers; attributes must be
        JSON-serializable.
    path : str or path-like
        Output file; the suffix chooses the format. netCDF holds one
        Dataset per file (written by scipy, netCDF-3).
    group : str, optional
        Group of the analysis inside the store; default the result's
        name (``'pcf'``) or ``'maps'`` for a Dataset.
    source : str, optional
        The input (e.g. its path), stored as ``attrs['source']``.
    overwrite : bool, optional, default: False
        Replace an existing store. Otherwise raise FileExistsError.
    chunks : tuple of int, optional, default: (32, 32)
        Pixel block of a chunk of ``(y, x, ...)`` variables.
    provenance : mapping, optional
        Record from :func:`provenance`; default: the package version and
        the time only.

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
    >>> loaded.identical(result)
    True

    """
    import xarray

    if not isinstance(result, xarray.DataArray | xarray.Dataset):
        msg = (
            f'result is a {type(result).__name__}; expected an '
            'xarray.DataArray or xarray.Dataset'
        )
        raise TypeError(msg)
    path = Path(path)
    kind = store_kind(path, kinds=_KINDS)
    if source is not None:
        result = result.copy(deep=False)
        result.attrs = {**result.attrs, 'source': str(source)}
    if group is None:
        group = _default_group(result)
    if kind == 'netcdf':
        check_target(path, overwrite=overwrite)
        with publishing(path, overwrite=overwrite) as tmp:
            _to_netcdf(result, tmp, provenance)
        return path
    schema = Schema.of(result)
    dataset, _ = _as_dataset(result)
    with ResultWriter(
        path,
        schema,
        group=group,
        chunks=chunks,
        overwrite=overwrite,
        provenance=provenance,
    ) as writer:
        writer.write({k: v.values for k, v in dataset.data_vars.items()})
    return path


class ResultWriter:
    """Write a result block by block, then publish it atomically.

    The store is built under the hidden name ``.<name>.partial`` beside
    `path` and renamed to `path` by :meth:`commit` (or on leaving a
    ``with`` block without an exception); :meth:`abort` or an exception
    removes it.

    Parameters
    ----------
    path : str or path-like
        Output store; ``.h5`` for HDF5, ``.zarr`` for zarr.
    schema : Schema
        Variables, coordinates and attributes of the result.
    group : str, optional
        Analysis group; default the schema's name, else ``'result'``.
    chunks : tuple of int, optional, default: (32, 32)
        Pixel block of a chunk of ``(y, x, ...)`` and ``(z, y, x, ...)``
        variables; a chunk holds one index along ``z``, ``channel`` and
        ``neighbour_channel``.
    overwrite : bool, optional, default: False
        Replace an existing store at commit.
    provenance : mapping, optional
        Record from :func:`provenance`.
    partial : str or path-like, optional
        Where the store is built; default ``.<name>.partial`` beside
        `path` (:class:`BlockRecord` keeps it in its work directory).
    direct : bool, optional, default: False
        HDF5 only: every variable is one contiguous dataset whose space is
        allocated (and reserved on disk) when the store is made, and
        :meth:`write` puts values at their offsets in the file with
        ``os.pwrite`` rather than through the HDF5 library. Threads then
        write blocks at once, and a writer killed mid-block leaves the
        file's structure intact, so that a run can resume into it
        (`resume`). Every block must be written (:meth:`fill` for one
        without values): the library fills nothing.
    resume : bool, optional, default: False
        With `direct`, reopen an unfinished store of the same schema at
        `partial` (``resumed`` says whether one was found); otherwise,
        or if it is missing or of another layout, start a new one.

    Examples
    --------
    >>> import tempfile
    >>> schema = Schema({'D': Variable(('y', 'x'), (2, 4))})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with ResultWriter(f'{tmp}/r.h5', schema, group='maps') as out:
    ...         out.write({'D': numpy.ones((2, 2))}, y=0, x=2)
    ...     load_result(f'{tmp}/r.h5', group='maps')['D'].values.tolist()
    [[nan, nan, 1.0, 1.0], [nan, nan, 1.0, 1.0]]

    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        schema: Schema,
        /,
        *,
        group: str | None = None,
        chunks: tuple[int, int] = (32, 32),
        overwrite: bool = False,
        provenance: Mapping[str, Any] | None = None,
        partial: str | os.PathLike[str] | None = None,
        direct: bool = False,
        resume: bool = False,
    ) -> None:
        self.path = Path(path)
        self._kind = store_kind(self.path)
        check_target(self.path, overwrite=overwrite)
        if direct and self._kind != 'hdf5':
            msg = f'direct=True writes HDF5 stores; {str(self.path)!r} is not'
            raise ValueError(msg)
        if direct and not DIRECT_WRITES:
            msg = 'direct=True needs os.pwrite, which this system lacks'
            raise ValueError(msg)
        self._overwrite = overwrite
        self.direct = direct
        """Whether values go to fixed offsets of the file (`direct`)."""
        self.schema = schema
        self.group_name = group or schema.name or 'result'
        self._tmp = (
            hidden_path(self.path, 'partial')
            if partial is None
            else Path(partial)
        )
        self._context: Any = None
        self._fd: int | None = None
        self._layout: dict[str, tuple[int, numpy.dtype]] = {}
        self._record = _new_record(schema, provenance)
        self.resumed = False
        """Whether an existing partial store was reopened (`resume`)."""
        if direct and resume:
            layout = _direct_layout(self._tmp, self.group_name, schema)
            if layout is not None:
                self._layout = layout
                self.resumed = True
        if not self.resumed:
            remove_path(self._tmp)
            self._create(chunks, direct=direct)
        if direct:
            self._fd = os.open(self._tmp, os.O_RDWR)

    def _create(self, chunks: tuple[int, int], *, direct: bool) -> None:
        """Create the partial store and its arrays (direct: allocated)."""
        schema = self.schema
        self._context = open_root(self._tmp, self._kind, mode='w')
        root = self._context.__enter__()
        grp = root.create_group(self.group_name)
        self._group = grp
        self._arrays: dict[str, Any] = {}
        for key, (dims, values) in schema.coords.items():
            values = numpy.asarray(values)
            if values.dtype.kind in 'OUS':
                continue
            array = create_array(grp, key, data=values)
            set_json(array, 'dims', list(dims))
            set_json(array, 'attrs', schema.coord_attrs.get(key, {}))
        for key, var in schema.variables.items():
            if direct:
                array = _allocated_array(grp, key, var)
            else:
                array = create_array(
                    grp,
                    key,
                    shape=var.shape,
                    dtype=var.dtype,
                    chunks=_chunk_shape(var, chunks),
                    fill_value=var.fill,
                )
            set_json(array, 'dims', list(var.dims))
            set_json(array, 'attrs', var.attrs)
            self._arrays[key] = array
        set_json(grp, _RECORD, self._record)
        if not direct:
            return
        # the file's structure is final: values go to fixed offsets
        nbytes = {}
        for key, array in self._arrays.items():
            offset = array.id.get_offset()
            self._layout[key] = (int(offset), numpy.dtype(array.dtype))
            nbytes[key] = int(array.id.get_storage_size())
        self._close()
        with open(self._tmp, 'r+b') as fh:
            # reserve the space now: a full disk fails here, at once,
            # rather than as a hole that cannot be written later
            for key, (offset, _) in self._layout.items():
                if nbytes[key]:
                    _reserve(fh.fileno(), offset, nbytes[key])
            os.fsync(fh.fileno())

    def write(
        self, values: Any, /, *, y: int = 0, x: int = 0, z: int | None = None
    ) -> None:
        """Write a block of result pixels starting at row y, column x.

        `values` is a mapping of variable name to array, or one array
        for a single-variable result. Variables with dims ``(y, x, ...)``
        are written at ``[y:, x:]``; those with dims ``(z, y, x, ...)``
        at ``[z, y:, x:]`` from a block of one plane, or at ``[:, y:,
        x:]`` from a block of every plane where `z` is None; others
        whole.

        """
        if not isinstance(values, Mapping):
            if len(self._arrays) != 1:
                msg = 'values must be a mapping of variable names to arrays'
                raise TypeError(msg)
            values = {next(iter(self._arrays)): values}
        for key, block in values.items():
            var = self.schema.variables[key]
            if self._fd is not None:
                self._write_direct(key, var, block, y, x, z)
                continue
            array = self._arrays[key]
            block = numpy.asarray(block, dtype=var.dtype)
            if var.dims[:2] in _ROWS:
                ny, nx = block.shape[:2]
                array[y : y + ny, x : x + nx] = block
            elif var.dims[:3] == ('z', 'y', 'x') and z is not None:
                ny, nx = block.shape[:2]
                array[z, y : y + ny, x : x + nx] = block
            elif var.dims[:3] == ('z', 'y', 'x'):
                ny, nx = block.shape[1:3]
                array[:, y : y + ny, x : x + nx] = block
            else:
                array[...] = block

    def fill(
        self,
        ny: int,
        nx: int,
        /,
        *,
        y: int = 0,
        x: int = 0,
        z: int | None = None,
    ) -> None:
        """Write the fill value into a block of ny x nx result pixels."""
        values = {}
        for key, var in self.schema.variables.items():
            at = 1 if var.dims[:3] == ('z', 'y', 'x') else 0
            if var.dims[at : at + 2] not in _ROWS:
                continue
            shape = (ny, nx, *var.shape[at + 2 :])
            if at and z is None:
                shape = (var.shape[0], *shape)
            fill = _default_fill(var.dtype) if var.fill is None else var.fill
            values[key] = numpy.full(shape, fill, var.dtype)
        self.write(values, y=y, x=x, z=z)

    def sync(self) -> None:
        """Flush the values written so far to disk (direct stores)."""
        if self._fd is not None:
            # fdatasync skips the metadata that fixed offsets do not change
            getattr(os, 'fdatasync', os.fsync)(self._fd)

    def commit(self, *, attrs: Mapping[str, Any] | None = None) -> Path:
        """Close the store and move it to its final name.

        `attrs` replaces the result's attributes (e.g. with the run's
        timings, known only now).

        """
        if attrs is not None:
            self._record['attrs'] = dict(attrs)
        self._record['complete'] = True
        if self._fd is not None:
            self.close()
            with open_root(self._tmp, self._kind, mode='r+') as root:
                set_json(root[self.group_name], _RECORD, self._record)
            with open(self._tmp, 'rb') as fh:
                os.fsync(fh.fileno())
        else:
            set_json(self._group, _RECORD, self._record)
            self._close()
        return publish(self._tmp, self.path, overwrite=self._overwrite)

    def abort(self) -> None:
        """Close and remove the unfinished store."""
        self.close()
        remove_path(self._tmp)

    def close(self) -> None:
        """Close the unfinished store and keep it (to resume into it)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
        self._close()

    def _close(self) -> None:
        if self._context is not None:
            context, self._context = self._context, None
            context.__exit__(None, None, None)

    def _write_direct(
        self, key: str, var: Variable, block: Any, y: int, x: int, z: Any
    ) -> None:
        """Write a block of a variable at its offsets in the file."""
        offset, dtype = self._layout[key]
        block = numpy.ascontiguousarray(block, dtype=dtype)
        shape = var.shape
        if var.dims[:3] == ('z', 'y', 'x'):
            planes = [z] if z is not None else range(shape[0])
            if z is not None:
                block = block[None]
            rows, cols, inner = shape[1], shape[2], math.prod(shape[3:])
        elif var.dims[:2] in _ROWS:
            planes, block = [0], block[None]
            rows, cols, inner = shape[0], shape[1], math.prod(shape[2:])
        else:
            _pwrite(self._fd, block, offset)
            return
        size = inner * dtype.itemsize
        for k, plane in enumerate(planes):
            for r in range(block.shape[1]):
                at = ((plane * rows + y + r) * cols + x) * size
                _pwrite(self._fd, block[k, r], offset + at)

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, exc_type: Any, *args: Any) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def load_result(path: str | os.PathLike[str], /, *, group: str = 'pcf') -> Any:
    """Return a stored result as the analysis returned it.

    Parameters
    ----------
    path : str or path-like
        HDF5, zarr or netCDF store written by :func:`save_result` or the
        pipeline.
    group : str, optional, default: 'pcf'
        Analysis group inside the store (netCDF files hold one).

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        The result, with the same dims, coordinates and attributes;
        ``encoding['provenance']`` holds its provenance and
        ``encoding['store']`` the path.

    Raises
    ------
    FileNotFoundError
        If `path` does not exist.
    ValueError
        If the store has no such group, is not an ipcf store, or the
        result is incomplete.

    Examples
    --------
    See :func:`save_result`.

    """
    path = Path(path)
    kind = store_kind(path, kinds=_KINDS, name='store')
    if not path.exists():
        msg = f'{str(path)!r}: no such file'
        raise FileNotFoundError(msg)
    if kind == 'netcdf':
        result, record = _from_netcdf(path)
    else:
        with open_root(path, kind) as root:
            grp = _group(root, group, path)
            result, record = _read_group(grp, path, group)
    result.encoding['provenance'] = record.get('provenance', {})
    result.encoding['store'] = str(path)
    return result


def result_groups(path: str | os.PathLike[str], /) -> list[str]:
    """Return the names of the complete result groups in a store.

    >>> result_groups('missing.h5')
    []

    """
    path = Path(path)
    try:
        kind = store_kind(path, kinds=('hdf5', 'zarr'))
    except ValueError:
        return []
    if not path.exists():
        return []
    names = []
    try:
        with open_root(path, kind) as root:
            for name in root:
                node = root[name]
                if not hasattr(node, 'attrs') or not hasattr(node, 'keys'):
                    continue
                record = get_json(node, _RECORD)
                if record and record.get('complete'):
                    names.append(str(name))
    except (OSError, ValueError, TypeError, KeyError):
        return []
    return sorted(names)


def result_info(
    path: str | os.PathLike[str], /, *, group: str | None = None
) -> dict[str, Any] | None:
    """Return a summary of a stored result, or None if `path` holds none.

    The summary has the path, format, group, shape and dims of each
    variable, the stored attributes and the provenance; values are not
    read. `group` defaults to ``'pcf'`` if present, else the first.

    Examples
    --------
    >>> result_info('missing.h5') is None
    True

    """
    path = Path(path)
    groups = result_groups(path)
    if not groups:
        return None
    if group is None:
        group = 'pcf' if 'pcf' in groups else groups[0]
    if group not in groups:
        return None
    kind = store_kind(path)
    with open_root(path, kind) as root:
        grp = root[group]
        record = get_json(grp, _RECORD)
        variables = {
            key: {
                'dims': tuple(get_json(grp[key], 'dims')),
                'shape': tuple(int(n) for n in grp[key].shape),
            }
            for key in record['data_vars']
        }
    main = record.get('name') or next(iter(variables))
    return {
        'path': str(path),
        'format': f'{kind} {group} result',
        'group': group,
        'groups': groups,
        'shape': variables[main]['shape'],
        'dims': variables[main]['dims'],
        'variables': variables,
        **record.get('attrs', {}),
        'provenance': record.get('provenance', {}),
    }


def fingerprint(data: Any, dtype: Any = None, /) -> str:
    """Return a short hash identifying an input series.

    The hash covers the shape, the dtype and, when `data` is an array
    (numpy, memmap, h5py, zarr, a lazy series), the bytes of its first
    and last frames, so that a run resumed on a changed file is noticed
    at the cost of reading two frames. ``fingerprint(shape, dtype)``
    hashes a shape and dtype alone.

    >>> fingerprint(numpy.zeros((16, 8, 8), 'u2'))
    '...'
    >>> fingerprint((16, 8, 8), 'uint16') != fingerprint((16, 8, 9), 'u2')
    True

    """
    digest = hashlib.sha256()
    if dtype is not None:
        shape = tuple(int(n) for n in data)
        digest.update(json.dumps([shape, numpy.dtype(dtype).str]).encode())
        return digest.hexdigest()[:16]
    shape = tuple(int(n) for n in data.shape)
    digest.update(json.dumps([shape, numpy.dtype(data.dtype).str]).encode())
    if shape and shape[0]:
        for index in {0, shape[0] - 1}:
            frame = data[index]
            if hasattr(frame, 'compute'):
                frame = frame.compute()
            digest.update(numpy.ascontiguousarray(frame).tobytes())
    return digest.hexdigest()[:16]


def provenance(
    *,
    source: str | os.PathLike[str] | None = None,
    data: Any = None,
    parameters: Mapping[str, Any] | None = None,
    call: str | None = None,
) -> dict[str, Any]:
    """Return the provenance record stored with a result.

    Parameters
    ----------
    source : str, path or None
        The input as the result records it (see
        :func:`ipcf._sources.relative_source` for series of files and
        arrays).
    data : array_like, optional
        The opened input, for its :func:`fingerprint`.
    parameters : mapping, optional
        Every parameter of the analysis.
    call : str, optional
        The call (or command line) that re-runs the analysis.

    Examples
    --------
    >>> sorted(provenance(call='ipcf.pcf_image(data)'))
    ['call', 'created', 'parameters', 'source', 'source_fingerprint', \
'version']

    """
    return provenance_record(
        source=None if source is None else os.fspath(source),
        source_fingerprint=None if data is None else fingerprint(data),
        parameters=jsonable(dict(parameters or {})),
        call=call,
    )


def provenance_record(**fields: Any) -> dict[str, Any]:
    """Return fields with the package version and the time added."""
    from . import __version__

    now = datetime.datetime.now(datetime.UTC)
    return {
        **fields,
        'version': __version__,
        'created': now.isoformat(timespec='seconds'),
    }


class BlockRecord:
    """Finished blocks of a long run, kept until the store is published.

    A hidden work directory ``.<output name>.work`` beside the output
    holds the run's parameters (``manifest.json``), the unfinished
    store (:attr:`partial`) and one file per finished block in
    ``blocks/``: either the block's values (``.npz``, :meth:`save`,
    written under a temporary name and renamed, where a worker process
    cannot write into the store), or an empty mark (``.done``,
    :meth:`mark`) made once the block's values are in the partial store
    and on disk. A killed run loses at most the blocks in progress, and a
    resumed one gives exactly the result of an uninterrupted run.

    Parameters
    ----------
    output : str or path-like
        The store the run will write.
    parameters : mapping
        What must match for a run to be resumed (JSON-serializable).
    resume : bool
        Continue an interrupted run with the same parameters.
    overwrite : bool
        Replace an existing output and discard an interrupted run.

    Raises
    ------
    FileExistsError
        If the output exists (without `overwrite`), or an interrupted
        run exists and neither `resume` nor `overwrite` is given.
    ValueError
        If `resume` finds a run with other parameters.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     record = BlockRecord(f'{tmp}/r.h5', {'radius': 2})
    ...     record.save((0, 0), {'pcf': numpy.ones(3)})
    ...     again = BlockRecord(f'{tmp}/r.h5', {'radius': 2}, resume=True)
    ...     again.done((0, 0)), again.load((0, 0))['pcf'].tolist()
    (True, [1.0, 1.0, 1.0])

    """

    def __init__(
        self,
        output: str | os.PathLike[str],
        parameters: Mapping[str, Any],
        /,
        *,
        resume: bool = False,
        overwrite: bool = False,
    ) -> None:
        self.output = Path(output)
        self.path = hidden_path(self.output, 'work')
        check_target(self.output, overwrite=overwrite)
        params = json.loads(json.dumps(jsonable(dict(parameters))))
        manifest = self.path / 'manifest.json'
        if self.path.exists():
            if overwrite and not resume:
                shutil.rmtree(self.path)
            elif not resume:
                raise InterruptedRunError(self.output)
            else:
                self.created = False
                try:
                    previous = json.loads(manifest.read_text())
                except (OSError, ValueError):
                    previous = None
                if previous != params:
                    self.created = False
                    msg = (
                        f'cannot resume {str(self.output)!r}: the '
                        'interrupted run used other parameters or another '
                        'input'
                    )
                    raise ValueError(msg)
                return
        (self.path / 'blocks').mkdir(parents=True)
        manifest.write_text(json.dumps(params, indent=1))
        self.created = True
        """Whether this run started the record (rather than resumed it)."""

    @staticmethod
    def previous(output: str | os.PathLike[str], /) -> dict[str, Any] | None:
        """Return the parameters of an interrupted run of output, or None.

        >>> BlockRecord.previous('missing.h5') is None
        True

        """
        manifest = hidden_path(Path(output), 'work') / 'manifest.json'
        try:
            previous = json.loads(manifest.read_text())
        except (OSError, ValueError):
            return None
        return previous if isinstance(previous, dict) else None

    @property
    def partial(self) -> Path:
        """Path of the unfinished store in the work directory."""
        return self.path / f'result{self.output.suffix}'

    def _file(self, key: tuple[int, ...], suffix: str = '.npz') -> Path:
        name = '_'.join(str(int(k)) for k in key)
        return self.path / 'blocks' / f'{name}{suffix}'

    def done(self, key: tuple[int, ...], /) -> bool:
        """Return whether the block key is finished."""
        return self._file(key, '.done').exists() or self._file(key).exists()

    def saved(self, key: tuple[int, ...], /) -> bool:
        """Return whether the block's values are in a record file."""
        return self._file(key).exists()

    def mark(self, key: tuple[int, ...], /) -> None:
        """Record a block whose values are in the partial store, on disk."""
        self._file(key, '.done').touch()

    def forget_marks(self) -> None:
        """Forget the blocks marked done (their partial store is gone)."""
        for path in (self.path / 'blocks').glob('*.done'):
            path.unlink()

    def save(
        self, key: tuple[int, ...], arrays: Mapping[str, Any] | None, /
    ) -> None:
        """Record a finished block; None marks one with nothing to store."""
        buffer = _stdio.BytesIO()
        numpy.savez(
            buffer,
            **{k: numpy.asarray(v) for k, v in (arrays or {}).items()},
        )
        with publishing(self._file(key), overwrite=True) as tmp:
            fsync_write(tmp, lambda fh: fh.write(buffer.getbuffer()))

    def load(self, key: tuple[int, ...], /) -> dict[str, Any] | None:
        """Return the arrays of a finished block, None if it had none."""
        with numpy.load(self._file(key)) as npz:
            arrays = {k: npz[k] for k in npz.files}
        return arrays or None

    def remove(self) -> None:
        """Delete the work directory (after the store is published)."""
        remove_path(self.path)


# dims along which a chunk holds one index: a plane, a channel, a pair
_SINGLE_CHUNK_DIMS = ('z', 'channel', 'neighbour_channel')

_ROWS = (('y', 'x'), ('line', 'x'))
"""Leading dims of variables written block by block (line scans: lines)."""


def _chunk_shape(
    var: Variable, chunks: tuple[int, int]
) -> tuple[int, ...] | None:
    """Return the chunks of a blocked variable, None for the others.

    A chunk covers `chunks` pixels along y and x, one index along z and
    the channel dims, and all of the other dims, so that one plane or
    channel pair of a block is one chunk.

    >>> var = Variable(('z', 'y', 'x', 'channel', 'delay'), (3, 9, 9, 2, 8))
    >>> _chunk_shape(var, (4, 4))
    (1, 4, 4, 1, 8)

    """
    at = 1 if var.dims[:1] == ('z',) else 0
    if var.dims[at : at + 2] not in _ROWS or len(var.shape) < at + 2:
        return None
    sizes = []
    for dim, size in zip(var.dims, var.shape, strict=True):
        if dim in ('y', 'line'):
            size = min(chunks[0], size)
        elif dim == 'x':
            size = min(chunks[1], size)
        elif dim in _SINGLE_CHUNK_DIMS:
            size = 1
        sizes.append(max(1, size))
    return tuple(sizes)


def _new_record(
    schema: Schema, provenance: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Return the JSON record of an unfinished result of a schema."""
    texts = {
        key: numpy.asarray(values).tolist()
        for key, (_, values) in schema.coords.items()
        if numpy.asarray(values).dtype.kind in 'OUS'
    }
    return {
        'format': _FORMAT,
        'kind': 'DataArray' if schema.name else 'Dataset',
        'name': schema.name,
        'data_vars': list(schema.variables),
        'coords': list(schema.coords),
        'texts': texts,
        'text_dims': {k: list(schema.coords[k][0]) for k in texts},
        'attrs': schema.attrs,
        'provenance': dict(provenance or provenance_record()),
        'complete': False,
    }


def _allocated_array(group: Any, name: str, var: Variable) -> Any:
    """Create a contiguous HDF5 dataset whose space is allocated now.

    Its values are never filled by the library (the writer writes every
    block, a block without values as the fill value), and its offset in
    the file stays fixed.
    """
    from h5py import h5d, h5p

    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_alloc_time(h5d.ALLOC_TIME_EARLY)
    return group.create_dataset(
        name,
        shape=var.shape,
        dtype=numpy.dtype(var.dtype),
        fillvalue=var.fill,
        fill_time='never',
        dcpl=dcpl,
    )


def _direct_layout(
    path: Path, group: str, schema: Schema
) -> dict[str, tuple[int, numpy.dtype]] | None:
    """Return the offsets of an unfinished direct store of schema, or None.

    None where the store is missing, unreadable, complete or of another
    layout: it is then made again.
    """
    import h5py

    if not path.is_file():
        return None
    try:
        with h5py.File(path, 'r') as root:
            grp = root[group]
            record = get_json(grp, _RECORD)
            if (
                not record
                or record.get('format') != _FORMAT
                or record.get('complete')
                or record.get('data_vars') != list(schema.variables)
            ):
                return None
            layout = {}
            for key, var in schema.variables.items():
                array = grp[key]
                offset = array.id.get_offset()
                dtype = numpy.dtype(array.dtype)
                if (
                    offset is None
                    or array.chunks is not None
                    or tuple(array.shape) != tuple(var.shape)
                    or dtype != numpy.dtype(var.dtype)
                ):
                    return None
                layout[key] = (int(offset), dtype)
    except (OSError, KeyError, ValueError, TypeError):
        return None
    return layout


def _reserve(fd: int, offset: int, size: int) -> None:
    """Allocate size bytes at offset of the open file fd on disk.

    Where the system has no posix_fallocate (macOS), the file is only
    extended: the free space was checked before the run.
    """
    if hasattr(os, 'posix_fallocate'):
        os.posix_fallocate(fd, offset, size)
    elif os.fstat(fd).st_size < offset + size:
        os.ftruncate(fd, offset + size)


def _pwrite(fd: int, values: numpy.ndarray, offset: int) -> None:
    """Write a contiguous array's bytes at offset of the open file fd."""
    view = memoryview(numpy.ascontiguousarray(values)).cast('B')
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def _as_dataset(result: Any) -> tuple[xarray.Dataset, str | None]:
    import xarray

    if isinstance(result, xarray.DataArray):
        name = result.name if result.name is not None else 'values'
        return result.to_dataset(name=str(name), promote_attrs=True), str(name)
    return result, None


def _default_group(result: Any) -> str:
    import xarray

    if isinstance(result, xarray.DataArray) and result.name is not None:
        return str(result.name)
    return 'maps' if isinstance(result, xarray.Dataset) else 'result'


def _default_fill(dtype: Any) -> Any:
    dtype = numpy.dtype(dtype)
    if dtype.kind == 'f':
        return numpy.nan
    if dtype.kind == 'b':
        return False
    return 0


def _group(root: Any, group: str, path: Path) -> Any:
    if group not in root:
        msg = f'{str(path)!r} has no result group {group!r}'
        raise ValueError(msg)
    return root[group]


def _read_group(grp: Any, path: Path, group: str) -> tuple[Any, dict]:
    """Return the result stored in an open group and its record."""
    import xarray

    record = get_json(grp, _RECORD)
    if not record or record.get('format') != _FORMAT:
        msg = f'{str(path)!r}: group {group!r} is not an ipcf result'
        raise ValueError(msg)
    if not record.get('complete'):
        msg = f'{str(path)!r}: result {group!r} is incomplete'
        raise ValueError(msg)

    def variable(key: str) -> xarray.Variable:
        array = grp[key]
        try:
            values = array[...]
        except Exception as exc:  # noqa: BLE001 - name the broken array
            msg = f'{str(path)!r}: cannot read {group}/{key} ({exc})'
            raise OSError(msg) from None
        return xarray.Variable(
            tuple(get_json(array, 'dims')),
            numpy.asarray(values),
            attrs=get_json(array, 'attrs', {}),
        )

    texts = record.get('texts', {})
    coords = {
        key: variable(key) for key in record['coords'] if key not in texts
    }
    for key, values in texts.items():
        coords[key] = xarray.Variable(
            tuple(record['text_dims'][key]), numpy.asarray(values)
        )
    coords = {key: coords[key] for key in record['coords']}
    data_vars = {key: variable(key) for key in record['data_vars']}
    dataset = xarray.Dataset(data_vars, coords=coords, attrs=record['attrs'])
    return _as_result(dataset, record), record


def _as_result(dataset: Any, record: dict) -> Any:
    """Return the stored Dataset, or its one DataArray if that was saved."""
    if record['kind'] == 'DataArray':
        result = dataset[record['name']]
        result.attrs = dict(record['attrs'])
        return result
    return dataset


def _to_netcdf(result: Any, tmp: Path, provenance: Any) -> None:
    dataset, name = _as_dataset(result)
    record = {
        'format': _FORMAT,
        'kind': 'DataArray' if name else 'Dataset',
        'name': name,
        'attrs': jsonable(dataset.attrs),
        'provenance': dict(provenance or provenance_record()),
        'var_attrs': {
            str(k): jsonable(dataset[k].attrs) for k in dataset.variables
        },
    }
    out = dataset.copy()
    out.attrs = {_RECORD: json.dumps(record)}
    for key in out.variables:
        out[key].attrs = {}
    out.to_netcdf(tmp, engine='scipy')


def _from_netcdf(path: Path) -> tuple[Any, dict]:
    import xarray

    with xarray.open_dataset(path, engine='scipy') as opened:
        dataset = opened.load()
    text = dataset.attrs.get(_RECORD)
    if text is None:
        msg = f'{str(path)!r} is not an ipcf result'
        raise ValueError(msg)
    record = json.loads(text)
    dataset.attrs = record['attrs']
    for key, attrs in record.get('var_attrs', {}).items():
        if key in dataset.variables:
            dataset[key].attrs = attrs
    return _as_result(dataset, record), record
