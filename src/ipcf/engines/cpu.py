"""Fast CPU engine: bin averages of cross-spectra by matrix products.

The route is :mod:`ipcf.engines._spectral`'s: with ``z = (x - <x>) /
(<x> - offset)`` the relative fluctuations of a pixel (float32, after
subtracting the float64 mean; ``offset`` is the plan's camera offset,
0 by default), the binned and smoothed curve from a centre toward a
neighbour is ``Re(X) @ Re(M) - Im(X) @ Im(M)`` of their cross-spectrum
``X``, and the curve back is the sum: one pair of matrix products serves
two directions. Linear mode zero-pads to a 5-smooth length.

The engine pulls rows from the reader as it moves down the image. Each
pixel is transformed once; its spectrum is kept in a ring of image rows,
as real and imaginary float32 planes split into bands of frequencies,
only while pairs still need it, so memory stays bounded for any image
height; very wide images are split into strips of columns, which share
only their column halo. For a circle offset ``(u, v)`` the partners of
a run of pixels in a row are a run of the row ``v`` below, shifted by
``u``. The cross-spectra of such runs are formed one frequency band at a
time, so that the spectra in use stay in cache, and binned with
single-threaded BLAS products. Series are converted and transformed one
small batch of pixels per thread at a time.

All parallel work runs on one pool of ``num_threads`` threads calling
serial numba kernels that release the GIL (numba's own threading layer
is not used, so forking later stays safe), FFTs with one ``scipy.fft``
worker each and BLAS limited to one thread per caller, so nothing
oversubscribes the cores. Results do not depend on the number of threads
or the strip width: every pair's sums are formed in the same order.

"""

from __future__ import annotations

import functools
import importlib.util
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy

from .._stages import timed
from .._workspace import Workspace
from ..plan import Plan
from . import _volume
from ._spectral import binning_matrix, pair_tasks, transform_length

if TYPE_CHECKING:
    from numpy.typing import NDArray

NAME = 'cpu'

_WINDOW_BYTES = 256 * 2**20
"""Most bytes of spectra held at a time."""

_ACC_BYTES = 32 * 2**20
"""Most bytes of binned sums held at a time."""

_KEEP_SECONDS = 2.0
"""How long the buffers of a finished call are kept for the next call."""

_FFT_BATCH = 16
"""Pixels transformed together by one thread (their spectra stay cached)."""

_SERIES_BYTES = 48 * 2**20
"""Most bytes of float32 series held before they are transformed."""

_MEAN_BYTES = 512 * 2**20
"""Image rows whose means are taken together, at 8 bytes a sample."""

_BAND_ROWS = 32
"""Rows of pairs per pass: the ring of window rows holds them plus the
circle's vertical extent."""

_FBAND = 512
"""Frequencies per band: the spectra of the rows in use stay in cache
(512 binned 4 % faster than 256 or 1024 on 64- and 204-pixel windows)."""

_CWIDTH = 40
"""Most columns of a chunk of pairs: the spectra of a chunk's pixels and
their partners stay in the core's cache (wider chunks ran up to 30 %
slower on windows 200 or more pixels wide)."""


def available() -> bool:
    """Return whether numba and scipy, which the engine needs, are present."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ('numba', 'scipy', 'threadpoolctl')
    )


def compute(
    plan: Plan,
    reader: Any,
    out: NDArray[numpy.float32],
    *,
    mask: NDArray[numpy.bool_] | None = None,
    num_threads: int = 1,
    progress: Any = None,
    stages: Any = None,
) -> None:
    """Fill out[direction, y, x, point, bin]; see :mod:`ipcf.engines`.

    The whole image is one pass: rows are pulled from `reader` as the
    ring of spectra moves down, so no row is transformed twice (strips
    of columns of very wide images share only their column halo).
    Centres outside `mask` are not computed. Pairs with a pixel whose
    mean does not exceed ``plan.offset`` give NaN, as in the reference
    engine. Volume plans are computed as images of stacked planes, or
    plane by plane where that transforms each voxel fewer times
    (:mod:`ipcf.engines._volume`). `stages` (an
    :class:`ipcf._stages.StageTimes`, for benchmarks) gets the seconds of
    the steps of image plans: ``means``, ``convert`` (counts to relative
    fluctuations), ``fft``, ``binning`` (the cross-spectra's matrix
    products) and ``scatter`` (normalized, smoothed curves into `out`).

    """
    if plan.ndim == 3:
        chunk = _stacked_chunk(plan, reader.shape, out.shape)
        options = {
            'mask': mask,
            'num_threads': num_threads,
            'progress': progress,
        }
        if chunk:
            _volume.compute_stacked(
                compute, plan, reader, out, chunk=chunk, **options
            )
        else:
            _volume.compute_planes(compute, plan, reader, out, **options)
        return

    from threadpoolctl import threadpool_limits

    from . import _cpu_kernels

    nframes, nrows, width = reader.shape
    hy, hx = plan.halo
    clo, chi = _centre_columns(mask, out.shape[1:3], nrows, hy, hx)
    if not (chi > clo).any():
        return
    spectral = _plan(nframes, plan.edges, plan.mode, plan.smoothing)
    tasks = _Tasks(plan)
    nthreads = max(1, int(num_threads or 1))
    nchannels = reader.nchannels if plan.cross else 1
    # strips of centre columns narrow enough for a few window rows
    vspan = tasks.vpos - tasks.vneg
    umax = int(numpy.abs(tasks.uv[:, 0]).max())
    maxwidth = _WINDOW_BYTES // (spectral.nfreq * 8 * nchannels * (vspan + 4))
    stripwidth = max(1, maxwidth - 2 * umax)
    first = int(clo[chi > clo].min())
    last = int(chi[chi > clo].max())
    # float64 means of every pixel, and which rows have them already
    means = [numpy.zeros((nrows, width)) for _ in range(nchannels)]
    done = [numpy.zeros(nrows, bool) for _ in range(nchannels)]
    pool = ThreadPoolExecutor(nthreads) if nthreads > 1 else None
    workspace = _Workspace.acquire()
    try:
        # each pool thread calls BLAS: one BLAS thread each
        with threadpool_limits(limits=1, user_api='blas'):
            for x0 in range(first, last, stripwidth):
                x1 = min(last, x0 + stripwidth)
                slo = numpy.clip(clo, x0, x1)
                shi = numpy.clip(chi, x0, x1)
                if not (shi > slo).any():
                    continue  # a strip of masked-out centres
                _Region(
                    reader,
                    plan,
                    out,
                    slo,
                    shi,
                    tasks,
                    spectral,
                    nthreads,
                    means,
                    done,
                    pool,
                    workspace,
                    _cpu_kernels,
                    progress,
                    stages,
                ).run()
    finally:
        workspace.release()
        if pool is not None:
            pool.shutdown()


def _stacked_chunk(
    plan: Plan, shape: tuple[int, ...], out_shape: tuple[int, ...]
) -> int:
    """Return output planes per image of stacked planes, or 0 for pairs.

    Stacked planes transform each voxel once per strip of columns and
    chunk of planes, pairs of planes ``plane_transforms`` times; the
    route with fewer transforms wins.

    """
    nframes, _, height, width = shape
    hz, hy, hx = plan.halo
    nfreq = transform_length(nframes, plan.mode, primes=(2, 3, 5)) // 2
    nchannels = 2 if plan.cross else 1
    vspan = 2 * (hz * height + hy)
    maxwidth = _WINDOW_BYTES // (nfreq * 8 * nchannels * (vspan + 4))
    ncols = width - 2 * hx
    strip = min(ncols, max(1, maxwidth - 2 * hx))
    chunk = _volume.stacked_chunk(plan, out_shape, height)
    stacked = (chunk + 2 * hz) / chunk * (strip + 2 * hx) / strip
    pairs = _volume.plane_transforms(plan) / nchannels
    return chunk if stacked <= pairs else 0


def _parts(start: int, stop: int, nparts: int) -> list[tuple[int, int]]:
    """Return up to nparts nonempty, contiguous ranges covering a range."""
    nparts = max(1, min(nparts, stop - start))
    return [
        (
            start + (stop - start) * i // nparts,
            start + (stop - start) * (i + 1) // nparts,
        )
        for i in range(nparts)
    ]


def _parallel(
    pool: ThreadPoolExecutor | None,
    arguments: list[tuple[Any, ...]],
    function: Any,
) -> None:
    """Call function with each tuple of arguments, one per pool thread."""
    if pool is None or len(arguments) < 2:
        for args in arguments:
            function(*args)
        return
    for future in [pool.submit(function, *args) for args in arguments]:
        future.result()


def _centre_columns(
    mask: Any, grid: tuple[int, int], nrows: int, hy: int, hx: int
) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Return per input row the column range [clo, chi) of centres to do."""
    height, width = grid
    clo = numpy.zeros(nrows, numpy.intp)
    chi = numpy.zeros(nrows, numpy.intp)
    rows = slice(hy, hy + height)
    if mask is None:
        clo[rows] = hx
        chi[rows] = hx + width
        return clo, chi
    mask = numpy.asarray(mask, dtype=bool)
    anyx = mask.any(axis=1)
    first = numpy.argmax(mask, axis=1)
    last = width - numpy.argmax(mask[:, ::-1], axis=1)
    clo[rows] = numpy.where(anyx, first + hx, 0)
    chi[rows] = numpy.where(anyx, last + hx, 0)
    return clo, chi


class _Spectral:
    """Transform length, frequency bands and binning matrices."""

    def __init__(
        self, nframes: int, edges: tuple[int, ...], mode: str, smoothing: bool
    ):
        # pocketfft is fastest on 5-smooth lengths
        length = transform_length(nframes, mode, primes=(2, 3, 5))
        nfreq = length // 2  # frequencies 1 .. L/2
        nbands = -(-nfreq // _FBAND)
        self.fband = 16 * -(-nfreq // (16 * nbands))
        self.nfreq = self.fband * nbands
        self.nframes = nframes
        self.length = length
        self.nbins = len(edges)
        # relative fluctuations z = (x - m) / (m - offset): no norm later
        matrix = binning_matrix(nframes, length, edges, smoothing)
        ncols = 16 * -(-len(edges) // 16)
        self.mre = numpy.zeros((self.nfreq, ncols), numpy.float32)
        self.mim = numpy.zeros((self.nfreq, ncols), numpy.float32)
        self.mre[:nfreq, : len(edges)] = matrix.real
        self.mim[:nfreq, : len(edges)] = matrix.imag


@functools.lru_cache(maxsize=8)
def _plan(
    nframes: int, edges: tuple[int, ...], mode: str, smoothing: bool
) -> _Spectral:
    """Return the (cached) spectral plan for frames, bins and mode."""
    return _Spectral(nframes, edges, mode, smoothing)


class _Tasks:
    """The plan's pair tasks as arrays for the kernels.

    ``uv`` holds the offset of each task; ``plus`` and ``minus`` point
    lists in CSR form (see :func:`ipcf.engines._spectral.pair_tasks`).
    Minus curves go to direction 0 within one channel, else 1.

    """

    def __init__(self, plan: Plan):
        tasks = pair_tasks(
            plan.offsets,
            cross=plan.cross,
            reverse=plan.reverse,
            curves=plan.curves,
        )
        self.uv = numpy.array([t[0] for t in tasks], numpy.intp).reshape(-1, 2)
        self.plus_ptr, self.plus_idx = _csr([list(t[1]) for t in tasks])
        self.minus_ptr, self.minus_idx = _csr([list(t[2]) for t in tasks])
        self.minus_dir = 1 if plan.cross else 0
        self.vneg = min(0, int(self.uv[:, 1].min()))
        self.vpos = max(0, int(self.uv[:, 1].max()))

    def __len__(self) -> int:
        return len(self.uv)


def _csr(lists: list[list[int]]) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Return pointer and index arrays of a list of lists."""
    ptr = numpy.zeros(len(lists) + 1, numpy.intp)
    ptr[1:] = numpy.cumsum([len(x) for x in lists])
    idx = numpy.array([i for x in lists for i in x], dtype=numpy.intp)
    return ptr, idx


class _Region:
    """Centres of one strip of columns and the window that serves them."""

    def __init__(
        self,
        reader: Any,
        plan: Plan,
        out: numpy.ndarray,
        clo: numpy.ndarray,
        chi: numpy.ndarray,
        tasks: _Tasks,
        spectral: _Spectral,
        nthreads: int,
        means: list[numpy.ndarray],
        done: list[numpy.ndarray],
        pool: ThreadPoolExecutor | None,
        workspace: _Workspace,
        kernels: Any,
        progress: Any,
        stages: Any = None,
    ):
        self.reader = reader
        self.cross = plan.cross
        self.offset = float(plan.offset)
        self.hy, self.hx = plan.halo
        self.out = out
        self.clo = clo
        self.chi = chi
        self.tasks = tasks
        self.plan = spectral
        self.nthreads = nthreads
        self.means = means
        self.done = done
        self.pool = pool
        self.workspace = workspace
        self.kernels = kernels
        self.progress = progress
        self.stages = stages
        self._ranges()

    def _ranges(self) -> None:
        """Find per task and pixel row the columns of pairs to do."""
        nrows = self.reader.height
        tasks = self.tasks
        clo, chi = self.clo, self.chi
        has = chi > clo
        ntasks = len(tasks)
        big = numpy.iinfo(numpy.intp).max
        lo = numpy.full((ntasks, nrows), big, numpy.intp)
        hi = numpy.full((ntasks, nrows), -big, numpy.intp)
        rows = numpy.arange(nrows)
        for t, (u, v) in enumerate(tasks.uv.tolist()):
            if tasks.plus_ptr[t + 1] > tasks.plus_ptr[t]:
                lo[t] = numpy.where(has, clo, lo[t])
                hi[t] = numpy.where(has, chi, hi[t])
            if tasks.minus_ptr[t + 1] > tasks.minus_ptr[t]:
                src = rows + v
                ok = (src >= 0) & (src < nrows)
                ok[ok] = has[src[ok]]
                srcc = numpy.clip(src, 0, nrows - 1)
                lo[t] = numpy.where(
                    ok, numpy.minimum(lo[t], clo[srcc] - u), lo[t]
                )
                hi[t] = numpy.where(
                    ok, numpy.maximum(hi[t], chi[srcc] - u), hi[t]
                )
        empty = hi <= lo
        lo[empty] = 0
        hi[empty] = 0
        used = numpy.flatnonzero((~empty).any(axis=0))
        self.lo, self.hi = lo, hi
        self.ya = int(used[0])
        self.yb = int(used[-1]) + 1
        u = tasks.uv[:, 0][:, None]
        self.xw0 = int(numpy.minimum(lo, lo + u)[~empty].min())
        self.xw1 = int(numpy.maximum(hi, hi + u)[~empty].max())

    def run(self) -> None:
        """Compute and store the curves of the region's centres."""
        kernels = self.kernels
        plan = self.plan
        tasks = self.tasks
        nrows = self.reader.height
        wwidth = self.xw1 - self.xw0
        vneg, vpos = tasks.vneg, tasks.vpos
        vspan = vpos - vneg
        nchannels = 2 if self.cross else 1
        # a ring of window rows: row y of the image is kept in slot y % ring
        rowbytes = wwidth * plan.nfreq * 8 * nchannels
        ring = min(
            _WINDOW_BYTES // rowbytes,
            vspan + _BAND_ROWS,
            self.yb - self.ya + vspan,
        )
        accrow = 2 * len(tasks) * wwidth * plan.mre.shape[1] * 4
        band = max(1, min(ring - vspan, _ACC_BYTES // accrow))
        ring = band + vspan

        ws = self.workspace
        shape = (plan.nfreq // plan.fband, ring * wwidth, plan.fband)
        planes = [
            (ws.array(f're{i}', shape), ws.array(f'im{i}', shape))
            for i in range(nchannels)
        ]
        shape = (len(tasks), band, wwidth, plan.mre.shape[1])
        accp = ws.array('accp', shape)
        accq = ws.array('accq', shape)
        (are, aim), (bre, bim) = planes[0], planes[-1]
        mean_a, mean_b = self.means[0], self.means[-1]
        centre_rows = (self.hy, self.hy + self.out.shape[1])
        ndir = self.out.shape[0]

        done = 0  # rows below this are in the ring (or no longer needed)
        for pr0 in range(self.ya, self.yb, band):
            pr1 = min(self.yb, pr0 + band)
            need0 = max(0, pr0 + vneg)
            need1 = min(nrows, pr1 + vpos)
            for channel, (re, im) in enumerate(planes):
                self._transform(channel, re, im, ring, max(done, need0), need1)
            done = need1
            # chunks of equal width, none much narrower than the others
            cwidth = -(-wwidth // -(-wwidth // _CWIDTH))
            nchunks = (pr1 - pr0) * -(-wwidth // cwidth)
            with timed(self.stages, 'binning'):
                _parallel(
                    self.pool,
                    [
                        (
                            are,
                            aim,
                            bre,
                            bim,
                            ring,
                            wwidth,
                            self.xw0,
                            tasks.uv,
                            self.lo,
                            self.hi,
                            pr0,
                            pr1,
                            c0,
                            c1,
                            plan.mre,
                            plan.mim,
                            cwidth,
                            kernels.SGEMM,
                            accp,
                            accq,
                        )
                        for c0, c1 in _parts(0, nchunks, self.nthreads)
                    ],
                    kernels.pair_sums,
                )
            with timed(self.stages, 'scatter'):
                _parallel(
                    self.pool,
                    [
                        (
                            accp,
                            accq,
                            tasks.uv,
                            tasks.plus_ptr,
                            tasks.plus_idx,
                            tasks.minus_ptr,
                            tasks.minus_idx,
                            tasks.minus_dir,
                            self.lo,
                            self.hi,
                            pr0,
                            y0,
                            y1,
                            self.xw0,
                            self.clo,
                            self.chi,
                            mean_a,
                            mean_b,
                            self.offset,
                            self.hy,
                            self.hx,
                            self.out,
                        )
                        for y0, y1 in _parts(pr0, pr1, self.nthreads)
                    ],
                    kernels.scatter_curves,
                )
            if self.progress is not None:
                r0 = max(pr0, centre_rows[0])
                r1 = min(pr1, centre_rows[1])
                width = int(self.chi.max() - self.clo[self.chi > 0].min())
                if r1 > r0 and width > 0:
                    self.progress(ndir * (r1 - r0) * width)

    def _transform(self, channel, re, im, ring, ya, yb) -> None:
        """Store spectra of image rows ya..yb in ring slots of re, im.

        Rows are pulled from the reader in groups whose series fit a
        bounded buffer; their means are taken (threads take rows), then
        converted (threads take blocks of frames); then each thread
        transforms its own small batches of pixels, so that a batch's
        spectra stay in its core's cache until they are stored.

        """
        kernels = self.kernels
        plan = self.plan
        nframes = plan.nframes
        xa, xb = self.xw0, self.xw1
        wwidth = xb - xa
        rowbytes = wwidth * plan.length * 4
        group = max(1, min(yb - ya, _SERIES_BYTES // rowbytes))
        zbuf = self.workspace.array('z', (group * wwidth, plan.length))
        nparts = self.nthreads
        mean = self.means[channel]

        y0 = ya
        while y0 < yb:
            # a group of rows in consecutive ring slots
            y1 = min(yb, y0 + group, y0 + ring - y0 % ring)
            count = (y1 - y0) * wwidth
            q0 = (y0 % ring) * wwidth
            z = zbuf[:count]
            self._means(channel, y0, y1)
            block = self.reader.read(channel, y0, y1, xa, xb)
            mblock = mean[y0:y1, xa:xb]
            nblocks = -(-nframes // kernels.LOAD_FRAMES)
            nblocks += plan.length > nframes  # one block zero-pads
            with timed(self.stages, 'convert'):
                _parallel(
                    self.pool,
                    [
                        (block, mblock, self.offset, b0, b1, z)
                        for b0, b1 in _parts(0, nblocks, nparts)
                    ],
                    kernels.load_series,
                )
            with timed(self.stages, 'fft'):
                _parallel(
                    self.pool,
                    [
                        (z, q0, k0, k1, re, im)
                        for k0, k1 in _parts(0, count, nparts)
                    ],
                    self._spectra,
                )
            y0 = y1

    def _means(self, channel, ya, yb) -> None:
        """Take the means of whole image rows ya..yb not yet taken.

        Whole rows, a few at a time, so that the reads are long runs;
        the strips that follow reuse them.

        """
        done = self.done[channel]
        width = self.reader.width
        y0 = ya
        while y0 < yb:
            if done[y0]:
                y0 += 1
                continue
            y1 = y0 + 1
            rows = max(1, _MEAN_BYTES // (self.plan.nframes * width * 8))
            while y1 < len(done) and y1 - y0 < rows and not done[y1]:
                y1 += 1
            block = self.reader.read(channel, y0, y1, 0, width)
            known = self.reader.means(channel, y0, y1)
            if known is not None:
                self.means[channel][y0:y1] = known
                done[y0:y1] = True
                y0 = y1
                continue
            with timed(self.stages, 'means'):
                _parallel(
                    self.pool,
                    [
                        (block, 0, y1 - y0, self.means[channel][y0:y1], c0, c1)
                        for c0, c1 in _parts(0, width, self.nthreads)
                    ],
                    self.kernels.block_means,
                )
            done[y0:y1] = True
            y0 = y1

    def _spectra(self, z, q0, k0, k1, re, im) -> None:
        """Transform rows k0..k1 of z into pixels q0 + k0.. of re, im."""
        import scipy.fft

        for j0 in range(k0, k1, _FFT_BATCH):
            j1 = min(k1, j0 + _FFT_BATCH)
            spectra = scipy.fft.rfft(z[j0:j1], axis=-1, workers=1)
            self.kernels.split_spectra(spectra, q0 + j0, re, im)


class _Workspace(Workspace):
    """The engine's buffers, reused by consecutive calls.

    Consecutive calls are the blocks of a pipeline; at most one idle set,
    about 350 MB at most.
    """

    keep_seconds = _KEEP_SECONDS
