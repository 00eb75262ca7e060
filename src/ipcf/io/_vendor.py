"""What the readers of microscope files (CZI, LIF, ND2, SimFCS) share.

Each format module imports its package when a file is first opened,
picks one channel and z-plane by the rule of the TIFF reader, and reads
blocks of frames through a picklable reader that holds the file's name
and the selection, not an open file.

>>> select_plane({'T': 5, 'C': 1, 'Z': 1}, 'CZI file x', channel=None, z=None)
('T', {'C': 0, 'Z': 0})

"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy

from ._lazy import check_plane
from ._units import irregular_stamps

__all__ = [
    'EXTRA',
    'FORMATS',
    'FrameReader',
    'file_error',
    'format_units',
    'frame_layout',
    'open_format',
    'require',
    'select_plane',
    'stamps_interval',
]

logger = logging.getLogger('ipcf')

EXTRA = 'pip install "ipcf[formats]"'
"""How to install the packages of the microscope formats."""

_AXIS_NAMES = {'C': ('channel', 'channel'), 'Z': ('z', 'z-plane')}


def require(module: str, package: str, what: str, /) -> Any:
    """Return the imported module, or ImportError naming the extra.

    `what` names the file (``"CZI file 'a.czi'"``); `package` is the
    name on PyPI.

    >>> require('numpy', 'numpy', 'a file').__name__
    'numpy'

    """
    try:
        top = importlib.import_module(module.split('.')[0])
        return top if '.' not in module else importlib.import_module(module)
    except ImportError as exc:
        msg = (
            f'reading the {what} needs the package {package}, which is not '
            f'installed; install it with {EXTRA}'
        )
        raise ImportError(msg) from exc


def file_error(what: str, exc: BaseException, /) -> ValueError:
    """Return a one-line ValueError naming the file and the cause."""
    text = ' '.join(str(exc).split()) or type(exc).__name__
    if len(text) > 200:
        text = text[:197] + '...'
    msg = f'{what} is not readable (corrupt or truncated?): {text}'
    return ValueError(msg)


def select_plane(
    sizes: Mapping[str, int],
    what: str,
    /,
    *,
    channel: int | None,
    z: int | None,
    axes: str | None = None,
) -> tuple[str, dict[str, int]]:
    """Return the axis read as frames and the fixed C and Z indices.

    As :func:`ipcf.io.tiff.open_tiff`: `channel` and `z` fix the C and
    Z axes (checked against their lengths, 1 where absent); a C or Z
    axis longer than 1 left unselected is refused while another axis
    longer than 1 remains (the time axis, say). Without a time axis the
    one remaining C or Z axis serves as the frames.

    Raises
    ------
    ValueError
        Naming the file, its axes and lengths, and the options to pass.
    TypeError
        If `channel` or `z` is not an integer.

    """
    fixed: dict[str, int] = {}
    for value, axis in ((channel, 'C'), (z, 'Z')):
        if value is not None:
            option = _AXIS_NAMES[axis][0]
            fixed[axis] = check_plane(
                value, option, int(sizes.get(axis, 1)), axis, what
            )
    free = [a for a in 'TCZ' if a not in fixed and int(sizes.get(a, 1)) > 1]
    open_axes = [a for a in free if a in 'CZ']
    if len(free) > 1:
        lengths = ', '.join(f'{a}={int(sizes.get(a, 1))}' for a in free)
        options = ' and '.join(f'{_AXIS_NAMES[a][0]}=' for a in open_axes)
        names = ' and one '.join(_AXIS_NAMES[a][1] for a in open_axes)
        shape = tuple(int(sizes.get(a, 1)) for a in 'TCZYX')
        msg = (
            f'{what} holds a series of shape {shape} (T, C, Z, Y, X) with '
            f'axes {axes or "TCZYX"!r} ({lengths}); pass {options} to '
            f'select one {names}'
        )
        raise ValueError(msg)
    frames = free[0] if free else 'T'
    for axis in 'CZ':
        if axis != frames:
            fixed.setdefault(axis, 0)
    return frames, fixed


def stamps_interval(
    stamps: Sequence[float] | numpy.ndarray, what: str, /
) -> float | None:
    """Return the median interval of frame time stamps in s, or None.

    As for the OME ``DeltaT`` of TIFF files: time stamps whose
    intervals differ from their median by more than 25 % (a dropped
    frame doubles one) are irregular and logged as a warning on the
    'ipcf' logger; the median is still the frame interval. None for
    fewer than two stamps or stamps that do not increase (logged).

    >>> stamps_interval([0.0, 0.1, 0.2, 0.3], 'a file')
    0.1

    """
    values = numpy.asarray(stamps, dtype=numpy.float64).ravel()
    values = values[numpy.isfinite(values)]
    if values.size < 2:
        return None
    intervals = numpy.diff(values)
    median = float(numpy.median(intervals))
    if median <= 0:
        logger.warning('%s: the frame time stamps do not increase', what)
        return None
    note = irregular_stamps(intervals)
    if note is not None:
        logger.warning(
            '%s: %s; the frame interval is taken as the median', what, note
        )
    return float(f'{median:.12g}')


class FrameReader:
    """Read (t, y, x) blocks of one channel and plane of a vendor file.

    Subclasses implement ``_open()`` (return the open file, kept per
    process) and ``_frame(handle, t, rows, cols)`` (one frame's rows
    and columns as a 2-D array); ``_close(handle)`` closes it. Pickled,
    a reader holds only `path`, `what` and `plane`, and opens the file
    again when it is first read.

    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        what: str,
        plane: Mapping[str, Any],
        shape: tuple[int, int, int],
        dtype: Any,
    ) -> None:
        self.path = os.fspath(path)
        self.what = what
        self.plane = dict(plane)
        self.shape = tuple(int(n) for n in shape)
        self.dtype = numpy.dtype(dtype)
        self._lock = threading.Lock()
        self._handle: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {
            'path': self.path,
            'what': self.what,
            'plane': self.plane,
            'shape': self.shape,
            'dtype': self.dtype.str,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)  # type: ignore[misc]

    def __del__(self) -> None:
        handle, self._handle = getattr(self, '_handle', None), None
        if handle is not None:
            try:
                self._close(handle)
            except Exception:  # noqa: S110 - closing at exit is best effort
                pass

    def _open(self) -> Any:
        raise NotImplementedError

    def _close(self, handle: Any) -> None:
        close = getattr(handle, 'close', None)
        if close is not None:
            close()

    def _frame(
        self, handle: Any, t: int, rows: slice, cols: slice
    ) -> numpy.ndarray:
        raise NotImplementedError

    def __call__(self, key: tuple[slice, slice, slice]) -> numpy.ndarray:
        t, rows, cols = key
        height = max(rows.stop - rows.start, 0)
        width = max(cols.stop - cols.start, 0)
        frames = range(t.start, t.stop)
        out = numpy.empty((len(frames), height, width), self.dtype)
        if not out.size:
            return out
        with self._lock:
            if self._handle is None:
                try:
                    self._handle = self._open()
                except (ImportError, MemoryError, FileNotFoundError):
                    raise
                except Exception as exc:
                    raise file_error(self.what, exc) from exc
            for i, frame in enumerate(frames):
                try:
                    block = self._frame(self._handle, frame, rows, cols)
                except (ImportError, MemoryError):
                    raise
                except Exception as exc:
                    raise file_error(self.what, exc) from exc
                out[i] = block
        return out


def frame_layout(sizes: Mapping[str, int], /) -> dict[str, int]:
    """Return the lengths of T, C, Z, Y, X as the readers read them.

    Where the file has no time axis and one C or Z axis longer than 1,
    that axis serves as the frames (as :func:`select_plane` reads it)
    and counts 1, as TIFF files without a time axis do.

    >>> frame_layout({'T': 1, 'C': 1, 'Z': 4, 'Y': 8, 'X': 8})
    {'T': 4, 'C': 1, 'Z': 1, 'Y': 8, 'X': 8}

    """
    layout = {a: int(sizes.get(a, 1)) for a in 'TCZYX'}
    longer = [a for a in 'CZ' if layout[a] > 1]
    if layout['T'] == 1 and len(longer) == 1:
        layout['T'], layout[longer[0]] = layout[longer[0]], 1
    return layout


FORMATS = {
    'czi': 'Zeiss CZI',
    'lif': 'Leica LIF',
    'nd2': 'Nikon ND2',
    'lfd': 'SimFCS',
}
"""The microscope formats: module name -> name for messages."""


def open_format(
    fmt: str,
    path: Any,
    /,
    *,
    channel: int | None = None,
    z: int | None = None,
    key: str | None = None,
) -> Any:
    """Return the lazy ``(T, H, W)`` reader of a microscope file.

    `fmt` is a key of :data:`FORMATS`; `key` (the image) applies to LIF
    files only.
    """
    module = importlib.import_module(f'.{fmt}', __package__)
    options: dict[str, Any] = {'channel': channel, 'z': z}
    if fmt == 'lif':
        options['key'] = key
    return getattr(module, f'open_{fmt}')(path, **options)


def format_units(fmt: str, path: Any, /, *, key: str | None = None) -> dict:
    """Return the units of a microscope file, as ``<fmt>_units``."""
    return _call(fmt, 'units', path, key)


def format_layout(
    fmt: str, path: Any, /, *, key: str | None = None
) -> dict[str, int]:
    """Return the axis lengths of a microscope file, as ``<fmt>_layout``."""
    return _call(fmt, 'layout', path, key)


def _call(fmt: str, what: str, path: Any, key: str | None) -> Any:
    """Call ``<fmt>_<what>`` of a format's module; `key` for LIF only."""
    module = importlib.import_module(f'.{fmt}', __package__)
    options = {'key': key} if fmt == 'lif' else {}
    return getattr(module, f'{fmt}_{what}')(path, **options)
