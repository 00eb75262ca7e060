"""Labelled image series: named axes T, C, Z, Y, X and their metadata.

:func:`open_labelled` (``ipcf.open_series``) opens any source that ipcf
reads as a :class:`Series`: a lazy array whose axes are named, whose
channels and z-planes can be taken one at a time as ``(T, H, W)``
series (:meth:`Series.frames`), and which carries a
:class:`SeriesMetadata` record of the pixel sizes, frame interval,
channels and acquisition date the file declares.

Axes of length 1 other than T, Y and X are dropped, so that a plain
``(T, H, W)`` file gives a ``(T, H, W)`` series, sliced exactly as
before.

>>> import numpy
>>> series = open_labelled(numpy.zeros((8, 4, 5), numpy.uint16))
>>> series.dims, series.shape, series.sizes['C']
(('T', 'Y', 'X'), (8, 4, 5), 1)

"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from typing import Any

import numpy

from .._validate import check_int

__all__ = ['AXES', 'Series', 'SeriesMetadata', 'open_labelled']

AXES = 'TCZYX'
"""The axes of a labelled series, in the order they appear."""


@dataclasses.dataclass(frozen=True)
class SeriesMetadata:
    """What a file says about its series, in microscope units.

    Attributes
    ----------
    pixel_size : float or None
        Pixel size along x in µm.
    pixel_size_y, pixel_size_z : float or None
        Pixel size along y and the z step in µm.
    frame_interval : float or None
        Time between frames in s.
    channels : tuple of str
        Channel names, where the file names them.
    wavelengths : tuple of float
        Emission wavelengths in nm, where the file gives them.
    acquisition_date : str or None
        ISO 8601 date and time of the acquisition.
    axes : str or None
        The file's own axes, e.g. ``'TZCYX'``.
    sources : dict
        For each quantity found, where in the file it came from.
    note : str or None
        What the file does not declare (e.g. no frame interval).
    stored : dict
        Everything :func:`ipcf.io.read_metadata` returned.

    Examples
    --------
    >>> record = SeriesMetadata.from_dict({'pixel_size': 0.1, 'dt': 0.002})
    >>> record.pixel_size, record.pixel_size_y, record.frame_interval
    (0.1, 0.1, 0.002)

    """

    pixel_size: float | None = None
    pixel_size_y: float | None = None
    pixel_size_z: float | None = None
    frame_interval: float | None = None
    channels: tuple[str, ...] = ()
    wavelengths: tuple[float, ...] = ()
    acquisition_date: str | None = None
    axes: str | None = None
    sources: dict[str, str] = dataclasses.field(default_factory=dict)
    note: str | None = None
    stored: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, metadata: Mapping[str, Any], /) -> SeriesMetadata:
        """Return the record of a :func:`ipcf.io.read_metadata` dict."""
        from .._sources import physical_units

        units = physical_units(dict(metadata))
        pixel = units['pixel_size']
        pixel_y = _number(metadata.get('pixel_size_y'))
        return cls(
            pixel_size=pixel,
            pixel_size_y=pixel if pixel_y is None else pixel_y,
            pixel_size_z=_number(metadata.get('pixel_size_z')),
            frame_interval=units['frame_interval'],
            channels=tuple(str(c) for c in metadata.get('channels') or ()),
            wavelengths=tuple(
                float(w)
                for w in metadata.get('wavelengths') or ()
                if _number(w) is not None
            ),
            acquisition_date=_text(metadata.get('acquisition_date')),
            axes=_text(metadata.get('axes')),
            sources=dict(metadata.get('units_source') or {}),
            note=_text(metadata.get('units_note')),
            stored=dict(metadata),
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the known fields (not `stored`) as a plain dict."""
        fields = dataclasses.asdict(self)
        fields.pop('stored')
        return {k: v for k, v in fields.items() if v not in (None, (), {})}


class Series:
    """A lazily read image series with named axes and metadata.

    Made by :func:`open_labelled`; not constructed directly. It slices
    like a numpy array along :attr:`dims` (basic indexing: integers,
    slices, ``...``), reading only what the slice needs, and
    ``numpy.asarray(series)`` reads everything. It pickles as its source
    and selection.

    Attributes
    ----------
    dims : tuple of str
        Names of the axes, a subsequence of ``('T', 'C', 'Z', 'Y', 'X')``
        holding T, Y, X and those of C and Z longer than 1.
    sizes : dict
        Length of each of the five axes (1 where absent).
    metadata : SeriesMetadata
        Pixel sizes, frame interval, channels, acquisition date.
    source : object
        What was opened.
    format : str
        ``'tiff'``, ``'tiff-series'``, ``'raw'``, ``'hdf5'``, ``'zarr'``,
        ``'array'``, or a microscope format such as ``'czi'``.

    """

    def __init__(
        self,
        source: Any,
        fmt: str,
        sizes: Mapping[str, int],
        metadata: SeriesMetadata | None,
        dtype: Any,
        options: Mapping[str, Any],
        first: Any,
        channels: tuple[int, ...],
        planes: tuple[int, ...],
        axes: str | None = None,
    ) -> None:
        self.source = source
        self.format = fmt
        self.sizes = dict(sizes)
        self._metadata = metadata
        self.dtype = numpy.dtype(dtype)
        self._options = dict(options)
        self._channels = channels
        self._planes = planes
        self._readers: dict[tuple[int, int], Any] = {}
        self._axes = axes
        if first is not None:
            self._readers[channels[0], planes[0]] = first
        dims = ['T']
        if len(channels) > 1:
            dims.append('C')
        if len(planes) > 1:
            dims.append('Z')
        self.dims = (*dims, 'Y', 'X')

    @property
    def metadata(self) -> SeriesMetadata:
        """Pixel sizes, frame interval, channels: read on first use."""
        if self._metadata is None:
            from .read import read_metadata

            source = self.source
            if self.format == 'array':
                source = self._reader(self._channels[0], self._planes[0])
            found = read_metadata(source, key=self._options.get('key'))
            if self._axes and 'axes' not in found:
                found = {**found, 'axes': self._axes}
            self._metadata = SeriesMetadata.from_dict(found)
        return self._metadata

    # array protocol ------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """Lengths of :attr:`dims`."""
        lengths = {
            'T': self.sizes['T'],
            'C': len(self._channels),
            'Z': len(self._planes),
            'Y': self.sizes['Y'],
            'X': self.sizes['X'],
        }
        return tuple(lengths[d] for d in self.dims)

    @property
    def ndim(self) -> int:
        """Number of dims."""
        return len(self.dims)

    @property
    def nbytes(self) -> int:
        """Bytes of the whole series in memory."""
        return math.prod(self.shape) * self.dtype.itemsize

    @property
    def chunks(self) -> tuple[int, ...] | None:
        """Chunk shape of a single-plane series' storage, else None."""
        if self.ndim != 3:
            return None
        from ._lazy import chunks_of

        return chunks_of(self.data)

    @property
    def channel_indices(self) -> tuple[int, ...]:
        """Indices in the file of the channels this series holds."""
        return self._channels

    @property
    def plane_indices(self) -> tuple[int, ...]:
        """Indices in the file of the z-planes this series holds."""
        return self._planes

    @property
    def data(self) -> Any:
        """The ``(T, H, W)`` reader of a single-plane, single-channel series.

        The format's own lazy array (memmap, h5py dataset, zarr array,
        TIFF view), for code that wants it; ValueError for a series of
        several channels or planes (use :meth:`frames`).
        """
        if self.ndim != 3:
            msg = (
                f'the series has dims {self.dims}; take one channel and '
                f'plane with frames(channel=, z=)'
            )
            raise ValueError(msg)
        return self._reader(self._channels[0], self._planes[0])

    def frames(self, *, channel: int = 0, z: int = 0) -> Any:
        """Return the lazy ``(T, H, W)`` series of one channel and plane.

        Parameters
        ----------
        channel, z : int, optional, default: 0
            Index of the channel and the z-plane among those of this
            series (:attr:`channel_indices`, :attr:`plane_indices`).

        Examples
        --------
        >>> import numpy
        >>> series = open_labelled(numpy.ones((16, 4, 4), numpy.uint8))
        >>> series.frames().shape
        (16, 4, 4)

        """
        c = check_int(channel, 'channel', minimum=0)
        k = check_int(z, 'z', minimum=0)
        if c >= len(self._channels) or k >= len(self._planes):
            msg = (
                f'channel={c}, z={k} is outside the series of '
                f'{len(self._channels)} channel(s) and '
                f'{len(self._planes)} plane(s)'
            )
            raise IndexError(msg)
        return self._reader(self._channels[c], self._planes[k])

    def selection(self, *, channel: int = 0, z: int = 0) -> dict[str, int]:
        """Return the :func:`ipcf.io.open_series` options of one plane.

        Empty where the file has no such axis, so that the options
        apply to every source.
        """
        return _select(self.sizes, self._channels[channel], self._planes[z])

    def __getitem__(self, key: Any) -> numpy.ndarray:
        from ._lazy import bounds, normalize_key

        named = dict(
            zip(self.dims, normalize_key(key, self.shape), strict=True)
        )
        # each reader gets increasing slices (h5py and zarr take no
        # negative steps); the steps and integers apply afterwards
        spans = [bounds(named[axis]) for axis in ('T', 'Y', 'X')]
        read = tuple(slice(lo, hi) for lo, hi, _ in spans)
        local = tuple(k for _, _, k in spans)
        if self.ndim == 3:
            return numpy.asarray(self.data[read])[local]
        channels = _indices(named.get('C', 0))
        planes = _indices(named.get('Z', 0))
        block = numpy.stack(
            [
                numpy.stack(
                    [
                        numpy.asarray(
                            self._reader(self._channels[c], self._planes[k])[
                                read
                            ]
                        )[local]
                        for k in planes
                    ]
                )
                for c in channels
            ]
        )  # (C, Z, *the selected T, Y, X)
        at = 0
        if isinstance(named['T'], slice):
            block = numpy.moveaxis(block, 2, 0)
            at = 1
        drop = [
            at + i
            for i, axis in enumerate('CZ')
            if not isinstance(named.get(axis, 0), slice)
        ]
        return numpy.squeeze(block, axis=tuple(drop)) if drop else block

    def __array__(self, dtype: Any = None, copy: Any = None) -> numpy.ndarray:
        values = self[...]
        return values if dtype is None else values.astype(dtype)

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        lengths = ', '.join(
            f'{d}: {n}' for d, n in zip(self.dims, self.shape, strict=True)
        )
        units = self.metadata.as_dict()
        known = [
            f'{key}={units[key]}'
            for key in ('pixel_size', 'pixel_size_z', 'frame_interval')
            if key in units
        ]
        if self.metadata.channels:
            known.append(f'channels={list(self.metadata.channels)}')
        text = f'<ipcf.Series {self.format} ({lengths}) {self.dtype}'
        return text + (f' {" ".join(known)}>' if known else '>')

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        # array sources travel as their reader; paths reopen
        if isinstance(self.source, str | os.PathLike | list | tuple):
            state['_readers'] = {}
        return state

    def _reader(self, channel: int, z: int) -> Any:
        key = (channel, z)
        if key not in self._readers:
            from .read import open_frames

            self._readers[key] = open_frames(
                self.source, **self._options, **_select(self.sizes, *key)
            )
        return self._readers[key]


def open_labelled(
    source: Any,
    /,
    *,
    channel: int | list[int] | None = None,
    z: int | list[int] | None = None,
    **options: Any,
) -> Series:
    """Return a labelled, lazily read series of any source ipcf reads.

    This is :func:`ipcf.io.open_series`; see there for the sources and
    options.
    """
    from .read import _classify, _open

    classified = _classify(source)
    fmt = classified[0]
    sizes, axes = _layout(classified, options)
    channels = _pick(channel, sizes['C'], 'channel', 'C')
    planes = _pick(z, sizes['Z'], 'z', 'Z')
    select = _select(sizes, channels[0], planes[0])
    first = _open(source, classified=classified, **options, **select)[0]
    t, height, width = (int(n) for n in first.shape)
    sizes.update(T=t, Y=height, X=width)
    return Series(
        source,
        fmt,
        sizes,
        None,
        first.dtype,
        options,
        first,
        channels,
        planes,
        axes,
    )


def _layout(
    classified: tuple[str, Any, str], options: Mapping[str, Any]
) -> tuple[dict[str, int], str | None]:
    """Return the lengths of T, C, Z, Y, X and the file's axes string."""
    from ._vendor import FORMATS, format_layout

    fmt, target, _ = classified
    sizes = dict.fromkeys(AXES, 1)
    axes = None
    if fmt == 'tiff':
        from .tiff import tiff_layout

        found, axes = tiff_layout(target)
    elif fmt == 'zarr':
        from .stores import zarr_layout

        found, axes = zarr_layout(target, key=options.get('key'))
    elif fmt in FORMATS:
        found = format_layout(fmt, target, key=options.get('key'))
    else:
        found = {}
    sizes.update({k: found[k] for k in ('C', 'Z') if k in found})
    return sizes, axes


def _select(sizes: Mapping[str, int], channel: int, z: int) -> dict:
    """Return the open_frames options of one channel and plane.

    Only the axes the file has longer than 1 are named, so that the
    options apply to every source.
    """
    select = {}
    if sizes['C'] > 1:
        select['channel'] = channel
    if sizes['Z'] > 1:
        select['z'] = z
    return select


def _pick(value: Any, length: int, option: str, axis: str) -> tuple[int, ...]:
    """Return the indices selected along an axis of the given length."""
    if value is None:
        return tuple(range(length))
    values = value if isinstance(value, list | tuple) else [value]
    if not values:
        msg = f'{option}= is an empty list; give indices along {axis}'
        raise ValueError(msg)
    picked = []
    for item in values:
        index = check_int(item, option, minimum=0)
        if index >= length:
            what = f'{length} {"channels" if axis == "C" else "z-planes"}'
            if length == 1:
                what = f'no {axis} axis' if axis != 'C' else 'one channel'
            msg = f'{option}={index} is out of range: the series has {what}'
            raise ValueError(msg)
        picked.append(index)
    if len(set(picked)) != len(picked):
        msg = f'{option}={values!r} repeats an index'
        raise ValueError(msg)
    return tuple(picked)


def _indices(key: int | slice) -> list[int]:
    if isinstance(key, slice):  # normalized: explicit, in-bounds ends
        return list(range(key.start, key.stop, key.step))
    return [key]


def _number(value: Any) -> float | None:
    import numbers

    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
