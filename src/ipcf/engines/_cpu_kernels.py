"""Numba kernels of the cpu engine.

Private: the callers in :mod:`ipcf.engines.cpu` pass checked, C-ordered
arrays and index ranges that lie inside them. Every kernel is serial and
releases the GIL; the engine runs one part of the work per thread of its
own pool, so numba's threading layer is never used (it would not be safe
to fork after it starts). Compiled code is cached on disk.

Spectra are stored as real and imaginary float32 planes of shape
``(nbands, pixels, fband)``: a band of frequencies of a run of pixels is
contiguous, and the partners of a run of pixels in a row are a run of
another row, so a cross-spectrum is a product of two contiguous blocks.

"""

from __future__ import annotations

import numpy
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import get_cython_function_address, intrinsic

SGEMM = get_cython_function_address('scipy.linalg.cython_blas', 'sgemm')
"""Address of BLAS sgemm (Fortran interface), passed to the kernels.

Passed as an argument rather than bound as a global, so that compiled
kernels can be cached on disk.

"""

_GEMM_ROWS = 512
"""Rows of cross-spectra multiplied at once by :func:`pair_sums`."""

LOAD_FRAMES = 64
"""Frames per block of the transposing copy: the cache lines of a block
of frames serve all pixels of a row before the next block is read."""


@njit(nogil=True, cache=True)
def block_means(block, r0, r1, mean, c0, c1):  # pragma: no cover - numba
    """Store in mean[r, c] the float64 mean of block[:, r, c].

    For rows ``r0 <= r < r1`` and columns ``c0 <= c < c1`` of `block`, raw
    samples of shape ``(N, rows, columns)``. Sums run frame by frame
    along each row, so that reads are sequential; every sum is taken in
    frame order.

    """
    nframes = block.shape[0]
    sums = numpy.zeros((r1 - r0, c1 - c0), numpy.float64)
    for t in range(nframes):
        for r in range(r0, r1):
            row = block[t, r]
            acc = sums[r - r0]
            for q in range(c1 - c0):
                acc[q] += row[c0 + q]
    for r in range(r0, r1):
        for q in range(c1 - c0):
            mean[r, c0 + q] = sums[r - r0, q] / nframes


@njit(nogil=True, cache=True)
def load_series(block, mean, offset, b0, b1, z):  # pragma: no cover - numba
    """Store relative fluctuations (x - m) / (m - offset) of pixels in z.

    Row ``r * columns + c`` of `z` receives frames of blocks ``b0 .. b1``
    (of :data:`LOAD_FRAMES` frames) of pixel ``block[:, r, c]``, whose
    mean is ``mean[r, c]``; a block beyond the frames zeroes the rest of
    the row (zero padding for linear correlation). Pixels whose mean
    does not exceed `offset` give zeros.

    """
    nframes, nrows, ncols = block.shape
    for b in range(b0, b1):
        t0 = b * LOAD_FRAMES
        t1 = min(nframes, t0 + LOAD_FRAMES)
        for r in range(nrows):
            for c in range(ncols):
                zj = z[r * ncols + c]
                if t0 >= nframes:
                    zj[nframes:] = 0.0
                    continue
                m = mean[r, c]
                s = 1.0 / (m - offset) if m > offset else 0.0
                for t in range(t0, t1):
                    zj[t] = (block[t, r, c] - m) * s


@njit(nogil=True, cache=True)
def split_spectra(spectra, q0, real, imag):  # pragma: no cover - numba
    """Copy spectra[:, 1:] into pixels q0.. of the real and imag planes.

    The zero frequency is left out (the series are mean-free);
    frequencies beyond the spectrum are zeroed.

    """
    count, nfreq = spectra.shape
    nbands, _, fband = real.shape
    # band by band: the writes of a batch run along few long streams
    for b in range(nbands):
        f0 = b * fband + 1
        n = max(0, min(fband, nfreq - f0))
        for j in range(count):
            src = spectra[j]
            re = real[b, q0 + j]
            im = imag[b, q0 + j]
            for i in range(n):
                re[i] = src[f0 + i].real
                im[i] = src[f0 + i].imag
            for i in range(n, fband):
                re[i] = 0.0
                im[i] = 0.0


@intrinsic
def _sgemm_set(typingctx, address, m, n, k, a, lda, b, ldb, c, ldc):
    """Call sgemm at address: C = A @ B, column-major, float32.

    ``A`` is m x k, ``B`` k x n and ``C`` m x n, stored column-major with
    leading dimensions `lda`, `ldb`, `ldc` from the first element of the
    arrays `a`, `b`, `c`.

    """
    ints = (address, m, n, k, lda, ldb, ldc)
    arrays = (a, b, c)
    if not all(isinstance(x, types.Integer) for x in ints) or not all(
        isinstance(x, types.Array) and x.dtype == types.float32 for x in arrays
    ):
        return None
    sig = types.void(address, m, n, k, a, lda, b, ldb, c, ldc)

    def codegen(context, builder, signature, args):
        i8 = ir.IntType(8)
        i32 = ir.IntType(32)
        f32 = ir.FloatType()

        def stack(value):
            # in the entry block: an alloca in a loop would grow the stack
            return cgutils.alloca_once_value(builder, value)

        def integer(value):
            return stack(builder.trunc(value, i32))

        def data(value, typ):
            array = context.make_array(typ)(context, builder, value)
            return builder.bitcast(array.data, f32.as_pointer())

        addr, m_, n_, k_, a_, lda_, b_, ldb_, c_, ldc_ = args
        trans = stack(ir.Constant(i8, ord('N')))
        one = stack(ir.Constant(f32, 1.0))
        zero = stack(ir.Constant(f32, 0.0))
        fnty = ir.FunctionType(
            ir.VoidType(),
            [i8.as_pointer()] * 2
            + [i32.as_pointer()] * 3
            + [f32.as_pointer()] * 2
            + [i32.as_pointer(), f32.as_pointer(), i32.as_pointer()]
            + [f32.as_pointer()] * 2
            + [i32.as_pointer()],
        )
        fn = builder.inttoptr(addr, fnty.as_pointer())
        builder.call(
            fn,
            [
                trans,
                trans,
                integer(m_),
                integer(n_),
                integer(k_),
                one,
                data(a_, signature.args[4]),
                integer(lda_),
                data(b_, signature.args[6]),
                integer(ldb_),
                zero,
                data(c_, signature.args[8]),
                integer(ldc_),
            ],
        )
        return context.get_dummy_value()

    return sig, codegen


@njit(nogil=True, cache=True)
def pair_sums(
    are,
    aim,
    bre,
    bim,
    ring,
    width,
    xw0,
    uv,
    lo,
    hi,
    pr0,
    pr1,
    c0,
    c1,
    mre,
    mim,
    cwidth,
    sgemm,
    accp,
    accq,
):  # pragma: no cover - numba
    """Store binned cross-spectra of pixel pairs in accp and accq.

    Tile row ``y`` is kept in pixels ``(y % ring) * width ...`` of the
    planes, its column ``x`` at offset ``x - xw0``. The p-rows ``[pr0,
    pr1)`` are cut into chunks of at most `cwidth` columns, column block
    by column block; this call does chunks ``c0 .. c1``. For task ``t``
    (offset ``(u, v) = uv[t]``), p-row ``y`` and column ``x`` in
    ``[lo[t, y], hi[t, y])``, the pair is pixel ``(y, x)`` of `a` and
    ``(y + v, x + u)`` of `b`. With ``X = conj(A) B``::

        accp[t, y - pr0, x - xw0] = Re(X) @ mre
        accq[t, y - pr0, x - xw0] = Im(X) @ mim

    Bands of frequencies are the outer loop, so that the spectra of the
    rows in use stay in cache while a band is swept over the chunks.

    """
    ntasks = uv.shape[0]
    nbins = mre.shape[1]
    nbands, _, fband = are.shape
    nrows = pr1 - pr0
    # the pairs of several tasks go through one sgemm: larger products
    # run faster; their sums land in scratch rows, then in acc
    cap = max(cwidth, _GEMM_ROWS)
    xr = numpy.zeros((cap, fband), numpy.float32)
    xi = numpy.zeros((cap, fband), numpy.float32)
    sp = numpy.empty((cap, nbins), numpy.float32)
    sq = numpy.empty((cap, nbins), numpy.float32)
    # (task, first column, columns, first scratch row) of each run
    runs = numpy.empty((ntasks, 4), numpy.int64)
    for c in range(c0, c1):
        y = pr0 + c % nrows
        xa = (c // nrows) * cwidth
        xb = min(width, xa + cwidth)
        accp[:, y - pr0, xa:xb] = 0.0
        accq[:, y - pr0, xa:xb] = 0.0
    for band in range(nbands):
        mrb = mre[band * fband : (band + 1) * fband]
        mib = mim[band * fband : (band + 1) * fband]
        ar_ = are[band]
        ai_ = aim[band]
        br_ = bre[band]
        bi_ = bim[band]
        for c in range(c0, c1):
            y = pr0 + c % nrows
            xa = xw0 + (c // nrows) * cwidth
            xb = min(xw0 + width, xa + cwidth)
            nruns = 0
            rows = 0
            for t in range(ntasks):
                x0 = max(lo[t, y], xa)
                x1 = min(hi[t, y], xb)
                m = x1 - x0
                if m <= 0:
                    continue
                if rows + m > cap:
                    _add_products(
                        sgemm, mrb, mib, xr, xi, sp, sq, rows, runs, nruns,
                        accp, accq, y - pr0, xw0,
                    )  # fmt: skip
                    nruns = 0
                    rows = 0
                pa = (y % ring) * width + x0 - xw0
                pb = ((y + uv[t, 1]) % ring) * width + x0 + uv[t, 0] - xw0
                for j in range(m):
                    ar = ar_[pa + j]
                    ai = ai_[pa + j]
                    br = br_[pb + j]
                    bi = bi_[pb + j]
                    rr = xr[rows + j]
                    ri = xi[rows + j]
                    for f in range(fband):
                        rr[f] = ar[f] * br[f] + ai[f] * bi[f]
                        ri[f] = ar[f] * bi[f] - ai[f] * br[f]
                runs[nruns, 0] = t
                runs[nruns, 1] = x0
                runs[nruns, 2] = m
                runs[nruns, 3] = rows
                nruns += 1
                rows += m
            if rows:
                _add_products(
                    sgemm, mrb, mib, xr, xi, sp, sq, rows, runs, nruns,
                    accp, accq, y - pr0, xw0,
                )  # fmt: skip


@njit(nogil=True, cache=True)
def _add_products(
    sgemm, mrb, mib, xr, xi, sp, sq, rows, runs, nruns, accp, accq, row, xw0
):  # pragma: no cover - numba
    """Add X @ M of the scratch rows to the runs' places in acc."""
    fband, nbins = mrb.shape
    # S = X @ M, in column-major terms M.T @ X.T
    _sgemm_set(sgemm, nbins, rows, fband, mrb, nbins, xr, fband, sp, nbins)
    _sgemm_set(sgemm, nbins, rows, fband, mib, nbins, xi, fband, sq, nbins)
    for r in range(nruns):
        t, x0, m, r0 = runs[r, 0], runs[r, 1], runs[r, 2], runs[r, 3]
        ap = accp[t, row]
        aq = accq[t, row]
        for j in range(m):
            pj = ap[x0 - xw0 + j]
            qj = aq[x0 - xw0 + j]
            spj = sp[r0 + j]
            sqj = sq[r0 + j]
            for k in range(nbins):
                pj[k] += spj[k]
                qj[k] += sqj[k]


@njit(nogil=True, cache=True)
def scatter_curves(
    accp,
    accq,
    uv,
    plus_ptr,
    plus_idx,
    minus_ptr,
    minus_idx,
    minus_dir,
    lo,
    hi,
    pr0,
    y0,
    y1,
    xw0,
    clo,
    chi,
    mean_a,
    mean_b,
    offset,
    hy,
    hx,
    out,
):  # pragma: no cover - numba
    """Store the binned sums of pairs as curves in out.

    Pair ``p`` of p-row ``y`` in ``[y0, y1)`` and task ``t`` (offset
    ``(u, v) = uv[t]``) gives the curve from centre ``p`` toward ``p +
    (u, v)`` as ``accp - accq`` for the points
    ``plus_idx[plus_ptr[t]:plus_ptr[t + 1]]`` (direction 0), and the curve
    from centre ``p + (u, v)`` back toward ``p`` as ``accp + accq`` for
    the points in `minus_idx` (direction `minus_dir`), wherever the
    centre lies in row ``yc`` between ``clo[yc]`` and ``chi[yc]``. The
    binning matrices hold the smoothing already. Pairs with a pixel whose
    mean does not exceed `offset` are NaN, as in the reference engine.

    """
    ntasks = uv.shape[0]
    nbins = out.shape[4]
    for y in range(y0, y1):
        for t in range(ntasks):
            u = uv[t, 0]
            v = uv[t, 1]
            nplus = plus_ptr[t + 1] - plus_ptr[t]
            nminus = minus_ptr[t + 1] - minus_ptr[t]
            for x in range(lo[t, y], hi[t, y]):
                ap = accp[t, y - pr0, x - xw0]
                aq = accq[t, y - pr0, x - xw0]
                ca = mean_a[y, x] - offset
                cb = mean_b[y + v, x + u] - offset
                zero = not (ca > 0.0 and cb > 0.0) or ca * cb == 0.0
                if nplus > 0 and clo[y] <= x < chi[y]:
                    for n in range(plus_ptr[t], plus_ptr[t + 1]):
                        dst = out[0, y - hy, x - hx, plus_idx[n]]
                        for k in range(nbins):
                            dst[k] = numpy.nan if zero else ap[k] - aq[k]
                yc = y + v
                xc = x + u
                if nminus > 0 and clo[yc] <= xc < chi[yc]:
                    for n in range(minus_ptr[t], minus_ptr[t + 1]):
                        dst = out[minus_dir, yc - hy, xc - hx, minus_idx[n]]
                        for k in range(nbins):
                            dst[k] = numpy.nan if zero else ap[k] + aq[k]
