"""Nikon ND2 files: lazy ``(T, H, W)`` series and their units.

Read through the nd2 package (``pip install "ipcf[formats]"``), imported
when a file is first opened. Each frame of the file (all channels of
one time point and z-plane) is read on demand, memory-mapped where it
is uncompressed; the per-frame time stamps give the frame interval.

>>> open_nd2('missing.nd2')
Traceback (most recent call last):
...
FileNotFoundError: no such file: 'missing.nd2'

"""

from __future__ import annotations

import datetime
import os
import warnings
from typing import Any

import numpy

from ._lazy import ArrayView
from ._vendor import (
    FrameReader,
    file_error,
    frame_layout,
    require,
    select_plane,
    stamps_interval,
)

__all__ = ['nd2_layout', 'nd2_units', 'open_nd2']

_PACKAGE = ('nd2', 'nd2')
# the axes inside one frame of an ND2 file; the others are loops
_FRAME_AXES = ('C', 'Y', 'X', 'S')
_JULIAN_UNIX = 2440587.5  # Julian day of 1970-01-01T00:00 UTC


def open_nd2(
    path: str | os.PathLike[str],
    /,
    *,
    channel: int | None = None,
    z: int | None = None,
) -> ArrayView:
    """Return a lazy ``(T, H, W)`` view of one channel and plane of an ND2.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.nd2`` file of one stage position.
    channel, z : int, optional
        Index of the channel (C axis) and z-plane (Z axis), from 0.
        Required where that axis is longer than 1 and the file has a
        time loop; without one, the only C or Z axis longer than 1 is
        read as the frames.

    Returns
    -------
    ArrayView
        Shape ``(T, H, W)``, the file's dtype. It pickles as the file's
        name and the selection.

    Raises
    ------
    ImportError
        If nd2 is not installed.
    ValueError
        If the file is not a readable ND2 file, holds several stage
        positions (XY loop), RGB pixels or other loops, or C or Z axes
        longer than 1 are not selected.
    TypeError
        If `channel` or `z` is not an integer.

    Examples
    --------
    >>> open_nd2('missing.nd2', channel=0)
    Traceback (most recent call last):
    ...
    FileNotFoundError: no such file: 'missing.nd2'

    """
    info = _nd2_info(path)
    what = info['what']
    frames, fixed = select_plane(
        info['sizes'], what, channel=channel, z=z, axes=info['axes']
    )
    shape = (info['sizes'][frames], info['sizes']['Y'], info['sizes']['X'])
    plane = {
        'frames': frames,
        'fixed': fixed,
        'loops': info['loops'],
        'channels': info['sizes']['C'],
    }
    reader = _Nd2Reader(path, what, plane, shape, info['dtype'])
    return ArrayView(reader, shape, info['dtype'], chunks=(1, *shape[1:]))


def nd2_layout(path: str | os.PathLike[str], /) -> dict[str, int]:
    """Return the lengths of the T, C, Z, Y and X axes of an ND2 file.

    Absent axes count 1. Without a time loop, the only C or Z axis
    longer than 1 is read as the frames and counts as T.

    Raises
    ------
    ImportError, ValueError
        As :func:`open_nd2`.

    Examples
    --------
    >>> nd2_layout('missing.nd2')
    Traceback (most recent call last):
    ...
    FileNotFoundError: no such file: 'missing.nd2'

    """
    return frame_layout(_nd2_info(path)['sizes'])


def nd2_units(path: str | os.PathLike[str], /) -> dict:
    """Return the units an ND2 file declares, in ipcf's vocabulary.

    ``pixel_size``, ``pixel_size_y`` (µm) from the calibration and
    ``pixel_size_z`` from the z-stack step, where the file marks them
    calibrated; ``frame_interval`` (s): the median interval of the
    frames' time stamps along T (first channel and z-plane), logged as a
    warning when irregular, else the time loop's period;
    ``channels`` and ``wavelengths`` (emission, nm) of the channels;
    ``acquisition_date`` (UTC, from the first frame's Julian day);
    ``axes``; ``units_source`` and, where no interval is declared,
    ``units_note``.

    Raises
    ------
    ImportError, ValueError
        As :func:`open_nd2`.

    Examples
    --------
    >>> nd2_units('missing.nd2')
    Traceback (most recent call last):
    ...
    FileNotFoundError: no such file: 'missing.nd2'

    """
    info = _nd2_info(path)
    what = info['what']
    nd2 = require(*_PACKAGE, what)
    try:
        with nd2.ND2File(info['path']) as f:
            return _units(f, info)
    except (ImportError, MemoryError):
        raise
    except Exception as exc:
        raise file_error(what, exc) from exc


def _units(f: Any, info: dict[str, Any]) -> dict:
    """Return the units of an open ND2File."""
    what = info['what']
    units: dict[str, Any] = {}
    sources: dict[str, str] = {}
    channels = list(getattr(f.metadata, 'channels', None) or [])
    if channels:
        volume = channels[0].volume
        calibrated = tuple(volume.axesCalibrated or (False,) * 3)
        sizes = tuple(volume.axesCalibration or (0.0,) * 3)
        keys = ('pixel_size', 'pixel_size_y', 'pixel_size_z')
        for axis, key, ok, size in zip(
            'XYZ', keys, calibrated, sizes, strict=False
        ):
            if ok and size and size > 0 and info['sizes'].get(axis, 2) > 1:
                units[key] = float(f'{float(size):.12g}')
                sources[key] = (
                    'ND2 z-stack step' if axis == 'Z' else 'ND2 calibration'
                )
        names = [str(c.channel.name or '') for c in channels]
        if all(names):
            units['channels'] = names
            sources['channels'] = 'ND2 channel names'
        waves = [c.channel.emissionLambdaNm for c in channels]
        if all(w is not None and w > 0 for w in waves):
            units['wavelengths'] = [float(w) for w in waves]
            sources['wavelengths'] = 'ND2 channel emission wavelengths'
    loops, counts = info['loops']
    if 'T' in loops and info['sizes']['T'] > 1:
        seqs = [
            _sequence(loops, counts, {'T': t})
            for t in range(info['sizes']['T'])
        ]
        stamps = _frame_times(f, seqs)
        interval = None if stamps is None else stamps_interval(stamps, what)
        if interval is not None:
            units['frame_interval'] = interval
            sources['frame_interval'] = 'ND2 frame time stamps'
        else:
            period = _period(f)
            if period is not None:
                units['frame_interval'] = period
                sources['frame_interval'] = 'ND2 time loop period'
    if 'frame_interval' not in units:
        units['units_note'] = (
            'the ND2 file has no time loop with time stamps or a period: '
            'the frame interval is not known'
        )
    day = 0.0
    if channels:
        day = _julian_day(f)
    if day > _JULIAN_UNIX:
        moment = datetime.datetime.fromtimestamp(
            (day - _JULIAN_UNIX) * 86400.0, tz=datetime.UTC
        )
        units['acquisition_date'] = moment.isoformat(timespec='seconds')
        sources['acquisition_date'] = 'ND2 frame time (Julian day)'
    units['axes'] = info['axes']
    sources['axes'] = 'ND2 loops'
    units['units_source'] = sources
    return units


def _frame_times(f: Any, seqs: list[int]) -> list[float] | None:
    """Return the time stamps (s) of frames, or None without any."""
    with warnings.catch_warnings():
        # nd2 warns, then has no times, for files without a times cache
        warnings.simplefilter('ignore', UserWarning)
        try:
            times = [
                f.frame_metadata(seq).channels[0].time.relativeTimeMs
                for seq in seqs
            ]
        except (IndexError, KeyError, AttributeError):
            return None
    return [t / 1e3 for t in times]


def _julian_day(f: Any) -> float:
    """Return the Julian day of the first frame, or 0."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)
        try:
            time = f.frame_metadata(0).channels[0].time
        except (IndexError, KeyError, AttributeError):
            return 0.0
    return float(getattr(time, 'absoluteJulianDayNumber', 0) or 0)


def _period(f: Any) -> float | None:
    """Return the period of the time loop in s, or None."""
    for loop in f.experiment:
        if loop.type == 'TimeLoop':
            period = getattr(loop.parameters, 'periodMs', None)
            if period and period > 0:
                return float(f'{period / 1e3:.12g}')
    return None


class _Nd2Reader(FrameReader):
    """Read frames of one channel and plane through nd2."""

    def _open(self) -> Any:
        nd2 = require(*_PACKAGE, self.what)
        return nd2.ND2File(self.path)

    def _frame(
        self, handle: Any, t: int, rows: slice, cols: slice
    ) -> numpy.ndarray:
        loops, counts = self.plane['loops']
        index = dict(self.plane['fixed'])
        index[self.plane['frames']] = t
        seq = _sequence(loops, counts, index)
        frame = numpy.asarray(handle.read_frame(seq))
        height, width = self.shape[1:]
        frame = frame.reshape(self.plane['channels'], height, width)
        return numpy.array(frame[index.get('C', 0), rows, cols])


def _sequence(loops: list[str], counts: list[int], index: dict) -> int:
    """Return the frame number of the loop indices (others at 0)."""
    if not loops:
        return 0
    coords = tuple(int(index.get(a, 0)) for a in loops)
    return int(numpy.ravel_multi_index(coords, tuple(counts)))


def _nd2_info(path: Any) -> dict[str, Any]:
    """Return the layout of an ND2 file."""
    text = os.fspath(path)
    name = repr(text)
    if not os.path.isfile(text):
        msg = f'no such file: {name}'
        raise FileNotFoundError(msg)
    what = f'ND2 file {name}'
    nd2 = require(*_PACKAGE, what)
    try:
        with nd2.ND2File(text) as f:
            sizes = dict(f.sizes)
            dtype = numpy.dtype(f.dtype).newbyteorder('=')
    except (ImportError, MemoryError):
        raise
    except Exception as exc:
        raise file_error(what, exc) from exc
    for axis, length in sizes.items():
        if axis not in 'TCZYX' and length > 1:
            kind = {
                'P': 'stage positions (XY loop)',
                'S': 'RGB samples',
            }.get(axis, f'a {axis} loop')
            msg = (
                f'{what} has {kind} of length {length}; ipcf reads the T, '
                f'C and Z axes of grey images of one position only'
            )
            raise ValueError(msg)
    loops = [a for a in sizes if a not in _FRAME_AXES]
    return {
        'what': what,
        'path': text,
        'sizes': {a: int(sizes.get(a, 1)) for a in 'TCZYX'},
        'loops': (loops, [int(sizes[a]) for a in loops]),
        'axes': ''.join(sizes),
        'dtype': dtype,
    }
