"""Planes and channel pairs of a result or its maps: which, and one of them.

A result of :func:`ipcf.analyze` on a file of several planes or channels
has a leading ``z`` dim and ``channel``, ``neighbour_channel`` dims after
``x``; so do its maps. :func:`selection_dims` names those dims of a
result or maps (``z`` of a volume's 3-D pCF is space, not a selection),
:func:`select` returns one plane and channel pair in the plain layout
and :func:`restrict` turns labels given by the caller into positions.

"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy

if TYPE_CHECKING:
    import xarray

__all__ = ['POOLED', 'SELECTION_DIMS', 'restrict', 'select', 'selection_dims']

SELECTION_DIMS = ('z', 'channel', 'neighbour_channel')
"""Dims that select a plane or a channel pair, in the order they come."""

POOLED = {
    'D_pooled': 'D',
    'D_pooled_error': 'D_error',
    'D_pooled_pixels': 'pixels',
    'D_pooled_blocks': 'blocks',
    'D_pooled_residual': 'residual',
    'D_pooled_peak': 'D_peak',
    'D_pooled_free': 'free',
}
"""Pooled-fit attributes of the maps of one selection, and their keys in
the dict that :func:`._diffusion.pool` returns. Maps of several
selections hold them as variables over the selection dims."""


def selection_dims(data: Any, /) -> tuple[str, ...]:
    """Return the dims of a result or maps that select planes or channels.

    ``z`` counts unless the data are of a volume (a ``w`` coordinate:
    the circle points reach into other planes).

    >>> import xarray
    >>> data = xarray.DataArray(numpy.zeros((2, 3, 4, 2, 2)),
    ...     dims=('z', 'y', 'x', 'channel', 'neighbour_channel'))
    >>> selection_dims(data)
    ('z', 'channel', 'neighbour_channel')

    """
    dims = tuple(getattr(data, 'dims', ()))
    coords = getattr(data, 'coords', {})
    return tuple(
        dim
        for dim in SELECTION_DIMS
        if dim in dims and (dim != 'z' or 'w' not in coords)
    )


def select(
    data: xarray.DataArray | xarray.Dataset,
    /,
    *,
    z: int | None = None,
    channel: int | None = None,
    neighbour_channel: int | None = None,
) -> Any:
    """Return one plane and channel pair of a pCF result or of its maps.

    Parameters
    ----------
    data : xarray.DataArray or xarray.Dataset
        Result of :func:`ipcf.analyze` (or :func:`ipcf.load_result`) of
        several planes or channels, or its maps (:func:`ipcf.maps`). Data
        of one plane and channel pair are returned as given.
    z, channel, neighbour_channel : int, optional
        The plane and the channels, as labelled by the coordinates (the
        indices in the file). None (default) takes the only one where
        there is one; give one where there are several.

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        The data in the plain layout of one series (dims ``('y', 'x',
        'point', 'delay')`` for a result), what ``data.sel(z=...,
        channel=..., neighbour_channel=...)`` gives. Of maps, the pooled
        fit moves back to the attributes (``D_pooled``, ...,
        ``D_pooled_note``) as the maps of that selection alone have it.

    Raises
    ------
    ValueError
        If a dim holds several planes or channels and none is given, or
        a value is not among its labels.

    Examples
    --------
    >>> import xarray
    >>> data = xarray.DataArray(
    ...     numpy.zeros((2, 3, 3, 2, 2)),
    ...     dims=('z', 'y', 'x', 'channel', 'neighbour_channel'),
    ...     coords={'z': [0, 1], 'channel': [0, 1],
    ...             'neighbour_channel': [0, 1]})
    >>> select(data, z=1, channel=0, neighbour_channel=1).dims
    ('y', 'x')
    >>> select(data, z=1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: data hold several channel [0, 1] and neighbour_channel ...

    """
    given = {
        'z': z,
        'channel': channel,
        'neighbour_channel': neighbour_channel,
    }
    dims = selection_dims(data)
    chosen: dict[str, int] = {}
    open_dims = []
    for dim in SELECTION_DIMS:
        value = given[dim]
        if dim not in dims:
            if value is not None:
                _check_absent(data, dim, value)
            continue
        labels = _labels(data, dim)
        if value is None:
            if len(labels) != 1:
                open_dims.append(dim)
                continue
            value = labels[0]
        chosen[dim] = _position(labels, dim, value)
    if open_dims:
        several = ' and '.join(
            f'{dim} {_labels(data, dim)}' for dim in open_dims
        )
        names = ' and '.join(f'{dim}=' for dim in open_dims)
        msg = f'data hold several {several}; pass {names} (one of each)'
        raise ValueError(msg)
    if not chosen:
        return data
    out = data.isel(chosen)
    if hasattr(out, 'data_vars') and any(key in out for key in POOLED):
        out = _pooled_to_attrs(out)
    return out


def restrict(
    data: Any, /, **labels: int | Sequence[int] | None
) -> dict[str, int | list[int]]:
    """Return isel positions of the planes and channels given by labels.

    An int drops its dim (one plane or channel), a sequence keeps it,
    None keeps all. A label of a dim the data lack must be the one the
    data are of (their scalar coordinate or attribute).

    >>> import xarray
    >>> data = xarray.DataArray(numpy.zeros((3, 2)), dims=('z', 'y'),
    ...                         coords={'z': [0, 2, 4]})
    >>> restrict(data, z=[2, 4]), restrict(data, z=0)
    ({'z': [1, 2]}, {'z': 0})

    """
    dims = selection_dims(data)
    out: dict[str, int | list[int]] = {}
    for dim, value in labels.items():
        if value is None:
            continue
        if dim not in dims:
            _check_absent(data, dim, value)
            continue
        known = _labels(data, dim)
        if isinstance(value, Sequence | numpy.ndarray) and not isinstance(
            value, str
        ):
            if not len(value):
                msg = f'{dim}={value!r} selects nothing'
                raise ValueError(msg)
            out[dim] = [_position(known, dim, item) for item in value]
        else:
            out[dim] = _position(known, dim, value)
    return out


def _labels(data: Any, dim: str) -> list[int]:
    """Return the labels along a selection dim (positions if unlabelled)."""
    if dim in data.coords:
        return [_plain(item) for item in data[dim].values.tolist()]
    return list(range(data.sizes[dim]))


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, int | numpy.integer) else value


def _position(labels: list[Any], dim: str, value: Any) -> int:
    """Return where value is among labels, or raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | numpy.integer):
        msg = f'{dim}={value!r} is not an integer; expected one of {labels}'
        raise TypeError(msg)
    if int(value) not in labels:
        msg = f"{dim}={value!r} is not among the data's {dim} {labels}"
        raise ValueError(msg)
    return labels.index(int(value))


def _check_absent(data: Any, dim: str, value: Any) -> None:
    """Accept a label of a dim the data lack only if they are of it."""
    of = None
    if dim in data.coords and data[dim].ndim == 0:
        of = data[dim].values.item()
    elif isinstance(data.attrs.get(dim), int):
        of = data.attrs[dim]
    if of is not None and not isinstance(value, str):
        values = value if isinstance(value, Sequence) else [value]
        if all(_plain(item) == of for item in values):
            return
    where = f' (they are of {dim} {of})' if of is not None else ''
    msg = f'{dim}={value!r} given, but the data have no {dim} dim{where}'
    raise ValueError(msg)


def _pooled_to_attrs(maps: Any) -> Any:
    """Return maps of one selection with the pooled fit as attributes."""
    from ._maps import _pooled_note

    attrs = dict(maps.attrs)
    attrs.pop('D_pooled_selections', None)
    pooled: dict[str, Any] = {}
    for name, key in POOLED.items():
        if name not in maps:
            continue
        value = maps[name].values.item()
        if key == 'free':
            value = bool(value)
        elif key in ('pixels', 'blocks'):
            value = int(value)
        else:
            value = float(value)
        pooled[key] = value
        attrs[name] = value
    if len(pooled) == len(POOLED):
        attrs['D_pooled_note'] = _pooled_note(pooled)
    out = maps.drop_vars([name for name in POOLED if name in maps])
    out.attrs = attrs
    return out
