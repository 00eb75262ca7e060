"""Helpers shared by the figures and the report of :mod:`ipcf.plot`.

Figure and axes creation, colour maps, axis units and labels, and the
checks of results, pixels, circle points and boxes that every figure
makes at its boundary. The names here have no leading underscore so that
the figure modules and the report can share them; the module itself is
private.

"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

import numpy

from .._validate import check_int, check_positive, check_series

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike, NDArray

__all__ = [
    'AMPLITUDE_CMAP',
    'BAD',
    'CMAP',
    'CYCLIC',
    'DELAY_CMAP',
    'DIRECTIONS',
    'INTENSITY',
    'RESULT_DIMS',
    'UNITS',
    'as_series',
    'cell_mask',
    'centre',
    'centre_pixel',
    'check_box',
    'check_image_pixel',
    'check_index',
    'check_pixel',
    'check_result',
    'colorbar',
    'colormap',
    'delay_axis',
    'delay_ticks',
    'delay_unit',
    'direction_axis',
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
    'toward',
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


def colorbar(fig: Figure, mappable: Any, /, *, label: str, **kwargs: Any):
    """Return a colour bar whose power of ten is in its label.

    Small values such as G ~ 1e-5 get ticks of the scaled values and
    the label ``G (×1e-05)``, instead of an offset text at the bar's top
    that can run into a neighbouring title.

    """
    from matplotlib.ticker import FuncFormatter

    bar = fig.colorbar(mappable, label=label, **kwargs)
    low, high = mappable.get_clim()
    largest = max(abs(low or 0.0), abs(high or 0.0))
    if not math.isfinite(largest) or largest == 0:
        return bar
    exponent = math.floor(math.log10(largest))
    if -3 < exponent < 4:
        return bar
    factor = 10.0**exponent
    bar.formatter = FuncFormatter(
        lambda value, _: f'{value / factor:.3g}'.replace('-', '\u2212')
    )
    bar.update_ticks()
    bar.set_label(f'{label} (×10{_superscript(exponent)})')
    return bar


def _superscript(number: int) -> str:
    """Return an integer in superscript digits: -5 -> '⁻⁵'."""
    return str(number).translate(str.maketrans('-0123456789', '⁻⁰¹²³⁴⁵⁶⁷⁸⁹'))


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


def toward(u: int, v: int, scale: float | None, /) -> str:
    """Return the neighbour offset as text, with its distance in µm.

    `u` is the x (column) and `v` the y (row) offset in pixels, as the
    result's ``u`` and ``v`` coordinates; the distance is given when the
    pixel size `scale` (µm) is known.

    >>> toward(0, 6, None), toward(3, 4, 0.1)
    ('(u=0, v=6)', '(u=3, v=4; 0.5 µm)')

    """
    text = f'u={int(u)}, v={int(v)}'
    if scale is not None:
        text += f'; {math.hypot(u, v) * scale:.3g} µm'
    return f'({text})'


def delay_ticks(
    delays: NDArray, unit: str, /
) -> tuple[list[tuple[float, str]], list[float]]:
    """Return round delays within the non-zero delays, labelled, and minor.

    The major ticks are the decades (1 ms, 10 ms, ... or 1, 10, ...
    frames) from the first non-zero delay to the last; with fewer than
    two decades in that span, 1, 2 and 5 times the decades; with fewer
    still, the first and last delay. The minor ticks are 2 to 9 times
    the decades in the span.

    >>> delays = numpy.array([0.0, 0.001, 0.0025, 0.0065, 0.021, 0.13])
    >>> delay_ticks(delays, 's')[0]
    [(0.001, '1 ms'), (0.01, '10 ms'), (0.1, '100 ms')]
    >>> delay_ticks(numpy.array([0.0, 1.0, 2.5, 13.0]), 'frames')[0]
    [(1.0, '1'), (10.0, '10')]

    """
    positive = numpy.asarray(delays, dtype=numpy.float64)
    positive = positive[numpy.isfinite(positive) & (positive > 0)]
    if not positive.size:
        return [], []
    first, last = float(positive.min()), float(positive.max())
    low = math.floor(math.log10(first))
    high = math.ceil(math.log10(last))
    decades = [10.0**e for e in range(low, high + 1)]

    def inside(values: list[float]) -> list[float]:
        # a decade at the first or last delay up to rounding counts
        return [
            v for v in values if first * (1 - 1e-9) <= v <= last * (1 + 1e-9)
        ]

    major = inside(decades)
    if len(major) < 2:
        major = inside(sorted(m * d for d in decades for m in (1, 2, 5)))
    if len(major) < 2:
        major = sorted({first, last})
    minor = inside([m * d for d in decades for m in range(2, 10)])
    minor = [v for v in minor if v not in major]
    return [(v, _delay_label(v, unit)) for v in major], minor


def _delay_label(value: float, unit: str) -> str:
    """Return a tick label: '10 ms' for seconds, '10' for frames."""
    if unit == 's':
        return format_delay(value, unit)
    return f'{value:.3g}' if value < 1e4 else f'{value:.0f}'


def delay_axis(
    ax: Axes,
    delays: NDArray,
    unit: str,
    /,
    *,
    axis: str = 'x',
    bins: bool = False,
    scale: str = 'log',
) -> None:
    """Put round delays (decades) as ticks on a delay axis of ax.

    With ``bins=False`` the axis is a logarithmic axis of the delays
    themselves. With ``bins=True`` it is the index of the delay bins
    (an image column or row per bin): each round delay goes where it
    falls between the bins' delays, interpolated in log delay, and bin
    0 (delay 0) gets the tick ``0`` unless a round delay is within two
    bins of it. With ``scale='linear'`` the axis is linear (`bins` does
    not apply): the ticks are round steps (1, 2, 2.5 or 5 times a
    decade) over the axis' limits and `delays`, which the caller draws
    first. The axis label says ``delay`` and,
    for delays in frames, the unit; in seconds each label has its own.

    """
    from matplotlib.ticker import FixedLocator, NullFormatter

    delays = numpy.asarray(delays, dtype=numpy.float64)
    if scale == 'linear':
        _linear_delay_axis(ax, delays, unit, axis=axis)
        return
    major, minor = delay_ticks(delays, unit)
    values = [v for v, _ in major]
    labels = [text for _, text in major]
    if bins:
        index = numpy.arange(delays.size, dtype=numpy.float64)
        positive = delays > 0
        logs = numpy.log10(delays[positive])

        def where(at: list[float]) -> list[float]:
            return list(numpy.interp(numpy.log10(at), logs, index[positive]))

        positions = where(values) if values else []
        minor_positions = where(minor) if minor else []
        # bin 0 is delay 0: labelled unless a round delay is beside it
        if (
            delays.size
            and delays[0] == 0
            and (not positions or positions[0] >= 2.5)
        ):
            positions = [0.0, *positions]
            labels = ['0', *labels]
    else:
        positions, minor_positions = values, minor
    target = ax.xaxis if axis == 'x' else ax.yaxis
    target.set_minor_locator(FixedLocator(minor_positions))
    target.set_minor_formatter(NullFormatter())
    if axis == 'x':
        ax.set_xticks(positions, labels)
    else:
        ax.set_yticks(positions, labels)
    text = 'delay' if unit == 's' else f'delay ({unit})'
    if bins:
        text += ', log bins'
    target.set_label_text(text)


def linear_delay_ticks(
    low: float, high: float, unit: str, /
) -> list[tuple[float, str]]:
    """Return round delays from low to high for a linear axis, labelled.

    About five steps of 1, 2, 2.5 or 5 times a decade; in seconds each
    label has its unit, zero is ``0``.

    >>> linear_delay_ticks(0.0, 0.0125, 's')
    [(0.0, '0'), (0.0025, '2.5 ms'), (0.005, '5 ms'), (0.0075, '7.5 ms'), \
(0.01, '10 ms'), (0.0125, '12.5 ms')]
    >>> [text for _, text in linear_delay_ticks(-0.001, 0.003, 's')]
    ['-1 ms', '0', '1 ms', '2 ms', '3 ms']
    >>> [text for _, text in linear_delay_ticks(0, 32, 'frames')]
    ['0', '10', '20', '30']

    """
    from matplotlib.ticker import MaxNLocator

    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return []
    locator = MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10])
    values = locator.tick_values(low, high)
    span = high - low
    ticks = []
    for value in values:
        if not low - 1e-9 * span <= value <= high + 1e-9 * span:
            continue
        value = 0.0 if abs(value) < 1e-9 * span else float(value)
        ticks.append((value, _signed_delay_label(value, unit)))
    return ticks


def _signed_delay_label(value: float, unit: str) -> str:
    """Return the label of a delay on a linear axis: '0', '-1 ms'."""
    if value == 0:
        return '0'
    return ('-' if value < 0 else '') + _delay_label(abs(value), unit)


def _linear_delay_axis(
    ax: Axes, delays: NDArray, unit: str, /, *, axis: str
) -> None:
    """Put round delays as ticks on a linear delay axis of ax."""
    finite = delays[numpy.isfinite(delays)]
    view = ax.get_xlim() if axis == 'x' else ax.get_ylim()
    low, high = min(view), max(view)
    if finite.size:
        # the limits as they will be once the delays are shown
        low, high = min(low, finite.min()), max(high, finite.max())
        if axis == 'x':
            ax.set_xlim(low, high)
        else:
            ax.set_ylim(low, high)
    ticks = linear_delay_ticks(low, high, unit)
    positions = [v for v, _ in ticks]
    labels = [text for _, text in ticks]
    target = ax.xaxis if axis == 'x' else ax.yaxis
    if axis == 'x':
        ax.set_xticks(positions, labels)
    else:
        ax.set_yticks(positions, labels)
    target.set_label_text('delay' if unit == 's' else f'delay ({unit})')


DIRECTIONS = ((0, '0° →'), (90, '90° ↓'), (180, '180° ←'), (270, '270° ↑'))
"""Ticks of a direction axis: angle from +x toward +y (down in images)."""


def direction_axis(ax: Axes, /, *, axis: str = 'y') -> None:
    """Label an axis of angles in degrees as the neighbour's direction."""
    positions = [angle for angle, _ in DIRECTIONS]
    labels = [text for _, text in DIRECTIONS]
    if axis == 'x':
        ax.set_xticks(positions, labels)
        ax.set_xlabel('direction of the neighbour')
    else:
        ax.set_yticks(positions, labels)
        ax.set_ylabel('direction of the neighbour')


def cell_mask(
    image: ArrayLike, /, *, sigma: float = 2.0, closing: int = 5
) -> NDArray[numpy.bool_] | None:
    """Return the largest bright object of a mean image, or None.

    The steps of :func:`ipcf.roi.detect`, which gives that object's box:
    Gaussian smoothing, a threshold, closing with a disk, the largest
    connected object, its holes filled; here the object itself is
    returned, with scipy alone, and the threshold is the triangle
    threshold, which suits a dark background better than Otsu's. None
    when the image is flat or not finite, the object covers (nearly)
    all of it, or its mean exceeds that of the rest by no more than 4
    standard deviations of the rest (noise): nothing to mask. The
    smoothing widens the object by up to about ``2 * sigma`` pixels.

    >>> image = numpy.zeros((32, 32))
    >>> image[8:24, 6:26] = 10.0
    >>> mask = cell_mask(image)
    >>> bool(mask[16, 16]), bool(mask[2, 2])
    (True, False)

    """
    from scipy import ndimage

    image = numpy.asarray(image, dtype=numpy.float64)
    if image.ndim != 2 or not image.size:
        return None
    if not numpy.isfinite(image).all():
        return None
    smooth = ndimage.gaussian_filter(image, sigma) if sigma else image
    if smooth.max() <= smooth.min():
        return None
    mask = smooth > _triangle(smooth)
    if closing:
        yy, xx = numpy.mgrid[-closing : closing + 1, -closing : closing + 1]
        disk = yy**2 + xx**2 <= closing**2
        # pad so the closing does not erode objects at the border
        padded = numpy.pad(mask, closing, mode='edge')
        mask = ndimage.binary_closing(padded, disk)[
            closing:-closing, closing:-closing
        ]
    labels, count = ndimage.label(mask)
    if not count:
        return None
    sizes = numpy.bincount(labels.ravel())[1:]
    mask = ndimage.binary_fill_holes(labels == 1 + int(numpy.argmax(sizes)))
    if mask.mean() > 0.98:
        return None
    # an object of noise is no brighter than its surroundings vary
    outside = smooth[~mask]
    if smooth[mask].mean() - outside.mean() <= 4.0 * outside.std():
        return None
    return mask


def _triangle(image: NDArray, bins: int = 256) -> float:
    """Return the triangle threshold of an image's histogram.

    The bin farthest from the line joining the histogram's peak to the
    end of its longer tail (Zack et al. 1977): just beyond a peak of
    background that holds many pixels, where Otsu's threshold would
    split a cell of bright and dim parts.

    """
    counts, edges = numpy.histogram(image, bins=bins)
    centres = 0.5 * (edges[:-1] + edges[1:])
    filled = numpy.flatnonzero(counts)
    low, high = int(filled[0]), int(filled[-1])
    peak = int(numpy.argmax(counts))
    flip = peak - low < high - peak
    if flip:
        # the tail is on the bright side: walk it from the other end
        counts = counts[::-1]
        low, peak = bins - 1 - high, bins - 1 - peak
    width = peak - low
    if width < 1:
        return float(centres[bins - 1 - peak if flip else peak])
    x = numpy.arange(width)
    distance = counts[peak] * x - width * counts[low + x].astype(float)
    level = low + int(numpy.argmax(distance))
    if flip:
        level = bins - 1 - level
    return float(centres[level])


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
