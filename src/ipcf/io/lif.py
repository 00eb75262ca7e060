"""Leica LIF files: lazy ``(T, H, W)`` series and their units.

Read through liffile (``pip install "ipcf[formats]"``), imported when a
file is first opened. A LIF file holds a tree of images (series); one
is read, chosen by its name or path with `key` where there are several.
Its uncompressed memory block is memory-mapped, so a slice reads only
the frames and rows it needs.

>>> open_lif('missing.lif')
Traceback (most recent call last):
...
FileNotFoundError: no such file: 'missing.lif'

"""

from __future__ import annotations

import os
from typing import Any

import numpy

from ._lazy import ArrayView
from ._units import length_um, time_s
from ._vendor import (
    FrameReader,
    file_error,
    frame_layout,
    require,
    select_plane,
    stamps_interval,
)

__all__ = ['lif_layout', 'lif_units', 'open_lif']

_PACKAGE = ('liffile', 'liffile')
# LIF dimension ids (DimID) of the axes ipcf reads
_DIM_IDS = {1: 'X', 2: 'Y', 3: 'Z', 4: 'T'}


def open_lif(
    path: str | os.PathLike[str],
    /,
    *,
    channel: int | None = None,
    z: int | None = None,
    key: str | None = None,
) -> ArrayView:
    """Return a lazy ``(T, H, W)`` view of one channel and plane of a LIF.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.lif`` file.
    channel, z : int, optional
        Index of the channel (C axis) and z-plane (Z axis), from 0.
        Required where that axis is longer than 1 and the image has a
        time axis; without one, the only C or Z axis longer than 1 is
        read as the frames.
    key : str, optional
        Name or path (``'folder/series 2'``) of the image to read.
        Required where the file holds several images.

    Returns
    -------
    ArrayView
        Shape ``(T, H, W)``, the file's dtype. It pickles as the file's
        name, the image and the selection.

    Raises
    ------
    ImportError
        If liffile is not installed.
    ValueError
        If the file is not a readable LIF file, `key` names no image or
        is needed, the image is RGB, FLIM or a mosaic or has other
        dimensions longer than 1, or C or Z axes longer than 1 are not
        selected.
    TypeError
        If `channel` or `z` is not an integer.

    Examples
    --------
    >>> open_lif('missing.lif', channel=0)
    Traceback (most recent call last):
    ...
    FileNotFoundError: no such file: 'missing.lif'

    """
    info = _lif_info(path, key)
    what = info['what']
    frames, fixed = select_plane(
        info['sizes'], what, channel=channel, z=z, axes=info['axes']
    )
    shape = (info['sizes'][frames], info['sizes']['Y'], info['sizes']['X'])
    plane = {'image': info['path'], 'frames': frames, 'fixed': fixed}
    reader = _LifReader(path, what, plane, shape, info['dtype'])
    return ArrayView(reader, shape, info['dtype'], chunks=(1, *shape[1:]))


def lif_layout(
    path: str | os.PathLike[str], /, *, key: str | None = None
) -> dict[str, int]:
    """Return the lengths of the T, C, Z, Y and X axes of a LIF image.

    Absent axes count 1. Without a time axis, the only C or Z axis
    longer than 1 is read as the frames and counts as T.

    Raises
    ------
    ImportError, ValueError
        As :func:`open_lif`.

    Examples
    --------
    >>> lif_layout('missing.lif')
    Traceback (most recent call last):
    ...
    FileNotFoundError: no such file: 'missing.lif'

    """
    return frame_layout(_lif_info(path, key)['sizes'])


def lif_units(
    path: str | os.PathLike[str], /, *, key: str | None = None
) -> dict:
    """Return the units a LIF image declares, in ipcf's vocabulary.

    ``pixel_size``, ``pixel_size_y``, ``pixel_size_z`` (µm): the
    ``Length`` of the X, Y and Z dimensions (first to last pixel, in
    their ``Unit``) over their number of elements less one;
    ``frame_interval`` (s): the median interval of the image's
    ``TimeStampList`` along T (logged as a warning when irregular), else
    the T dimension's ``Length`` over its elements less one;
    ``acquisition_date`` (the first time stamp), ``axes``,
    ``units_source`` and, where the image declares no interval,
    ``units_note``. LIF files name no channels.

    Raises
    ------
    ImportError, ValueError
        As :func:`open_lif`.

    Examples
    --------
    >>> lif_units('missing.lif')
    Traceback (most recent call last):
    ...
    FileNotFoundError: no such file: 'missing.lif'

    """
    info = _lif_info(path, key)
    what = info['what']
    units: dict[str, Any] = {}
    sources: dict[str, str] = {}
    steps = info['steps']
    for axis, key_ in (('X', 'pixel_size'), ('Y', 'pixel_size_y')) + (
        ('Z', 'pixel_size_z'),
    ):
        if axis in steps:
            step, unit = steps[axis]
            size = length_um(abs(step), unit)
            if size is not None and size > 0:
                units[key_] = float(f'{size:.12g}')
                sources[key_] = f'LIF DimensionDescription {axis}'
    stamps = _t_stamps(info)
    if stamps is not None:
        interval = stamps_interval(stamps, what)
        if interval is not None:
            units['frame_interval'] = interval
            sources['frame_interval'] = 'LIF TimeStampList'
    if 'frame_interval' not in units and 'T' in steps:
        step, unit = steps['T']
        interval = time_s(abs(step), unit)
        if interval is not None and interval > 0:
            units['frame_interval'] = float(f'{interval:.12g}')
            sources['frame_interval'] = 'LIF DimensionDescription T'
    if 'frame_interval' not in units:
        units['units_note'] = (
            'the LIF image has no time stamps and no T dimension: the '
            'frame interval is not known'
        )
    if info['timestamps'] is not None and len(info['timestamps']):
        units['acquisition_date'] = str(info['timestamps'][0])
        sources['acquisition_date'] = 'LIF TimeStampList'
    units['axes'] = info['axes']
    sources['axes'] = 'LIF DimensionDescription'
    units['units_source'] = sources
    return units


class _LifReader(FrameReader):
    """Read frames of one channel and plane of a memory-mapped LIF image."""

    def _open(self) -> Any:
        liffile = require(*_PACKAGE, self.what)
        with liffile.LifFile(self.path, squeeze=False) as lif:
            image = _find_image(lif, self.plane['image'], self.what)
            data = image.asarray(out='memmap')
            dims = tuple(image.dims)
        return data, dims

    def _close(self, handle: Any) -> None:
        mm = getattr(handle[0], '_mmap', None)
        if mm is not None:
            mm.close()

    def _frame(
        self, handle: Any, t: int, rows: slice, cols: slice
    ) -> numpy.ndarray:
        data, dims = handle
        index: list[Any] = []
        for dim in dims:
            if dim == 'Y':
                index.append(rows)
            elif dim == 'X':
                index.append(cols)
            elif dim == self.plane['frames']:
                index.append(t)
            else:
                index.append(self.plane['fixed'].get(dim, 0))
        return numpy.array(data[tuple(index)])


def _find_image(lif: Any, path: str, what: str) -> Any:
    for image in lif.images:
        if image.path == path:
            return image
    msg = f'{what} has no image {path!r}'
    raise ValueError(msg)


def _lif_info(path: Any, key: str | None) -> dict[str, Any]:
    """Return the layout, steps and time stamps of one image of a LIF."""
    text = os.fspath(path)
    name = repr(text)
    if not os.path.isfile(text):
        msg = f'no such file: {name}'
        raise FileNotFoundError(msg)
    what = f'LIF file {name}'
    liffile = require(*_PACKAGE, what)
    try:
        with liffile.LifFile(text, squeeze=False) as lif:
            images = list(lif.images)
            image = _choose(images, key, what)
            what = f'{what} image {image.path!r}'
            if image.is_flim:
                msg = f'{what} holds FLIM data, not an image series'
                raise ValueError(msg)
            sizes = dict(image.sizes)
            dims = tuple(image.dims)
            dtype = numpy.dtype(image.dtype).newbyteorder('=')
            element = image.xml_element
            timestamps = image.timestamps
            block = image.memory_block
            end = block.offset + image.nbytes
            size = os.path.getsize(text)
            if block.offset <= 0 or block.size < image.nbytes or end > size:
                msg = (
                    f'{what} is truncated: its image data end at byte '
                    f'{end}, the file has {size} bytes'
                )
                raise ValueError(msg)
    except (ImportError, MemoryError, FileNotFoundError):
        raise
    except ValueError as exc:
        if str(exc).startswith(what):
            raise
        raise file_error(what, exc) from exc
    except Exception as exc:
        raise file_error(what, exc) from exc
    for dim, length in sizes.items():
        if dim not in 'TCZYX' and length > 1:
            kind = 'RGB samples' if dim == 'S' else f'a {dim} dimension'
            msg = (
                f'{what} has {kind} of length {length}; ipcf reads the T, '
                f'C and Z dimensions of grey images only'
            )
            raise ValueError(msg)
    steps: dict[str, tuple[float, str]] = {}
    for desc in element.findall(
        './Data/Image/ImageDescription/Dimensions/DimensionDescription'
    ):
        axis = _DIM_IDS.get(int(desc.get('DimID', 0)))
        count = int(desc.get('NumberOfElements', 1))
        if axis is None or count < 2:
            continue
        try:
            steps[axis] = (
                float(desc.get('Length', 'nan')) / (count - 1),
                desc.get('Unit') or '',
            )
        except ValueError:
            continue
    return {
        'what': what,
        'path': image.path,
        'sizes': {a: int(sizes.get(a, 1)) for a in 'TCZYX'},
        'dims': dims,
        'axes': ''.join(dims),
        'dtype': dtype,
        'steps': steps,
        'timestamps': timestamps,
    }


def _choose(images: list, key: str | None, what: str) -> Any:
    """Return the image that key names, or the only one."""
    if key is None:
        if len(images) == 1:
            return images[0]
        if not images:
            msg = f'{what} holds no images'
            raise ValueError(msg)
        shown = ', '.join(repr(i.path) for i in images[:6])
        more = ', ...' if len(images) > 6 else ''
        msg = (
            f'{what} holds {len(images)} images ({shown}{more}); pass '
            f'key= with the name or path of one'
        )
        raise ValueError(msg)
    found = [i for i in images if key in (i.path, i.name)]
    if len(found) != 1:
        shown = ', '.join(repr(i.path) for i in images[:6])
        what_found = 'no' if not found else f'{len(found)}'
        msg = (
            f'{key=} names {what_found} images of {what}; its images are '
            f'{shown}{", ..." if len(images) > 6 else ""}'
        )
        raise ValueError(msg)
    return found[0]


def _t_stamps(info: dict[str, Any]) -> numpy.ndarray | None:
    """Return the time stamps (s) along T at the first C and Z, or None.

    The TimeStampList holds one stamp per frame (T alone) or per plane
    (every non-XY dimension, with or without channels) in storage order.
    """
    stamps = info['timestamps']
    frames = info['sizes']['T']
    if stamps is None or frames < 2:
        return None
    seconds = (stamps - stamps[0]) / numpy.timedelta64(1, 'ms') / 1e3
    seconds = numpy.asarray(seconds, numpy.float64)
    if seconds.size == frames:
        return seconds
    for skip in ('YXS', 'YXSC'):
        dims = [d for d in info['dims'] if d not in skip]
        shape = [info['sizes'].get(d, 1) if d in 'TCZ' else 1 for d in dims]
        if int(numpy.prod(shape)) == seconds.size and 'T' in dims:
            cube = seconds.reshape(shape)
            index = tuple(slice(None) if d == 'T' else 0 for d in dims)
            return cube[index]
    return None
