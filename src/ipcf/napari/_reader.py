"""Open image series and pCF results in napari.

napari calls :func:`get_reader` with the path (or paths) a user opens;
it returns :func:`read_result` for an ipcf result store, :func:`read_series`
for any other source ipcf reads, and None for what ipcf cannot read.
Both return napari's *layer data*: ``(data, kwargs, layer_type)`` tuples,
so this module needs neither napari nor Qt and can be used from scripts.

A series keeps its physical units: the layer's ``scale`` is the frame
interval in s along T and the pixel sizes in µm along Z, Y and X, as
the file declares them (pixels and frames where it does not). It is
read lazily, one frame as napari shows it. A result gives

- the pCF as an image of dims ``(point, delay, y, x)``, so that napari
  shows sliders for the circle point and the delay bin over the image;
- the maps of :func:`ipcf.maps` (stored with the result, or computed
  when the pixel size and PSF radius are known) as image layers;
- the flow direction as a vectors layer: an arrow per few pixels along
  ``flow_angle``, as long as ``flow_strength``.

Each layer's ``metadata['ipcf']`` says what it holds (``'series'``,
``'pcf'``, ``'map'``, ``'flow'``) and, for a pCF layer, holds the result
itself, so that the widget and the pixel panel work on the labelled data.

>>> import numpy, ipcf
>>> data = numpy.random.default_rng(0).poisson(100, (64, 12, 12))
>>> result = ipcf.pcf_image(data, radius=2, npoints=8, nbins=8)
>>> [(kw['name'], kind) for _, kw, kind in result_layers(result)]
[('pCF', 'image')]

"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy

if TYPE_CHECKING:
    import xarray
    from numpy.typing import NDArray

__all__ = [
    'flow_vectors',
    'get_reader',
    'read_result',
    'read_series',
    'result_layers',
    'series_layers',
]

PathOrPaths = str | os.PathLike[str] | Sequence[str | os.PathLike[str]]
LayerData = tuple[Any, dict[str, Any], str]

_log = logging.getLogger('ipcf')

# the 2-D maps shown, their unit and colour map; per-point maps would
# take the delay slider's place, so they stay in the result
MAPS = {
    'D': ('µm²/s', 'magma'),
    'flow_speed': ('µm/s', 'cividis'),
    'flow_strength': ('', 'gray'),
    'anisotropy': ('', 'gray'),
    'D_residual': ('', 'gray'),
}
# channel colours of multichannel series, as in napari's own readers
_CHANNEL_COLOURS = ('green', 'magenta', 'cyan', 'yellow', 'red', 'blue')
# frames sampled for the contrast limits of a series
_CONTRAST_FRAMES = 8
# arrows along the longer side of the flow map
_ARROWS = 16


def get_reader(path: PathOrPaths) -> Callable[..., list[LayerData]] | None:
    """Return the function that reads path into layers, or None.

    The ``napari_get_reader`` command of the plugin: a result store
    (HDF5, zarr or netCDF holding an ipcf result group) is read by
    :func:`read_result`; a file, directory or list of files that
    :func:`ipcf.open_series` opens by :func:`read_series`. Nothing is
    read here beyond the store's group names.

    Parameters
    ----------
    path : str, path-like or sequence of them
        What the user opens.

    Returns
    -------
    callable or None
        None where ipcf does not read `path`, so that napari asks
        another plugin.

    Examples
    --------
    >>> get_reader('notes.txt') is None
    True
    >>> get_reader('movie.tif').__name__
    'read_series'

    """
    paths = _as_paths(path)
    if not paths:
        return None
    if len(paths) == 1 and _holds_result(paths[0]):
        return read_result
    if all(_series_like(p, many=len(paths) > 1) for p in paths):
        return read_series
    return None


def read_series(path: PathOrPaths) -> list[LayerData]:
    """Return image layers of a series that :func:`ipcf.open_series` opens.

    Parameters
    ----------
    path : str, path-like or sequence of them
        A file, a directory of TIFF files, or a list of TIFF files (one
        frame each).

    Returns
    -------
    list of (data, kwargs, 'image')
        One layer per channel, lazily read; see :func:`series_layers`.

    Raises
    ------
    OSError, ValueError, TypeError
        As :func:`ipcf.open_series`.

    """
    from ..io import open_series

    paths = _as_paths(path)
    source: Any = os.fspath(paths[0]) if len(paths) == 1 else paths
    series = open_series(source)
    return series_layers(series, name=_display_name(paths))


def series_layers(series: Any, /, *, name: str = 'series') -> list[LayerData]:
    """Return image layers of a labelled series, in physical units.

    Parameters
    ----------
    series : ipcf.io.Series
        As :func:`ipcf.open_series` returns it, of dims ``(T, [C,] [Z,]
        Y, X)``.
    name : str, optional, default: 'series'
        Layer name; the channel's name or index is appended for series of
        several channels.

    Returns
    -------
    list of (data, kwargs, 'image')
        One layer per channel, each the lazy ``(T, [Z,] Y, X)`` series
        (read a frame at a time), with ``scale`` from the frame interval
        (s) and pixel sizes (µm), ``units``, ``axis_labels``, contrast
        limits from a few frames, and ``metadata['ipcf']`` holding
        ``kind='series'``, the ``source``, its ``selection`` (the
        channel) and the ``units`` (of the metadata record, and the PSF
        radius where the file states it).

    Examples
    --------
    >>> import numpy, ipcf
    >>> series = ipcf.open_series(numpy.zeros((4, 3, 5), numpy.uint16))
    >>> [(kw['name'], kw['scale']) for _, kw, _ in series_layers(series)]
    [('series', (1.0, 1.0, 1.0))]

    """
    meta = series.metadata
    channels = range(series.sizes['C']) if 'C' in series.dims else [None]
    layers = []
    for index in channels:
        if index is None:
            data, label, colour = series, name, 'gray'
            selection: dict[str, int] = {}
        else:
            data = _channel(series, index)
            names = meta.channels
            label = f'{name} {names[index] if index < len(names) else index}'
            colour = _CHANNEL_COLOURS[index % len(_CHANNEL_COLOURS)]
            selection = {'channel': series.channel_indices[index]}
        dims = [d for d in series.dims if d != 'C']
        scale, units = _series_scale(meta, dims)
        layers.append(
            (
                data,
                {
                    'name': label,
                    'scale': scale,
                    'units': units,
                    'axis_labels': tuple(d.lower() for d in dims),
                    'colormap': colour,
                    'blending': 'additive' if index else 'translucent',
                    'contrast_limits': _contrast(data),
                    'metadata': {
                        'ipcf': {
                            'kind': 'series',
                            'source': _source_text(series.source),
                            'selection': selection,
                            'units': _units_of(meta),
                        }
                    },
                },
                'image',
            )
        )
    return layers


def read_result(path: str | os.PathLike[str]) -> list[LayerData]:
    """Return the layers of an ipcf result store.

    The pCF result (group ``pcf``, :func:`ipcf.load_result`) gives the
    layers of :func:`result_layers`, with the maps stored beside it
    (group ``maps``) or, where none are stored, computed by
    :func:`ipcf.maps` when the pixel size and PSF radius are known. A
    store of another analysis (ACF, N&B) gives an image layer per
    variable of dims ``(y, x)``.

    Parameters
    ----------
    path : str or path-like
        HDF5, zarr or netCDF store.

    Returns
    -------
    list of (data, kwargs, layer_type)

    Raises
    ------
    OSError, ValueError
        If the store cannot be read.

    """
    from ..plot._common import read_result as load
    from ..store import load_result, result_groups

    path = Path(_as_paths(path)[0])
    groups = result_groups(path) if _store(path) else []
    name = path.name
    if path.suffix.lower() == '.nc' or 'pcf' in groups:
        result = load(path)
        maps = None
        if 'maps' in groups:
            maps = load_result(path, group='maps')
        return result_layers(result, maps=maps, name=name)
    layers = []
    for group in groups:
        dataset = load_result(path, group=group)
        layers += _dataset_layers(dataset, f'{name} {group}', kind=group)
    return layers


def result_layers(
    result: xarray.DataArray,
    /,
    *,
    maps: xarray.Dataset | bool | None = None,
    name: str = 'pCF',
    pixel_size: float | None = None,
    data: Any = None,
) -> list[LayerData]:
    """Return the layers of a pCF result, its maps and its flow.

    Parameters
    ----------
    result : xarray.DataArray
        Result of :func:`ipcf.pcf_image` or :func:`ipcf.load_result`,
        dims ``(y, x, point, delay)``; other dims (``direction``, ``z``)
        become sliders too.
    maps : xarray.Dataset, bool or None, optional
        Maps of :func:`ipcf.maps` to show. True computes them (raising
        if the pixel size or PSF radius is unknown); None (default)
        computes them where both are known and leaves them out
        otherwise; False leaves them out.
    name : str, optional, default: 'pCF'
        Name of the pCF layer; map layers add the variable's name.
    pixel_size : float, optional
        Pixel size in µm. Default: from the result or its series.
    data : array_like, optional
        The series the result was computed from, kept in the layer's
        metadata for the pixel panel's raw curves. Default: the result's
        ``source``, opened when needed.

    Returns
    -------
    list of (data, kwargs, layer_type)
        The pCF image ``(..., point, delay, y, x)`` (float32, robust
        contrast limits, ``translate`` to the first result pixel), an
        image per map of :data:`MAPS`, hidden but the first, and a
        ``'vectors'`` layer of the flow (:func:`flow_vectors`).

    Raises
    ------
    TypeError
        If `result` is not a labelled pCF result.
    ValueError
        If `maps` is True and they cannot be computed.

    Examples
    --------
    >>> import numpy, ipcf
    >>> data = numpy.random.default_rng(0).poisson(100, (64, 12, 12))
    >>> result = ipcf.pcf_image(data, radius=2, npoints=8, nbins=8)
    >>> (image, kwargs, kind), = result_layers(result, pixel_size=0.1)
    >>> image.shape, kwargs['axis_labels'], kwargs['scale']
    ((8, 7, 8, 8), ('point', 'delay', 'y', 'x'), (1.0, 1.0, 0.1, 0.1))

    """
    from .._sources import physical_units, source_of
    from ..plot._common import limits

    _check_pcf(result)
    units = physical_units(result.attrs, source_of(result))
    if pixel_size is None:
        pixel_size = units['pixel_size']
    from ..analysis._select import selection_dims

    # planes and channel pairs are sliders next to the image, in the
    # order of their maps' sliders, so that napari lines them up
    chosen = selection_dims(result)
    spatial = [
        d for d in ('z', 'y', 'x') if d in result.dims and d not in chosen
    ]
    sliders = [d for d in result.dims if d not in spatial and d not in chosen]
    sliders += chosen
    image = result.transpose(*sliders, *spatial)
    scale, unit = _spatial_scale(result, spatial, pixel_size)
    origin = tuple(
        float(result[d].values[0]) * s
        for d, s in zip(spatial, scale, strict=True)
    )
    values = numpy.asarray(image.values, dtype=numpy.float32)
    kwargs = {
        'name': name,
        'scale': (1.0,) * len(sliders) + scale,
        'translate': (0.0,) * len(sliders) + origin,
        'units': ('pixel',) * len(sliders) + (unit,) * len(spatial),
        'axis_labels': (*sliders, *spatial),
        'colormap': 'viridis',
        'contrast_limits': limits(_sample(values)),
        'metadata': {
            'ipcf': {
                'kind': 'pcf',
                'result': result,
                'data': data,
                'pixel_size': pixel_size,
            }
        },
    }
    layers: list[LayerData] = [(values, kwargs, 'image')]
    if maps is None or maps is True:
        maps = _maps(result, pixel_size, required=maps is True)
    if maps is not None and maps is not False:
        layers += map_layers(maps, name=name, scale=scale, origin=origin)
    return layers


def map_layers(
    maps: xarray.Dataset,
    /,
    *,
    name: str = 'pCF',
    scale: tuple[float, ...] = (1.0, 1.0),
    origin: tuple[float, ...] = (0.0, 0.0),
) -> list[LayerData]:
    """Return image layers of the 2-D maps and a vectors layer of the flow.

    Parameters
    ----------
    maps : xarray.Dataset
        Maps of :func:`ipcf.maps`, dims ``(y, x)`` for the maps shown.
    name : str, optional
        Prefix of the layer names.
    scale, origin : tuple of float, optional
        µm per pixel and position of the first map pixel along y and x.

    Returns
    -------
    list of (data, kwargs, layer_type)

    """
    from ..analysis._select import selection_dims
    from ..plot._common import limits

    chosen = selection_dims(maps)
    if 'z' in maps.dims and 'z' not in chosen:
        # the maps of a volume: no 2-D flow arrows
        return _dataset_layers(maps, name, kind='map')
    layers: list[LayerData] = []
    lead = (1.0,) * len(chosen)
    plain = (*chosen, 'y', 'x')
    shown = [
        key for key in MAPS if key in maps and maps[key].dims == plain
    ] or [
        key
        for key in MAPS
        if key in maps and set(maps[key].dims) == set(plain)
    ]
    for key in shown:
        unit, cmap = MAPS[key]
        values = numpy.asarray(
            maps[key].transpose(*plain).values, dtype=numpy.float32
        )
        label = f'{key} ({unit})' if unit else key
        layers.append(
            (
                values,
                {
                    'name': f'{name} {label}',
                    'scale': lead + tuple(scale[-2:]),
                    'translate': (0.0,) * len(chosen) + tuple(origin[-2:]),
                    'colormap': cmap,
                    'contrast_limits': limits(values),
                    'visible': key == shown[0],
                    'opacity': 0.8,
                    'metadata': {'ipcf': {'kind': 'map', 'variable': key}},
                },
                'image',
            )
        )
    if 'flow_angle' in maps and 'flow_strength' in maps:
        step = _arrow_step(maps['flow_angle'].shape[-2:])
        vectors = _selection_vectors(maps, chosen, step)
        layers.append(
            (
                vectors,
                {
                    'name': f'{name} flow',
                    'scale': lead + tuple(scale[-2:]),
                    'translate': (0.0,) * len(chosen) + tuple(origin[-2:]),
                    'edge_color': 'cyan',
                    'edge_width': max(0.15, 0.12 * step),
                    'vector_style': 'arrow',
                    'length': 1.0,
                    'opacity': 1.0,
                    'metadata': {'ipcf': {'kind': 'flow'}},
                },
                'vectors',
            )
        )
    return layers


def flow_vectors(
    maps: xarray.Dataset, /, *, step: int | None = None
) -> NDArray[numpy.float64]:
    """Return napari vectors of the flow direction, one per few pixels.

    Parameters
    ----------
    maps : xarray.Dataset
        Maps of :func:`ipcf.maps` with ``flow_angle`` (radians from +x
        toward +y, the rows) and ``flow_strength`` (0 to 1) on ``(y,
        x)``.
    step : int, optional
        Pixels between arrows; default so that about 16 arrows fit along
        the longer side.

    Returns
    -------
    ndarray, shape (N, 2, 2)
        For each pixel of the subsampled grid with a finite flow, its
        position ``(y, x)`` in map pixels (the first map pixel at 0) and
        the arrow ``(dy, dx)``: ``step`` pixels long for a strength of 1.

    Examples
    --------
    >>> import numpy, xarray
    >>> maps = xarray.Dataset({
    ...     'flow_angle': (('y', 'x'), numpy.zeros((4, 4))),
    ...     'flow_strength': (('y', 'x'), numpy.ones((4, 4))),
    ... })
    >>> flow_vectors(maps, step=2)[0].tolist()
    [[0.0, 0.0], [0.0, 2.0]]

    """
    from .._validate import check_int

    angle = maps['flow_angle'].transpose('y', 'x').values
    strength = maps['flow_strength'].transpose('y', 'x').values
    step = _arrow_step(angle.shape) if step is None else step
    step = check_int(step, 'step', minimum=1)
    height, width = angle.shape
    rows, cols = numpy.mgrid[0:height:step, 0:width:step]
    a = angle[rows, cols]
    s = strength[rows, cols]
    keep = numpy.isfinite(a) & numpy.isfinite(s) & (s > 0)
    vectors = numpy.zeros((int(keep.sum()), 2, 2), dtype=numpy.float64)
    vectors[:, 0, 0] = rows[keep]
    vectors[:, 0, 1] = cols[keep]
    vectors[:, 1, 0] = step * s[keep] * numpy.sin(a[keep])
    vectors[:, 1, 1] = step * s[keep] * numpy.cos(a[keep])
    return vectors


# helpers ----------------------------------------------------------------


def _selection_vectors(
    maps: Any, chosen: tuple[str, ...], step: int
) -> NDArray[numpy.float64]:
    """Return the flow vectors of every plane and channel pair of maps.

    Each selection's arrows of :func:`flow_vectors`, with its positions
    along the selection dims in front (and no extent along them).

    """
    if not chosen:
        return flow_vectors(maps, step=step)
    parts = []
    for index in numpy.ndindex(*(maps.sizes[d] for d in chosen)):
        one = maps.isel(dict(zip(chosen, index, strict=True)))
        arrows = flow_vectors(one, step=step)
        full = numpy.zeros((len(arrows), 2, len(chosen) + 2))
        full[:, 0, : len(chosen)] = index
        full[:, :, len(chosen) :] = arrows
        parts.append(full)
    return numpy.concatenate(parts)


def _as_paths(path: Any) -> list[str]:
    """Return the paths napari passes as a list of str."""
    if isinstance(path, (str, os.PathLike)):
        return [os.fspath(path)]
    try:
        return [os.fspath(p) for p in path]
    except TypeError:
        return []


def _store(path: Path) -> bool:
    from .._files import file_kind

    return file_kind(path) in {'hdf5', 'zarr'}


def _holds_result(path: str) -> bool:
    """Return whether path is a store with a complete ipcf result."""
    from .._files import file_kind
    from ..store import result_groups

    target = Path(path)
    if file_kind(target) == 'netcdf':
        return target.is_file()
    return _store(target) and bool(result_groups(target))


def _series_like(path: str, *, many: bool) -> bool:
    """Return whether open_series may read path (by suffix or folder)."""
    from .._files import file_kind
    from ..io._vendor import FORMATS

    target = Path(path)
    kind = file_kind(target)
    if many:  # a list of files is a TIFF series
        return kind == 'tiff'
    if target.is_dir() and kind != 'zarr':
        return any(file_kind(p) == 'tiff' for p in target.iterdir())
    return kind in {'raw', 'tiff', 'hdf5', 'zarr', *FORMATS}


def _display_name(paths: list[str]) -> str:
    if len(paths) == 1:
        return Path(paths[0]).name
    return Path(os.path.commonpath(paths)).name or 'series'


def _source_text(source: Any) -> Any:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, (list, tuple)):
        return [os.fspath(s) for s in source]
    return None


def _channel(series: Any, index: int) -> Any:
    """Return the series of one channel, still lazy and labelled."""
    from ..io import open_series

    channel = series.channel_indices[index]
    if series.format == 'array':
        return series[(slice(None), index)]
    planes = list(series.plane_indices) if 'Z' in series.dims else None
    return open_series(series.source, channel=channel, z=planes)


def _series_scale(
    meta: Any, dims: Sequence[str]
) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """Return napari scale and units of the axes of a series."""
    known = {
        'T': (meta.frame_interval, 's'),
        'Z': (meta.pixel_size_z, 'µm'),
        'Y': (meta.pixel_size_y, 'µm'),
        'X': (meta.pixel_size, 'µm'),
    }
    scale, units = [], []
    for dim in dims:
        value, unit = known[dim]
        if value is None or not value > 0:
            value, unit = 1.0, 'pixel'
        scale.append(float(value))
        units.append(unit)
    return tuple(scale), tuple(units)


def _units_of(meta: Any) -> dict[str, Any]:
    """Return the known units of a series' metadata, with its PSF radius."""
    from .._sources import physical_units

    units = meta.as_dict()
    psf = physical_units(meta.stored)['psf_radius']
    if psf is not None:
        units['psf_radius'] = psf
    return units


def _contrast(data: Any) -> tuple[float, float]:
    """Return contrast limits of a series from a few of its frames."""
    from ..plot._common import limits

    frames = len(data)
    count = min(frames, _CONTRAST_FRAMES)
    picks = numpy.unique(numpy.linspace(0, frames - 1, count).astype(int))
    sample = numpy.stack([numpy.asarray(data[int(t)]) for t in picks])
    return limits(_sample(sample.astype(numpy.float64)))


def _sample(values: NDArray, size: int = 1 << 20) -> NDArray:
    """Return at most about size values of an array, evenly strided."""
    flat = values.reshape(-1)
    return flat[:: max(1, math.ceil(flat.size / size))]


def _check_pcf(result: Any) -> None:
    import xarray

    if not isinstance(result, xarray.DataArray) or not {
        'y',
        'x',
        'point',
        'delay',
    } <= set(result.dims):
        msg = (
            f'result must be a pCF DataArray with dims y, x, point and '
            f'delay; got a {type(result).__name__}'
            + (f' of dims {result.dims}' if hasattr(result, 'dims') else '')
        )
        raise TypeError(msg)


def _spatial_scale(
    result: Any, spatial: Sequence[str], pixel_size: float | None
) -> tuple[tuple[float, ...], str]:
    """Return µm (or pixels) per step along z, y, x of a result."""
    if pixel_size is None:
        return (1.0,) * len(spatial), 'pixel'
    scales = []
    for dim in spatial:
        ratio = float(result.attrs.get('z_ratio', 1.0)) if dim == 'z' else 1
        scales.append(float(pixel_size) * ratio)
    return tuple(scales), 'µm'


def _maps(result: Any, pixel_size: float | None, *, required: bool) -> Any:
    """Return the maps of a result, or None where units are missing."""
    from ..analysis import maps

    try:
        return maps(result, pixel_size=pixel_size)
    except ValueError as exc:
        if required:
            raise
        _log.info('no maps of the pCF layer: %s', exc)
        return None


def _arrow_step(shape: Sequence[int]) -> int:
    return max(1, round(max(shape) / _ARROWS))


def _dataset_layers(dataset: Any, name: str, *, kind: str) -> list[LayerData]:
    """Return an image layer per variable of dims (y, x) of a result."""
    import xarray

    from .._sources import physical_units, source_of
    from ..plot._common import limits

    if isinstance(dataset, xarray.DataArray):
        dataset = dataset.to_dataset(name=dataset.name or kind)
    pixel_size = physical_units(dataset.attrs, source_of(dataset))[
        'pixel_size'
    ]
    layers: list[LayerData] = []
    for key, variable in dataset.data_vars.items():
        if not {'y', 'x'} <= set(variable.dims):
            continue
        if variable.dtype.kind not in 'uifb':
            continue
        spatial = [d for d in ('z', 'y', 'x') if d in variable.dims]
        sliders = [d for d in variable.dims if d not in spatial]
        values = numpy.asarray(
            variable.transpose(*sliders, *spatial).values,
            dtype=numpy.float32,
        )
        scale, unit = _spatial_scale(dataset, spatial, pixel_size)
        origin = tuple(
            float(variable[d].values[0]) * s
            for d, s in zip(spatial, scale, strict=True)
        )
        layers.append(
            (
                values,
                {
                    'name': f'{name} {key}',
                    'scale': (1.0,) * len(sliders) + scale,
                    'translate': (0.0,) * len(sliders) + origin,
                    'units': ('pixel',) * len(sliders) + (unit,) * len(scale),
                    'axis_labels': (*sliders, *spatial),
                    'contrast_limits': limits(values),
                    'visible': not layers,
                    'metadata': {'ipcf': {'kind': kind, 'variable': key}},
                },
                'image',
            )
        )
    return layers
