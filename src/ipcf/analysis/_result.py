"""The pCF result as the maps read it: circle points, bins and timing.

:func:`check_result` checks that a result is a labelled pCF result, of
an image or of a volume, and returns what every analysis step needs to
know of it (bin edges, delays, frame time, circle radius, the points'
offsets, angles and distances, the estimator's mode and length), so that
the steps themselves take plain arrays. :func:`check_pair` checks the
two-number options (``velocity``, ``diffusion_range``).

"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy

from .._validate import check_real

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ['check_pair', 'check_result']

_DIMS = ('y', 'x', 'point', 'delay')
_DIMS_VOLUME = ('z', 'y', 'x', 'point', 'delay')
_COORDS = {'u', 'v', 'angle', 'distance', 'delay', 'bin_edge'}


def check_result(result: Any, /) -> dict[str, Any]:
    """Return what the maps need to know of a pCF result, or raise.

    Parameters
    ----------
    result : xarray.DataArray
        pCF result, dims ``('y', 'x', 'point', 'delay')``, with the
        coordinates ``u``, ``v``, ``angle``, ``distance``, ``delay`` and
        ``bin_edge``; or of a volume, dims ``('z', 'y', 'x', 'point',
        'delay')`` with the coordinate ``w`` too. Its values are not
        read.

    Returns
    -------
    dict
        ``edges`` and ``delays`` of the bins, ``dt`` (s), ``radius``
        (px), the points' ``u``, ``v``, ``angle`` and ``distance`` (px,
        float64), the estimator's ``mode`` and ``frames`` (None if
        unknown), ``volume`` (bool); of a volume also the points' ``w``
        (planes, float64) and the result's ``z_ratio`` (None if
        unknown).

    Raises
    ------
    TypeError
        If `result` is not an :class:`xarray.DataArray`.
    ValueError
        If its dims, coordinates or bins are not those of a pCF result.

    Examples
    --------
    >>> import ipcf
    >>> data = numpy.random.default_rng(0).poisson(100, (256, 8, 8))
    >>> result = ipcf.pcf_image(data, radius=2, npoints=4, dt=1e-3)
    >>> info = check_result(result)
    >>> info['dt'], info['radius'], info['edges'][:3].tolist()
    (0.001, 2, [1, 2, 3])

    """
    import xarray

    if not isinstance(result, xarray.DataArray):
        msg = (
            f'result is a {type(result).__name__}; expected the '
            'xarray.DataArray of ipcf.pcf_image or ipcf.load_result'
        )
        raise TypeError(msg)
    several = {'channel', 'neighbour_channel'} & set(result.dims)
    if several or ('z' in result.dims and 'w' not in result.coords):
        # ipcf.analyze of several planes or channels: maps are of one
        msg = (
            f'result.dims={result.dims} hold several planes or channels; '
            'this step takes one: select it with ipcf.analysis.select('
            'result, z=..., channel=..., neighbour_channel=...)'
        )
        raise ValueError(msg)
    volume = result.dims == _DIMS_VOLUME
    if result.dims != _DIMS and not volume:
        msg = f'result.dims={result.dims} are not {_DIMS} or {_DIMS_VOLUME}'
        raise ValueError(msg)
    missing = (_COORDS | ({'w'} if volume else set())) - set(result.coords)
    if missing:
        msg = f'result lacks the coordinates {sorted(missing)}'
        raise ValueError(msg)
    edges = numpy.asarray(result['bin_edge'].values, dtype=numpy.intp)
    delays = numpy.asarray(result['delay'].values, dtype=numpy.float64)
    if len(edges) < 3 or edges[0] != 1:
        msg = (
            f'result has bin edges {edges.tolist()}; expected at least 3 '
            'log bins starting with the zero delay alone'
        )
        raise ValueError(msg)
    dt = result.attrs.get('dt')
    if dt is None:
        dt = float(delays[1])  # bin 1 holds the delay of one frame
    radius = result.attrs.get('radius')
    if radius is None:
        radius = math.ceil(float(result['distance'].max()))
    info = {
        'edges': edges,
        'delays': delays,
        'dt': float(dt),
        'radius': int(radius),
        'u': _floats(result, 'u'),
        'v': _floats(result, 'v'),
        'angle': _floats(result, 'angle'),
        'distance': _floats(result, 'distance'),
        'mode': result.attrs.get('mode', 'circular'),
        'frames': result.attrs.get('frames'),
        'volume': volume,
    }
    if volume:
        info['w'] = _floats(result, 'w')
        z_ratio = result.attrs.get('z_ratio')
        info['z_ratio'] = None if z_ratio is None else float(z_ratio)
    return info


def check_pair(value: Any, name: str, /) -> tuple[float, float]:
    """Return two finite numbers or raise TypeError/ValueError.

    >>> check_pair((50, 0), 'velocity')
    (50.0, 0.0)
    >>> check_pair(3.0, 'diffusion_range')
    Traceback (most recent call last):
    ...
    TypeError: diffusion_range=3.0 is not a pair of numbers

    """
    try:
        items = tuple(value)
    except TypeError:
        items = ()
    if len(items) != 2 or isinstance(value, str):
        msg = f'{name}={value!r} is not a pair of numbers'
        raise TypeError(msg)
    return (
        check_real(items[0], f'{name}[0]'),
        check_real(items[1], f'{name}[1]'),
    )


def _floats(result: Any, name: str) -> NDArray[numpy.float64]:
    return numpy.asarray(result[name].values, dtype=numpy.float64)
