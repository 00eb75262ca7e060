"""Find and describe the region of an image series worth analysing.

A light-sheet recording shows a cell on a dark background; analysing only
the cell's bounding box saves most of the work. :func:`detect` finds the
largest bright object in a mean image (:func:`mean_image`) and returns a
box whose sides are multiples of the analysis block, :func:`parse_roi`
reads a box given as text and :func:`load_mask` reads a pixel mask. Drawing
a box or mask over the image is for :func:`ipcf.plot.roi`.

Boxes are ``(y0, y1, x0, x1)``: rows ``y0:y1`` and columns ``x0:x1``,
written ``'y0:y1,x0:x1'`` on the command line.

>>> image = numpy.zeros((128, 128))
>>> image[40:90, 30:100] = 1.0
>>> detect(image, block=32)
(33, 97, 17, 113)

"""

from __future__ import annotations

__all__ = [
    'detect',
    'format_roi',
    'load_mask',
    'mean_image',
    'parse_roi',
    'region',
]

import math
import os
import pathlib
from collections.abc import Sequence
from typing import Any

import numpy
from numpy.typing import ArrayLike

from ._utils import progress_bar
from ._validate import check_int, check_mask

# frames read at once by mean_image: about this many bytes
_CHUNK_BYTES = 64 * 2**20


def mean_image(
    source: Any,
    /,
    *,
    frames: int | slice | None = 256,
    num_threads: int | None = None,
    progress: bool = False,
) -> numpy.ndarray:
    """Return the mean of frames of an image series, read lazily.

    Parameters
    ----------
    source : str, os.PathLike, sequence of paths, or array_like
        Anything :func:`ipcf.io.open_series` opens: a TIFF series, a
        ``.tif``, ``.bin``, ``.h5`` or ``.zarr`` file, or a ``(T, H, W)``
        array-like.
    frames : int, slice or None, optional, default: 256
        The first `frames` frames (all if fewer), the frames of a slice,
        or None for all frames. The first frames are the brightest of a
        bleaching series and the quickest to read from chunked stores.
    num_threads : int, optional
        Threads reading a TIFF series. Default: all cores.
    progress : bool, optional, default: False
        Show a progress bar of frames read.

    Returns
    -------
    ndarray, shape (H, W), float64
        The mean image. Frames are read in blocks of about 64 MB, so
        memory stays bounded whatever the number of frames.

    Raises
    ------
    ValueError
        If no frame is selected.

    Examples
    --------
    >>> data = numpy.arange(24, dtype=numpy.uint16).reshape(2, 3, 4)
    >>> mean_image(data)[0].tolist()
    [6.0, 7.0, 8.0, 9.0]

    """
    from .io import open_frames

    data = open_frames(source, num_threads=num_threads)
    nframes = int(data.shape[0])
    if frames is None:
        selected = range(nframes)
    elif isinstance(frames, slice):
        selected = range(*frames.indices(nframes))
    else:
        count = check_int(frames, 'frames', minimum=1)
        selected = range(min(count, nframes))
    if len(selected) == 0:
        msg = f'{frames=} selects none of the {nframes} frames'
        raise ValueError(msg)
    frame_bytes = math.prod(data.shape[1:]) * numpy.dtype(data.dtype).itemsize
    step = max(1, _CHUNK_BYTES // max(frame_bytes, 1))
    total = numpy.zeros(tuple(int(n) for n in data.shape[1:]))
    with progress_bar(
        len(selected), enable=progress, desc='mean image', unit='frame'
    ) as bar:
        for i in range(0, len(selected), step):
            part = selected[i : i + step]
            key = slice(part.start, part.stop, part.step)
            if part.step < 0 and part.stop < 0:
                key = slice(part.start, None, part.step)
            block = numpy.asarray(data[key])
            total += block.sum(axis=0, dtype=numpy.float64)
            bar.update(len(part))
    return total / len(selected)


def detect(
    image: ArrayLike,
    /,
    *,
    block: int = 64,
    sigma: float = 2.0,
    closing: int = 5,
    clear_border: bool = True,
) -> tuple[int, int, int, int]:
    """Return the bounding box of the largest bright object in an image.

    Parameters
    ----------
    image : array_like, shape (H, W)
        A mean image (:func:`mean_image`), of real numbers.
    block : int, optional, default: 64
        The box's height and width are rounded up to multiples of this
        (the analysis block size), then the box is kept inside the image.
        1 gives the tight bounding box.
    sigma : float, optional, default: 2.0
        Standard deviation in pixels of the Gaussian smoothing before
        thresholding, >= 0.
    closing : int, optional, default: 5
        Radius in pixels of the disk of the morphological closing that
        fills gaps in the thresholded object, >= 0.
    clear_border : bool, optional, default: True
        Ignore objects touching the image border (parts of other cells).

    Returns
    -------
    (y0, y1, x0, x1) : tuple of int
        Rows ``y0:y1`` and columns ``x0:x1``. Each side is a multiple of
        `block` unless the image is smaller, and the box contains the
        object's bounding box, centred on it where the image allows.

    Raises
    ------
    ValueError
        If the image is not 2-D, is flat or not finite, or holds no
        object above the threshold.
    TypeError
        If an argument has the wrong type.

    Notes
    -----
    The steps: Gaussian smoothing, Otsu's threshold, closing with a disk,
    clearing the objects that touch the border, labelling, and the bounding
    box of the largest object (by area), expanded symmetrically to
    multiples of `block` and shifted back inside the image where needed.

    Examples
    --------
    >>> image = numpy.zeros((100, 200))
    >>> image[30:60, 50:90] = 5.0
    >>> detect(image, block=16)
    (29, 61, 46, 94)

    """
    from skimage import filters, measure, morphology, segmentation

    image = numpy.asarray(image)
    if image.ndim != 2:
        msg = f'image has shape {image.shape}; expected a 2-D (H, W) image'
        raise ValueError(msg)
    if image.dtype.kind not in 'uif':
        msg = f'image has dtype {image.dtype}; expected real numbers'
        raise TypeError(msg)
    block = check_int(block, 'block', minimum=1)
    closing = check_int(closing, 'closing', minimum=0)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)):
        msg = f'{sigma=!r} is not a number'
        raise TypeError(msg)
    if not sigma >= 0:
        msg = f'{sigma=} must be >= 0'
        raise ValueError(msg)
    image = image.astype(numpy.float64)
    if not numpy.isfinite(image).all():
        msg = 'image has NaN or infinite values; replace them first'
        raise ValueError(msg)
    if image.size == 0 or image.min() == image.max():
        msg = (
            f'image of shape {image.shape} is flat (every value '
            f'{image.flat[0] if image.size else None}); no object to detect'
        )
        raise ValueError(msg)
    smooth = filters.gaussian(image, sigma=sigma, preserve_range=True)
    if smooth.min() == smooth.max():
        msg = 'image is flat after smoothing; no object to detect'
        raise ValueError(msg)
    mask = smooth > filters.threshold_otsu(smooth)
    if closing:
        mask = morphology.closing(mask, morphology.disk(closing))
    if clear_border:
        mask = segmentation.clear_border(mask)
    regions = measure.regionprops(measure.label(mask))
    if not regions:
        hint = (
            '; every object touches the border: try clear_border=False'
            if clear_border
            else ''
        )
        msg = f'no object found above the threshold{hint}'
        raise ValueError(msg)
    region = max(regions, key=lambda r: r.area)
    ymin, xmin, ymax, xmax = (int(v) for v in region.bbox)
    height, width = image.shape
    y0, y1 = _expand(ymin, ymax, block, height)
    x0, x1 = _expand(xmin, xmax, block, width)
    return (y0, y1, x0, x1)


def _expand(lo: int, hi: int, block: int, size: int) -> tuple[int, int]:
    """Return lo:hi grown to a multiple of block, centred, inside size."""
    length = min(-(-(hi - lo) // block) * block, size)
    start = lo - (length - (hi - lo)) // 2
    start = min(max(start, 0), size - length)
    return start, start + length


def parse_roi(
    text: str, /, *, shape: Sequence[int] | None = None
) -> tuple[int, int, int, int] | str:
    """Return the box ``(y0, y1, x0, x1)`` of ``'y0:y1,x0:x1'``.

    Parameters
    ----------
    text : str
        Rows and columns as two slices, ``'y0:y1,x0:x1'`` (spaces
        allowed), or ``'auto'`` (returned as is, for :func:`detect`).
        With `shape`, an empty bound means the image's edge, as in
        ``':,100:612'``.
    shape : sequence of int, optional
        The image's ``(H, W)`` (or ``(T, H, W)``); the box must lie in it.

    Returns
    -------
    tuple of 4 int, or 'auto'

    Raises
    ------
    ValueError
        If `text` is not two ranges of non-negative integers with
        ``y0 < y1`` and ``x0 < x1``, or the box exceeds `shape`.

    Examples
    --------
    >>> parse_roi('64:448, 128:896')
    (64, 448, 128, 896)
    >>> parse_roi(':,100:612', shape=(512, 1024))
    (0, 512, 100, 612)
    >>> parse_roi('auto')
    'auto'

    """
    if not isinstance(text, str):
        msg = f'roi {text!r} is not a string like "y0:y1,x0:x1"'
        raise TypeError(msg)
    if text.strip().lower() == 'auto':
        return 'auto'
    size = None if shape is None else [int(n) for n in shape][-2:]
    usage = (
        f'roi {text!r} is not "y0:y1,x0:x1" (rows, then columns, '
        f'non-negative integers, start below stop)'
    )
    parts = text.split(',')
    if len(parts) != 2:
        raise ValueError(usage)
    values: list[int] = []
    for axis, part in enumerate(parts):
        bounds = part.split(':')
        if len(bounds) != 2:
            raise ValueError(usage)
        for end, bound in enumerate(bounds):
            bound = bound.strip()
            if not bound:
                if size is None:
                    msg = f'{usage}; empty bounds need the image shape'
                    raise ValueError(msg)
                values.append(0 if end == 0 else size[axis])
                continue
            try:
                value = int(bound)
            except ValueError:
                raise ValueError(usage) from None
            if value < 0:
                raise ValueError(usage)
            values.append(value)
    y0, y1, x0, x1 = values
    if not (y0 < y1 and x0 < x1):
        raise ValueError(usage)
    if size is not None and (y1 > size[0] or x1 > size[1]):
        msg = (
            f'roi {text!r} exceeds the {size[0]}x{size[1]} image '
            f'(rows 0:{size[0]}, columns 0:{size[1]})'
        )
        raise ValueError(msg)
    return (y0, y1, x0, x1)


def region(
    roi: str | Sequence[int] | None,
    data: Any,
    /,
    *,
    block: int = 64,
    frames: int | slice | None = 256,
) -> tuple[int, int, int, int]:
    """Return the box ``(y0, y1, x0, x1)`` that an ``roi=`` option names.

    The one reading of an ROI for every function that takes one
    (:func:`ipcf.convert.convert`, :func:`ipcf.analyze`, the CLI).

    Parameters
    ----------
    roi : None, 'auto', str or sequence of 4 int
        None: the whole image. ``'auto'``: :func:`detect` on the
        :func:`mean_image` of `frames`. A string ``'y0:y1,x0:x1'`` where
        an empty bound means the image's edge (:func:`parse_roi`). A
        sequence ``(y0, y1, x0, x1)``.
    data : array_like, shape (T, H, W)
        The series the box lies in.
    block : int, optional, default: 64
        Block size that ``'auto'`` boxes are expanded to.
    frames : int, slice or None, optional, default: 256
        Frames averaged for ``'auto'``.

    Raises
    ------
    TypeError
        If `roi` is none of the above kinds (a number, say).
    ValueError
        If the box is empty or outside the image.

    Examples
    --------
    >>> data = numpy.zeros((2, 8, 10))
    >>> region(':,2:8', data), region(None, data), region((1, 3, 0, 4), data)
    ((0, 8, 2, 8), (0, 8, 0, 10), (1, 3, 0, 4))

    """
    height, width = (int(n) for n in data.shape[-2:])
    if roi is None:
        return (0, height, 0, width)
    if isinstance(roi, str):
        roi = parse_roi(roi, shape=(height, width))
        if roi == 'auto':
            image = mean_image(data, frames=frames)
            return tuple(int(v) for v in detect(image, block=block))
    if not isinstance(roi, Sequence | numpy.ndarray) or len(roi) != 4:
        msg = f'{roi=!r} is not (y0, y1, x0, x1), "y0:y1,x0:x1" or "auto"'
        raise TypeError(msg)
    y0, y1, x0, x1 = (check_int(v, 'roi') for v in roi)
    if not (0 <= y0 < y1 <= height and 0 <= x0 < x1 <= width):
        msg = (
            f'roi {y0}:{y1},{x0}:{x1} is empty or outside the '
            f'{height}x{width} image'
        )
        raise ValueError(msg)
    return (y0, y1, x0, x1)


def format_roi(box: Sequence[int], /) -> str:
    """Return a box ``(y0, y1, x0, x1)`` as ``'y0:y1,x0:x1'``.

    Examples
    --------
    >>> format_roi((64, 448, 128, 896))
    '64:448,128:896'

    """
    y0, y1, x0, x1 = (int(v) for v in box)
    return f'{y0}:{y1},{x0}:{x1}'


def load_mask(
    mask: str | os.PathLike[str] | ArrayLike,
    shape: Sequence[int],
    /,
) -> numpy.ndarray:
    """Return a pixel mask as a boolean array of a given shape.

    Parameters
    ----------
    mask : str, os.PathLike or array_like
        A mask image file (``.npy``; TIFF; PNG or another format that
        scikit-image reads) or an array: boolean, integer (non-zero
        pixels are True) or floats that are all 0 or 1, as
        :func:`ipcf.pcf_image` takes them; for RGB(A) images, pixels
        with any non-zero colour channel.
    shape : sequence of int
        The ``(H, W)`` the mask must have.

    Returns
    -------
    ndarray of bool, shape (H, W)

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file cannot be read or the mask has another shape.

    Examples
    --------
    >>> load_mask([[0, 1], [2, 0]], (2, 2)).tolist()
    [[False, True], [True, False]]

    """
    expected = tuple(int(n) for n in shape)
    if len(expected) != 2:
        msg = f'{shape=} must be (H, W)'
        raise ValueError(msg)
    if isinstance(mask, (str, os.PathLike)):
        path = pathlib.Path(mask)
        name = repr(os.fspath(mask))
        if not path.is_file():
            msg = f'mask file not found: {name}'
            raise FileNotFoundError(msg)
        array = _read_mask(path, name)
    else:
        name = 'mask'
        array = numpy.asarray(mask)
    if array.ndim == 3 and array.shape[-1] in {3, 4}:
        array = array[..., :3].any(axis=-1)
    if array.shape != expected:
        msg = (
            f'{name} has shape {array.shape}; expected {expected} to match '
            f'the image'
        )
        raise ValueError(msg)
    return check_mask(array, expected, name=name)


def _read_mask(path: pathlib.Path, name: str) -> numpy.ndarray:
    """Return the array stored in a mask file."""
    suffix = path.suffix.lower()
    try:
        if suffix == '.npy':
            return numpy.load(path, allow_pickle=False)
        if suffix in {'.tif', '.tiff'}:
            import tifffile

            return numpy.squeeze(tifffile.imread(path))
        import warnings

        from skimage import io as skio

        with warnings.catch_warnings():
            # imageio warns about plugins it tries on unknown files
            warnings.simplefilter('ignore', DeprecationWarning)
            return numpy.asarray(skio.imread(path))
    except Exception as exc:
        text = ' '.join(str(exc).split()) or type(exc).__name__
        msg = f'cannot read the mask {name}: {text}'
        raise ValueError(msg) from exc
