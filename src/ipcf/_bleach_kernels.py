"""Numba kernels of :mod:`ipcf.bleach`; callers pass checked arrays.

Every kernel works on ``x`` of shape ``(T, H, W)`` (any strides) and a set
of pixel runs ``tiles`` (rows of ``(y, x0, x1)``: row ``y``, columns
``x0:x1``), so that threads can split the pixels among themselves. Time is
the outer loop and the pixels of a run the inner one: each frame's run is
read contiguously, which keeps the memory traffic sequential.

The value written for a sample ``v`` with trend ``s`` and pixel mean ``m``
is ``sqrt(|m / s|) * (v - s) + m``, ``m`` where ``s == 0``, rounded half to
even and clipped to ``[lo, hi]`` for integer output (``integer`` True).

"""

from __future__ import annotations

import math

import numba
import numpy

__all__ = ['filter_correct', 'model_correct', 'pixel_sums']


@numba.njit(cache=True, nogil=True, error_model='numpy', inline='always')
def _rescale(v, s, m, lo, hi, integer):  # pragma: no cover
    # computed before the select, without branches, so loops vectorize
    r = math.sqrt(abs(m / s)) * (v - s) + m
    r = m if s == 0.0 else r
    if integer:
        r = numpy.rint(r)
        r = min(max(r, lo), hi)
    return r


@numba.njit(cache=True, nogil=True, error_model='numpy')
def filter_correct(
    x,
    out,
    oy,
    ox,
    tiles,
    size,
    floor_mean,
    lo,
    hi,
    integer,
    proto,
    checkpoint,
    sums,
):  # pragma: no cover
    """Write the SPEC double-exponential correction of tiles to out.

    ``out[:, oy + y, ox + c]`` gets the first frames of the ``T - 2 *
    size`` corrected ones of ``x[:, y, c]`` (all of them if it has as
    many): an offset into a larger buffer keeps both C-ordered, which
    the loops need to vectorize. ``sums`` (float64, shaped like a
    frame, or empty) the sum over those frames of each pixel as stored
    in ``out``: exact for integer output. ``proto`` is an array of the
    type sums are accumulated in (int64 for integer input, float64 for
    float input). The forward smoothing
    is kept at every ``checkpoint``-th frame only and recomputed, frame
    block by frame block, on the way back: the same operations in the
    same order, so the result is bit for bit that of a full buffer, with
    a quarter of the memory traffic.

    """
    nframes = x.shape[0]
    nout = out.shape[0]
    f0 = 1.0 / size
    f1 = 1.0 - f0
    width = 1
    for k in range(tiles.shape[0]):
        width = max(width, tiles[k, 2] - tiles[k, 1])
    nchecks = (nframes - 1) // checkpoint + 1
    acc = numpy.zeros(width, proto.dtype)
    checks = numpy.empty((nchecks, width))
    block = numpy.empty((checkpoint, width))
    mean = numpy.empty(width)
    back = numpy.empty(width)
    total = numpy.empty(width)
    keep_sums = sums.size > 0
    for k in range(tiles.shape[0]):
        y = tiles[k, 0]
        c0 = tiles[k, 1]
        n = tiles[k, 2] - c0
        # 1-D views of the run: loops over them vectorize
        a = acc[:n]
        b = back[:n]
        m = mean[:n]
        # forward smoothing; keep frames 0, checkpoint, 2 * checkpoint, ...
        xv = x[0, y, c0 : c0 + n]
        first = checks[0]
        for i in range(n):
            a[i] = xv[i]
            b[i] = xv[i]
            first[i] = b[i]
        for t in range(1, nframes):
            xv = x[t, y, c0 : c0 + n]
            for i in range(n):
                v = xv[i]
                a[i] += v
                b[i] = f0 * v + f1 * b[i]
            if t % checkpoint == 0:
                kept = checks[t // checkpoint]
                for i in range(n):
                    kept[i] = b[i]
        for i in range(n):
            if floor_mean:
                m[i] = a[i] // nframes
            else:
                m[i] = a[i] / nframes
        tv = total[:n]
        for i in range(n):
            tv[i] = 0.0
        # backward smoothing from the last frame, block by block
        last = nframes - 1
        for c in range(nchecks - 1, -1, -1):
            t0 = c * checkpoint
            t1 = min(t0 + checkpoint, nframes)
            if t1 <= size:
                break
            # recompute the forward values of frames t0..t1-1
            kept = checks[c]
            b0 = block[0]
            for i in range(n):
                b0[i] = kept[i]
            for t in range(t0 + 1, t1):
                b0 = block[t - t0 - 1]
                b1 = block[t - t0]
                xv = x[t, y, c0 : c0 + n]
                for i in range(n):
                    b1[i] = f0 * xv[i] + f1 * b0[i]
            for t in range(t1 - 1, t0 - 1, -1):
                if t < size:
                    break
                b1 = block[t - t0]
                if t == last:
                    for i in range(n):
                        b[i] = b1[i]
                else:
                    for i in range(n):
                        b[i] = f0 * b1[i] + f1 * b[i]
                if t < size + nout:
                    xv = x[t, y, c0 : c0 + n]
                    ov = out[t - size, oy + y, ox + c0 : ox + c0 + n]
                    for i in range(n):
                        ov[i] = _rescale(xv[i], b[i], m[i], lo, hi, integer)
                    if keep_sums:
                        for i in range(n):
                            tv[i] += ov[i]
        if keep_sums:
            sv = sums[y, c0 : c0 + n]
            for i in range(n):
                sv[i] = tv[i]


@numba.njit(cache=True, nogil=True, error_model='numpy')
def pixel_sums(x, tiles, out):  # pragma: no cover
    """Write the sum over time of each pixel of tiles to out (H, W)."""
    nframes = x.shape[0]
    width = 1
    for k in range(tiles.shape[0]):
        width = max(width, tiles[k, 2] - tiles[k, 1])
    acc = numpy.zeros(width, out.dtype)
    for k in range(tiles.shape[0]):
        y = tiles[k, 0]
        c0 = tiles[k, 1]
        n = tiles[k, 2] - c0
        a = acc[:n]
        for i in range(n):
            a[i] = 0
        for t in range(nframes):
            xv = x[t, y, c0 : c0 + n]
            for i in range(n):
                a[i] += xv[i]
        ov = out[y, c0 : c0 + n]
        for i in range(n):
            ov[i] = a[i]


@numba.njit(cache=True, nogil=True, error_model='numpy')
def model_correct(
    x, out, tiles, mean, basis, coef, offset, amplitude, rate, lo, hi, integer
):  # pragma: no cover
    """Write the correction of tiles by a fitted trend to out.

    The trend of pixel ``(y, x)`` at frame ``t`` is
    ``sum_j basis[t, j] * coef[j, y, x]`` plus
    ``offset[y, x] + sum_j amplitude[j, y, x] * exp(-rate[j, y, x] * t)``;
    pass empty ``basis``/``coef`` or ``amplitude``/``rate`` to leave a
    part out. The exponentials are advanced by one multiplication per
    frame (relative drift below 1e-11 over 10**5 frames). Only the first
    ``out.shape[0]`` frames are written.

    """
    nframes = min(x.shape[0], out.shape[0])
    nbasis = basis.shape[1]
    nexp = amplitude.shape[0]
    width = 1
    for k in range(tiles.shape[0]):
        width = max(width, tiles[k, 2] - tiles[k, 1])
    power = numpy.empty((nexp, width))
    ratio = numpy.empty((nexp, width))
    for k in range(tiles.shape[0]):
        y = tiles[k, 0]
        c0 = tiles[k, 1]
        n = tiles[k, 2] - c0
        for j in range(nexp):
            for i in range(n):
                power[j, i] = amplitude[j, y, c0 + i]
                ratio[j, i] = math.exp(-rate[j, y, c0 + i])
        for t in range(nframes):
            xv = x[t, y, c0 : c0 + n]
            ov = out[t, y, c0 : c0 + n]
            for i in range(n):
                s = offset[y, c0 + i]
                for j in range(nbasis):
                    s += basis[t, j] * coef[j, y, c0 + i]
                for j in range(nexp):
                    s += power[j, i]
                    power[j, i] *= ratio[j, i]
                ov[i] = _rescale(xv[i], s, mean[y, c0 + i], lo, hi, integer)
