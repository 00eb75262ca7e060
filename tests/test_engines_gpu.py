import importlib
import subprocess
import sys
import time
import types
from concurrent.futures import ThreadPoolExecutor

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from ipcf import engines
from ipcf.engines import gpu, reference
from ipcf.pcf import average_bins, circle, logbins, pcf_image, smooth

ATOL = 1e-5


def series(shape, mean=5.0, dtype=numpy.uint16, seed=0, offset=0.0):
    """Return Poisson counts around mean (plus a constant offset)."""
    rng = numpy.random.default_rng(seed)
    return (rng.poisson(mean, shape) + offset).astype(dtype)


def results(
    data,
    *,
    radius=2,
    npoints=8,
    nbins=8,
    xp=numpy,
    run=None,
    **kwargs,
):
    """Return the engine's and the reference engine's curves of a tile."""
    points = circle(radius, npoints)
    edges = logbins(data.shape[0] // 2, nbins)
    shape = (
        data.shape[1] - 2 * radius,
        data.shape[2] - 2 * radius,
        len(points),
        len(edges),
    )
    result = numpy.full(shape, numpy.nan, numpy.float32)
    expected = result.copy()
    if run is None:
        gpu._compute(xp, data, result, points=points, edges=edges, **kwargs)
    else:
        run(data, result, points=points, edges=edges, **kwargs)
    for key in ('tile_pixels', 'chunk_pixels', 'budget', 'timings'):
        kwargs.pop(key, None)
    reference.compute(data, expected, points=points, edges=edges, **kwargs)
    return result, expected


def assert_same_curves(result, expected, atol=ATOL):
    """Assert equal NaN positions and values within atol."""
    assert result.dtype == numpy.float32
    assert result.shape == expected.shape
    assert_array_equal(numpy.isnan(result), numpy.isnan(expected))
    assert_allclose(result, expected, rtol=0, atol=atol, equal_nan=True)


def gpu_or_skip():
    """Return cupy, or skip where it does not import or finds no GPU."""
    cupy = pytest.importorskip('cupy')
    if not gpu.available():
        pytest.skip('CuPy imports but finds no usable GPU')
    return cupy


# the array-module path, run with numpy


@pytest.mark.parametrize('mode', ['circular', 'linear'])
@pytest.mark.parametrize(
    ('mean', 'offset', 'dtype'),
    [
        (5.0, 0.0, numpy.uint16),  # dim
        (1.0, 0.0, numpy.uint8),  # dimmer, many zeros
        (2.0, 10000.0, numpy.uint16),  # bright, small fluctuations
        (100.0, 10000.0, numpy.int32),
        (3.0, 50000.0, numpy.float32),
        (100.0, 0.5, numpy.float64),
    ],
)
def test_equals_reference(mode, mean, offset, dtype):
    data = series((256, 12, 13), mean, dtype, seed=1, offset=offset)
    copy = data.copy()
    result, expected = results(data, mode=mode)
    assert_same_curves(result, expected)
    assert_array_equal(data, copy)


def test_equals_reference_big_endian():
    data = series((128, 11, 12), 50.0, numpy.dtype('>u2'), seed=2)
    result, expected = results(data)
    assert_same_curves(result, expected)


@pytest.mark.parametrize('mode', ['circular', 'linear'])
@pytest.mark.parametrize('nframes', [201, 96, 17])
def test_frames_not_power_of_two(mode, nframes):
    """truncate=False hands any N to the engine."""
    data = series((nframes, 11, 12), 20.0, seed=nframes)
    result, expected = results(data, mode=mode, nbins=6)
    assert_same_curves(result, expected)


@pytest.mark.parametrize(
    ('radius', 'npoints'), [(1, 32), (2, 32), (2, 7), (3, 5), (2, 1)]
)
def test_points(radius, npoints):
    """Duplicate points, odd counts and unpaired points."""
    data = series((128, 2 * radius + 6, 2 * radius + 5), 10.0, seed=3)
    result, expected = results(data, radius=radius, npoints=npoints)
    assert_same_curves(result, expected)
    if npoints == 32 and radius == 1:
        points = circle(radius, npoints)
        first = numpy.flatnonzero((points == points[1]).all(axis=1))
        assert first.size > 1
        assert_array_equal(result[:, :, first[0]], result[:, :, first[1]])


def test_mask():
    data = series((128, 14, 15), 10.0, seed=4)
    mask = numpy.random.default_rng(4).random((10, 11)) < 0.3
    mask[3] = False
    mask[:, 5] = False
    result, expected = results(data, mask=mask)
    assert_same_curves(result, expected)
    assert numpy.isnan(result[~mask]).all()
    assert not numpy.isnan(result[mask]).any()


def test_mask_empty():
    data = series((64, 9, 9), seed=5)
    mask = numpy.zeros((5, 5), bool)
    result, expected = results(data, mask=mask)
    assert numpy.isnan(result).all()
    assert_same_curves(result, expected)


@pytest.mark.parametrize('mode', ['circular', 'linear'])
def test_zero_mean_pixels(mode):
    """Pixels with zero mean give NaN exactly where the reference does."""
    data = series((128, 12, 12), 3.0, seed=6)
    data[:, 5, 6] = 0  # a centre, and a neighbour of others
    data[:, 0, :] = 0  # neighbours only
    data[:, 8, 2:5] = 0
    result, expected = results(data, mode=mode)
    assert_same_curves(result, expected)
    assert numpy.isnan(result[3, 4]).all()
    assert numpy.isnan(result).any(axis=(2, 3)).sum() > 10
    assert not numpy.isnan(result).all(axis=(2, 3))[1, 1]


def test_neighbour_channel():
    data = series((128, 12, 13), 10.0, seed=7)
    second = series((128, 12, 13), 30.0, seed=8)
    second[:, 3, 3] = 0
    copy = second.copy()
    result, expected = results(data, neighbour=second, npoints=7)
    assert_same_curves(result, expected)
    assert_array_equal(second, copy)
    same, _ = results(data, neighbour=data)
    alone, _ = results(data)
    assert_allclose(same, alone, rtol=0, atol=1e-7)


@pytest.mark.parametrize(
    ('tile_pixels', 'chunk_pixels', 'budget'),
    [
        (5, 7, 20_000),  # windows of single centres
        (16, 1, 140_000),  # bands of full-width rows
        (3, 40, None),
        (1000, 1000, 1),
    ],
)
@pytest.mark.parametrize('mode', ['circular', 'linear'])
def test_tiling(tile_pixels, chunk_pixels, budget, mode):
    """Windows, pair tiles and transform batches do not change results."""
    data = series((64, 13, 17), 10.0, seed=9)
    mask = numpy.ones((9, 13), bool)
    mask[4, 2:9] = False
    result, expected = results(
        data,
        mode=mode,
        mask=mask,
        tile_pixels=tile_pixels,
        chunk_pixels=chunk_pixels,
        budget=budget,
    )
    assert_same_curves(result, expected)


def test_timings():
    data = series((64, 9, 10), seed=10)
    timings = {}
    results(data, timings=timings, mode='linear')
    assert set(timings) == {
        'upload',
        'convert',
        'fft',
        'cross',
        'gemm',
        'scatter',
        'download',
    }
    assert all(value >= 0 for value in timings.values())


# the plan


@pytest.mark.parametrize('nframes', [64, 63, 96])
@pytest.mark.parametrize('mode', ['circular', 'linear'])
def test_binning_matrix(nframes, mode):
    """M is the binned and smoothed inverse real transform of a spectrum."""
    edges = logbins(nframes // 2, 8)
    plan = gpu._plan(nframes, tuple(edges), mode)
    length = plan.length
    rng = numpy.random.default_rng(nframes)
    spectrum = rng.normal(size=length // 2 + 1) + 1j * rng.normal(
        size=length // 2 + 1
    )
    spectrum[0] = 0
    if length % 2 == 0:
        spectrum[-1] = spectrum[-1].real
    # the curve for delays 0 .. N/2 - 1, normalized by N
    curve = numpy.fft.irfft(spectrum, length)[: nframes // 2] / nframes
    expected = smooth(average_bins(curve, edges))
    got = spectrum[1:].real @ plan.mre - spectrum[1:].imag @ plan.mim
    assert_allclose(got, expected, rtol=0, atol=1e-6 * abs(expected).max())
    assert plan.mre.dtype == numpy.float32
    assert plan.mre.shape == (length // 2, len(edges))


@pytest.mark.parametrize('nframes', [16, 17, 64, 255])
def test_linear_length(nframes):
    """A transform length of N + N//2 - 1 suffices for |delays| < N/2."""
    rng = numpy.random.default_rng(nframes)
    a = rng.normal(size=nframes)
    b = rng.normal(size=nframes)
    delays = numpy.arange(-(nframes // 2) + 1, nframes // 2)
    direct = numpy.array(
        [
            sum(
                a[t] * b[t + d] for t in range(nframes) if 0 <= t + d < nframes
            )
            for d in delays
        ]
    )

    def via_fft(length):
        spectrum = numpy.conj(numpy.fft.rfft(a, length))
        curve = numpy.fft.irfft(spectrum * numpy.fft.rfft(b, length), length)
        return curve[delays % length]

    minimum = nframes + nframes // 2 - 1
    assert_allclose(via_fft(minimum), direct, atol=1e-9)
    assert not numpy.allclose(via_fft(minimum - 1), direct, atol=1e-9)
    assert gpu._plan(nframes, (1, 2), 'linear').length >= minimum


def test_fast_length():
    assert gpu._fast_length(24575) == 24576
    assert gpu._fast_length(1) == 1
    assert gpu._fast_length(11) == 12
    for size in range(1, 400):
        length = gpu._fast_length(size)
        assert length >= size
        rest = length
        for factor in (2, 3, 5, 7):
            while rest % factor == 0:
                rest //= factor
        assert rest == 1
        assert all(gpu._fast_length(n) == length for n in (size, length))


def test_tasks():
    points = circle(6, 32)
    tasks = gpu._tasks(points, cross=False)
    assert len(tasks) == 16
    for u, v, plus, minus in tasks:
        assert v > 0 or (v == 0 and u > 0)
        assert all(tuple(points[i]) == (u, v) for i in plus)
        assert all(tuple(points[i]) == (-u, -v) for i in minus)
    assert len(gpu._tasks(points, cross=True)) == 32
    assert len(gpu._tasks(circle(1, 32), cross=False)) == 4
    assert gpu._tasks([[0, 0], [1, 0]], cross=False) == [
        (0, 0, (0,), ()),
        (1, 0, (1,), ()),
    ]


def test_window_shape():
    assert gpu._window_shape(10**9, 52, 52, 6) == (52, 52)
    assert gpu._window_shape(64 * 20, 52, 52, 6) == (8, 52)
    assert gpu._window_shape(64 * 13, 52, 52, 6) == (1, 52)
    assert gpu._window_shape(100, 52, 52, 2) == (6, 6)
    assert gpu._window_shape(0, 52, 52, 6) == (1, 1)


def test_tile_rows():
    if gpu.available():
        pytest.skip('sized from the device memory here')
    assert gpu.tile_rows(16384, 64, 64, 6) == 27
    assert gpu.tile_rows(256, 64, 64, 6) == 52
    assert gpu.tile_rows(2**20, 4096, 4096, 6) == 1


def test_parallel_copy(monkeypatch):
    monkeypatch.setattr(gpu, '_COPY_BYTES', 0)
    src = series((37, 5, 6), dtype=numpy.dtype('>u2'))
    dst = numpy.empty(src.shape, gpu._device_dtype(src.dtype))
    with ThreadPoolExecutor(3) as pool:
        gpu._parallel_copy(dst, src, pool, 3)
    assert_array_equal(dst, src)
    assert dst.dtype.isnative
    dst[:] = 0
    gpu._parallel_copy(dst, src)
    assert_array_equal(dst, src)


def test_device_dtype():
    assert gpu._device_dtype('>u2') == numpy.uint16
    assert gpu._device_dtype(numpy.float16) == numpy.float32
    assert gpu._device_dtype(numpy.int64) == numpy.int64


# availability without CuPy


def test_unavailable_without_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, 'cupy', None)
    monkeypatch.setattr(gpu, '_AVAILABLE', None)
    assert gpu.available() is False
    assert 'gpu' not in engines.available()
    data = series((64, 9, 9))
    with pytest.raises(ValueError, match=r"engine='gpu' is not available"):
        pcf_image(data, radius=2, npoints=8, engine='gpu')
    with pytest.raises(ValueError, match=r"'reference'"):
        pcf_image(data, radius=2, npoints=8, engine='gpu')
    assert pcf_image(data, radius=2, npoints=8).attrs['engine'] != 'gpu'
    assert 1 <= gpu.tile_rows(256, 64, 64, 6) <= 52


def test_compute_without_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, 'cupy', None)
    data = series((64, 9, 9))
    out = numpy.empty((5, 5, 8, 5), numpy.float32)
    points = circle(2, 8)
    with pytest.raises(ImportError, match=r'ipcf\[gpu\]'):
        gpu.compute(data, out, points=points, edges=logbins(32, 6))


def test_import_engine_without_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, 'cupy', None)
    monkeypatch.delitem(sys.modules, 'ipcf.engines.gpu')
    monkeypatch.setattr(engines, 'gpu', gpu)  # the import rebinds it
    module = importlib.import_module('ipcf.engines.gpu')
    assert module is not gpu
    assert module.NAME == 'gpu'
    assert module.available() is False
    assert module.tile_rows(256, 64, 64, 6) == 52


def test_import_without_cupy():
    code = (
        'import sys; sys.modules["cupy"] = None; '
        'import ipcf, ipcf.engines.gpu as gpu, ipcf.engines as engines; '
        'assert not gpu.available(); '
        'assert "gpu" not in engines.available(); '
        'print("ok")'
    )
    done = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == 'ok'


def test_unavailable_here():
    """Without CuPy and a GPU the engine is not offered."""
    try:
        import cupy  # noqa: F401
    except ImportError:
        assert not gpu.available()
        assert 'gpu' not in engines.available()
    else:
        pytest.skip('CuPy is installed here')


# the CuPy plumbing, run on a stand-in for CuPy built on numpy


class FakeArray(numpy.ndarray):
    """A numpy array with CuPy's set and get."""

    def set(self, arr, stream=None):
        assert isinstance(stream, FakeStream)
        assert self.flags.c_contiguous
        assert arr.dtype == self.dtype
        assert arr.shape == self.shape
        self[...] = arr

    def get(self, stream=None, out=None):
        if out is None:
            return numpy.array(self)
        assert out.flags.c_contiguous and self.flags.c_contiguous
        out[...] = self
        return out


class FakeEvent:
    def __init__(self, disable_timing=False):
        self.timing = not disable_timing
        self.time = None

    def synchronize(self):
        assert self.time is not None


class FakeStream:
    current = []

    def __init__(self, non_blocking=False):
        self.waits = 0

    def __enter__(self):
        FakeStream.current.append(self)
        return self

    def __exit__(self, *exc):
        FakeStream.current.pop()

    def record(self, event=None):
        event = FakeEvent() if event is None else event
        event.time = time.perf_counter()
        return event

    def wait_event(self, event):
        assert event.time is not None
        self.waits += 1

    def synchronize(self):
        pass


def fake_cupy():
    """Return a module standing in for CuPy, and its linalg module."""
    linalg = types.ModuleType('cupy._core._routines_linalg')
    linalg.COMPUTE_TYPE_DEFAULT = 1
    linalg.COMPUTE_TYPE_TF32 = 7
    linalg.types = {'f': 7}
    linalg.get_compute_type = lambda dtype: linalg.types['f']
    linalg.set_compute_type = lambda dtype, ct: linalg.types.update(f=ct)
    core = types.ModuleType('cupy._core')
    core._routines_linalg = linalg

    def wrap(function):
        def wrapped(*args, **kwargs):
            return numpy.asarray(function(*args, **kwargs)).view(FakeArray)

        return wrapped

    def centre(grid, block, args):
        raw, mean, z, nframes, npix, ldz = args
        assert block == (32, 8)
        assert grid[0] * 32 >= npix > (grid[0] - 1) * 32
        assert 1 <= grid[1] <= 65535
        assert raw.shape == (nframes, npix) and raw.flags.c_contiguous
        assert z.shape == (npix, ldz) and z.flags.c_contiguous
        assert mean.dtype == numpy.float64 and z.dtype == numpy.float32
        z[:, :nframes] = raw.T.astype(numpy.float64) - mean[:, None]

    def cross(a, b, re, im):
        x = numpy.conj(a) * b
        re[...] = x.real
        im[...] = x.imag

    cupy = types.ModuleType('cupy')
    for name in ('float32', 'float64', 'complex64', 'nan', 'fft'):
        setattr(cupy, name, getattr(numpy, name))
    for name in ('empty', 'zeros', 'full', 'asarray', 'ascontiguousarray'):
        setattr(cupy, name, wrap(getattr(numpy, name)))
    cupy.where = numpy.where
    cupy.asnumpy = numpy.asarray
    cupy.matmul = numpy.matmul
    cupy.multiply = numpy.multiply
    cupy.ElementwiseKernel = lambda *args: cross
    cupy.RawKernel = lambda source, name: centre
    cupy.get_default_memory_pool = lambda: types.SimpleNamespace(
        free_bytes=lambda: 0
    )
    cupy.cuda = types.SimpleNamespace(
        Stream=FakeStream,
        Event=FakeEvent,
        alloc_pinned_memory=bytearray,
        get_elapsed_time=lambda a, b: (b.time - a.time) * 1e3,
        Device=lambda: types.SimpleNamespace(
            mem_info=(80 * 2**30, 80 * 2**30)
        ),
    )
    cupy._core = core
    return cupy, linalg


@pytest.mark.parametrize('mode', ['circular', 'linear'])
@pytest.mark.parametrize('dtype', [numpy.uint16, '>u2', numpy.float16])
def test_cupy_plumbing(monkeypatch, mode, dtype):
    """Pinned double-buffered transfers, kernels' arguments, timings."""
    cupy, linalg = fake_cupy()
    monkeypatch.setitem(sys.modules, 'cupy', cupy)
    monkeypatch.setitem(sys.modules, 'cupy._core', cupy._core)
    monkeypatch.setitem(sys.modules, 'cupy._core._routines_linalg', linalg)
    monkeypatch.setattr(gpu, '_COPY_BYTES', 0)
    monkeypatch.setattr(gpu, '_AVAILABLE', True)
    data = series((128, 14, 15), 20.0, dtype, seed=18)
    mask = numpy.ones((10, 11), bool)
    mask[3, 2:7] = False
    timings = {}
    for budget in (None, 150_000):
        result, expected = results(
            data,
            mode=mode,
            mask=mask,
            run=gpu._run,
            chunk_pixels=40,
            tile_pixels=33,
            budget=budget,
            num_threads=3,
            timings=timings,
        )
        assert_same_curves(result, expected)
    assert linalg.types['f'] == linalg.COMPUTE_TYPE_TF32  # restored
    assert {'host copy', 'upload', 'convert', 'fft', 'gemm'} <= set(timings)
    assert gpu.tile_rows(128, 14, 15, 2) == 10
    # the whole 1024 x 512 frame fits in 80 GB
    assert gpu.tile_rows(16384, 512, 1024, 6) == 500


def test_array_path_with_device_arrays():
    """The plain array path copies results back explicitly."""
    cupy, _ = fake_cupy()
    data = series((64, 10, 11), 20.0, seed=19)
    result, expected = results(data, xp=cupy, mode='linear')
    assert_same_curves(result, expected)


# on a GPU


def test_gpu_engine_contract():
    gpu_or_skip()
    assert 'gpu' in engines.available()
    assert engines.get('auto') is gpu
    assert 1 <= gpu.tile_rows(16384, 512, 1024, 6) <= 500


@pytest.mark.parametrize('mode', ['circular', 'linear'])
@pytest.mark.parametrize(
    ('mean', 'offset', 'dtype'),
    [
        (5.0, 0.0, numpy.uint16),
        (2.0, 10000.0, numpy.uint16),
        (3.0, 50000.0, numpy.float32),
        (100.0, 0.5, numpy.float64),
        (50.0, 0.0, numpy.dtype('>u2')),
        (5.0, 0.0, numpy.float16),
    ],
)
def test_gpu_equals_reference(mode, mean, offset, dtype):
    gpu_or_skip()
    data = series((256, 12, 13), mean, dtype, seed=11, offset=offset)
    data[:, 5, 6] = 0
    copy = data.copy()
    mask = numpy.ones((8, 9), bool)
    mask[2, 3:7] = False
    result, expected = results(data, mode=mode, mask=mask, run=gpu.compute)
    assert_same_curves(result, expected)
    assert_array_equal(data, copy)


@pytest.mark.parametrize(
    ('radius', 'npoints', 'nframes'), [(1, 32, 128), (2, 7, 201), (3, 32, 96)]
)
def test_gpu_points_and_frames(radius, npoints, nframes):
    gpu_or_skip()
    data = series((nframes, 2 * radius + 7, 2 * radius + 9), 10.0, seed=12)
    result, expected = results(
        data, radius=radius, npoints=npoints, run=gpu.compute
    )
    assert_same_curves(result, expected)


def test_gpu_neighbour_channel():
    gpu_or_skip()
    data = series((128, 12, 13), 10.0, seed=13)
    second = series((128, 12, 13), 30.0, seed=14)
    result, expected = results(data, neighbour=second, run=gpu.compute)
    assert_same_curves(result, expected)


@pytest.mark.parametrize('mode', ['circular', 'linear'])
def test_gpu_pipeline(mode):
    """Several pinned transfers, windows and pair tiles on the device."""
    gpu_or_skip()
    data = series((512, 20, 23), 10.0, seed=15)
    timings = {}
    result, expected = results(
        data,
        mode=mode,
        run=gpu._run,
        tile_pixels=37,
        chunk_pixels=29,
        budget=400_000,
        num_threads=3,
        timings=timings,
    )
    assert_same_curves(result, expected)
    assert {'upload', 'host copy', 'fft', 'gemm'} <= set(timings)


def test_gpu_kernels_equal_array_path():
    """The fused kernels equal CuPy's plain array operations."""
    cupy = gpu_or_skip()
    data = series((256, 16, 17), 100.0, seed=16)
    fused, _ = results(data, run=gpu.compute)
    plain, _ = results(data, xp=cupy)
    assert_allclose(fused, plain, rtol=0, atol=1e-7)


def test_gpu_no_tf32(monkeypatch):
    """Products stay float32 even when CUPY_TF32 asks for TF32."""
    cupy = gpu_or_skip()
    from cupy._core import _routines_linalg as linalg

    previous = linalg.get_compute_type(numpy.float32)
    linalg.set_compute_type(numpy.float32, linalg.COMPUTE_TYPE_TF32)
    try:
        with gpu._float32_products():
            a = cupy.asarray(numpy.full((64, 256), 1 + 2**-12, numpy.float32))
            b = cupy.ones((256, 8), cupy.float32)
            product = float((a @ b)[0, 0])
        assert product == pytest.approx(256 * (1 + 2**-12), rel=1e-7)
        assert linalg.get_compute_type(numpy.float32) == (
            linalg.COMPUTE_TYPE_TF32
        )
    finally:
        linalg.set_compute_type(numpy.float32, previous)


def test_gpu_pcf_image():
    gpu_or_skip()
    data = series((1024, 20, 21), 20.0, seed=17)
    result = pcf_image(data, radius=3, npoints=16, nbins=12, engine='gpu')
    expected = pcf_image(
        data, radius=3, npoints=16, nbins=12, engine='reference'
    )
    assert result.attrs['engine'] == 'gpu'
    assert_same_curves(numpy.asarray(result), numpy.asarray(expected))
