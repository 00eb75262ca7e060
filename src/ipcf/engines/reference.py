"""Reference engine: a plain per-pixel loop in float64, the truth.

Written for clarity, not speed: every pair of pixels is correlated with
:func:`ipcf.correlate` exactly as SPEC states it, then binned and
smoothed. Every other engine is tested against this one.

"""

from __future__ import annotations

from typing import Any

import numpy

from ..correlate import correlate
from ..plan import Plan, average_bins, smooth

NAME = 'reference'


def available() -> bool:
    """Return True: the reference engine needs only numpy."""
    return True


def compute(
    plan: Plan,
    reader: Any,
    out: numpy.ndarray,
    *,
    mask: numpy.ndarray | None = None,
    num_threads: int = 1,
    progress: Any = None,
) -> None:
    """Fill out[direction, y, x, point, bin]; see :mod:`ipcf.engines`.

    Volume plans fill ``out[direction, z, y, x, point, bin]`` by the same
    direct loop over centres and points, in three dimensions; the other
    engines compute them plane by plane (:mod:`ipcf.engines._volume`).

    """
    channels = [_whole(reader, c) for c in range(reader.nchannels)]
    centre = channels[0]
    neighbour = channels[1] if plan.cross else centre
    directions = [(centre, neighbour)]
    if plan.reverse:
        directions.append((neighbour, centre))
    grid = out.shape[1:-2]
    halo = numpy.asarray(plan.halo)
    # offsets (u, v[, w]) in array order ([w,] v, u)
    steps = numpy.asarray(plan.offsets)[:, ::-1].tolist()
    wanted = (
        numpy.ones((len(directions), plan.npoints), bool)
        if plan.curves is None
        else numpy.asarray(plan.curves, bool)
    )
    for d, (first, second) in enumerate(directions):
        for index in numpy.ndindex(*grid[:-1]):
            for x in range(grid[-1]):
                pixel = (*index, x)
                if mask is not None and not mask[pixel]:
                    continue
                at = halo + pixel
                a = first[(slice(None), *at)]
                for i, step in enumerate(steps):
                    if not wanted[d, i]:
                        continue
                    b = second[(slice(None), *(at + step))]
                    g = average_bins(
                        _pair_curve(
                            a, b, plan.mode, plan.nframes // 2, plan.offset
                        ),
                        plan.edges,
                    )
                    out[(d, *pixel, i)] = smooth(g) if plan.smoothing else g
            if progress is not None:
                progress(grid[-1])


def _whole(reader: Any, channel: int) -> numpy.ndarray:
    """Return all frames of a channel in float64, (N, [Z,] H, W)."""
    shape = reader.shape
    if len(shape) == 3:
        block = reader.read(channel, 0, shape[1], 0, shape[2])
        return numpy.asarray(block, numpy.float64)
    _, depth, height, width = shape
    volume = numpy.empty(shape, numpy.float64)
    for z in range(depth):
        plane = reader.planes([(channel, z)])
        volume[:, z] = plane.read(0, 0, height, 0, width)
    return volume


def _pair_curve(a, b, mode, ndelays, offset=0.0):
    """Return G(tau) for tau = 0 .. ndelays-1, centre a toward b.

    The normalisation is ``N (<a> - offset) (<b> - offset)``; pairs with
    a mean that does not exceed the offset are NaN.

    """
    n = a.size
    mean_a = a.mean()
    mean_b = b.mean()
    if not (mean_a > offset and mean_b > offset):
        return numpy.full(ndelays, numpy.nan)
    norm = n * (mean_a - offset) * (mean_b - offset)
    if norm == 0.0:
        return numpy.full(ndelays, numpy.nan)
    if mode == 'circular':
        # <a b> / ((<a>-o)(<b>-o)) - <a><b> / ((<a>-o)(<b>-o)); exactly
        # <a b> / (<a><b>) - 1 for offset 0
        c = correlate(b, a, mode='circular', backend='numpy_fft')
        base = n * mean_a * mean_b / norm
        return c[n // 2 : n // 2 + ndelays] / norm - base
    c = correlate(b - mean_b, a - mean_a, mode='linear', backend='numpy_fft')
    return c[n // 2 : n // 2 + ndelays] / norm
