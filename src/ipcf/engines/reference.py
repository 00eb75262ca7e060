"""Reference engine: a plain per-pixel loop in float64, the truth.

Written for clarity, not speed: every pair of pixels is correlated with
:func:`ipcf.correlate` exactly as SPEC states it, then binned and
smoothed. Every other engine is tested against this one.

"""

from __future__ import annotations

import numpy

from ..correlate import correlate
from ..pcf import average_bins, smooth

NAME = 'reference'

_TILE_BYTES = 256 * 2**20


def available() -> bool:
    """Return True: the reference engine needs only numpy."""
    return True


def tile_rows(
    nframes: int, height: int, width: int, radius: int, *, itemsize: int = 4
) -> int:
    """Return result rows per tile, keeping a float64 tile near 256 MB."""
    row_bytes = nframes * width * 8
    return max(1, _TILE_BYTES // row_bytes - 2 * radius)


def compute(
    data,
    out,
    *,
    points,
    edges,
    mask=None,
    mode='circular',
    num_threads=None,
    neighbour=None,
):
    """Fill out[y, x, point, bin] from a tile of shape (N, h + 2r, W)."""
    data = numpy.asarray(data, dtype=numpy.float64)
    second = (
        data
        if neighbour is None
        else numpy.asarray(neighbour, dtype=numpy.float64)
    )
    nframes = data.shape[0]
    ndelays = nframes // 2
    ny, nx = out.shape[:2]
    radius = (data.shape[1] - ny) // 2
    for y in range(ny):
        for x in range(nx):
            if mask is not None and not mask[y, x]:
                continue
            a = data[:, y + radius, x + radius]
            for i, (u, v) in enumerate(points):
                b = second[:, y + radius + v, x + radius + u]
                g = _pair_curve(a, b, mode, ndelays)
                out[y, x, i] = smooth(average_bins(g, edges))


def _pair_curve(a, b, mode, ndelays):
    """Return G(tau) for tau = 0 .. ndelays-1, centre a toward b."""
    n = a.size
    mean_a = a.mean()
    mean_b = b.mean()
    norm = n * mean_a * mean_b
    if norm == 0.0:
        return numpy.full(ndelays, numpy.nan)
    if mode == 'circular':
        c = correlate(b, a, mode='circular', backend='numpy_fft')
        return c[n // 2 : n // 2 + ndelays] / norm - 1.0
    c = correlate(b - mean_b, a - mean_a, mode='linear', backend='numpy_fft')
    return c[n // 2 : n // 2 + ndelays] / norm
