"""Fast CPU engine: bin averages of cross-spectra by matrix products.

The bin average of a correlation curve is linear in the cross-spectrum of
the two pixels, so no inverse transform is needed. With ``z = (x - <x>) /
<x>`` the relative fluctuations of a pixel (float32, after subtracting the
float64 mean), ``A`` and ``B`` the real FFTs of the centre and of its
neighbour, ``X = conj(A) * B`` and, for bin ``k`` with delays ``[lo, hi)``
and transform length ``L``::

    M[f, k] = w_f / (L * N) * mean over tau in [lo, hi) of exp(2j pi f tau / L)

(``w_f = 1`` at ``f = L/2``, else 2), the binned curve from the centre
toward the neighbour is ``Re(X) @ Re(M) - Im(X) @ Im(M)`` and the curve
from the neighbour back toward the centre is the sum of the two products:
one pair of matrix products serves two circle points. Circular mode uses
``L = N``; linear mode zero-pads to a fast length ``L >= 3N/2 - 1``, which
is enough for delays below ``N/2``. The zero frequency is left out: the
series are mean-free.

Each pixel is transformed once per tile. Its spectrum is kept in a ring
of image rows, as real and imaginary float32 planes split into bands of
frequencies, only while pairs still need it, so memory stays bounded for
any image height; very wide images are split into strips of columns.
For a circle offset ``(u, v)`` the partners of a run of pixels in a row
are a run of the row ``v`` below, shifted by ``u``. The cross-spectra of
such runs are formed one frequency band at a time, so that the spectra
in use stay in cache, and binned with single-threaded BLAS products.
Series are converted and transformed one small batch of pixels per
thread at a time.

All parallel work runs on one pool of ``num_threads`` threads calling
serial numba kernels that release the GIL (numba's own threading layer
is not used, so forking later stays safe), FFTs with one ``scipy.fft``
worker each and BLAS limited to one thread per caller, so nothing
oversubscribes the cores. Results do not depend on the number of threads
or the tile size: every pair's sums are formed in the same order.

"""

from __future__ import annotations

import functools
import importlib.util
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy

from ..pcf import _SMOOTH_WEIGHT

if TYPE_CHECKING:
    from numpy.typing import NDArray

NAME = 'cpu'

_WINDOW_BYTES = 256 * 2**20
"""Most bytes of spectra held at a time."""

_ACC_BYTES = 32 * 2**20
"""Most bytes of binned sums held at a time."""

_TILE_BYTES = 1024 * 2**20
"""Input tile size aimed at by tile_rows, assuming 4 bytes per sample."""

_KEEP_SECONDS = 2.0
"""How long the buffers of a finished call are kept for the next tile."""

_FFT_BATCH = 16
"""Pixels transformed together by one thread (their spectra stay cached)."""

_SERIES_BYTES = 48 * 2**20
"""Most bytes of float32 series held before they are transformed."""

_BAND_ROWS = 32
"""Rows of pairs per pass: the ring of window rows holds them plus the
circle's vertical extent."""

_FBAND = 256
"""Frequencies per band: the spectra of the rows in use stay in cache."""

_CWIDTH = 128
"""Most pairs binned by one matrix product."""


def available() -> bool:
    """Return whether numba and scipy, which the engine needs, are present."""
    return all(
        importlib.util.find_spec(name) is not None
        for name in ('numba', 'scipy', 'threadpoolctl')
    )


def tile_rows(
    nframes: int, height: int, width: int, radius: int, *, itemsize: int = 4
) -> int:
    """Return result rows per tile.

    The engine's own memory (about 350 MB at most) does not depend on
    the tile height, so tiles are as tall as an input tile of about 1 GB
    allows at `itemsize` bytes per sample (4 unless the caller knows the
    dtype; 512 MB of uint16 then): taller tiles transform fewer halo rows
    twice.

    """
    rows = _TILE_BYTES // max(1, nframes * width * itemsize) - 2 * radius
    return max(1, min(rows, height - 2 * radius))


def compute(
    data: NDArray,
    out: NDArray[numpy.float32],
    *,
    points: NDArray,
    edges: NDArray,
    mask: NDArray[numpy.bool_] | None = None,
    mode: str = 'circular',
    num_threads: int | None = None,
    neighbour: NDArray | None = None,
) -> None:
    """Fill out[y, x, point, bin] from a tile of shape (N, h + 2r, W).

    See :mod:`ipcf.engines` for the contract. Centres outside `mask` are
    not computed; with `neighbour`, circle partners come from that
    channel and each offset is correlated separately (no symmetry).
    Zero-mean pairs give NaN, as in the reference engine.

    """
    from threadpoolctl import threadpool_limits

    from . import _cpu_kernels

    data = _native(data)
    if neighbour is not None:
        neighbour = _native(neighbour)
    nframes, nrows, width = data.shape
    height = out.shape[0]
    radius = (nrows - height) // 2
    clo, chi = _centre_columns(mask, out.shape, nrows, radius)
    if not (chi > clo).any():
        return
    plan = _plan(nframes, tuple(int(e) for e in edges), mode)
    tasks = _Tasks(points, cross=neighbour is not None)
    nthreads = max(1, 1 if num_threads is None else int(num_threads))
    nchannels = 1 if neighbour is None else 2
    # strips of centre columns narrow enough for a few window rows
    vspan = tasks.vpos - tasks.vneg
    maxwidth = _WINDOW_BYTES // (plan.nfreq * 8 * nchannels * (vspan + 4))
    stripwidth = max(1, maxwidth - 2 * radius)
    first = int(clo[chi > clo].min())
    last = int(chi[chi > clo].max())
    pool = ThreadPoolExecutor(nthreads) if nthreads > 1 else None
    workspace = _Workspace.acquire()
    try:
        # rows that any centre's circle reaches
        rows = numpy.flatnonzero(chi > clo)
        y0 = max(0, int(rows[0]) - radius)
        y1 = min(nrows, int(rows[-1]) + radius + 1)
        means = []
        for source in (data, neighbour if neighbour is not None else data):
            mean = numpy.zeros((nrows, width), numpy.float64)
            flat = source.reshape(nframes, -1)
            _parallel(
                pool,
                [
                    (flat, p0, p1, mean.reshape(-1))
                    for p0, p1 in _parts(y0 * width, y1 * width, nthreads)
                ],
                _cpu_kernels.series_means,
            )
            means.append(mean)
            if neighbour is None:
                means.append(mean)
                break
        # each pool thread calls BLAS: one BLAS thread each
        with threadpool_limits(limits=1, user_api='blas'):
            for x0 in range(first, last, stripwidth):
                x1 = min(last, x0 + stripwidth)
                slo = numpy.clip(clo, x0, x1)
                shi = numpy.clip(chi, x0, x1)
                if not (shi > slo).any():
                    continue  # a strip of masked-out centres
                _Region(
                    data,
                    neighbour,
                    out,
                    slo,
                    shi,
                    tasks,
                    plan,
                    radius,
                    nthreads,
                    tuple(means),
                    pool,
                    workspace,
                    _cpu_kernels,
                ).run()
    finally:
        workspace.release()
        if pool is not None:
            pool.shutdown()


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


def _native(data: Any) -> Any:
    """Return data in a dtype the kernels take (native byte order)."""
    dtype = data.dtype
    if dtype.itemsize == 2 and dtype.kind == 'f':
        return data.astype(numpy.float32)
    if not dtype.isnative:
        return data.astype(dtype.newbyteorder('='))
    return data


def _centre_columns(
    mask: Any, shape: tuple[int, ...], nrows: int, radius: int
) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Return per tile row the column range [clo, chi) of centres to do."""
    height, width = shape[:2]
    clo = numpy.zeros(nrows, numpy.intp)
    chi = numpy.zeros(nrows, numpy.intp)
    rows = slice(radius, radius + height)
    if mask is None:
        clo[rows] = radius
        chi[rows] = radius + width
        return clo, chi
    mask = numpy.asarray(mask, dtype=bool)
    anyx = mask.any(axis=1)
    first = numpy.argmax(mask, axis=1)
    last = width - numpy.argmax(mask[:, ::-1], axis=1)
    clo[rows] = numpy.where(anyx, first + radius, 0)
    chi[rows] = numpy.where(anyx, last + radius, 0)
    return clo, chi


class _Plan:
    """Transform length, frequency bands and binning matrices."""

    def __init__(self, nframes: int, edges: tuple[int, ...], mode: str):
        import scipy.fft

        if mode == 'circular':
            length = nframes
        else:
            # delays below N/2 do not wrap around a length of 3N/2 - 1
            length = scipy.fft.next_fast_len(
                nframes + nframes // 2 - 1, real=True
            )
        nfreq = length // 2  # frequencies 1 .. L/2
        nbands = -(-nfreq // _FBAND)
        self.fband = 16 * -(-nfreq // (16 * nbands))
        self.nfreq = self.fband * nbands
        self.nframes = nframes
        self.length = length
        self.nbins = len(edges)
        self.mre, self.mim = _binning_matrices(
            nframes, length, edges, self.nfreq
        )


@functools.lru_cache(maxsize=8)
def _plan(nframes: int, edges: tuple[int, ...], mode: str) -> _Plan:
    """Return the (cached) plan for a frame count, bins and mode."""
    return _Plan(nframes, edges, mode)


def _binning_matrices(
    nframes: int, length: int, edges: tuple[int, ...], nfreq: int
) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Return Re and Im of M[f - 1, k - 1] for f >= 1 and bins k >= 1.

    Rows beyond ``length // 2`` and columns beyond the bins are zero.
    Phases are reduced modulo 2 pi in integers, so M is exact to float64
    rounding for any length.

    """
    edges_ = numpy.asarray(edges, dtype=numpy.int64)
    lower = numpy.concatenate(([0], edges_[:-1]))[1:, None]
    count = (edges_[1:] - lower[:, 0])[:, None]
    freq = numpy.arange(1, length // 2 + 1, dtype=numpy.int64)[None, :]
    weight = numpy.where(2 * freq == length, 1.0, 2.0) / (length * nframes)
    period = 2 * length
    phase = numpy.pi / length * ((freq * (2 * lower + count - 1)) % period)
    ratio = numpy.sin(numpy.pi / length * ((freq * count) % period)) / (
        count * numpy.sin(numpy.pi / length * freq)
    )
    values = weight * ratio
    ncols = 16 * -(-(len(edges) - 1) // 16)
    mre = numpy.zeros((nfreq, ncols), numpy.float32)
    mim = numpy.zeros((nfreq, ncols), numpy.float32)
    mre[: freq.size, : len(edges) - 1] = (values * numpy.cos(phase)).T
    mim[: freq.size, : len(edges) - 1] = (values * numpy.sin(phase)).T
    return mre, mim


class _Tasks:
    """Circle offsets grouped into pairs of pixels to correlate.

    Without a second channel, points ``(u, v)`` and ``(-u, -v)`` share a
    task with offset ``v > 0`` (or ``v == 0, u > 0``): its pair serves
    the "plus" points from the first pixel and the "minus" points from
    the second. With a second channel every distinct offset is a task
    with plus points only. Duplicate points share their task.

    """

    def __init__(self, points: Any, *, cross: bool):
        groups: dict[tuple[int, int], tuple[list[int], list[int]]] = {}
        for i, (u, v) in enumerate(numpy.asarray(points).tolist()):
            if cross or v > 0 or (v == 0 and u > 0):
                groups.setdefault((u, v), ([], []))[0].append(i)
            else:
                groups.setdefault((-u, -v), ([], []))[1].append(i)
        self.uv = numpy.array(list(groups), dtype=numpy.intp).reshape(-1, 2)
        plus = [g[0] for g in groups.values()]
        minus = [g[1] for g in groups.values()]
        self.plus_ptr, self.plus_idx = _csr(plus)
        self.minus_ptr, self.minus_idx = _csr(minus)
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
    """Centres of one strip of a tile and the window that serves them."""

    def __init__(
        self,
        data,
        second,
        out,
        clo,
        chi,
        tasks: _Tasks,
        plan: _Plan,
        radius: int,
        nthreads: int,
        means: tuple[numpy.ndarray, numpy.ndarray],
        pool: ThreadPoolExecutor | None,
        workspace: _Workspace,
        kernels: Any,
    ):
        self.data = data
        self.second = second
        self.out = out
        self.clo = clo
        self.chi = chi
        self.tasks = tasks
        self.plan = plan
        self.radius = radius
        self.nthreads = nthreads
        self.means = means
        self.pool = pool
        self.workspace = workspace
        self.kernels = kernels
        self._ranges()

    def _ranges(self) -> None:
        """Find per task and pixel row the columns of pairs to do."""
        nrows = self.data.shape[1]
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
        nframes, nrows, width = self.data.shape
        wwidth = self.xw1 - self.xw0
        vneg, vpos = tasks.vneg, tasks.vpos
        vspan = vpos - vneg
        nchannels = 1 if self.second is None else 2
        # a ring of window rows: row y of the tile is kept in slot y % ring
        rowbytes = wwidth * plan.nfreq * 8 * nchannels
        ring = min(
            _WINDOW_BYTES // rowbytes,
            vspan + _BAND_ROWS,
            self.yb - self.ya + vspan,
        )
        accrow = 2 * len(tasks) * wwidth * plan.mre.shape[1] * 4
        band = max(1, min(ring - vspan, _ACC_BYTES // accrow))
        ring = band + vspan

        mean_a, mean_b = self.means
        channels = [(self.data, mean_a)]
        if self.second is not None:
            channels.append((self.second, mean_b))
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

        done = 0  # rows below this are in the ring (or no longer needed)
        for pr0 in range(self.ya, self.yb, band):
            pr1 = min(self.yb, pr0 + band)
            need0 = max(0, pr0 + vneg)
            need1 = min(nrows, pr1 + vpos)
            for (source, mean), (re, im) in zip(channels, planes, strict=True):
                self._transform(
                    source, mean, re, im, ring, max(done, need0), need1
                )
            done = need1
            nchunks = (pr1 - pr0) * -(-wwidth // _CWIDTH)
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
                        _CWIDTH,
                        kernels.SGEMM,
                        accp,
                        accq,
                    )
                    for c0, c1 in _parts(0, nchunks, self.nthreads)
                ],
                kernels.pair_sums,
            )
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
                        nframes,
                        self.radius,
                        _SMOOTH_WEIGHT,
                        self.out,
                    )
                    for y0, y1 in _parts(pr0, pr1, self.nthreads)
                ],
                kernels.scatter_curves,
            )

    def _transform(self, source, mean, re, im, ring, ya, yb) -> None:
        """Store spectra of tile rows ya..yb in ring slots of re, im.

        Rows are converted in groups whose series fit a bounded buffer
        (threads take blocks of frames); then each thread transforms its
        own small batches of pixels, so that a batch's spectra stay in its
        core's cache until they are stored.

        """
        kernels = self.kernels
        plan = self.plan
        nframes = source.shape[0]
        xa, xb = self.xw0, self.xw1
        wwidth = xb - xa
        rowbytes = wwidth * plan.length * 4
        group = max(1, min(yb - ya, _SERIES_BYTES // rowbytes))
        zbuf = self.workspace.array('z', (group * wwidth, plan.length))
        nparts = self.nthreads

        y0 = ya
        while y0 < yb:
            # a group of rows in consecutive ring slots
            y1 = min(yb, y0 + group, y0 + ring - y0 % ring)
            count = (y1 - y0) * wwidth
            q0 = (y0 % ring) * wwidth
            z = zbuf[:count]
            nblocks = -(-nframes // kernels.LOAD_FRAMES)
            nblocks += plan.length > nframes  # one block zero-pads
            _parallel(
                self.pool,
                [
                    (source, mean, y0, y1, xa, xb, b0, b1, z)
                    for b0, b1 in _parts(0, nblocks, nparts)
                ],
                kernels.load_series,
            )
            _parallel(
                self.pool,
                [
                    (z, q0, k0, k1, re, im)
                    for k0, k1 in _parts(0, count, nparts)
                ],
                self._spectra,
            )
            y0 = y1

    def _spectra(self, z, q0, k0, k1, re, im) -> None:
        """Transform rows k0..k1 of z into pixels q0 + k0.. of re, im."""
        import scipy.fft

        for j0 in range(k0, k1, _FFT_BATCH):
            j1 = min(k1, j0 + _FFT_BATCH)
            spectra = scipy.fft.rfft(z[j0:j1], axis=-1, workers=1)
            self.kernels.split_spectra(spectra, q0 + j0, re, im)


class _Workspace:
    """Buffers reused by the tiles of one image.

    Fresh large arrays are slow to touch first, so the buffers of a
    finished call are kept for ``_KEEP_SECONDS`` (at most one idle set,
    about 350 MB at most) and handed to the next call, then freed.
    Concurrent calls get separate workspaces.

    """

    _lock = threading.Lock()
    _idle: list[_Workspace] = []
    _timer: threading.Timer | None = None

    def __init__(self) -> None:
        self._arrays: dict[str, numpy.ndarray] = {}

    @classmethod
    def acquire(cls) -> _Workspace:
        """Return the idle workspace or a new one."""
        with cls._lock:
            if cls._timer is not None:
                cls._timer.cancel()
                cls._timer = None
            return cls._idle.pop() if cls._idle else cls()

    def release(self) -> None:
        """Keep this workspace for the next call, for a short while."""
        cls = type(self)
        with cls._lock:
            cls._idle[:] = [self]
            if cls._timer is not None:
                cls._timer.cancel()
            cls._timer = threading.Timer(_KEEP_SECONDS, cls._drop)
            cls._timer.daemon = True
            cls._timer.start()

    @classmethod
    def _drop(cls) -> None:
        with cls._lock:
            cls._idle.clear()
            cls._timer = None

    def array(
        self, name: str, shape: tuple[int, ...], dtype: Any = numpy.float32
    ) -> numpy.ndarray:
        """Return an uninitialized array, reusing a buffer called name."""
        size = int(numpy.prod(shape))
        buffer = self._arrays.get(name)
        if buffer is None or buffer.dtype != dtype or buffer.size < size:
            self._arrays.pop(name, None)
            buffer = numpy.empty(size, dtype)
            self._arrays[name] = buffer
        return buffer[:size].reshape(shape)
