"""Zeiss CZI files: lazy ``(T, H, W)`` series and their units.

Read through pylibCZIrw, Zeiss's own library (``pip install
"ipcf[formats]"``), imported when a file is first opened. Each frame is
composed by the library from the subblocks of its plane (mosaic tiles
included, compressed or not); a slice reads only the frames and the
rectangle it needs. The per-frame time stamps come from the file's
``TimeStamps`` attachment, read here.

>>> import tempfile, pathlib
>>> from pylibCZIrw import czi as pyczi
>>> tmp = tempfile.TemporaryDirectory()
>>> path = str(pathlib.Path(tmp.name) / 'movie.czi')
>>> with pyczi.create_czi(path) as czi:
...     for t in range(3):
...         _ = czi.write(numpy.full((4, 5, 1), t, numpy.uint16),
...                       plane={'T': t, 'C': 0, 'Z': 0})
...     czi.write_metadata(scale_x=0.1e-6, scale_y=0.1e-6)
>>> series = open_czi(path)
>>> series.shape, int(series[2, 0, 0])
((3, 4, 5), 2)
>>> czi_units(path)['pixel_size']
0.1
>>> tmp.cleanup()

"""

from __future__ import annotations

import os
import struct
import xml.etree.ElementTree as ElementTree
from typing import Any

import numpy

from ._lazy import ArrayView
from ._units import length_um
from ._vendor import (
    FrameReader,
    file_error,
    frame_layout,
    require,
    select_plane,
    stamps_interval,
)

__all__ = ['czi_layout', 'czi_units', 'open_czi']

_PACKAGE = ('pylibCZIrw.czi', 'pylibCZIrw')
_DTYPES = {'Gray8': 'uint8', 'Gray16': 'uint16', 'Gray32Float': 'float32'}
_PLANE_AXES = 'TCZ'
# dimensions pylibCZIrw composes (mosaic tiles) or that cannot be read
_OTHER_AXES = ('R', 'I', 'H', 'V', 'B')


def open_czi(
    path: str | os.PathLike[str],
    /,
    *,
    channel: int | None = None,
    z: int | None = None,
) -> ArrayView:
    """Return a lazy ``(T, H, W)`` view of one channel and plane of a CZI.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.czi`` file of one scene.
    channel, z : int, optional
        Index of the channel (C axis) and z-plane (Z axis), from 0.
        Required where that axis is longer than 1 and the file has a
        time axis; without one, the only C or Z axis longer than 1 is
        read as the frames.

    Returns
    -------
    ArrayView
        Shape ``(T, H, W)``, uint8, uint16 or float32. Slicing reads only
        the frames and the rectangle needed; it pickles as the file's
        name and the selection.

    Raises
    ------
    ImportError
        If pylibCZIrw is not installed.
    ValueError
        If the file is not a readable CZI file, holds several scenes,
        RGB pixels or other dimensions longer than 1 (rotation,
        illumination, phase, view), or C or Z axes longer than 1 are
        not selected.
    TypeError
        If `channel` or `z` is not an integer.

    Examples
    --------
    >>> open_czi('missing.czi')
    Traceback (most recent call last):
    ...
    FileNotFoundError: no such file: 'missing.czi'

    """
    info = _czi_info(path)
    what = info['what']
    frames, fixed = select_plane(
        info['sizes'], what, channel=channel, z=z, axes=info['axes']
    )
    pixel = info['pixel_types'].get(fixed.get('C', 0))
    if pixel not in _DTYPES:
        msg = (
            f'{what} has pixels of type {pixel}; expected one of '
            f'{", ".join(_DTYPES)} (grey, not RGB)'
        )
        raise ValueError(msg)
    plane = {
        'frames': frames,
        'fixed': {a: info['starts'][a] + i for a, i in fixed.items()},
        'start': info['starts'][frames],
        'rect': info['rect'],
    }
    x, y, width, height = info['rect']
    shape = (info['sizes'][frames], height, width)
    reader = _CziReader(path, what, plane, shape, _DTYPES[pixel])
    return ArrayView(reader, shape, _DTYPES[pixel], chunks=(1, height, width))


def czi_layout(path: str | os.PathLike[str], /) -> dict[str, int]:
    """Return the lengths of the T, C, Z, Y and X axes of a CZI file.

    Absent axes count 1. Without a time axis, the only C or Z axis
    longer than 1 is read as the frames and counts as T.

    Raises
    ------
    ImportError, ValueError
        As :func:`open_czi`.

    Examples
    --------
    >>> czi_layout('missing.czi')
    Traceback (most recent call last):
    ...
    FileNotFoundError: no such file: 'missing.czi'

    """
    info = _czi_info(path)
    x, y, width, height = info['rect']
    return frame_layout({**info['sizes'], 'Y': height, 'X': width})


def czi_units(path: str | os.PathLike[str], /) -> dict:
    """Return the units a CZI file declares, in ipcf's vocabulary.

    ``pixel_size``, ``pixel_size_y``, ``pixel_size_z`` (µm) from the
    ``Scaling`` metadata (stored in m); ``frame_interval`` (s), the
    median interval of the ``TimeStamps`` attachment (one stamp per
    time point), logged as a warning when irregular; ``channels`` and
    ``wavelengths`` (emission, nm) from the channels' ``Name`` and
    ``EmissionWavelength``; ``acquisition_date`` from
    ``AcquisitionDateAndTime``; ``axes``; ``units_source`` and, where
    the file has no time stamps, ``units_note``.

    Raises
    ------
    ImportError, ValueError
        As :func:`open_czi`.

    Examples
    --------
    >>> czi_units('missing.czi')
    Traceback (most recent call last):
    ...
    FileNotFoundError: no such file: 'missing.czi'

    """
    info = _czi_info(path)
    what = info['what']
    units: dict[str, Any] = {}
    sources: dict[str, str] = {}
    try:
        root = ElementTree.fromstring(info['xml'])
    except ElementTree.ParseError as exc:
        where = f'the metadata of the {what}'
        raise file_error(where, exc) from exc
    for axis, key in (('X', 'pixel_size'), ('Y', 'pixel_size_y')) + (
        ('Z', 'pixel_size_z'),
    ):
        value = root.findtext(f'.//Scaling/Items/Distance[@Id="{axis}"]/Value')
        size = length_um(_number(value), 'm')
        if size is not None and size > 0:
            units[key] = float(f'{size:.12g}')
            sources[key] = f'CZI Scaling Distance {axis}'
    stamps = _time_stamps(path, what)
    frames = info['sizes']['T']
    if stamps is not None and frames > 1:
        if len(stamps) >= frames:
            interval = stamps_interval(stamps[:frames], what)
            if interval is not None:
                units['frame_interval'] = interval
                sources['frame_interval'] = 'CZI TimeStamps attachment'
    if 'frame_interval' not in units:
        units['units_note'] = (
            'the CZI file has no TimeStamps attachment with a stamp per '
            'time point: the frame interval is not known'
            if frames > 1
            else 'the CZI file has no time axis: no frame interval'
        )
    channels = root.findall('.//Information/Image/Dimensions/Channels/Channel')
    names = [c.get('Name') or '' for c in channels]
    if channels and all(names):
        units['channels'] = names
        sources['channels'] = 'CZI Channel Name'
    waves = [_number(c.findtext('EmissionWavelength')) for c in channels]
    if channels and all(w is not None and w > 0 for w in waves):
        units['wavelengths'] = waves
        sources['wavelengths'] = 'CZI Channel EmissionWavelength'
    date = root.findtext('.//Information/Image/AcquisitionDateAndTime')
    if date and date.strip():
        units['acquisition_date'] = date.strip()
        sources['acquisition_date'] = 'CZI AcquisitionDateAndTime'
    units['axes'] = info['axes']
    sources['axes'] = 'CZI subblock dimensions'
    units['units_source'] = sources
    return units


class _CziReader(FrameReader):
    """Read frames of one channel and plane through pylibCZIrw."""

    def _open(self) -> Any:
        pyczi = require(*_PACKAGE, self.what)
        return pyczi.CziReader(self.path)

    def _frame(
        self, handle: Any, t: int, rows: slice, cols: slice
    ) -> numpy.ndarray:
        x, y, _, _ = self.plane['rect']
        index = dict(self.plane['fixed'])
        index[self.plane['frames']] = self.plane['start'] + t
        roi = (
            x + cols.start,
            y + rows.start,
            cols.stop - cols.start,
            rows.stop - rows.start,
        )
        block = handle.read(plane=index, roi=roi)
        return numpy.asarray(block)[..., 0]


def _czi_info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the layout and metadata XML of a CZI file."""
    text = os.fspath(path)
    name = repr(text)
    if not os.path.isfile(text):
        msg = f'no such file: {name}'
        raise FileNotFoundError(msg)
    what = f'CZI file {name}'
    pyczi = require(*_PACKAGE, what)
    try:
        with pyczi.open_czi(text) as czi:
            box = dict(czi.total_bounding_box)
            rect = czi.total_bounding_rectangle
            scenes = dict(czi.scenes_bounding_rectangle)
            pixel_types = dict(czi.pixel_types)
            xml = czi.raw_metadata
    except (ImportError, MemoryError):
        raise
    except Exception as exc:
        raise file_error(what, exc) from exc
    if len(scenes) > 1:
        msg = (
            f'{what} holds {len(scenes)} scenes; ipcf reads CZI files of '
            f'one scene: split it in ZEN (Image Processing, Split Scenes)'
        )
        raise ValueError(msg)
    sizes = {a: 1 for a in _PLANE_AXES}
    starts = dict.fromkeys(_PLANE_AXES, 0)
    for axis, (start, stop) in box.items():
        if axis in _PLANE_AXES:
            sizes[axis] = int(stop) - int(start)
            starts[axis] = int(start)
        elif axis in _OTHER_AXES and int(stop) - int(start) > 1:
            msg = (
                f'{what} has a {axis} dimension of length '
                f'{int(stop) - int(start)}; ipcf reads the T, C and Z '
                f'dimensions only'
            )
            raise ValueError(msg)
    if rect.w < 1 or rect.h < 1 or min(sizes.values()) < 1:
        msg = f'{what} holds no image data'
        raise ValueError(msg)
    axes = ''.join(a for a in 'TCZ' if a in box) + 'YX'
    return {
        'what': what,
        'sizes': sizes,
        'starts': starts,
        'rect': (int(rect.x), int(rect.y), int(rect.w), int(rect.h)),
        'pixel_types': {
            int(c) - starts['C']: str(p) for c, p in pixel_types.items()
        },
        'xml': xml,
        'axes': axes,
    }


_FILE_HEADER = struct.Struct('<iiii16s16siqqiq')
_ENTRY = struct.Struct('<2s10sqi16s8s80s')


def _time_stamps(path: Any, what: str) -> numpy.ndarray | None:
    """Return the time stamps (s) of the CZTIMS attachment, or None.

    The segments are those of the ZISRAW layout: a 32-byte header (an
    id of 16 bytes, allocated and used sizes), then the data; the file
    header gives the position of the attachment directory, whose entries
    give the positions of the attachments.
    """
    try:
        with open(path, 'rb') as fh:
            fields = _segment(fh, 0, b'ZISRAWFILE', _FILE_HEADER.size)
            directory = _FILE_HEADER.unpack(fields)[-1]
            if directory <= 0:
                return None
            count = struct.unpack(
                '<i', _segment(fh, directory, b'ZISRAWATTDIR', 4)
            )[0]
            fh.seek(directory + 32 + 256)
            for _ in range(max(count, 0)):
                entry = _ENTRY.unpack(fh.read(_ENTRY.size))
                kind = entry[5].rstrip(b'\0')
                if kind != b'CZTIMS':
                    continue
                at = entry[2]
                _segment(fh, at, b'ZISRAWATTACH', 0)
                fh.seek(at + 32 + 256)
                _, number = struct.unpack('<ii', fh.read(8))
                data = fh.read(8 * number)
                if number < 0 or len(data) != 8 * number:
                    return None
                return numpy.frombuffer(data, '<f8').astype(numpy.float64)
    except (OSError, struct.error, ValueError):
        return None
    return None


def _segment(fh: Any, offset: int, sid: bytes, size: int) -> bytes:
    """Return size bytes of the data of the segment sid at offset."""
    fh.seek(offset)
    header = fh.read(32)
    if len(header) != 32 or header[:16].rstrip(b'\0') != sid:
        msg = f'no {sid.decode()} segment at byte {offset}'
        raise ValueError(msg)
    return fh.read(size)


def _number(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None
