"""Direction of transport from the angular moments of the peak rises.

:func:`moments` gives the flow direction and strength from the first
moment of the rises over the circle's angles, and the axis and strength
of anisotropic transport (a channel) from the second;
:func:`moments_volume` does the same over the unit vectors of a
sphere's points. :func:`flow_speed` (:func:`flow_speed_volume`) turns
the peak delays of the points along the flow into a speed.

"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy

from ._model import lags, process
from ._peaks import find_peaks

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    'flow_speed',
    'flow_speed_volume',
    'flow_tables',
    'moments',
    'moments_volume',
]

_SPEED_COS = math.cos(math.radians(45.0))
"""Points within 45 degrees of the flow direction give its speed."""


def moments(
    rise: NDArray, angle: NDArray
) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Return flow angle and strength, anisotropy and axis angle.

    Parameters
    ----------
    rise : numpy.ndarray, shape (..., npoints)
        Peak rises; negative ones weigh 0, NaN ones are skipped.
    angle : numpy.ndarray, shape (npoints,)
        Angles of the points in radians.

    Returns
    -------
    flow_angle, flow_strength, anisotropy, axis_angle : numpy.ndarray
        Shape (...). ``sum A exp(1j theta) / sum A`` gives the flow
        angle (its argument) and strength (its modulus);
        ``sum A exp(2j theta) / sum A`` the anisotropy (modulus) and
        the axis (half its argument, in ``(-pi/2, pi/2]``). NaN where
        no rise is positive.

    Examples
    --------
    >>> angle = numpy.linspace(0, 2 * numpy.pi, 8, endpoint=False)
    >>> rise = numpy.where(numpy.cos(angle) > 0.9, 1.0, 0.0)
    >>> [round(float(v), 6) for v in moments(rise, angle)]
    [0.0, 1.0, 1.0, 0.0]

    """
    weight = numpy.nan_to_num(numpy.maximum(rise, 0.0), nan=0.0)
    total = weight.sum(axis=-1)
    # tensordot runs BLAS; matmul of real by complex does not
    first = numpy.tensordot(weight, numpy.exp(1j * angle), axes=(-1, 0))
    second = numpy.tensordot(weight, numpy.exp(2j * angle), axes=(-1, 0))
    with numpy.errstate(invalid='ignore', divide='ignore'):
        valid = total > 0
        first = numpy.where(valid, first / total, numpy.nan)
        second = numpy.where(valid, second / total, numpy.nan)
    nan = numpy.isnan(rise).all(axis=-1) | ~valid
    flow_angle = numpy.where(nan, numpy.nan, numpy.angle(first))
    strength = numpy.where(nan, numpy.nan, numpy.abs(first))
    anisotropy = numpy.where(nan, numpy.nan, numpy.abs(second))
    axis = 0.5 * numpy.angle(second)
    axis = numpy.where(axis <= -math.pi / 2, axis + math.pi, axis)
    axis = numpy.where(nan, numpy.nan, axis)
    return flow_angle, strength, anisotropy, axis


def flow_speed(
    peak_delay: NDArray,
    rise: NDArray,
    flow_angle: NDArray,
    angle: NDArray,
    distance: NDArray,
    w2: float,
    info: dict[str, Any],
    *,
    tables: dict[tuple[float, float], tuple[NDArray, NDArray]] | None = None,
) -> NDArray:
    """Return the flow speed from the peak delays of points near the flow.

    Parameters
    ----------
    peak_delay, rise : numpy.ndarray, shape (ny, nx, npoints)
        From :func:`._peaks.find_peaks` and :func:`._peaks.peak_rise`.
    flow_angle : numpy.ndarray, shape (ny, nx)
        From :func:`moments`.
    angle, distance : numpy.ndarray, shape (npoints,)
        The points' angles (rad) and distances (µm).
    w2 : float
        Squared effective PSF radius in µm².
    info : dict
        What :func:`._result.check_result` returns about the result.
    tables : dict, optional
        From :func:`flow_tables` of the same points, to reuse across
        blocks of pixels; None (default) makes them.

    Returns
    -------
    numpy.ndarray, shape (ny, nx)
        Speed in µm/s; NaN where no point within 45 degrees of the flow
        has a peak.

    Notes
    -----
    Each point's peak delay is turned into the speed of a pure flow
    along the point's direction whose binned and smoothed pCF peaks
    there; its projection on the flow direction is averaged with the
    rises as weights.

    """
    cosine = numpy.cos(angle - numpy.nan_to_num(flow_angle)[..., None])
    widths = numpy.full(len(distance), w2)
    if tables is None:
        tables = flow_tables(distance, widths, info)
    return _speed(
        peak_delay,
        rise,
        cosine,
        numpy.isfinite(flow_angle),
        distance,
        widths,
        tables,
    )


def flow_tables(
    distance: NDArray, w2: NDArray, info: dict[str, Any]
) -> dict[tuple[float, float], tuple[NDArray, NDArray]]:
    """Return the pure-flow peak tables of the points' (distance, w2).

    One table of log speeds and log peak delays (:func:`_flow_table`)
    per distinct pair of a point's distance (µm) and squared PSF radius
    along it (µm², one per point in `w2`).

    """
    classes = numpy.unique(numpy.stack([distance, w2], axis=1), axis=0)
    return {
        (float(value), float(width)): _flow_table(value, width, info)
        for value, width in classes
    }


def flow_speed_volume(
    peak_delay: NDArray,
    rise: NDArray,
    flow: NDArray,
    unit: NDArray,
    distance: NDArray,
    w2: NDArray,
    info: dict[str, Any],
) -> NDArray:
    """Return the flow speed of a volume, as :func:`flow_speed`.

    Parameters
    ----------
    peak_delay, rise : numpy.ndarray, shape (nz, ny, nx, npoints)
        From :func:`._peaks.find_peaks` and :func:`._peaks.peak_rise`.
    flow : numpy.ndarray, shape (nz, ny, nx, 3)
        First moment from :func:`moments_volume` (its direction counts).
    unit : numpy.ndarray, shape (npoints, 3)
        Unit vectors of the points (physical units).
    distance : numpy.ndarray, shape (npoints,)
        The points' distances in µm.
    w2 : numpy.ndarray, shape (npoints,)
        Squared effective PSF radius along each point's direction, µm²:
        ``1 / (sin² polar / w'² + cos² polar / w_z²)``.
    info : dict
        What :func:`._result.check_result` returns about the result.

    Returns
    -------
    numpy.ndarray, shape (nz, ny, nx)
        Speed in µm/s; NaN where no point within 45 degrees of the flow
        has a peak.

    """
    norm = numpy.linalg.norm(flow, axis=-1)
    with numpy.errstate(invalid='ignore', divide='ignore'):
        direction = numpy.nan_to_num(flow / norm[..., None])
    cosine = direction @ unit.T
    valid = numpy.isfinite(norm) & (norm > 0)
    tables = flow_tables(distance, w2, info)
    return _speed(peak_delay, rise, cosine, valid, distance, w2, tables)


def _speed(
    peak_delay: NDArray,
    rise: NDArray,
    cosine: NDArray,
    valid: NDArray,
    distance: NDArray,
    w2: NDArray,
    tables: dict[tuple[float, float], tuple[NDArray, NDArray]],
) -> NDArray:
    """Return the rise-weighted speed of the points near the flow.

    `cosine` (..., npoints) is that of each point's direction with the
    flow, `valid` (...) where there is a flow; `w2` the squared PSF
    radius along each point; `tables` from :func:`flow_tables`.

    """
    along = numpy.empty_like(peak_delay)
    for (value, width), (speeds, delays) in tables.items():
        sel = (distance == value) & (w2 == width)
        if len(speeds) < 2:
            along[..., sel] = numpy.nan
            continue
        with numpy.errstate(invalid='ignore', divide='ignore'):
            logs = numpy.log(peak_delay[..., sel])
        inside = (logs >= delays[0]) & (logs <= delays[-1])
        found = numpy.interp(logs, delays, speeds)
        along[..., sel] = numpy.where(inside, numpy.exp(found), numpy.nan)
    use = (
        (cosine >= _SPEED_COS)
        & numpy.isfinite(along)
        & (numpy.nan_to_num(rise) > 0)
    )
    weight = numpy.where(use, rise, 0.0)
    speed = numpy.where(use, along * cosine, 0.0)
    total = weight.sum(axis=-1)
    with numpy.errstate(invalid='ignore', divide='ignore'):
        mean = (weight * speed).sum(axis=-1) / total
    valid = (total > 0) & valid
    return numpy.where(valid, mean, numpy.nan)


def moments_volume(rise: NDArray, unit: NDArray) -> dict[str, NDArray]:
    """Return the first and second moments of rises over unit vectors.

    Parameters
    ----------
    rise : numpy.ndarray, shape (..., npoints)
        Peak rises; negative ones weigh 0, NaN ones are skipped.
    unit : numpy.ndarray, shape (npoints, 3)
        Unit vectors ``(x, y, z)`` of the points in physical units.

    Returns
    -------
    dict of numpy.ndarray
        ``flow`` (..., 3): ``sum A e / sum A``, whose length is
        ``flow_strength`` (0 isotropic, 1 all one way); ``anisotropy``
        (...): the largest eigenvalue ``S`` of the order tensor ``sum A
        (3 e e^T - I) / (2 sum A)`` (0 isotropic, 1 all along one axis,
        down to -1/2 for transport confined to a plane), and ``axis``
        (..., 3) its unit eigenvector, signed so that x >= 0 (then
        y >= 0 where x = 0, z >= 0 where both are). NaN where no rise is
        positive.

    Examples
    --------
    >>> unit = numpy.array([[1, 0, 0], [-1, 0, 0], [0, 0, 1], [0, 0, -1.]])
    >>> out = moments_volume(numpy.array([1.0, 0.0, 0.0, 0.0]), unit)
    >>> out['flow'].tolist(), round(float(out['anisotropy']), 6)
    ([1.0, 0.0, 0.0], 1.0)
    >>> out = moments_volume(numpy.array([0.0, 0.0, 1.0, 1.0]), unit)
    >>> out['flow'].tolist(), out['axis'].tolist()
    ([0.0, 0.0, 0.0], [0.0, 0.0, 1.0])

    """
    weight = numpy.nan_to_num(numpy.maximum(rise, 0.0), nan=0.0)
    total = weight.sum(axis=-1)
    nan = numpy.isnan(rise).all(axis=-1) | ~(total > 0)
    with numpy.errstate(invalid='ignore', divide='ignore'):
        share = weight / total[..., None]
    share = numpy.where(nan[..., None], 0.0, share)
    flow = share @ unit
    outer = numpy.einsum('pi,pj->pij', unit, unit)
    second = numpy.einsum('...p,pij->...ij', share, outer)
    order = 1.5 * second - 0.5 * numpy.eye(3)
    values, vectors = numpy.linalg.eigh(order)
    axis = vectors[..., :, -1]
    # a sign for the axis: the first non-zero component positive
    first = numpy.where(
        numpy.abs(axis[..., 0]) > 1e-12,
        axis[..., 0],
        numpy.where(
            numpy.abs(axis[..., 1]) > 1e-12, axis[..., 1], axis[..., 2]
        ),
    )
    axis = numpy.where(first[..., None] < 0, -axis, axis)
    flow = numpy.where(nan[..., None], numpy.nan, flow)
    return {
        'flow': flow,
        'anisotropy': numpy.where(nan, numpy.nan, values[..., -1]),
        'axis': numpy.where(nan[..., None], numpy.nan, axis),
    }


def _flow_table(
    distance: float, w2: float, info: dict[str, Any]
) -> tuple[NDArray, NDArray]:
    """Return log speeds and the log peak delays of their processed pCF.

    Pure flow toward a point at `distance` µm; only speeds whose peak
    lies between bins, in increasing order of peak delay.

    """
    delays = info['delays']
    tau = lags(info)
    # speeds whose unprocessed peak d / v spans the delays, 4 % apart
    low = math.log(distance / (2.0 * delays[-1]))
    high = math.log(distance / (0.5 * delays[1]))
    speeds = numpy.exp(numpy.arange(low, high, 0.04))
    forward = numpy.exp(-((distance - speeds[:, None] * tau) ** 2) / w2)
    backward = numpy.exp(-((distance + speeds[:, None] * tau) ** 2) / w2)
    curves = process(forward, backward, info)
    peak, _, _ = find_peaks(curves, delays)
    # keep the run where the peak delay falls as the speed grows
    logs = numpy.log(speeds)[::-1]
    peaks = numpy.log(peak)[::-1]
    keep = numpy.isfinite(peaks)
    logs, peaks = logs[keep], peaks[keep]
    before = numpy.maximum.accumulate(peaks)[:-1]
    increasing = numpy.concatenate(([True], peaks[1:] > before))
    return logs[increasing], peaks[increasing]
