"""GPU engine: bin averages of cross-spectra by matrix products on CuPy.

The bin average of a correlation curve is linear in the cross-spectrum of
the two pixels, so no inverse transform is needed. With ``A`` and ``B``
the real FFTs (length ``L``) of the mean-subtracted float32 series of a
centre and of its neighbour, ``X = conj(A) * B`` at frequencies
``f = 1 .. L // 2`` and, for bin ``k`` with delays ``[lo, hi)``::

    M[f, k] = w_f / (L * N) * mean over tau in [lo, hi) of exp(2j pi f tau / L)

(``w_f = 1`` at ``f = L/2``, else 2; a closed-form geometric sum built in
float64), the binned curve from the centre toward the neighbour is
``(P - Q) / (<a> <b>)`` with ``P = Re(X) @ Re(M)`` and
``Q = Im(X) @ Im(M)``, and the curve from the neighbour back toward the
centre is ``(P + Q) / (<a> <b>)`` (with the plan's camera offset
subtracted from both means): one pair of float32 matrix products
serves two circle points. The smoothing is linear too and is folded into
``M``. The zero frequency is left out: the series are mean-free, so any
rounding left in their float32 means cannot leak into the result.
Circular mode uses ``L = N``; linear mode zero-pads to a fast length
``L >= N + N // 2 - 1``, which no delay below ``N / 2`` wraps around.

Raw counts travel to the device in their own dtype through pinned host
buffers, the next block's copy overlapping the current block's work;
there they are converted, mean-subtracted (means in float64) and
transposed to pixel-major rows for batched FFTs. For a circle offset
``(u, v)`` the partners of a run of consecutive pixels in row-major order
are the same run shifted by ``v * width + u``, so pairs need no gathers.
Tiles of rows (and, for very wide images, strips of columns) are sized
from the free device memory; only the float32 result comes back.

The arithmetic is written against an array module, so that the tests run
it with numpy on machines without a GPU; :func:`compute` runs it with
CuPy and its own transfer and kernel plumbing.

"""

from __future__ import annotations

import contextlib
import functools
import math
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy

from ..plan import Plan
from . import _volume
from ._spectral import binning_matrix, pair_tasks, transform_length

NAME = 'gpu'

_DEVICE_FRACTION = 0.85
"""Share of the free device memory a tile may use."""

_HOST_BUDGET = 256 * 2**20
"""Bytes of spectra and results per window on the numpy path."""

_CHUNK_BYTES = 512 * 2**20
"""Bytes of float32 series transformed in one batch on the device."""

_PAIR_BYTES = 512 * 2**20
"""Bytes of cross-spectra (real and imaginary planes) per product."""

_MIN_BLOCKS = 4
"""Fewest blocks a window's rows are sent and transformed in."""

_COPY_BYTES = 8 * 2**20
"""Smallest host copy worth splitting among threads."""

_CTYPES = {
    'uint8': 'unsigned char',
    'int8': 'signed char',
    'uint16': 'unsigned short',
    'int16': 'short',
    'uint32': 'unsigned int',
    'int32': 'int',
    'uint64': 'unsigned long long',
    'int64': 'long long',
    'float32': 'float',
    'float64': 'double',
}

_CENTRE_SOURCE = r"""
extern "C" __global__ void ipcf_centre(
    const {ctype}* __restrict__ x, const double* __restrict__ mean,
    float* __restrict__ z, const long long nframes, const long long npix,
    const long long ldz)
{
    // z[p, t] = x[t, p] - mean[p]: a transpose through shared memory,
    // so that both the reads and the writes are coalesced
    __shared__ float tile[32][33];
    const long long p0 = (long long)blockIdx.x * 32;
    for (long long t0 = (long long)blockIdx.y * 32; t0 < nframes;
         t0 += (long long)gridDim.y * 32) {
        for (int j = threadIdx.y; j < 32; j += 8) {
            const long long t = t0 + j;
            const long long p = p0 + threadIdx.x;
            if (t < nframes && p < npix) {
                tile[j][threadIdx.x] =
                    (float)((double)x[t * npix + p] - mean[p]);
            }
        }
        __syncthreads();
        for (int j = threadIdx.y; j < 32; j += 8) {
            const long long p = p0 + j;
            const long long t = t0 + threadIdx.x;
            if (t < nframes && p < npix) {
                z[p * ldz + t] = tile[threadIdx.x][j];
            }
        }
        __syncthreads();
    }
}
"""

_AVAILABLE: bool | None = None

_DEVICE_LOCK = threading.Lock()


def available() -> bool:
    """Return whether CuPy imports and finds a usable GPU.

    The answer is cached: the first call creates a CUDA context and runs
    a tiny FFT and matrix product, and any failure means no.

    """
    global _AVAILABLE
    if _AVAILABLE is None:
        _AVAILABLE = _probe()
    return _AVAILABLE


def _probe() -> bool:
    """Return whether CuPy can run an FFT and a matrix product here."""
    try:
        import cupy
    except Exception:  # noqa: BLE001 - a broken install means no GPU too
        return False
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return False
        x = cupy.arange(8, dtype=cupy.float32)
        cupy.fft.rfft(x)
        cupy.matmul(x[None, :], x[:, None])
        cupy.cuda.Device().synchronize()
    except Exception:  # noqa: BLE001 - any CUDA failure means no GPU
        return False
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
    """Fill out[direction, y, x, point, bin]; see :mod:`ipcf.engines`."""
    _run(
        plan,
        reader,
        out,
        mask=mask,
        num_threads=num_threads,
        progress=progress,
    )


def _run(
    plan: Plan,
    reader: Any,
    out: numpy.ndarray,
    *,
    mask: numpy.ndarray | None = None,
    num_threads: int = 1,
    progress: Any = None,
    timings: dict[str, float] | None = None,
    **options: Any,
) -> None:
    """Run :func:`_compute` with CuPy; add stage seconds to `timings`.

    `options` (``budget``, ``tile_pixels``, ``chunk_pixels``) are passed
    on, for tests and benchmarks.

    """
    try:
        import cupy
    except ImportError as exc:
        msg = "engine='gpu' needs CuPy; install ipcf[gpu]"
        raise ImportError(msg) from exc

    # one window at a time fills the device; concurrent calls (threaded
    # pipelines) would each size their windows from the same free memory
    with _DEVICE_LOCK:
        ops = _CupyOps(cupy, num_threads=num_threads or 1, timings=timings)
        try:
            with ops.active():
                _compute(
                    cupy,
                    plan,
                    reader,
                    out,
                    mask=mask,
                    ops=ops,
                    progress=progress,
                    **options,
                )
        finally:
            ops.close()


def _compute(
    xp,
    plan: Plan,
    reader: Any,
    out: numpy.ndarray,
    *,
    mask: numpy.ndarray | None = None,
    tile_pixels: int | None = None,
    chunk_pixels: int | None = None,
    budget: int | None = None,
    ops: _ArrayOps | None = None,
    timings: dict[str, float] | None = None,
    progress: Any = None,
) -> None:
    """Fill out[direction, y, x, point, bin] using the array module `xp`.

    Parameters
    ----------
    xp : module
        ``numpy`` or ``cupy``.
    plan, reader, out, mask, progress
        As for :func:`compute`.
    tile_pixels : int, optional
        Pairs per matrix product; default from a 512 MB budget.
    chunk_pixels : int, optional
        Pixels transformed per batch; default from a 512 MB budget.
    budget : int, optional
        Bytes of spectra and results held at once; windows of the image
        are sized to fit. Default: from the free device memory (CuPy) or
        256 MB (numpy).
    ops : _ArrayOps, optional
        Transfers and fused kernels; default: plain `xp` operations.
        Volume plans are computed as images of stacked planes where
        their windows fit the budget, else plane by plane, with the same
        `ops` (:mod:`ipcf.engines._volume`).
    timings : dict, optional
        Seconds per stage are added to it (with the default `ops`).

    """
    if ops is None:
        ops = _ArrayOps(xp, timings=timings)
    if plan.ndim == 3:
        options = {
            'tile_pixels': tile_pixels,
            'chunk_pixels': chunk_pixels,
            'budget': budget,
            'ops': ops,
        }

        def image(plan, reader, out, *, mask, num_threads, progress):
            _compute(ops.xp, plan, reader, out, mask=mask, **options)

        if _stack_planes(plan, reader, out.shape, **options):
            _volume.compute_stacked(
                image, plan, reader, out, mask=mask, progress=progress
            )
        else:
            _volume.compute_planes(
                image, plan, reader, out, mask=mask, progress=progress
            )
        return
    xp = ops.xp
    nframes, nrows, width = reader.shape
    ndir, height, cwidth, npoints, nbins = out.shape
    hy, hx = plan.halo
    centres = (
        numpy.ones((height, cwidth), bool)
        if mask is None
        else numpy.asarray(mask, dtype=bool)
    )
    if not centres.any():
        return
    spectral = _spectral_plan(nframes, plan.edges, plan.mode, plan.smoothing)
    tasks = pair_tasks(
        plan.offsets,
        cross=plan.cross,
        reverse=plan.reverse,
        curves=plan.curves,
    )
    nchannels = 2 if plan.cross else 1
    minus_dir = 1 if plan.cross else 0
    if chunk_pixels is None:
        chunk_pixels = max(1, ops.chunk_bytes // (4 * spectral.length))
    if tile_pixels is None:
        tile_pixels = max(1, ops.pair_bytes // (8 * spectral.nfreq))
    if budget is None:
        workspace = _workspace_bytes(
            nframes,
            spectral.length,
            reader.dtype.itemsize,
            min(chunk_pixels, nrows * width),
            tile_pixels,
        )
        budget = ops.budget(workspace)
    per_pixel = _pixel_bytes(spectral.length, nchannels, ndir * npoints, nbins)
    rows, cols = _window_shape(budget // per_pixel, height, cwidth, hy, hx)

    mre = ops.asarray(spectral.mre)
    mim = ops.asarray(spectral.mim)
    planes = xp.empty((2, tile_pixels, spectral.nfreq), xp.float32)
    products = xp.empty((2, tile_pixels, nbins), xp.float32)
    for y0 in range(0, height, rows):
        y1 = min(height, y0 + rows)
        for x0 in range(0, cwidth, cols):
            x1 = min(cwidth, x0 + cols)
            if not centres[y0:y1, x0:x1].any():
                continue
            _window(
                ops,
                spectral,
                tasks,
                reader,
                nchannels,
                minus_dir,
                out,
                centres,
                (y0, y1, x0, x1),
                (hy, hx),
                chunk_pixels,
                (mre, mim, planes, products),
                plan.offset,
            )
            if progress is not None:
                progress(ndir * (y1 - y0) * (x1 - x0))


def _window(
    ops,
    spectral,
    tasks,
    reader,
    nchannels,
    minus_dir,
    out,
    centres,
    box,
    halo,
    chunk,
    bufs,
    camera_offset=0.0,
) -> None:
    """Compute the curves of the centres in box = (y0, y1, x0, x1).

    `camera_offset` is subtracted from the means that normalise them.

    """
    xp = ops.xp
    mre, mim, planes, products = bufs
    tile_pixels = planes.shape[1]
    y0, y1, x0, x1 = box
    hy, hx = halo
    wrows = y1 - y0 + 2 * hy
    wwidth = x1 - x0 + 2 * hx
    npix = wrows * wwidth
    ndir, _, _, npoints, nbins = out.shape
    # centres to do, in the window's row-major pixel order
    todo = numpy.zeros((wrows, wwidth), bool)
    todo[hy : wrows - hy, hx : wwidth - hx] = centres[y0:y1, x0:x1]
    todo = todo.ravel()

    # the reader serves views of arrays in memory: one host copy, into
    # the pinned buffer that is sent to the device
    block = reader.read(0, y0, y0 + wrows, x0, x0 + wwidth)
    spec_a, inv_a = _spectra(ops, block, spectral, chunk, camera_offset)
    if nchannels == 1:
        spec_b, inv_b = spec_a, inv_a
    else:
        block = reader.read(1, y0, y0 + wrows, x0, x0 + wwidth)
        spec_b, inv_b = _spectra(ops, block, spectral, chunk, camera_offset)
    # the zero frequency is left out: the series are mean-free
    spec_a = spec_a[:, 1:]
    spec_b = spec_b[:, 1:]
    result = xp.full((ndir, npix, npoints, nbins), xp.nan, xp.float32)

    for offset, plus, minus in tasks:
        u, v = offset
        shift = v * wwidth + u
        # pair p = (p, p + shift) serves centre p ('plus' points) and
        # centre p + shift ('minus' points, the negated offset)
        need = numpy.zeros(npix, bool)
        if plus:
            need |= todo
        if minus:
            if shift >= 0:
                need[: npix - shift] |= todo[shift:]
            else:
                need[-shift:] |= todo[: npix + shift]
        starts = numpy.flatnonzero(need)
        # pairs whose partner lies outside the window are never needed
        k = 0
        while k < starts.size:
            c0 = int(starts[k])
            c1 = min(c0 + tile_pixels, int(starts[-1]) + 1)
            k = int(numpy.searchsorted(starts, c1))
            a0, a1 = max(c0, -shift), min(c1, npix - shift)
            if a1 <= a0:
                continue
            n = a1 - a0
            re = planes[0, :n]
            im = planes[1, :n]
            with ops.stage('cross'):
                ops.cross(
                    spec_a[a0:a1], spec_b[a0 + shift : a1 + shift], re, im
                )
            with ops.stage('gemm'):
                p = xp.matmul(re, mre, out=products[0, :n])
                q = xp.matmul(im, mim, out=products[1, :n])
            with ops.stage('scatter'):
                scale = (inv_a[a0:a1] * inv_b[a0 + shift : a1 + shift])[
                    :, None
                ]
                if plus:
                    curves = (p - q) * scale
                    for i in plus:
                        result[0, a0:a1, i] = curves
                if minus:
                    curves = (p + q) * scale
                    for i in minus:
                        result[minus_dir, a0 + shift : a1 + shift, i] = curves

    result = result.reshape(ndir, wrows, wwidth, npoints, nbins)
    result = result[:, hy : wrows - hy, hx : wwidth - hx]
    target = out[:, y0:y1, x0:x1]
    with ops.stage('download'):
        ops.to_host(result, target)
    # pair tiles also ran over centres outside the mask
    target[:, ~centres[y0:y1, x0:x1]] = numpy.nan


def _stack_planes(
    plan, reader, out_shape, *, tile_pixels, chunk_pixels, budget, ops
) -> bool:
    """Return whether windows of stacked planes fit the budget.

    They must hold at least twice the rows of the stacked halo
    (``2 hz + 1`` planes), else the volume goes by pairs of planes.

    """
    nframes, _, height, width = reader.shape
    hz, hy, hx = plan.halo
    spectral = _spectral_plan(nframes, plan.edges, plan.mode, plan.smoothing)
    if chunk_pixels is None:
        chunk_pixels = max(1, ops.chunk_bytes // (4 * spectral.length))
    if tile_pixels is None:
        tile_pixels = max(1, ops.pair_bytes // (8 * spectral.nfreq))
    if budget is None:
        budget = ops.budget(
            _workspace_bytes(
                nframes,
                spectral.length,
                reader.dtype.itemsize,
                min(chunk_pixels, height * width),
                tile_pixels,
            )
        )
    ndir, _, _, _, npoints, nbins = out_shape
    per_pixel = _pixel_bytes(
        spectral.length, 2 if plan.cross else 1, ndir * npoints, nbins
    )
    halo = hz * height + hy
    return budget // per_pixel >= 2 * (2 * halo + 1) * width


def _spectra(ops, block, plan, chunk_pixels, offset=0.0) -> tuple[Any, Any]:
    """Return spectra (npix, L // 2 + 1) and inverse means of a block.

    `block` is a host array of shape (N, rows, width); pixels are in
    row-major order. Inverse means are ``1 / (mean - offset)``, NaN
    where the mean does not exceed the camera `offset`.

    """
    xp = ops.xp
    nframes, nrows, width = block.shape
    npix = nrows * width
    spec = xp.empty((npix, plan.length // 2 + 1), xp.complex64)
    inv = xp.empty(npix, xp.float32)
    # a few blocks at least, so that sending one overlaps work on another
    rows = max(1, min(-(-nrows // _MIN_BLOCKS), chunk_pixels // width))
    spans = [(a, min(nrows, a + rows)) for a in range(0, nrows, rows)]
    # samples beyond N stay zero: linear mode's padding
    series = xp.zeros((rows * width, plan.length), xp.float32)
    for (a, b), raw in zip(spans, ops.upload(block, spans), strict=True):
        n = (b - a) * width
        p0 = a * width
        z = series[:n]
        with ops.stage('convert'):
            raw = raw.reshape(nframes, n)
            mean = raw.sum(axis=0, dtype=xp.float64) / nframes
            ops.centre(raw, mean, z)
            above = mean - offset
            zero = ~(above > 0)
            inv[p0 : p0 + n] = xp.where(
                zero, xp.nan, 1.0 / xp.where(zero, 1.0, above)
            )
        with ops.stage('fft'):
            spec[p0 : p0 + n] = xp.fft.rfft(z, axis=-1)
    return spec, inv


class _ArrayOps:
    """Transfers, fused steps and timers, with plain array operations.

    Works with numpy and with CuPy; :class:`_CupyOps` replaces the
    transfers and two steps with CuPy-specific code.

    """

    chunk_bytes = 16 * 2**20
    pair_bytes = 16 * 2**20

    def __init__(self, xp, *, timings: dict[str, float] | None = None):
        self.xp = xp
        self.timings = timings

    def budget(self, workspace: int) -> int:
        """Return bytes of spectra and results a window may hold."""
        return _HOST_BUDGET

    def asarray(self, array):
        """Return a host array on the device."""
        return self.xp.asarray(array)

    @contextlib.contextmanager
    def host_stage(self, name: str) -> Iterator[None]:
        """Add the host time spent in the context to timings[name]."""
        if self.timings is None:
            yield
            return
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.timings[name] = self.timings.get(name, 0.0) + elapsed

    def stage(self, name: str) -> Any:
        """Return a context adding the time of its work to timings[name]."""
        return self.host_stage(name)

    def upload(self, block, spans) -> Iterator[Any]:
        """Yield block[:, a:b] on the device for each (a, b) in spans."""
        for a, b in spans:
            with self.stage('upload'):
                raw = self.xp.asarray(block[:, a:b])
            yield raw

    def centre(self, raw, mean, z) -> None:
        """Store z[p, t] = raw[t, p] - mean[p] in float32, t < N."""
        nframes = raw.shape[0]
        z[:, :nframes] = raw.T - mean[:, None]

    def cross(self, a, b, re, im) -> None:
        """Store the real and imaginary parts of conj(a) * b."""
        xp = self.xp
        xp.multiply(a.real, b.real, out=re)
        re += a.imag * b.imag
        xp.multiply(a.real, b.imag, out=im)
        im -= a.imag * b.real

    def to_host(self, src, dst) -> None:
        """Copy a device array into the host array dst."""
        if self.xp is not numpy:
            src = self.xp.asnumpy(src)  # CuPy refuses implicit copies
        dst[...] = src


class _CupyOps(_ArrayOps):
    """CuPy transfers through pinned buffers and two streams; fused kernels.

    Raw blocks are copied into one of two pinned host buffers (by
    `num_threads` threads) and sent on a copy stream while the compute
    stream works on the previous block. Matrix products run in plain
    float32 (never TF32) while :meth:`active`.

    """

    chunk_bytes = _CHUNK_BYTES
    pair_bytes = _PAIR_BYTES

    def __init__(
        self,
        cupy,
        *,
        num_threads: int = 1,
        timings: dict[str, float] | None = None,
    ):
        super().__init__(cupy, timings=timings)
        self.stream = cupy.cuda.Stream(non_blocking=True)
        self.copy_stream = cupy.cuda.Stream(non_blocking=True)
        self.num_threads = max(1, int(num_threads))
        self.pool = (
            ThreadPoolExecutor(self.num_threads)
            if self.num_threads > 1
            else None
        )
        self._cross = _cross_kernel(cupy)
        self._events: list[tuple[str, Any, Any]] = []
        self._slots = [_Slot(), _Slot()]
        self._slot = 0

    @staticmethod
    def free_bytes() -> int:
        """Return free device memory, counting CuPy's cached blocks."""
        import cupy

        free = cupy.cuda.Device().mem_info[0]
        free += cupy.get_default_memory_pool().free_bytes()
        return int(free * _DEVICE_FRACTION)

    def budget(self, workspace: int) -> int:
        return max(0, self.free_bytes() - workspace)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Run on the compute stream with float32 matrix products."""
        with _float32_products(), self.stream:
            yield

    def close(self) -> None:
        """Wait for the streams, collect timings, release buffers."""
        try:
            self.copy_stream.synchronize()
            self.stream.synchronize()
            if self.timings is not None:
                for name, start, end in self._events:
                    seconds = self.xp.cuda.get_elapsed_time(start, end) / 1e3
                    self.timings[name] = self.timings.get(name, 0.0) + seconds
        finally:
            self._events.clear()
            self._slots = [_Slot(), _Slot()]
            if self.pool is not None:
                self.pool.shutdown()

    @contextlib.contextmanager
    def stage(self, name: str, stream=None) -> Iterator[None]:
        """Time the work queued on a stream within the context."""
        if self.timings is None:
            yield
            return
        stream = self.stream if stream is None else stream
        start = stream.record(self.xp.cuda.Event())
        try:
            yield
        finally:
            end = stream.record(self.xp.cuda.Event())
            self._events.append((name, start, end))

    def upload(self, block, spans) -> Iterator[Any]:
        """Yield blocks on the device, sending the next one meanwhile.

        Two slots, each a pinned host buffer and a device buffer, take
        turns; events keep the host from overwriting a pinned buffer
        that is still being sent, and the copy stream from overwriting a
        device buffer that the compute stream still reads.

        """
        cupy = self.xp
        nframes, _, width = block.shape
        dtype = _device_dtype(block.dtype)
        rows = max(b - a for a, b in spans)
        nbytes = nframes * rows * width * dtype.itemsize

        def send(a, b):
            slot = self._slots[self._slot]
            self._slot ^= 1
            if slot.ready is not None:
                slot.ready.synchronize()  # its last send has finished
            if slot.nbytes < nbytes:
                slot.pinned = cupy.cuda.alloc_pinned_memory(nbytes)
                slot.device = cupy.empty(nbytes, numpy.uint8)
                slot.nbytes = nbytes
                # pooled memory may still be read by queued work
                slot.done = self.stream.record(_event(cupy))
            shape = (nframes, b - a, width)
            count = nframes * (b - a) * width
            host = numpy.frombuffer(slot.pinned, dtype, count).reshape(shape)
            with self.host_stage('host copy'):
                _parallel_copy(
                    host, block[:, a:b], self.pool, self.num_threads
                )
            target = slot.device[: count * dtype.itemsize].view(dtype)
            target = target.reshape(shape)
            if slot.done is not None:
                self.copy_stream.wait_event(slot.done)
            with self.stage('upload', self.copy_stream):
                target.set(host, stream=self.copy_stream)
            slot.ready = self.copy_stream.record(_event(cupy))
            return target, slot

        target, slot = send(*spans[0])
        for k in range(len(spans)):
            self.stream.wait_event(slot.ready)
            yield target
            slot.done = self.stream.record(_event(cupy))
            if k + 1 < len(spans):
                target, slot = send(*spans[k + 1])

    def centre(self, raw, mean, z) -> None:
        nframes, npix = raw.shape
        kernel = _centre_kernel(self.xp, raw.dtype.name)
        grid = (-(-npix // 32), min(-(-nframes // 32), 65535))
        kernel(
            grid,
            (32, 8),
            (
                raw,
                mean,
                z,
                numpy.int64(nframes),
                numpy.int64(npix),
                numpy.int64(z.shape[1]),
            ),
        )

    def cross(self, a, b, re, im) -> None:
        self._cross(a, b, re, im)

    def to_host(self, src, dst) -> None:
        src = self.xp.ascontiguousarray(src)
        if dst.flags.c_contiguous:
            src.get(stream=self.stream, out=dst)
        else:
            dst[...] = src.get(stream=self.stream)


class _Slot:
    """A pinned host buffer, a device buffer and their last events."""

    def __init__(self) -> None:
        self.pinned: Any = None
        self.device: Any = None
        self.nbytes = 0
        self.ready: Any = None  # the send into the device buffer is done
        self.done: Any = None  # the compute stream is done with it


def _event(cupy) -> Any:
    """Return a CUDA event for ordering only."""
    return cupy.cuda.Event(disable_timing=True)


@contextlib.contextmanager
def _float32_products() -> Iterator[None]:
    """Make CuPy's float32 matrix products use plain float32 arithmetic.

    CuPy picks the cuBLAS compute type of float32 products from a
    process-wide setting that ``CUPY_TF32=1`` turns to TF32, which would
    round the cross-spectra to 10-bit mantissas. COMPUTE_TYPE_DEFAULT
    selects ``CUBLAS_COMPUTE_32F``; the previous setting is restored.

    """
    from cupy._core import _routines_linalg as linalg

    previous = linalg.get_compute_type(numpy.float32)
    linalg.set_compute_type(numpy.float32, linalg.COMPUTE_TYPE_DEFAULT)
    try:
        yield
    finally:
        linalg.set_compute_type(numpy.float32, previous)


@functools.cache
def _cross_kernel(cupy) -> Any:
    """Return a CuPy kernel storing Re and Im of conj(a) * b."""
    return cupy.ElementwiseKernel(
        'complex64 a, complex64 b',
        'float32 re, float32 im',
        're = a.real() * b.real() + a.imag() * b.imag(); '
        'im = a.real() * b.imag() - a.imag() * b.real()',
        'ipcf_cross_spectrum',
    )


@functools.cache
def _centre_kernel(cupy, dtype: str) -> Any:
    """Return the CuPy kernel converting raw samples of a dtype."""
    source = _CENTRE_SOURCE.replace('{ctype}', _CTYPES[dtype])
    return cupy.RawKernel(source, 'ipcf_centre')


def _device_dtype(dtype) -> numpy.dtype:
    """Return the native dtype that raw samples travel in."""
    dtype = numpy.dtype(dtype).newbyteorder('=')
    if dtype.name not in _CTYPES:
        dtype = numpy.dtype(numpy.float32)  # float16, exactly
    return dtype


def _parallel_copy(dst, src, pool=None, nthreads: int = 1) -> None:
    """Copy src into dst (casting as needed), split among pool threads.

    numpy releases the GIL while it copies, so threads add bandwidth.

    """
    if pool is None or nthreads < 2 or dst.nbytes < _COPY_BYTES:
        numpy.copyto(dst, src, casting='unsafe')
        return
    bounds = numpy.linspace(0, len(dst), min(nthreads, len(dst)) + 1)
    bounds = bounds.astype(int)
    parts = zip(bounds[:-1], bounds[1:], strict=True)
    futures = [
        pool.submit(numpy.copyto, dst[a:b], src[a:b], casting='unsafe')
        for a, b in parts
    ]
    for future in futures:
        future.result()


class _Spectral:
    """Transform length and binning matrices for N frames and bins."""

    def __init__(
        self, nframes: int, edges: tuple[int, ...], mode: str, smoothing: bool
    ):
        # cuFFT is fast on 7-smooth lengths
        length = transform_length(nframes, mode, primes=(2, 3, 5, 7))
        self.nframes = nframes
        self.length = length
        self.nfreq = length // 2
        self.nbins = len(edges)
        matrix = binning_matrix(nframes, length, edges, smoothing)
        self.mre = numpy.ascontiguousarray(matrix.real, numpy.float32)
        self.mim = numpy.ascontiguousarray(matrix.imag, numpy.float32)


@functools.lru_cache(maxsize=8)
def _spectral_plan(
    nframes: int, edges: tuple[int, ...], mode: str, smoothing: bool
) -> _Spectral:
    """Return the (cached) spectral plan for frames, bins and mode."""
    return _Spectral(nframes, edges, mode, smoothing)


def _pixel_bytes(length: int, nchannels: int, npoints: int, nbins: int):
    """Return device bytes per window pixel: spectra, means and results."""
    return nchannels * ((length // 2 + 1) * 8 + 4) + npoints * nbins * 4


def _workspace_bytes(
    nframes: int,
    length: int,
    itemsize: int,
    chunk_pixels: int,
    tile_pixels: int,
) -> int:
    """Return device bytes used besides the window's spectra and results.

    Two raw blocks, a batch of float32 series, its spectra and cuFFT's
    work area, and the cross-spectrum planes.

    """
    raw = 2 * chunk_pixels * nframes * itemsize
    series = chunk_pixels * length * 4
    spectra = 2 * chunk_pixels * (length // 2 + 1) * 8
    planes = tile_pixels * (length // 2) * 8
    return raw + series + spectra + planes


def _window_shape(
    max_pixels: int, height: int, width: int, hy: int, hx: int
) -> tuple[int, int]:
    """Return result rows and columns of windows of at most max_pixels."""
    full = width + 2 * hx
    if max_pixels >= (1 + 2 * hy) * full:
        return max(1, min(height, max_pixels // full - 2 * hy)), width
    side = max(1, math.isqrt(max(1, max_pixels)) - 2 * max(hy, hx))
    return min(height, side), min(width, side)
