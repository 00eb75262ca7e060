"""Tests of the gpu engine's own plumbing.

Its results against the reference engine, with CuPy and with its
arithmetic run on numpy, are tested in test_engines.py with every other
engine. Here: the engine without CuPy, the window sizes, the host
copies, the CuPy plumbing on a stand-in built on numpy, and what only a
GPU can show.

"""

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
from ipcf._rows import RowReader
from ipcf.engines import gpu, reference
from ipcf.pcf import pcf_image
from ipcf.plan import Plan

ATOL = 1e-5


def series(shape, mean=5.0, dtype=numpy.uint16, seed=0, offset=0.0):
    """Return Poisson counts around mean (plus a constant offset)."""
    rng = numpy.random.default_rng(seed)
    return (rng.poisson(mean, shape) + offset).astype(dtype)


def image_plan(nframes, *, radius=2, npoints=8, nbins=8, **options):
    """Return the plan of a circle pCF."""
    return Plan.image(
        radius=radius, npoints=npoints, nframes=nframes, nbins=nbins, **options
    )


def results(compute, plan, channels, *, mask=None, **options):
    """Return an engine's and the reference engine's curves."""
    shape = plan.out_shape(channels[0].shape[1:])
    result = numpy.full(shape, numpy.nan, numpy.float32)
    expected = result.copy()
    compute(
        plan, RowReader(channels, plan.nframes), result, mask=mask, **options
    )
    reference.compute(
        plan, RowReader(channels, plan.nframes), expected, mask=mask
    )
    if mask is not None:
        result[:, ~mask] = expected[:, ~mask] = numpy.nan
    return result, expected


def numpy_path(xp=numpy):
    """Return a compute function running the arithmetic with xp."""

    def compute(plan, reader, out, **options):
        gpu._compute(xp, plan, reader, out, **options)

    return compute


def count_windows(monkeypatch):
    """Return the list that the boxes of gpu._window calls go to."""
    boxes = []
    window = gpu._window
    monkeypatch.setattr(
        gpu, '_window', lambda *args: boxes.append(args[8]) or window(*args)
    )
    return boxes


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


def test_timings():
    data = series((64, 9, 10), seed=10)
    timings = {}
    result, expected = results(
        numpy_path(), image_plan(64, mode='linear'), [data], timings=timings
    )
    assert_same_curves(result, expected)
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


def test_windows_from_budget(monkeypatch):
    """The budget sets the windows; each centre is in exactly one."""
    data = series((64, 17, 19), 10.0, seed=9)
    plan = image_plan(64, radius=3, npoints=12, nbins=6)
    boxes = count_windows(monkeypatch)
    results(numpy_path(), plan, [data])
    assert boxes == [(0, 11, 0, 13)]  # the default 256 MB hold it all
    per_pixel = gpu._pixel_bytes(64, 1, 12, 6)
    for pixels in (1, 40, 120, 17 * 19 - 1):
        boxes.clear()
        result, expected = results(
            numpy_path(), plan, [data], budget=pixels * per_pixel
        )
        assert_same_curves(result, expected)
        assert len(boxes) > 1
        covered = numpy.zeros((11, 13), int)
        for y0, y1, x0, x1 in boxes:
            covered[y0:y1, x0:x1] += 1
            if (y1 - y0 + 6) * (x1 - x0 + 6) > pixels:
                assert (y0, y1, x0, x1) == (y0, y0 + 1, x0, x0 + 1)
        assert (covered == 1).all()


def test_windows_skip_masked_out(monkeypatch):
    data = series((64, 17, 19), 10.0, seed=9)
    plan = image_plan(64, radius=3, npoints=12, nbins=6)
    mask = numpy.zeros((11, 13), bool)
    mask[:3, :4] = True
    boxes = count_windows(monkeypatch)
    per_pixel = gpu._pixel_bytes(64, 1, 12, 6)
    result, expected = results(
        numpy_path(), plan, [data], mask=mask, budget=150 * per_pixel
    )
    assert_same_curves(result, expected)
    assert boxes
    for y0, y1, x0, x1 in boxes:
        assert mask[y0:y1, x0:x1].any()


@pytest.mark.parametrize(
    ('max_pixels', 'height', 'width', 'hy', 'hx'),
    [
        (10**9, 52, 52, 6, 6),
        (64 * 20, 52, 52, 6, 6),
        (64 * 13, 52, 52, 6, 6),
        (64 * 12, 52, 52, 6, 6),
        (100, 52, 52, 2, 2),
        (100, 52, 52, 0, 3),
        (1000, 40, 7, 3, 1),
        (0, 52, 52, 6, 6),
        (5, 1, 1, 1, 1),
    ],
)
def test_window_shape(max_pixels, height, width, hy, hx):
    """Windows with their halo fit the pixels, as large as they can."""
    rows, cols = gpu._window_shape(max_pixels, height, width, hy, hx)
    assert 1 <= rows <= height
    assert 1 <= cols <= width
    full = width + 2 * hx
    if max_pixels >= (1 + 2 * hy) * full:
        # bands of full rows, as many as fit
        assert cols == width
        assert (rows + 2 * hy) * full <= max_pixels or rows == height
        assert rows == height or (rows + 1 + 2 * hy) * full > max_pixels
    elif (rows, cols) != (1, 1):
        assert (rows + 2 * hy) * (cols + 2 * hx) <= max_pixels


def test_window_shape_values():
    assert gpu._window_shape(10**9, 52, 52, 6, 6) == (52, 52)
    assert gpu._window_shape(64 * 20, 52, 52, 6, 6) == (8, 52)
    assert gpu._window_shape(64 * 13, 52, 52, 6, 6) == (1, 52)
    assert gpu._window_shape(100, 52, 52, 2, 2) == (6, 6)
    assert gpu._window_shape(0, 52, 52, 6, 6) == (1, 1)
    assert gpu._window_shape(22 * 10, 52, 20, 4, 1) == (2, 20)


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
    half = src.astype(numpy.float16)
    dst = numpy.empty(src.shape, gpu._device_dtype(half.dtype))
    with ThreadPoolExecutor(2) as pool:
        gpu._parallel_copy(dst, half, pool, 2)
    assert_array_equal(dst, src)


def test_device_dtype():
    assert gpu._device_dtype('>u2') == numpy.uint16
    assert gpu._device_dtype(numpy.float16) == numpy.float32
    assert gpu._device_dtype(numpy.int64) == numpy.int64
    assert gpu._device_dtype('>f8') == numpy.float64
    assert gpu._device_dtype('>f8').isnative


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


def test_compute_without_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, 'cupy', None)
    data = series((64, 9, 9))
    plan = image_plan(64)
    out = numpy.empty(plan.out_shape((9, 9)), numpy.float32)
    with pytest.raises(ImportError, match=r'ipcf\[gpu\]'):
        gpu.compute(plan, RowReader([data], 64), out)


def test_import_engine_without_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, 'cupy', None)
    monkeypatch.delitem(sys.modules, 'ipcf.engines.gpu')
    monkeypatch.setattr(engines, 'gpu', gpu)  # the import rebinds it
    module = importlib.import_module('ipcf.engines.gpu')
    assert module is not gpu
    assert module.NAME == 'gpu'
    assert module.available() is False
    # the numpy path needs no CuPy
    data = series((64, 9, 10), 20.0, seed=1)
    plan = image_plan(64)
    out = numpy.full(plan.out_shape((9, 10)), numpy.nan, numpy.float32)
    module._compute(numpy, plan, RowReader([data], 64), out)
    _, expected = results(numpy_path(), plan, [data])
    assert_same_curves(out, expected)


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


def fake_cupy(free=80 * 2**30):
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
        Device=lambda: types.SimpleNamespace(mem_info=(free, 80 * 2**30)),
    )
    cupy._core = core
    return cupy, linalg


def install_fake_cupy(monkeypatch, **kwargs):
    """Put a stand-in for CuPy in sys.modules; return it and its linalg."""
    cupy, linalg = fake_cupy(**kwargs)
    monkeypatch.setitem(sys.modules, 'cupy', cupy)
    monkeypatch.setitem(sys.modules, 'cupy._core', cupy._core)
    monkeypatch.setitem(sys.modules, 'cupy._core._routines_linalg', linalg)
    monkeypatch.setattr(gpu, '_COPY_BYTES', 0)
    monkeypatch.setattr(gpu, '_AVAILABLE', True)
    return cupy, linalg


@pytest.mark.parametrize('cross', [False, True])
@pytest.mark.parametrize('mode', ['circular', 'linear'])
@pytest.mark.parametrize('dtype', [numpy.uint16, '>u2', numpy.float16])
def test_cupy_plumbing(monkeypatch, mode, dtype, cross):
    """Pinned double-buffered transfers, kernels' arguments, timings."""
    _, linalg = install_fake_cupy(monkeypatch)
    data = series((128, 14, 15), 20.0, dtype, seed=18)
    channels = [data]
    if cross:
        channels.append(series((128, 14, 15), 40.0, dtype, seed=19))
    plan = image_plan(128, mode=mode, cross=cross, reverse=cross)
    mask = numpy.ones((10, 11), bool)
    mask[3, 2:7] = False
    timings = {}
    for budget in (None, 150_000):
        result, expected = results(
            gpu._run,
            plan,
            channels,
            mask=mask,
            chunk_pixels=40,
            tile_pixels=33,
            budget=budget,
            num_threads=3,
            timings=timings,
        )
        assert_same_curves(result, expected)
    assert linalg.types['f'] == linalg.COMPUTE_TYPE_TF32  # restored
    assert {'host copy', 'upload', 'convert', 'fft', 'gemm'} <= set(timings)


@pytest.mark.parametrize(
    ('free', 'windows'), [(80 * 2**30, 1), (10**6, 2), (1, 2)]
)
def test_cupy_windows_from_free_memory(monkeypatch, free, windows):
    """Windows are sized from the free device memory."""
    install_fake_cupy(monkeypatch, free=free)
    boxes = count_windows(monkeypatch)
    data = series((64, 14, 15), 20.0, seed=20)
    result, expected = results(gpu.compute, image_plan(64), [data])
    assert_same_curves(result, expected)
    assert len(boxes) >= windows
    if windows == 1:
        assert boxes == [(0, 10, 0, 11)]
    cells = sum((y1 - y0) * (x1 - x0) for y0, y1, x0, x1 in boxes)
    assert cells == 10 * 11


def test_cupy_progress(monkeypatch):
    install_fake_cupy(monkeypatch)
    data = series((64, 14, 15), 20.0, seed=21)
    done = []
    results(gpu.compute, image_plan(64), [data], progress=done.append)
    assert sum(done) == 10 * 11


def test_array_path_with_device_arrays():
    """The plain array path copies results back explicitly."""
    cupy, _ = fake_cupy()
    data = series((64, 10, 11), 20.0, seed=19)
    result, expected = results(
        numpy_path(cupy), image_plan(64, mode='linear'), [data]
    )
    assert_same_curves(result, expected)


# on a GPU


def test_gpu_engine_contract():
    gpu_or_skip()
    assert 'gpu' in engines.available()
    assert engines.get('auto') is gpu


@pytest.mark.parametrize('mode', ['circular', 'linear'])
def test_gpu_pipeline(mode):
    """Several pinned transfers, windows and pair tiles on the device."""
    gpu_or_skip()
    data = series((512, 20, 23), 10.0, seed=15)
    timings = {}
    result, expected = results(
        gpu._run,
        image_plan(512, mode=mode),
        [data],
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
    plan = image_plan(256)
    fused, _ = results(gpu.compute, plan, [data])
    plain, _ = results(numpy_path(cupy), plan, [data])
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
