"""Helpers shared by the figures and the report of :mod:`ipcf.plot`.

Figure and axes creation, colour maps, axis units and labels, and the
checks of results, pixels, circle points and boxes that every figure
makes at its boundary. The names here have no leading underscore so that
the figure modules and the report can share them; the module itself is
private.

"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy

from .._validate import check_int, check_positive, check_series

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import NDArray

__all__ = [
    'AMPLITUDE_CMAP',
    'BAD',
    'CMAP',
    'CYCLIC',
    'DELAY_CMAP',
    'INTENSITY',
    'RESULT_DIMS',
    'UNITS',
    'as_series',
    'centre',
    'centre_pixel',
    'check_box',
    'check_image_pixel',
    'check_index',
    'check_pixel',
    'check_result',
    'colormap',
    'delay_unit',
    'extent',
    'figure_axes',
    'format_delay',
    'holds_result',
    'image_figsize',
    'is_path',
    'limits',
    'masked_note',
    'read_result',
    'result_region',
    'spatial',
]

CMAP = 'viridis'  # G values
INTENSITY = 'gray'  # camera counts: lightness is linear in the value
DELAY_CMAP = 'cividis'
AMPLITUDE_CMAP = 'magma'
CYCLIC = 'twilight'  # angles
BAD = '#d0d0d0'  # NaN: masked or undefined pixels
UNITS = {'s': 's', 'um^2/s': 'µm²/s', 'um/s': 'µm/s', 'rad': 'rad'}
"""Units attribute of a map -> its label."""

RESULT_DIMS = ('y', 'x', 'point', 'delay')
"""Dims of a result of :func:`ipcf.pcf_image`."""


def figure_axes(
    ax: Axes | None,
    /,
    *,
    polar: bool = False,
    figsize: tuple[float, float] = (6, 4.5),
) -> tuple[Figure, Axes]:
    """Return the figure of ax, or a new figure (without pyplot) and axes."""
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout='constrained')
    return fig, fig.add_subplot(projection='polar' if polar else None)


def panel_row(
    axes: Sequence[Axes] | None,
    count: int,
    /,
    *,
    panel: tuple[float, float],
    message: str,
) -> tuple[Figure, list[Axes]]:
    """Return a figure and `count` axes in a row: those given, or new ones.

    `panel` is the size in inches of one new panel; `message` is raised as
    ValueError, formatted with ``given`` (the number of axes), when
    `axes` does not hold `count` axes.
    """
    if axes is None:
        from matplotlib.figure import Figure

        width, height = panel
        fig = Figure(figsize=(width * count, height), layout='constrained')
        return fig, list(numpy.atleast_1d(fig.subplots(1, count)))
    axes = list(axes)
    if len(axes) != count:
        raise ValueError(message.format(given=len(axes)))
    return axes[0].figure, axes


def image_figsize(
    height: int, width: int, /, *, side: float = 5.0, least: float = 2.0
) -> tuple[float, float]:
    """Return the size in inches of a figure of one image and colour bar.

    The image's longer side gets `side` inches and its shorter side its
    share of them, but at least `least`, so that the figure follows the
    image's shape and stays bounded however thin the image is; title,
    labels and colour bar get room around it.

    >>> image_figsize(64, 64), image_figsize(24, 1), image_figsize(1, 10**6)
    ((6.5, 6.0), (3.5, 6.0), (6.5, 3.0))

    """
    aspect = max(int(height), 1) / max(int(width), 1)
    if aspect >= 1:
        image = (max(side / aspect, least), side)
    else:
        image = (side, max(side * aspect, least))
    return image[0] + 1.5, image[1] + 1.0


def colormap(name: str, /) -> Any:
    """Return the named colour map with NaN shown in light grey."""
    import matplotlib

    return matplotlib.colormaps[name].with_extremes(bad=BAD)


def limits(values: NDArray, /) -> tuple[float, float]:
    """Return robust colour limits: 1st and 99th percentile of finite.

    >>> limits(numpy.array([numpy.nan, 2.0, 2.0]))
    (1.5, 2.5)

    """
    finite = values[numpy.isfinite(values)]
    if not finite.size:
        return 0.0, 1.0
    low, high = numpy.percentile(finite, [1.0, 99.0])
    if high <= low:
        low, high = float(finite.min()), float(finite.max())
    if high <= low:
        return float(low) - 0.5, float(low) + 0.5
    return float(low), float(high)


def spatial(pixel_size: Any, /) -> tuple[float | None, str]:
    """Return µm per pixel (None: axes in pixels) and the axis unit.

    >>> spatial(None), spatial(0.1)
    ((None, 'pixel'), (0.1, 'µm'))

    """
    if pixel_size is None:
        return None, 'pixel'
    return check_positive(pixel_size, 'pixel_size'), 'µm'


def extent(
    y0: float, y1: float, x0: float, x1: float, scale: float | None, /
) -> tuple[float, float, float, float]:
    """Return imshow extent of pixel rows y0..y1 and columns x0..x1.

    In pixels, pixel centres are at integers; in µm, pixel ``i`` spans
    ``i * size .. (i + 1) * size`` from the top-left corner, as in
    :mod:`ipcf.simulate`.

    >>> extent(0, 3, 0, 1, None)
    (-0.5, 1.5, 3.5, -0.5)

    """
    if scale is None:
        return (x0 - 0.5, x1 + 0.5, y1 + 0.5, y0 - 0.5)
    return (x0 * scale, (x1 + 1) * scale, (y1 + 1) * scale, y0 * scale)


def centre(pixel: tuple[Any, Any], scale: float | None, /) -> tuple[Any, Any]:
    """Return axis (x, y) of the centre of pixel(s) (y, x)."""
    y = numpy.asarray(pixel[0], dtype=numpy.float64)
    x = numpy.asarray(pixel[1], dtype=numpy.float64)
    if scale is None:
        return x, y
    return (x + 0.5) * scale, (y + 0.5) * scale


def delay_unit(result: Any, /) -> str:
    """Return 's' if the result's delays are in seconds, else 'frames'."""
    return 's' if result.attrs.get('dt', 1.0) != 1.0 else 'frames'


def format_delay(value: float, unit: str, /) -> str:
    """Return a delay as short text: '1 ms', '250 µs', '12 frames'.

    >>> format_delay(2.5e-4, 's'), format_delay(12, 'frames')
    ('250 µs', '12 frames')

    """
    if unit != 's' or value == 0 or value >= 1:
        return f'{value:.3g} {unit}'
    if value >= 1e-3:
        return f'{value * 1e3:.3g} ms'
    return f'{value * 1e6:.3g} µs'


def masked_note(values: NDArray, /) -> str:
    """Return ' (masked)' for values that are all NaN, else ''."""
    return ' (masked)' if numpy.isnan(values).all() else ''


def check_result(result: Any, /) -> None:
    """Raise unless result is a DataArray of :func:`ipcf.pcf_image`.

    TypeError for another kind of object, ValueError for other dims.

    """
    dims = getattr(result, 'dims', None)
    if dims is None or not hasattr(result, 'attrs'):
        msg = (
            f'result is a {type(result).__name__}; expected the '
            f'xarray.DataArray of ipcf.pcf_image with dims {RESULT_DIMS}'
        )
        raise TypeError(msg)
    if tuple(dims) != RESULT_DIMS:
        msg = (
            f'result has dims {tuple(dims)}; expected the xarray.DataArray '
            f'of ipcf.pcf_image with dims {RESULT_DIMS}'
        )
        raise ValueError(msg)


def check_pixel(result: Any, y: Any, x: Any, /) -> tuple[int, int]:
    """Return (y, x) as ints after checking they are pixels of result."""
    y = check_int(y, 'y')
    x = check_int(x, 'x')
    ys = result['y'].values
    xs = result['x'].values
    if not (ys[0] <= y <= ys[-1] and xs[0] <= x <= xs[-1]):
        msg = (
            f'pixel (y={y}, x={x}) is outside the result, whose pixels are '
            f'y {ys[0]}..{ys[-1]} and x {xs[0]}..{xs[-1]} (input pixel '
            'coordinates: the first is the radius)'
        )
        raise ValueError(msg)
    return y, x


def check_image_pixel(
    pixel: Any, shape: tuple[int, ...], /, *, name: str = 'pixel'
) -> tuple[int, int]:
    """Return pixel (y, x) as ints after checking it is inside shape."""
    if not hasattr(pixel, '__len__') or len(pixel) != 2:
        msg = f'{name}={pixel!r} is not a (y, x) pair'
        raise ValueError(msg)
    y = check_int(pixel[0], 'y')
    x = check_int(pixel[1], 'x')
    if not (0 <= y < shape[0] and 0 <= x < shape[1]):
        msg = (
            f'{name} (y={y}, x={x}) is outside the {shape[0]}x{shape[1]} image'
        )
        raise ValueError(msg)
    return y, x


def check_index(value: Any, name: str, size: int, /) -> int:
    """Return value as an index into size items, or raise naming it.

    >>> check_index(8, 'point', 8)
    Traceback (most recent call last):
    ...
    ValueError: point=8 is out of range 0..7

    """
    value = check_int(value, name)
    if not 0 <= value < size:
        msg = f'{name}={value} is out of range 0..{size - 1}'
        raise ValueError(msg)
    return value


def check_box(
    box: Any, height: int, width: int, /
) -> tuple[int, int, int, int]:
    """Return box (y0, y1, x0, x1) as ints, non-empty, inside the image."""
    if not hasattr(box, '__len__') or len(box) != 4:
        msg = f'box={box!r} is not (y0, y1, x0, x1)'
        raise ValueError(msg)
    y0, y1, x0, x1 = (check_int(b, 'box') for b in box)
    if not (0 <= y0 < y1 <= height and 0 <= x0 < x1 <= width):
        msg = (
            f'box=({y0}, {y1}, {x0}, {x1}) is empty or outside the '
            f'{height}x{width} image; expected 0 <= y0 < y1 <= {height} '
            f'and 0 <= x0 < x1 <= {width}'
        )
        raise ValueError(msg)
    return y0, y1, x0, x1


def result_region(
    result: Any, shape: tuple[int, int], /
) -> tuple[tuple[int, int, int, int], NDArray[numpy.bool_]]:
    """Return the box and the mask of a result's pixels in an image.

    The box is the result's ``roi`` attribute if it has one, else the
    grid of its centre pixels; the mask marks centre pixels with values.

    Raises
    ------
    ValueError
        If the result's pixels are outside an image of this shape.

    """
    ys = result['y'].values
    xs = result['x'].values
    height, width = shape
    if ys[-1] >= height or xs[-1] >= width:
        msg = (
            f'the result covers pixels up to ({ys[-1]}, {xs[-1]}), outside '
            f'the {height}x{width} data; is this its source?'
        )
        raise ValueError(msg)
    box = result.attrs.get('roi')
    if box is None or len(box) != 4:
        box = (int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1)
    mask = numpy.zeros(shape, dtype=bool)
    valid = numpy.isfinite(result.values).any(axis=(2, 3))
    mask[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1] = valid
    return tuple(int(b) for b in box), mask  # type: ignore[return-value]


def centre_pixel(result: Any, /) -> tuple[int, int]:
    """Return the (y, x) input coordinates of the result's centre pixel."""
    return (
        int(result['y'][result.shape[0] // 2]),
        int(result['x'][result.shape[1] // 2]),
    )


def is_path(source: Any, /) -> bool:
    """Return whether source names files rather than holding values.

    >>> is_path('movie.tif'), is_path(['a.tif', 'b.tif']), is_path([1, 2])
    (True, True, False)

    """
    if isinstance(source, (list, tuple)) and source:
        return all(isinstance(s, (str, os.PathLike)) for s in source)
    return isinstance(source, (str, os.PathLike))


def as_series(data: Any, /) -> Any:
    """Return a (T, H, W) array-like of data or of the file it names.

    Nothing is read: files are opened by :func:`ipcf.io.open_series`,
    array-likes are checked and returned as they are.

    """
    if is_path(data):
        from ..io import open_frames

        data = open_frames(data)
    return check_series(data, name='data')[0]


def holds_result(path: str | os.PathLike[str], /, group: str = 'pcf') -> bool:
    """Return whether an HDF5 or zarr store has a result group.

    A store that exists but cannot be read counts as one, so that
    :func:`read_result` says what is wrong with it rather than the
    store being taken for an image series.

    >>> holds_result('missing.h5')
    False

    """
    from .._containers import open_root
    from .._files import file_kind

    kind = file_kind(path)
    if kind not in {'hdf5', 'zarr'} or not os.path.exists(path):
        return False
    try:
        with open_root(path, kind) as root:
            return group in root
    except ModuleNotFoundError:
        raise
    except Exception:  # noqa: BLE001 - unreadable: let read_result say why
        return True


def read_result(path: str | os.PathLike[str], /) -> Any:
    """Return the result stored at path; any failure names the store.

    :func:`ipcf.load_result` with the errors of the storage libraries
    (a corrupt chunk, unreadable metadata) raised as OSError naming the
    store and what could not be read.

    """
    from ..store import load_result

    try:
        return load_result(path)
    except (FileNotFoundError, ImportError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - name the store whatever it is
        text = ' '.join(str(exc).split()) or type(exc).__name__
        name = os.fspath(path)
        if name in text:
            raise
        msg = f'{name!r}: cannot read the result ({text})'
        raise OSError(msg) from exc
