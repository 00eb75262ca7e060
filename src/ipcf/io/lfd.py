"""SimFCS image stacks (LFD formats): lazy ``(T, H, W)`` series.

Read through lfdfiles (``pip install "ipcf[formats]"``), imported when a
file is first opened, which checks the header and finds the shape:

- ``.b64``: square int16 images after one int32 giving their side; the
  number of frames is what the file size holds. Memory-mapped, so a
  slice reads only what it needs.
- ``.z64``: a zlib stream of two int32 (side, number of images) and
  square float32 images (at most 256). The stream is decompressed once,
  when the series is first read.
- a line-scan carpet, a ``.b64`` file whose name holds ``carpet`` (as
  SimFCS names them): int16 lines after one int32 giving their length,
  read as a ``(T, 1, X)`` series of one-line frames (scan, line,
  position) for :func:`ipcf.pcf_line`.

Neither format stores a pixel size or a frame interval; give them with
the analysis (``pixel_size=``, ``dt=``). SimFCS ``.bin``/``.raw`` files
are plain frames, read as raw files with ``shape=(H, W)``.

>>> import tempfile, pathlib
>>> tmp = tempfile.TemporaryDirectory()
>>> path = pathlib.Path(tmp.name) / 'movie.b64'
>>> frames = numpy.arange(2 * 4 * 4, dtype='<i2').reshape(2, 4, 4)
>>> _ = path.write_bytes(numpy.int32(4).tobytes() + frames.tobytes())
>>> series = open_lfd(path)
>>> series.shape, int(series[1, 0, 1])
((2, 4, 4), 17)
>>> del series
>>> tmp.cleanup()

"""

from __future__ import annotations

import os
import pathlib
from typing import Any

import numpy

from ._lazy import ArrayView, open_filemap
from ._vendor import FrameReader, file_error, require, select_plane

__all__ = ['LFD_SUFFIXES', 'lfd_layout', 'lfd_units', 'open_lfd']

LFD_SUFFIXES = ('.b64', '.z64')
"""The SimFCS image-stack suffixes read."""

_PACKAGE = ('lfdfiles', 'lfdfiles')
_CLASSES = {'.b64': 'SimfcsB64', '.z64': 'SimfcsZ64'}


def open_lfd(
    path: str | os.PathLike[str],
    /,
    *,
    channel: int | None = None,
    z: int | None = None,
) -> Any:
    """Return a lazy ``(T, H, W)`` view of a SimFCS B64 or Z64 stack.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.b64`` or ``.z64`` file.
    channel, z : int, optional
        Accepted as 0 only: the files have one channel and plane.

    Returns
    -------
    numpy.memmap or ArrayView
        Shape ``(T, H, W)``: a read-only memory map of int16 for B64
        (``(T, 1, X)`` of a carpet), a view of float32 for Z64. Both
        pickle as the file's name and layout.

    Raises
    ------
    ImportError
        If lfdfiles is not installed.
    ValueError
        If the file is not a readable B64 or Z64 stack (a carpet, a
        stream, a wrong size or a damaged header), or `channel` or `z`
        is not 0.
    TypeError
        If `channel` or `z` is not an integer.

    Examples
    --------
    >>> open_lfd('missing.b64')
    Traceback (most recent call last):
    ...
    FileNotFoundError: no such file: 'missing.b64'

    """
    info = _lfd_info(path)
    select_plane({'T': info['shape'][0]}, info['what'], channel=channel, z=z)
    shape = info['shape']
    if info['suffix'] == '.b64':
        return open_filemap(info['path'], '<i2', 4, shape)
    reader = _Z64Reader(info['path'], info['what'], {}, shape, 'float32')
    return ArrayView(reader, shape, 'float32', chunks=shape)


def lfd_layout(path: str | os.PathLike[str], /) -> dict[str, int]:
    """Return the lengths of the T, C, Z, Y and X axes of a SimFCS stack.

    Examples
    --------
    >>> lfd_layout('missing.z64')
    Traceback (most recent call last):
    ...
    FileNotFoundError: no such file: 'missing.z64'

    """
    t, height, width = _lfd_info(path)['shape']
    return {'T': t, 'C': 1, 'Z': 1, 'Y': height, 'X': width}


def lfd_units(path: str | os.PathLike[str], /) -> dict:
    """Return what a SimFCS stack declares: its axes, no units.

    The files store no pixel size and no frame interval: ``axes`` and a
    ``units_note`` saying so.

    Examples
    --------
    >>> lfd_units('missing.b64')
    Traceback (most recent call last):
    ...
    FileNotFoundError: no such file: 'missing.b64'

    """
    info = _lfd_info(path)
    kind = info['suffix'][1:].upper()
    return {
        'axes': 'TYX',
        'units_note': (
            f'SimFCS {kind} files declare no pixel size and no frame '
            f'interval: the frame interval is not known'
        ),
        'units_source': {'axes': f'SimFCS {kind} header'},
    }


class _Z64Reader(FrameReader):
    """Read frames of a Z64 stack, decompressed once per process."""

    def _open(self) -> Any:
        lfdfiles = require(*_PACKAGE, self.what)
        with lfdfiles.SimfcsZ64(self.path) as f:
            data = numpy.asarray(f.asarray(), numpy.float32)
        return data.reshape(self.shape)

    def _close(self, handle: Any) -> None:
        pass

    def _frame(
        self, handle: Any, t: int, rows: slice, cols: slice
    ) -> numpy.ndarray:
        return handle[t, rows, cols]


def _lfd_info(path: Any) -> dict[str, Any]:
    """Return the shape of a SimFCS stack, checked by lfdfiles."""
    text = os.fspath(path)
    name = repr(text)
    if not os.path.isfile(text):
        msg = f'no such file: {name}'
        raise FileNotFoundError(msg)
    suffix = pathlib.Path(text).suffix.lower()
    if suffix not in _CLASSES:
        msg = (
            f'{name} is not a SimFCS image stack; expected one of '
            f'{", ".join(LFD_SUFFIXES)}'
        )
        raise ValueError(msg)
    what = f'SimFCS {suffix[1:].upper()} file {name}'
    lfdfiles = require(*_PACKAGE, what)
    try:
        with getattr(lfdfiles, _CLASSES[suffix])(text) as f:
            shape = tuple(int(n) for n in f.shape)
            axes = str(f.axes)
    except (ImportError, MemoryError):
        raise
    except Exception as exc:
        raise file_error(what, exc) from exc
    carpet = 'carpet' in pathlib.Path(text).name.lower()
    if suffix == '.b64' and carpet and axes == 'YX' and len(shape) == 2:
        # lines of a line scan: one frame per scan, one row per frame
        shape = (shape[0], 1, shape[1])
    elif axes == 'YX' and len(shape) == 2 and shape[0] == shape[1]:
        shape = (1, *shape)
    elif len(shape) != 3 or axes[1:] != 'YX':
        msg = (
            f'{what} holds data of shape {shape} (axes {axes!r}), not a '
            f'stack of square images'
        )
        raise ValueError(msg)
    if suffix == '.b64':
        expected = 4 + 2 * shape[0] * shape[1] * shape[2]
        size = os.path.getsize(text)
        if size != expected:
            msg = f'{what} has {size} bytes; expected {expected}'
            raise ValueError(msg)
    return {'what': what, 'path': text, 'suffix': suffix, 'shape': shape}
