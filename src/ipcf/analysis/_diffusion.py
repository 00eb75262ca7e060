"""Fit of the diffusion coefficient, per pixel and pooled over a region.

:func:`diffusion_grid` chooses the values of D searched,
:func:`templates` (:func:`templates_volume` for the 3-D pCF of a volume)
pushes the free-diffusion pCF of each through the estimator, binning and
smoothing of the result (:func:`._model.process`),
:func:`fit` finds the best D of each pixel on that grid, :func:`pool`
fits the mean curves of a region with an error from blocks of pixels, and
:func:`peak_diffusion` gives the D whose model peaks where the mean curve
does: a check of the model, since free diffusion must fit both ways.

"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

import numpy

from ._model import free_volume, lags, process
from ._peaks import find_peaks

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    'AGREEMENT',
    'diffusion_grid',
    'fit',
    'peak_diffusion',
    'pool',
    'pooled',
    'templates',
    'templates_volume',
]

_GRID_STEP = 0.02
"""Step of the grid of log D searched by the fit (2 %)."""

_MODEL_VALUES = 2**22
"""Most model values (grid points x distances x delays) made at once."""

AGREEMENT = 1.15
"""Largest ratio of the pooled fit's D and the peak's D of free diffusion.

On free-diffusion simulations (32 x 32 to 64 x 64 pixels, 8192 to 16384
frames, radius 5 and 6) the ratio was 0.94-1.05; on the compartmented
cell of :func:`ipcf.simulate.channel` it was 1.31-1.38
(docs/validation.md).
"""


def diffusion_grid(
    diffusion_range: tuple[float, float] | None,
    *,
    distance: NDArray,
    w2: float,
    delays: NDArray,
) -> NDArray:
    """Return the grid of D (µm²/s), log-spaced by about 2 %.

    Parameters
    ----------
    diffusion_range : (float, float) or None
        Smallest and largest D, already checked ``0 < low < high``; None
        covers peaks from half the first delay to twice the last.
    distance : numpy.ndarray
        Distances of the circle points in µm.
    w2 : float
        Squared effective PSF radius in µm².
    delays : numpy.ndarray
        Delays of the result's bins in s.

    Examples
    --------
    >>> grid = diffusion_grid(
    ...     (1.0, 2.0), distance=numpy.ones(4), w2=0.07, delays=numpy.ones(3)
    ... )
    >>> len(grid), float(grid[0]), float(grid[-1])
    (36, 1.0, 2.0)

    """
    if diffusion_range is None:
        reach2 = max(float(distance.max()) ** 2, w2)
        near2 = min(float(distance.min()) ** 2, w2)
        # peaks from half the first delay to twice the last
        low = near2 / (4.0 * 2.0 * delays[-1])
        high = reach2 / (4.0 * 0.5 * delays[1])
    else:
        low, high = diffusion_range
    count = max(3, math.ceil(math.log(high / low) / _GRID_STEP) + 1)
    return numpy.geomspace(low, high, count)


def templates(
    grid: NDArray, distance: NDArray, w2: float, info: dict[str, Any]
) -> NDArray:
    """Return the processed free-diffusion models (grid, point, bin).

    The pCF ``(w2 / s) exp(-d² / s)`` with ``s = w2 + 4 D tau`` of every
    D of `grid` toward every point at `distance` (µm), with unit
    amplitude, is evaluated at every frame delay and processed like the
    result (:func:`._model.process`). Points at the same distance share
    one model; the grid is done in parts of at most 2**22 values.

    """
    tau = lags(info)
    classes, inverse = numpy.unique(
        numpy.round(distance, 9), return_inverse=True
    )
    d2 = (classes * classes)[:, None]
    out = numpy.empty((len(grid), len(classes), len(info['edges'])))
    step = max(1, _MODEL_VALUES // (len(classes) * len(tau)))
    for start in range(0, len(grid), step):
        diffusion = grid[start : start + step, None, None]
        spread = w2 + 4.0 * diffusion * tau
        curves = (w2 / spread) * numpy.exp(-d2 / spread)
        out[start : start + step] = process(curves, curves, info)
    return out[:, inverse.ravel()]


def templates_volume(
    grid: NDArray,
    lateral2: NDArray,
    axial2: NDArray,
    w2: float,
    wz2: float,
    info: dict[str, Any],
) -> NDArray:
    """Return the processed 3-D free-diffusion models (grid, point, bin).

    As :func:`templates` for the sphere points of a volume, whose squared
    lateral and axial offsets (µm²) are `lateral2` and `axial2`, with the
    squared effective PSF radii `w2` (lateral) and `wz2` (axial): the
    model is :func:`._model.free_volume`. Points with the same offsets
    share one model.

    """
    tau = lags(info)
    pairs = numpy.round(numpy.stack([lateral2, axial2], axis=1), 9)
    classes, inverse = numpy.unique(pairs, axis=0, return_inverse=True)
    lateral = classes[:, :1]
    axial = classes[:, 1:]
    out = numpy.empty((len(grid), len(classes), len(info['edges'])))
    step = max(1, _MODEL_VALUES // (len(classes) * len(tau)))
    for start in range(0, len(grid), step):
        diffusion = grid[start : start + step, None, None]
        curves = free_volume(lateral, axial, diffusion * tau, w2, wz2)
        out[start : start + step] = process(curves, curves, info)
    return out[:, inverse.ravel()]


def fit(
    curves: NDArray, templates: NDArray, grid: NDArray
) -> dict[str, NDArray]:
    """Return D, its error, the residual and the amplitude per curve set.

    Parameters
    ----------
    curves : numpy.ndarray, shape (P, npoints * nbins)
        One row per pixel; rows with NaN are skipped (NaN results).
    templates : numpy.ndarray, shape (len(grid), npoints, nbins)
        From :func:`templates`.
    grid : numpy.ndarray
        The D of the templates, log-spaced.

    Returns
    -------
    dict of numpy.ndarray, shape (P,)
        ``D``, ``D_error``, ``D_residual`` and ``amplitude``; NaN where
        the minimum lies at an end of the grid or the fit failed.

    Notes
    -----
    Least squares with the best amplitude >= 0 in closed form for every
    grid point, then a parabola through the minimum and its neighbours
    in log D. The error is the formal one from the parabola's curvature.

    Examples
    --------
    >>> grid = numpy.geomspace(1.0, 4.0, 71)
    >>> models = numpy.exp(-numpy.outer(1.0 / grid, numpy.arange(8.0)))
    >>> models = models[:, None, :]
    >>> out = fit(3.0 * models[35].reshape(1, -1), models, grid)
    >>> round(float(out['D'][0]), 6), round(float(out['amplitude'][0]), 6)
    (2.0, 3.0)

    """
    count = len(curves)
    models = templates.reshape(len(grid), -1)
    result = {
        key: numpy.full(count, numpy.nan)
        for key in ('D', 'D_error', 'D_residual', 'amplitude')
    }
    good = numpy.isfinite(curves).all(axis=1)
    if not good.any():
        return result
    data = curves[good]
    size = models.shape[1]
    cross = _rows_matmul(data, models.T)  # (P, grid)
    norm = (models * models).sum(axis=1)
    total = (data * data).sum(axis=1)
    # best amplitude >= 0 in closed form, and the residual sum of squares
    cross = numpy.maximum(cross, 0.0)
    residual = total[:, None] - cross * cross / norm
    best = residual.argmin(axis=1)
    inner = (best > 0) & (best < len(grid) - 1)
    mid = numpy.clip(best, 1, len(grid) - 2)
    rows = numpy.arange(len(data))
    r0 = residual[rows, mid - 1]
    r1 = residual[rows, mid]
    r2 = residual[rows, mid + 1]
    h = math.log(grid[1] / grid[0])
    bend = r0 - 2.0 * r1 + r2
    with numpy.errstate(invalid='ignore', divide='ignore'):
        shift = numpy.where(bend > 0, 0.5 * (r0 - r2) / bend, 0.0)
        shift = numpy.clip(shift, -1.0, 1.0)
        minimum = numpy.maximum(r1 - 0.25 * (r0 - r2) * shift, 0.0)
        dof = max(1, size - 2)
        # residual(x) ~ minimum + bend / (2 h²) (x - x0)²
        sigma = numpy.sqrt(2.0 * h * h * (minimum / dof) / bend)
        rel = numpy.sqrt(minimum / total)
    log_d = numpy.log(grid[mid]) + shift * h
    # amplitude at the refined D, interpolated between grid points
    amp = numpy.maximum(cross[rows, mid], 0.0) / norm[mid]
    side = numpy.where(shift >= 0, mid + 1, mid - 1)
    amp_side = numpy.maximum(cross[rows, side], 0.0) / norm[side]
    amp = amp + numpy.abs(shift) * (amp_side - amp)
    ok = inner & (bend > 0) & (cross[rows, mid] > 0)
    value = numpy.where(ok, numpy.exp(log_d), numpy.nan)
    result['D'][good] = value
    result['D_error'][good] = numpy.where(ok, value * sigma, numpy.nan)
    result['D_residual'][good] = numpy.where(ok, rel, numpy.nan)
    result['amplitude'][good] = numpy.where(ok, amp, numpy.nan)
    return result


_MATMUL_ROWS = 256
"""Rows per product in :func:`_rows_matmul`."""


def _rows_matmul(a: NDArray, b: NDArray) -> NDArray:
    """Return a @ b, each row computed the same way whatever len(a) is.

    BLAS picks its kernels by the matrices' sizes, and kernels round
    differently: products of a fixed number of rows (the last padded
    with zeros) make maps of a result in blocks equal those of the whole.
    """
    rows = _MATMUL_ROWS
    out = numpy.empty((len(a), b.shape[1]), numpy.result_type(a, b))
    pad = numpy.zeros((rows, a.shape[1]), a.dtype)
    for start in range(0, len(a), rows):
        part = a[start : start + rows]
        if len(part) < rows:
            pad[: len(part)] = part
            out[start:] = (pad @ b)[: len(part)]
        else:
            out[start : start + rows] = part @ b
    return out


def pool(
    curves: NDArray,
    finite: NDArray,
    templates: NDArray,
    grid: NDArray,
    radius: int | tuple[int, ...],
    delays: NDArray,
    *,
    select: bool = False,
) -> dict[str, Any]:
    """Return D fitted to the mean curves, its error over blocks, a check.

    Parameters
    ----------
    curves : numpy.ndarray, shape (ny, nx, npoints, nbins)
        The curves of the map; of a volume (nz, ny, nx, npoints, nbins).
    finite : numpy.ndarray of bool, shape (ny, nx) or (nz, ny, nx)
        Pixels (voxels) pooled.
    templates, grid : numpy.ndarray
        As for :func:`fit`.
    radius : int or tuple of int
        Circle radius; blocks of ``2 * radius + 1`` pixels on a side
        give the error. One per axis of `finite` for a volume: the
        sphere's reach in planes, rows and columns.
    delays : numpy.ndarray, shape (nbins,)
        Delays of the bins in s, for :func:`peak_diffusion`.
    select : bool, optional, default: False
        Check the peak over only the points whose model, at the D
        fitted, has a peak (for volumes: points near the z axis, closer
        than ``w_z``, have none and flatten the mean curve).

    Returns
    -------
    dict
        ``D``, ``D_error``, ``residual`` (of the fit, relative, as
        ``D_residual``) and ``D_peak`` (:func:`peak_diffusion` of the
        mean curves), floats, NaN if undefined; ``free`` (bool: ``D``
        and ``D_peak`` are finite and agree within a factor
        :data:`AGREEMENT`); ``pixels`` and ``blocks`` (int): the pixels
        pooled and the blocks of the error. Blocks cut by the map's edge
        count if at least half full.

    """
    pixels = int(finite.sum())
    if not pixels:
        return pooled(None, [], 0, templates, grid, delays)
    flat = curves.reshape(finite.size, -1)
    mean = flat[finite.ravel()].mean(axis=0)
    if isinstance(radius, int):
        radius = (radius,) * finite.ndim
    sizes = [2 * value + 1 for value in radius]
    full = math.prod(sizes)
    means = []
    starts = [
        range(0, n, size) for n, size in zip(finite.shape, sizes, strict=True)
    ]
    for corner in itertools.product(*starts):
        where = tuple(
            slice(start, start + size)
            for start, size in zip(corner, sizes, strict=True)
        )
        block = finite[where]
        if block.sum() * 2 >= full:
            part = curves[where][block]
            means.append(part.reshape(len(part), -1).mean(axis=0))
    return pooled(mean, means, pixels, templates, grid, delays, select=select)


def pooled(
    mean: NDArray | None,
    means: list[NDArray],
    pixels: int,
    templates: NDArray,
    grid: NDArray,
    delays: NDArray,
    *,
    select: bool = False,
) -> dict[str, Any]:
    """Return what :func:`pool` returns, from the means it takes.

    `mean` is the mean curve set (``npoints * nbins`` values) of the
    `pixels` pooled (None if none), `means` those of the blocks at least
    half full, in order; the other arguments are those of :func:`pool`.
    A blocked analysis accumulates the means and calls this once.

    """
    out: dict[str, Any] = {
        'D': math.nan,
        'D_error': math.nan,
        'residual': math.nan,
        'D_peak': math.nan,
        'free': False,
        'pixels': pixels,
        'blocks': 0,
    }
    if mean is None or not pixels:
        return out
    fitted = fit(mean[None], templates, grid)
    out['D'] = float(fitted['D'][0])
    out['residual'] = float(fitted['D_residual'][0])
    curve = mean.reshape(templates.shape[1:])
    models = templates
    if select and math.isfinite(out['D']):
        # only the points whose model peaks at the fitted D
        near = int(numpy.abs(numpy.log(grid / out['D'])).argmin())
        peaked = numpy.isfinite(find_peaks(templates[near], delays)[0])
        if peaked.any():
            curve, models = curve[peaked], templates[:, peaked]
    out['D_peak'] = peak_diffusion(curve, models, grid, delays)
    ratio = out['D_peak'] / out['D']
    out['free'] = bool(1.0 / AGREEMENT <= ratio <= AGREEMENT)
    if len(means) >= 2:
        values = fit(numpy.array(means), templates, grid)['D']
        values = values[numpy.isfinite(values)]
        if len(values) >= 2:
            out['D_error'] = float(values.std(ddof=1) / math.sqrt(len(values)))
            out['blocks'] = len(values)
    return out


def peak_diffusion(
    curves: NDArray, templates: NDArray, grid: NDArray, delays: NDArray
) -> float:
    """Return the D of free diffusion whose curves peak where curves do.

    Parameters
    ----------
    curves : numpy.ndarray, shape (npoints, nbins)
        Curves of one pixel or the mean of a region.
    templates, grid : numpy.ndarray
        As for :func:`fit`.
    delays : numpy.ndarray, shape (nbins,)
        Delays of the bins in s.

    Returns
    -------
    float
        The D (µm²/s) whose templates, averaged over the points, peak at
        the delay where `curves` averaged over the points peak, both
        located by :func:`._peaks.find_peaks`, interpolated in log D
        against log delay; NaN without a peak or outside the grid.

    Notes
    -----
    The fit weighs every bin; the peak only the few around it. For free
    diffusion both give the same D. Confinement (walls, the edge of a
    compartment within reach of the circle, few molecules per
    compartment), a flow or several populations change the shape of the
    curves and make them disagree.

    Examples
    --------
    >>> delays = numpy.geomspace(1e-3, 1.0, 12)
    >>> delays[0] = 0.0
    >>> grid = numpy.geomspace(0.5, 8.0, 101)
    >>> tau = delays[None, None, :]
    >>> models = numpy.exp(-((numpy.log(tau + 1e-9) + numpy.log(
    ...     grid[:, None, None] * 20.0)) ** 2))
    >>> round(peak_diffusion(models[50], models, grid, delays), 6)
    2.0

    """
    delay, _, _ = find_peaks(curves.mean(axis=0), delays)
    model, _, _ = find_peaks(templates.mean(axis=1), delays)
    good = numpy.isfinite(model)
    if not numpy.isfinite(delay) or good.sum() < 2:
        return math.nan
    # the models' peaks come earlier the larger D is
    x = -numpy.log(model[good])
    y = numpy.log(grid[good])
    order = numpy.argsort(x, kind='stable')
    x, y = x[order], y[order]
    value = -math.log(float(delay))
    if not x[0] <= value <= x[-1]:
        return math.nan
    return float(math.exp(numpy.interp(value, x, y)))
