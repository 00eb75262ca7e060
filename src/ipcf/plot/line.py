"""The pCF carpet of a line scan (matplotlib).

:func:`pcf_carpet` draws what :func:`ipcf.line.pcf_line` returns as the
field draws it: position along the line across, log delay downward, the
curves toward ``+d`` and toward ``-d`` side by side, and the intensity
carpet (position across, scan time downward) beside them. A barrier
shows as a band of positions whose correlation across it is missing or
arrives late, on the side of the band that faces it in each direction.

"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy

from .._validate import check_int
from ._common import (
    CMAP,
    INTENSITY,
    colormap,
    delay_axis,
    delay_unit,
    limits,
    masked_note,
    panel_row,
    spatial,
)

if TYPE_CHECKING:
    import xarray
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

__all__ = ['pcf_carpet']


def pcf_carpet(
    result: xarray.DataArray,
    /,
    carpet: ArrayLike | None = None,
    *,
    distance: int | None = None,
    line: int = 0,
    pixel_size: float | None = None,
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Plot the pCF carpet at ±d beside the intensity carpet.

    Parameters
    ----------
    result : xarray.DataArray
        Result of :func:`ipcf.line.pcf_line`.
    carpet : array_like, shape (T, X) or (T, L, X), optional
        The intensities analysed, drawn beside the pCF (scans downward).
        None draws the pCF panels only.
    distance : int, optional
        Distance in pixels whose curves to draw, one of the result's;
        None (default) takes the largest.
    line : int, optional, default: 0
        Line of a result of several lines.
    pixel_size : float, optional
        Distance between positions in µm; positions are then in µm, else
        in pixels. None takes the result's ``pixel_size`` attribute.
    axes : sequence of matplotlib.axes.Axes, optional
        Axes to draw into: two (``+d``, ``-d``), or three with a carpet
        (intensity first). None makes a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        If `result` is not a line pCF, or an option has the wrong type.
    ValueError
        If the distance or line is not in the result, the carpet's
        positions do not match, or `axes` has the wrong length.

    Examples
    --------
    >>> from ipcf.line import pcf_line
    >>> data = numpy.random.default_rng(0).poisson(100, (256, 24))
    >>> result = pcf_line(data, distance=[2, 4], nbins=8)
    >>> fig = pcf_carpet(result, data)
    >>> [ax.get_title() for ax in fig.axes[:3]]
    ['intensity', 'pCF toward +4 pixels', 'pCF toward -4 pixels']

    """
    values, offsets = _check(result, distance, line)
    scale, unit = spatial(
        pixel_size
        if pixel_size is not None
        else result.attrs.get('pixel_size')
    )
    intensity = None
    if carpet is not None:
        intensity = _intensity(carpet, result, line)
    npanels = 2 if intensity is None else 3
    fig, axes = panel_row(
        axes,
        npanels,
        panel=(4.0, 4.5),
        message=f'axes has {{given}} axes; {npanels} are needed here',
    )
    positions = result['x'].values
    delays = result['delay'].values
    if intensity is not None:
        ax = axes[0]
        width = intensity.shape[1]
        ax.imshow(
            intensity,
            aspect='auto',
            cmap=colormap(INTENSITY),
            interpolation='nearest',
            extent=_span(0, width - 1, scale) + (len(intensity) - 0.5, -0.5),
        )
        ax.set(
            title='intensity',
            xlabel=f'position ({unit})',
            ylabel='scan',
        )
    vmin, vmax = limits(numpy.concatenate([v.ravel() for v in values]))
    image = None
    for ax, curves, offset in zip(
        axes[npanels - 2 :], values, offsets, strict=True
    ):
        image = ax.imshow(
            numpy.ma.masked_invalid(curves.T),
            aspect='auto',
            cmap=colormap(CMAP),
            vmin=vmin,
            vmax=vmax,
            interpolation='nearest',
            extent=_span(positions[0], positions[-1], scale)
            + (len(delays) - 0.5, -0.5),
        )
        delay_axis(ax, delays, delay_unit(result), axis='y', bins=True)
        ax.set(
            title=f'pCF toward {offset:+d} pixels' + masked_note(curves),
            xlabel=f'position ({unit})',
        )
    assert image is not None
    fig.colorbar(image, ax=list(axes[npanels - 2 :]), label='G')
    return fig


def _check(
    result: Any, distance: Any, line: Any
) -> tuple[list[numpy.ndarray], list[int]]:
    """Return the (x, delay) curves at +d and -d, and the two offsets."""
    import xarray

    if not isinstance(result, xarray.DataArray) or not {
        'x',
        'offset',
        'delay',
    } <= set(result.dims):
        msg = (
            f'result is a {type(result).__name__}, not the DataArray of '
            'ipcf.line.pcf_line (dims x, offset, delay)'
        )
        raise TypeError(msg)
    if 'line' in result.dims:
        line = check_int(line, 'line', minimum=0)
        if line >= result.sizes['line']:
            msg = f'{line=} is not below the {result.sizes["line"]} lines'
            raise ValueError(msg)
        result = result.isel(line=line)
    offsets = result['offset'].values.tolist()
    if distance is None:
        distance = max(abs(o) for o in offsets)
    distance = check_int(distance, 'distance', minimum=0)
    if distance not in offsets:
        known = sorted({abs(o) for o in offsets})
        msg = f'{distance=} is not in the result; it holds {known}'
        raise ValueError(msg)
    pair = [distance, -distance]
    return [result.sel(offset=o).values for o in pair], pair


def _intensity(carpet: Any, result: Any, line: int) -> numpy.ndarray:
    """Return the (T, X) intensities of one line of a carpet."""
    values = numpy.asarray(carpet)
    if values.ndim == 3:
        values = values[:, line]
    if values.ndim != 2:
        msg = f'carpet.shape={values.shape} is not (T, X) or (T, L, X)'
        raise ValueError(msg)
    last = int(result['x'].values[-1])
    if values.shape[1] <= last:
        msg = (
            f'carpet has {values.shape[1]} positions; the result reaches '
            f'position {last}'
        )
        raise ValueError(msg)
    return values


def _span(
    first: float, last: float, scale: float | None
) -> tuple[float, float]:
    """Return the horizontal extent of positions first..last."""
    if scale is None:
        return (first - 0.5, last + 0.5)
    return (first * scale, (last + 1) * scale)
