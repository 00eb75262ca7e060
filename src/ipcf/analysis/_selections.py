"""Maps of a result of several planes or channel pairs, each on its own.

A result of :func:`ipcf.analyze` on a file of several planes or channels
holds one plain pCF result per plane and ordered channel pair. Their
maps are made one selection at a time, exactly as the maps of
``result.sel(z=..., channel=..., neighbour_channel=...)``, and labelled
with the same extra dims: ``z`` first, ``channel`` and
``neighbour_channel`` after ``x``; the noise and the pooled fit get the
selection dims alone.

:func:`memory_maps` maps a result in memory; :func:`stored_maps` a
stored one, reading one selection's block of rows at a time: first the
passes over the whole map of each selection (pooled means, noise), then
the blocks of rows of each plane, all channel pairs of a block written
together.

"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy

from ._blocked import StoreSink
from ._select import POOLED, selection_dims

if TYPE_CHECKING:
    import xarray
    from numpy.typing import NDArray

__all__ = ['memory_maps', 'placeholder', 'stored_maps']

_POOLED_ATTRS = {
    'D_pooled': ('um^2/s', 'pooled diffusion coefficient'),
    'D_pooled_error': ('um^2/s', 'standard error of D_pooled over blocks'),
    'D_pooled_pixels': ('1', 'pixels pooled'),
    'D_pooled_blocks': ('1', 'blocks of the error'),
    'D_pooled_residual': ('1', 'relative residual of the pooled fit'),
    'D_pooled_peak': ('um^2/s', 'D from the pooled peak delay'),
    'D_pooled_free': ('1', 'the pooled curves are of free diffusion'),
}


def memory_maps(
    result: xarray.DataArray, dims: tuple[str, ...], /, **options: Any
) -> xarray.Dataset:
    """Return the maps of each selection of an in-memory result, labelled.

    `dims` are the result's selection dims; `options` those of
    :func:`ipcf.maps` (with ``rows``).

    """
    from ._maps import maps

    parts = []
    picks = list(_picks(result, dims))
    for pick in picks:
        parts.append(
            maps(result.isel(dict(zip(dims, pick, strict=True))), **options)
        )
    template = parts[0]
    values = _allocate(template, result, dims)
    for pick, part in zip(picks, parts, strict=True):
        for name, var in part.data_vars.items():
            values[name][_where(var.dims, dims, pick)] = var.values
    pooled = [_pooled_of(part.attrs) for part in parts]
    return selections_dataset(result, dims, template, values, pooled)


def selections_dataset(
    result: Any,
    dims: tuple[str, ...],
    template: xarray.Dataset,
    values: dict[str, Any],
    pooled: list[dict[str, Any]],
) -> xarray.Dataset:
    """Return the Dataset of the maps of every selection of result.

    `template` is the maps' Dataset of one selection (its variables'
    attributes, coordinates and attributes), `values` the variables in
    the layout of :func:`_new_dims`, `pooled` the pooled fit of each
    selection in the order of :func:`_picks`.

    """
    import xarray

    from ._maps import _pooled_note

    data_vars = {
        name: xarray.Variable(
            _new_dims(var.dims, dims), values[name], attrs=dict(var.attrs)
        )
        for name, var in template.data_vars.items()
    }
    shape = tuple(result.sizes[dim] for dim in dims)
    for name, key in POOLED.items():
        dtype = (
            numpy.bool_
            if key == 'free'
            else numpy.int64
            if key in ('pixels', 'blocks')
            else numpy.float64
        )
        units, text = _POOLED_ATTRS[name]
        data_vars[name] = xarray.Variable(
            dims,
            numpy.array([p[key] for p in pooled], dtype).reshape(shape),
            attrs={'units': units, 'long_name': text},
        )
    # the labels of the selections come from the result, not from the
    # one selection of the template (scalar coordinates there)
    labels = {
        str(key): coord.variable
        for key, coord in result.coords.items()
        if set(coord.dims) <= set(dims)
    }
    coords: dict[str, Any] = {
        key: coord.variable
        for key, coord in template.coords.items()
        if key not in labels
    }
    coords.update(labels)
    attrs = {
        key: value
        for key, value in template.attrs.items()
        if key not in POOLED and key != 'D_pooled_note'
    }
    table = []
    for pick, fit in zip(_picks(result, dims), pooled, strict=True):
        row = {
            dim: _label(result, dim, at)
            for dim, at in zip(dims, pick, strict=True)
        }
        row.update(
            D_pooled=float(fit['D']),
            D_pooled_error=float(fit['D_error']),
            D_pooled_note=_pooled_note(fit),
        )
        table.append(row)
    attrs['D_pooled_selections'] = table
    return xarray.Dataset(data_vars, coords=coords, attrs=attrs)


def stored_maps(
    skeleton: Any,
    array: Any,
    indexers: dict[str, Any],
    /,
    *,
    rows: int | None,
    output: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    **options: Any,
) -> Any:
    """Return (or write to output) the maps of a stored result's selections.

    `skeleton` and `array` are what :func:`._blocked.open_stored` yields,
    `indexers` the positions :func:`._select.restrict` returned. Returns
    the Dataset, or the path written when `output` is given.

    """
    from ._blocked import _BLOCK_VALUES, _whole_map, block_of
    from ._maps import map_schema, pixel_maps, prepare_maps
    from ._result import check_result

    sub = placeholder(skeleton, indexers)
    dims = selection_dims(sub)
    picks = list(_picks(sub, dims))
    first = placeholder(sub, dict(zip(dims, picks[0], strict=True)))
    setup = prepare_maps(first, check_result(first), **options)
    views = [
        _View(array, skeleton.dims, _stored_index(indexers, dims, pick))
        for pick in picks
    ]
    ny, nx, npoints, nbins = views[0].shape
    if rows is None:
        rows = max(1, _BLOCK_VALUES // max(1, nx * npoints * nbins))
    rows = min(rows, ny)
    if output is None:
        sink: Any = _MemorySink(sub, dims)
    else:
        sink = _StoreSink(sub, dims, output, overwrite=overwrite)
    try:
        wholes = [_whole_map(view, setup, rows) for view in views]
        template = map_schema(first, setup, wholes[0][0])
        sink.start(template, picks, wholes)
        on_z = dims[:1] == ('z',)
        planes = sorted({pick[0] for pick in picks}) if on_z else [None]
        for plane in planes:
            members = [
                i
                for i, pick in enumerate(picks)
                if not on_z or pick[0] == plane
            ]
            for start in range(0, ny, rows):
                block: dict[str, NDArray] = {}
                for i in members:
                    curves, finite = block_of(views[i], setup, start, rows)
                    values = pixel_maps(curves, finite, wholes[i][1], setup)
                    del curves
                    where = picks[i][1:] if on_z else picks[i]
                    for name, value in values.items():
                        if name not in block:
                            shape = (
                                value.shape[:2]
                                + tuple(sub.sizes[d] for d in dims if d != 'z')
                                + value.shape[2:]
                            )
                            block[name] = numpy.zeros(shape, value.dtype)
                        block[name][(slice(None), slice(None), *where)] = value
                sink.write(block, start, plane)
    except BaseException:
        sink.abort()
        raise
    return sink.finish()


def placeholder(skeleton: Any, indexers: dict[str, Any], /) -> Any:
    """Return the labels of skeleton at indexers, with values of no memory.

    The coordinates are selected alone, so that the placeholder values
    of a stored result are never materialized.

    """
    import xarray

    if not indexers:
        return skeleton
    labels = xarray.Dataset(coords=skeleton.coords)
    for dim in skeleton.dims:
        if dim not in labels.dims:  # a dim without coordinate: index it
            labels = labels.assign_coords(
                {f'_{dim}': (dim, numpy.arange(skeleton.sizes[dim]))}
            )
    labels = labels.isel(indexers)
    dims = tuple(d for d in skeleton.dims if d in labels.dims)
    shape = tuple(labels.sizes[d] for d in dims)
    values = numpy.broadcast_to(numpy.zeros((), skeleton.dtype), shape)
    coords = {
        key: var
        for key, var in labels.coords.items()
        if not key.startswith('_')
    }
    out = xarray.DataArray(
        values, dims=dims, coords=coords, attrs=dict(skeleton.attrs),
        name=skeleton.name,
    )  # fmt: skip
    out.encoding = dict(skeleton.encoding)
    return out


class _View:
    """One plane and channel pair of a stored result, read by rows."""

    def __init__(self, array: Any, dims: tuple[str, ...], fixed: dict) -> None:
        self._array = array
        self._dims = tuple(dims)
        self._fixed = fixed
        self.shape = tuple(
            int(n)
            for d, n in zip(dims, array.shape, strict=True)
            if d not in fixed
        )
        self.dtype = array.dtype

    def __getitem__(self, rows: slice) -> NDArray:
        key = tuple(
            self._fixed[d]
            if d in self._fixed
            else rows
            if d == 'y'
            else slice(None)
            for d in self._dims
        )
        return self._array[key]


class _MemorySink:
    """Collect the maps of every selection into one Dataset."""

    def __init__(self, result: Any, dims: tuple[str, ...]) -> None:
        self._result = result
        self._dims = dims

    def start(self, template: Any, picks: list, wholes: list) -> None:
        self._template = template
        self._values = _allocate(template, self._result, self._dims)
        for pick, (_, noise) in zip(picks, wholes, strict=True):
            where = _where(('delay',), self._dims, pick)
            self._values['noise'][where] = noise
        self._pooled = [pooled for pooled, _ in wholes]

    def write(self, block: dict[str, NDArray], y: int, plane: Any) -> None:
        lead = () if plane is None else (plane,)
        for name, value in block.items():
            self._values[name][(*lead, slice(y, y + len(value)))] = value

    def abort(self) -> None:
        """Nothing to remove."""

    def finish(self) -> Any:
        return selections_dataset(
            self._result,
            self._dims,
            self._template,
            self._values,
            self._pooled,
        )


class _StoreSink(StoreSink):
    """Write the maps of every selection into a store as they are made."""

    def __init__(
        self,
        result: Any,
        dims: tuple[str, ...],
        output: str | os.PathLike[str],
        *,
        overwrite: bool,
    ) -> None:
        super().__init__(output, result, None, overwrite=overwrite)
        self._dims = dims

    def start(self, template: Any, picks: list, wholes: list) -> None:
        values = {}
        for name, var in template.data_vars.items():
            new = _new_dims(var.dims, self._dims)
            shape = tuple(_sizes(self._result, template)[d] for d in new)
            values[name] = numpy.broadcast_to(
                numpy.zeros((), var.dtype), shape
            )
        pooled = [pooled for pooled, _ in wholes]
        schema_maps = selections_dataset(
            self._result, self._dims, template, values, pooled
        )
        self._open(schema_maps)
        noise = numpy.full(schema_maps['noise'].shape, numpy.nan)
        for pick, (_, level) in zip(picks, wholes, strict=True):
            noise[_where(('delay',), self._dims, pick)] = level
        whole = {'noise': noise}
        for name in POOLED:
            whole[name] = schema_maps[name].values
        self._writer.write(whole)

    def write(self, block: dict[str, NDArray], y: int, plane: Any) -> None:
        self._writer.write(block, y=y, z=plane)

    def finish(self) -> Path:
        super().finish()
        return self._output


def _picks(result: Any, dims: tuple[str, ...]) -> Iterator[tuple[int, ...]]:
    """Yield the positions of every selection, in C order of dims."""
    yield from numpy.ndindex(*(result.sizes[dim] for dim in dims))


def _new_dims(var_dims: tuple, dims: tuple[str, ...]) -> tuple[str, ...]:
    """Return the dims of a map variable of several selections."""
    lead = ('z',) if 'z' in dims else ()
    channels = tuple(dim for dim in dims if dim != 'z')
    var_dims = tuple(var_dims)
    if var_dims[:2] == ('y', 'x'):
        return (*lead, 'y', 'x', *channels, *var_dims[2:])
    if var_dims[:3] == ('z', 'y', 'x'):  # of a volume: z is space
        return ('z', 'y', 'x', *channels, *var_dims[3:])
    return (*dims, *var_dims)


def _where(var_dims: tuple, dims: tuple[str, ...], pick: tuple) -> tuple:
    """Return the index of one selection in a variable of several."""
    at = dict(zip(dims, pick, strict=True))
    return tuple(at.get(dim, slice(None)) for dim in _new_dims(var_dims, dims))


def _sizes(result: Any, template: Any) -> dict[str, int]:
    return {
        **dict(template.sizes),
        **{d: result.sizes[d] for d in selection_dims(result)},
    }


def _allocate(
    template: Any, result: Any, dims: tuple[str, ...]
) -> dict[str, NDArray]:
    """Return empty arrays of every map variable of several selections."""
    sizes = _sizes(result, template)
    values = {}
    for name, var in template.data_vars.items():
        shape = tuple(sizes[d] for d in _new_dims(var.dims, dims))
        if var.dtype.kind == 'f':
            values[name] = numpy.full(shape, numpy.nan, var.dtype)
        else:
            values[name] = numpy.zeros(shape, var.dtype)
    return values


def _pooled_of(attrs: dict[str, Any]) -> dict[str, Any]:
    return {key: attrs[name] for name, key in POOLED.items()}


def _label(result: Any, dim: str, at: int) -> Any:
    if dim in result.coords:
        value = result[dim].values[at]
        return value.item() if hasattr(value, 'item') else value
    return int(at)


def _stored_index(
    indexers: dict[str, Any], dims: tuple[str, ...], pick: tuple
) -> dict[str, int]:
    """Return the positions in the stored array of one selection."""
    fixed = {d: int(v) for d, v in indexers.items() if not isinstance(v, list)}
    for dim, at in zip(dims, pick, strict=True):
        chosen = indexers.get(dim)
        fixed[dim] = int(chosen[at]) if isinstance(chosen, list) else int(at)
    return fixed
