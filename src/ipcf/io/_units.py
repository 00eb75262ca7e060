"""Physical units that microscopes write in OME-TIFF, ImageJ and OME-Zarr.

Each reader returns a dict with what the file declares, converted to
ipcf's units: ``pixel_size`` (µm, along x), ``pixel_size_y``,
``pixel_size_z`` (µm), ``frame_interval`` (s), ``channels`` (names),
``axes`` (the file's own axes, as ``'TCZYX'``), ``acquisition_date``,
and ``units_source`` (where each value came from). Keys the file does
not declare are absent; a missing frame interval is said in
``units_note``. :func:`ipcf.io.read_metadata` puts ipcf's own stored
metadata over these.

>>> length_um(100, 'nm'), time_s(2, 'ms')
(0.1, 0.002)

"""

from __future__ import annotations

import logging
import math
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from typing import Any

import numpy

__all__ = [
    'imagej_units',
    'irregular_stamps',
    'length_um',
    'merge_units',
    'ngff_units',
    'ome_units',
    'time_s',
]

logger = logging.getLogger('ipcf')

IRREGULAR = 0.01
"""Relative spread of DeltaT intervals above which they are irregular."""

_LENGTHS = {
    'pm': 1e-6,
    'picometer': 1e-6,
    'Å': 1e-4,
    'angstrom': 1e-4,
    'nm': 1e-3,
    'nanometer': 1e-3,
    'µm': 1.0,
    'μm': 1.0,
    'um': 1.0,
    'micron': 1.0,
    'microns': 1.0,
    'micrometer': 1.0,
    '\\u00b5m': 1.0,
    'mm': 1e3,
    'millimeter': 1e3,
    'cm': 1e4,
    'centimeter': 1e4,
    'm': 1e6,
    'meter': 1e6,
    'inch': 25.4e3,
}

_TIMES = {
    'ns': 1e-9,
    'nanosecond': 1e-9,
    'µs': 1e-6,
    'μs': 1e-6,
    'us': 1e-6,
    'microsecond': 1e-6,
    'ms': 1e-3,
    'millisecond': 1e-3,
    's': 1.0,
    'sec': 1.0,
    'second': 1.0,
    'min': 60.0,
    'minute': 60.0,
    'h': 3600.0,
    'hour': 3600.0,
}

# the keys of each quantity, as ipcf._sources.physical_units reads them
_ALIASES = {
    'pixel_size': ('pixel_size',),
    'frame_interval': ('frame_interval', 'frame_time', 'dt'),
}


# what makes a file's units worth reporting
_DECLARED = (
    'pixel_size',
    'pixel_size_y',
    'pixel_size_z',
    'frame_interval',
    'channels',
    'acquisition_date',
)


def irregular_stamps(intervals: Any, frames: Any = None, /) -> str | None:
    """Return what is irregular in the intervals of frame time stamps.

    An interval off the median by more than a quarter (a dropped frame
    doubles one) is irregular; None if none is. `frames` label the
    stamps (default 0, 1, ...); the median must be positive.

    >>> irregular_stamps([0.1, 0.1, 0.2])  # doctest: +ELLIPSIS
    'time stamps are irregular: 1 of 3 intervals differ ... 0.2 s)'

    """
    intervals = numpy.asarray(intervals, dtype=numpy.float64)
    median = float(numpy.median(intervals))
    odd = numpy.flatnonzero(abs(intervals - median) > 0.25 * median)
    if not odd.size:
        return None
    first = int(odd[0])
    if frames is None:
        frames = numpy.arange(intervals.size + 1)
    return (
        f'time stamps are irregular: {odd.size} of {intervals.size} '
        f'intervals differ from the median {median:g} s by more than 25 % '
        f'(first between frames {frames[first]} and {frames[first + 1]}: '
        f'{intervals[first]:g} s)'
    )


def length_um(value: Any, unit: str | None = 'µm', /) -> float | None:
    """Return a length in µm, or None if value or unit is not known.

    >>> length_um('0.5', 'mm'), length_um(1, 'parsec')
    (500.0, None)

    """
    return _convert(value, unit, _LENGTHS, 'µm')


def time_s(value: Any, unit: str | None = 's', /) -> float | None:
    """Return a time in seconds, or None if value or unit is not known.

    >>> time_s(250, 'µs')
    0.00025

    """
    return _convert(value, unit, _TIMES, 's')


def _convert(
    value: Any, unit: str | None, table: dict[str, float], default: str
) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or number <= 0:
        return None
    key = (unit or default).strip()
    factor = table.get(key, table.get(key.lower()))
    if factor is None:
        logger.info(
            'unit %r is not known; the value %r is ignored', unit, value
        )
        return None
    return float(f'{number * factor:.12g}')


def merge_units(stored: Mapping[str, Any], found: Mapping[str, Any]) -> dict:
    """Return stored metadata over the units found in a file.

    Nothing is taken from a file that declares no pixel size, frame
    interval, channel names or acquisition date. ipcf's stored metadata
    win: a quantity the stored metadata give under
    any of its names (``frame_time`` or ``dt`` for ``frame_interval``)
    is not taken from the file.

    >>> found = {'frame_interval': 2.0}
    >>> found['units_source'] = {'frame_interval': 'OME TimeIncrement'}
    >>> merge_units({'frame_time': 1.0}, found)
    {'units_source': {'frame_interval': 'ipcf metadata'}, 'frame_time': 1.0}

    """
    if not any(key in found for key in _DECLARED):
        return dict(stored)  # the file says nothing physical
    merged = dict(found)
    sources = dict(merged.pop('units_source', {}))
    for name, aliases in _ALIASES.items():
        if any(key in stored for key in aliases):
            if name in merged:
                sources[name] = 'ipcf metadata'
            merged.pop(name, None)
            if name == 'frame_interval':
                merged.pop('units_note', None)
    for key in stored:
        if key in sources:
            sources[key] = 'ipcf metadata'
    if sources:
        merged['units_source'] = sources
    merged.update(stored)
    return merged


# OME-TIFF ---------------------------------------------------------------


def ome_units(xml: str | None, /, *, name: str = 'OME-TIFF') -> dict:
    """Return the units of the first image of OME-XML metadata.

    ``PhysicalSizeX/Y/Z`` with their units (default µm) give the pixel
    sizes; ``TimeIncrement`` with its unit (default s) the frame
    interval, else the median interval of the planes' ``DeltaT`` (first
    Z and C), logged as a warning when the intervals differ from it by
    more than 1 %.

    >>> xml = (
    ...     '<OME><Image><Pixels DimensionOrder="XYCZT" PhysicalSizeX="100"'
    ...     ' PhysicalSizeXUnit="nm" TimeIncrement="2" TimeIncrementUnit="ms"'
    ...     '/></Image></OME>'
    ... )
    >>> units = ome_units(xml)
    >>> units['pixel_size'], units['frame_interval'], units['axes']
    (0.1, 0.002, 'TZCYX')

    """
    if not xml:
        return {}
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        logger.warning('%s: the OME-XML is not readable: %s', name, exc)
        return {}
    image = next((e for e in root.iter() if _tag(e) == 'Image'), None)
    pixels = None
    if image is not None:
        pixels = next((e for e in image.iter() if _tag(e) == 'Pixels'), None)
    if pixels is None:
        return {}
    units: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for axis, key in (('X', 'pixel_size'), ('Y', 'pixel_size_y')):
        _ome_length(pixels, axis, key, units, sources)
    _ome_length(pixels, 'Z', 'pixel_size_z', units, sources)
    interval = time_s(
        pixels.get('TimeIncrement'), pixels.get('TimeIncrementUnit')
    )
    if interval is not None:
        units['frame_interval'] = interval
        sources['frame_interval'] = 'OME TimeIncrement'
    else:
        interval = _delta_t(pixels, name)
        if interval is not None:
            units['frame_interval'] = interval
            sources['frame_interval'] = 'OME Plane DeltaT'
    if 'frame_interval' not in units:
        units['units_note'] = (
            'the OME metadata have no TimeIncrement or Plane DeltaT: the '
            'frame interval is not known'
        )
    channels = [
        c.get('Name') for c in pixels if _tag(c) == 'Channel' and c.get('Name')
    ]
    if channels:
        units['channels'] = channels
        sources['channels'] = 'OME Channel Name'
    order = pixels.get('DimensionOrder')
    if order:
        units['axes'] = order[::-1]
        sources['axes'] = 'OME DimensionOrder'
    date = next(
        (e.text for e in image if _tag(e) == 'AcquisitionDate' and e.text),
        None,
    )
    if date:
        units['acquisition_date'] = date.strip()
        sources['acquisition_date'] = 'OME AcquisitionDate'
    units['units_source'] = sources
    return units


def _tag(element: Any) -> str:
    return element.tag.rsplit('}', 1)[-1]


def _ome_length(
    pixels: Any, axis: str, key: str, units: dict, sources: dict
) -> None:
    size = length_um(
        pixels.get(f'PhysicalSize{axis}'),
        pixels.get(f'PhysicalSize{axis}Unit'),
    )
    if size is not None:
        units[key] = size
        sources[key] = f'OME PhysicalSize{axis}'


def _delta_t(pixels: Any, name: str) -> float | None:
    """Return the median DeltaT interval of the first Z and C, in s."""
    stamps = []
    for plane in pixels:
        if _tag(plane) != 'Plane' or plane.get('DeltaT') is None:
            continue
        if plane.get('TheZ', '0') != '0' or plane.get('TheC', '0') != '0':
            continue
        value = plane.get('DeltaT')
        try:
            seconds = float(value) * _TIMES[plane.get('DeltaTUnit') or 's']
            stamps.append((int(plane.get('TheT', 0)), seconds))
        except (KeyError, TypeError, ValueError):
            return None
    stamps.sort()
    if len(stamps) < 2:
        return None
    frames = numpy.diff([t for t, _ in stamps])
    if numpy.any(frames <= 0):
        return None
    intervals = numpy.diff([s for _, s in stamps]) / frames
    median = float(numpy.median(intervals))
    if median <= 0:
        logger.warning('%s: the OME DeltaT time stamps do not increase', name)
        return None
    spread = float(numpy.max(numpy.abs(intervals - median))) / median
    if spread > IRREGULAR:
        logger.warning(
            '%s: the OME DeltaT intervals are irregular: they differ from '
            'their median %g s by up to %.3g %%; the frame interval is taken '
            'as the median',
            name,
            median,
            100 * spread,
        )
    return float(f'{median:.12g}')


# ImageJ -----------------------------------------------------------------


def imagej_units(
    imagej: Mapping[str, Any] | None,
    resolution: tuple[Any, Any] | None = None,
    /,
    *,
    axes: str | None = None,
) -> dict:
    """Return the units of an ImageJ TIFF.

    Parameters
    ----------
    imagej : dict or None
        tifffile's ``imagej_metadata``: ``finterval`` (s), ``unit`` (of
        lengths), ``spacing`` (z step, in that unit).
    resolution : tuple of two rationals, optional
        The XResolution and YResolution tags, pixels per ``unit``, each
        a ``(numerator, denominator)`` pair or a number.
    axes : str, optional
        The file's axes, as tifffile reads them.

    Examples
    --------
    >>> imagej = {'unit': 'um', 'finterval': 0.002}
    >>> units = imagej_units(imagej, ((10, 1), (10, 1)))
    >>> units['pixel_size'], units['frame_interval']
    (0.1, 0.002)

    """
    if imagej is None:
        return {}
    units: dict[str, Any] = {}
    sources: dict[str, str] = {}
    unit = imagej.get('unit')
    if isinstance(unit, bytes):
        unit = unit.decode('utf-8', 'replace')
    if resolution is not None and unit:
        keys = ('pixel_size', 'pixel_size_y')
        for key, value in zip(keys, resolution, strict=False):
            per_unit = _rational(value)
            if per_unit:
                size = length_um(1 / per_unit, unit)
                if size is not None:
                    units[key] = size
                    sources[key] = 'ImageJ resolution and unit'
    spacing = length_um(imagej.get('spacing'), unit) if unit else None
    if spacing is not None:
        units['pixel_size_z'] = spacing
        sources['pixel_size_z'] = 'ImageJ spacing'
    interval = time_s(imagej.get('finterval'), imagej.get('tunit') or 's')
    if interval is not None:
        units['frame_interval'] = interval
        sources['frame_interval'] = 'ImageJ finterval'
    else:
        units['units_note'] = (
            'the ImageJ metadata have no finterval: the frame interval is '
            'not known'
        )
    labels = imagej.get('Labels')
    if isinstance(labels, list | tuple) and labels and imagej.get('channels'):
        channels = int(imagej['channels'])
        if len(labels) >= channels > 0:
            units['channels'] = [str(s) for s in labels[:channels]]
            sources['channels'] = 'ImageJ Labels'
    if axes:
        units['axes'] = axes
        sources['axes'] = 'ImageJ'
    units['units_source'] = sources
    return units


def _rational(value: Any) -> float | None:
    try:
        if isinstance(value, tuple | list):
            number = float(value[0]) / float(value[1])
        else:
            number = float(value)
    except (TypeError, ValueError, ZeroDivisionError, IndexError):
        return None
    return number if math.isfinite(number) and number > 0 else None


# OME-Zarr ---------------------------------------------------------------


def ngff_multiscale(attrs: Mapping[str, Any] | None, /) -> dict | None:
    """Return the first NGFF multiscale of a zarr group's attributes.

    Both the 0.4 layout (``multiscales`` at the top) and 0.5 (under
    ``ome``) are read.

    >>> ngff_multiscale({'ome': {'multiscales': [{'datasets': []}]}})
    {'datasets': []}
    >>> ngff_multiscale({}) is None
    True

    """
    if not attrs:
        return None
    scales = attrs.get('multiscales')
    if scales is None and isinstance(attrs.get('ome'), Mapping):
        scales = attrs['ome'].get('multiscales')
    if isinstance(scales, list) and scales and isinstance(scales[0], Mapping):
        return dict(scales[0])
    return None


def ngff_axes(multiscale: Mapping[str, Any], /) -> list[dict]:
    """Return the axes of a multiscale as dicts with name, type and unit.

    Version 0.3 lists names only; they become ``{'name': name}``.

    >>> ngff_axes({'axes': ['t', {'name': 'y', 'unit': 'micrometer'}]})
    [{'name': 't'}, {'name': 'y', 'unit': 'micrometer'}]

    """
    axes = []
    for axis in multiscale.get('axes') or []:
        if isinstance(axis, str):
            axes.append({'name': axis})
        elif isinstance(axis, Mapping):
            axes.append(dict(axis))
    return axes


def ngff_units(attrs: Mapping[str, Any] | None, /) -> dict:
    """Return the units of dataset 0 of an OME-Zarr (NGFF) group.

    The axes' units, and the ``scale`` of the coordinate transformations
    of dataset 0 (times a top-level ``scale`` of the multiscale, if any)
    give the pixel sizes and frame interval; ``omero`` channel labels
    the channel names.

    Examples
    --------
    >>> attrs = {'multiscales': [{
    ...     'axes': [
    ...         {'name': 't', 'type': 'time', 'unit': 'millisecond'},
    ...         {'name': 'y', 'type': 'space', 'unit': 'micrometer'},
    ...         {'name': 'x', 'type': 'space', 'unit': 'micrometer'}],
    ...     'datasets': [{'path': '0', 'coordinateTransformations': [
    ...         {'type': 'scale', 'scale': [2.0, 0.1, 0.1]}]}]}]}
    >>> units = ngff_units(attrs)
    >>> units['pixel_size'], units['frame_interval'], units['axes']
    (0.1, 0.002, 'TYX')

    """
    multiscale = ngff_multiscale(attrs)
    if multiscale is None:
        return {}
    axes = ngff_axes(multiscale)
    datasets = multiscale.get('datasets') or [{}]
    scale = _ngff_scale(datasets[0], len(axes))
    top = _ngff_scale(multiscale, len(axes))
    if scale is not None and top is not None:
        scale = [a * b for a, b in zip(scale, top, strict=True)]
    units: dict[str, Any] = {}
    sources: dict[str, str] = {}
    names = {'x': 'pixel_size', 'y': 'pixel_size_y', 'z': 'pixel_size_z'}
    for i, axis in enumerate(axes):
        label = str(axis.get('name', '')).lower()
        step = None if scale is None else scale[i]
        if label in names and step is not None:
            size = length_um(step, axis.get('unit') or 'µm')
            if size is not None and axis.get('unit'):
                units[names[label]] = size
                sources[names[label]] = 'OME-Zarr scale and axis unit'
        elif label == 't' and step is not None and axis.get('unit'):
            interval = time_s(step, axis['unit'])
            if interval is not None:
                units['frame_interval'] = interval
                sources['frame_interval'] = 'OME-Zarr scale and axis unit'
    if 'frame_interval' not in units:
        units['units_note'] = (
            'the OME-Zarr axes give no time unit and scale: the frame '
            'interval is not known'
        )
    if axes:
        units['axes'] = ''.join(str(a.get('name', '?')) for a in axes).upper()
        sources['axes'] = 'OME-Zarr multiscales axes'
    omero = attrs.get('omero') if attrs else None
    if omero is None and attrs and isinstance(attrs.get('ome'), Mapping):
        omero = attrs['ome'].get('omero')
    if isinstance(omero, Mapping):
        labels = [
            c.get('label')
            for c in omero.get('channels') or []
            if isinstance(c, Mapping) and c.get('label')
        ]
        if labels:
            units['channels'] = labels
            sources['channels'] = 'OME-Zarr omero channels'
    units['units_source'] = sources
    return units


def _ngff_scale(item: Mapping[str, Any], ndim: int) -> list[float] | None:
    for transform in item.get('coordinateTransformations') or []:
        if isinstance(transform, Mapping) and transform.get('type') == 'scale':
            scale = transform.get('scale')
            if isinstance(scale, list) and len(scale) == ndim:
                try:
                    return [float(s) for s in scale]
                except (TypeError, ValueError):
                    return None
    return None
