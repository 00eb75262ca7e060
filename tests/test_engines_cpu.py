"""Tests of the cpu engine's own plumbing.

Its results against the reference engine are tested in test_engines.py,
with every other engine.

"""

import gc
import types
import weakref
from concurrent.futures import ThreadPoolExecutor

import numpy
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from ipcf import engines
from ipcf._rows import RowReader
from ipcf.engines import cpu, reference
from ipcf.pcf import pcf_image
from ipcf.plan import Plan

pytestmark = pytest.mark.skipif(
    not cpu.available(), reason='the cpu engine needs numba and scipy'
)

ATOL = 1e-5


def series(shape, mean=100.0, dtype=numpy.uint16, seed=0, offset=0.0):
    """Return Poisson counts around mean (plus a constant offset)."""
    rng = numpy.random.default_rng(seed)
    data = rng.poisson(mean, shape) + offset
    return data.astype(dtype)


def assert_same_curves(result, expected, atol=ATOL):
    """Assert equal NaN positions and values within atol."""
    result = numpy.asarray(result)
    expected = numpy.asarray(expected)
    assert result.dtype == numpy.float32
    assert result.shape == expected.shape
    assert_array_equal(numpy.isnan(result), numpy.isnan(expected))
    assert_allclose(result, expected, rtol=0, atol=atol, equal_nan=True)


def run(module, plan, channels, *, mask=None, fill=numpy.nan, **kwargs):
    """Return out[direction, y, x, point, bin] filled by an engine."""
    shape = plan.out_shape(channels[0].shape[1:])
    out = numpy.full(shape, fill, numpy.float32)
    reader = RowReader(channels, plan.nframes)
    module.compute(plan, reader, out, mask=mask, **kwargs)
    return out


def test_engine_contract():
    assert cpu.NAME == 'cpu'
    assert 'cpu' in engines.available()
    assert engines.get('cpu') is cpu
    names = engines.available()
    assert engines.get('auto').NAME == names[0]
    if 'gpu' not in names:
        assert engines.get('auto') is cpu


def test_concurrent_calls():
    """Calls from several threads at once (separate workspaces)."""
    datas = [series((128, 14, 15), seed=seed) for seed in range(4)]
    kwargs = {'radius': 2, 'npoints': 8, 'nbins': 8, 'engine': 'cpu'}
    expected = [numpy.asarray(pcf_image(d, **kwargs)) for d in datas]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda d: pcf_image(d, **kwargs), datas))
    for result, want in zip(results, expected, strict=True):
        assert_allclose(result, want, rtol=0, atol=1e-7)


def test_compute_skips_masked_out_centres():
    """Rows without centres, and columns outside them, are not written."""
    data = series((32, 9, 9))
    plan = Plan.image(radius=2, npoints=4, nframes=32, nbins=4)
    out = run(cpu, plan, [data], mask=numpy.zeros((5, 5), bool), fill=-1)
    assert (out == -1.0).all()
    mask = numpy.zeros((5, 5), bool)
    mask[3, 1] = mask[3, 3] = True
    out = run(cpu, plan, [data], mask=mask, fill=-1)
    assert (out[:, :3] == -1).all()
    assert (out[:, 4] == -1).all()
    assert (out[:, 3, [0, 4]] == -1).all()
    assert (out[:, 3, 1:4] != -1).all()
    expected = run(reference, plan, [data], mask=mask)
    assert_same_curves(out[:, mask], expected[:, mask])


@pytest.mark.parametrize('cross', [False, True])
def test_strips_on_wide_images(monkeypatch, cross):
    """Strips of columns, with masked-out strips, change nothing."""
    data = series((64, 11, 61), seed=9)
    second = series((64, 11, 61), 40.0, seed=10)
    channels = [data, second] if cross else [data]
    plan = Plan.image(
        radius=3, npoints=12, nframes=64, nbins=6, cross=cross, reverse=cross
    )
    mask = numpy.zeros((5, 55), bool)
    mask[:3, :20] = True
    mask[3:, 40:] = True  # no centres in columns 20..39: strips skipped
    mask[2, 5] = False
    whole = run(cpu, plan, channels, mask=mask)
    regions = []
    region_run = cpu._Region.run
    monkeypatch.setattr(
        cpu._Region,
        'run',
        lambda self: regions.append((self.xw0, self.xw1)) or region_run(self),
    )
    monkeypatch.setattr(cpu, '_WINDOW_BYTES', 12 * 2**10 * len(channels))
    unmasked = run(cpu, plan, channels, num_threads=2)
    strips = len(regions)
    assert strips > 3
    assert all(x1 - x0 < 61 for x0, x1 in regions)
    assert_allclose(unmasked, run(cpu, plan, channels), rtol=0, atol=1e-7)
    regions.clear()
    result = run(cpu, plan, channels, mask=mask, num_threads=2)
    assert 1 < len(regions) < strips  # strips without centres skipped
    result[:, ~mask] = whole[:, ~mask] = numpy.nan
    assert_allclose(result, whole, rtol=0, atol=1e-7)
    expected = run(reference, plan, channels, mask=mask)
    expected[:, ~mask] = numpy.nan
    assert_same_curves(result, expected)


def calls(shapes=((64, 14, 15), (128, 9, 30), (32, 20, 8))):
    """Return results of consecutive calls of various sizes and plans."""
    results = []
    for k, shape in enumerate(shapes):
        data = series(shape, seed=k)
        for mode in ('circular', 'linear'):
            plan = Plan.image(
                radius=2, npoints=8, nframes=shape[0], nbins=8, mode=mode
            )
            results.append(run(cpu, plan, [data], num_threads=2))
        plan = Plan.image(
            radius=3,
            npoints=12,
            nframes=shape[0],
            nbins=6,
            cross=True,
            reverse=True,
        )
        other = series(shape, 30.0, seed=k + 10)
        results.append(run(cpu, plan, [data, other], num_threads=2))
    return results


def test_workspace_reuse_equals_fresh(monkeypatch):
    """Buffers handed from call to call change no result."""
    reused = calls()
    again = calls()
    with monkeypatch.context() as patch:
        patch.setattr(
            cpu._Workspace, 'acquire', classmethod(lambda cls: cls())
        )
        fresh = calls()
    for a, b, c in zip(reused, again, fresh, strict=True):
        assert_array_equal(a, c)
        assert_array_equal(b, c)


def test_workspace_contents_never_read(monkeypatch):
    """The engine writes every buffer element it reads (NaN poison)."""
    expected = calls()
    array = cpu._Workspace.array

    def poisoned(self, name, shape, dtype=numpy.float32):
        buffer = array(self, name, shape, dtype)
        buffer[...] = numpy.nan
        return buffer

    monkeypatch.setattr(cpu._Workspace, 'array', poisoned)
    for result, want in zip(calls(), expected, strict=True):
        assert_array_equal(result, want)


def test_workspace_freed_after_keep_period(monkeypatch):
    """A finished call's buffers serve the next call, then are freed."""
    timers = []

    class Timer:
        def __init__(self, interval, function):
            self.interval = interval
            self.function = function
            self.cancelled = False
            self.daemon = False
            timers.append(self)

        def start(self):
            pass

        def cancel(self):
            self.cancelled = True

    from ipcf import _workspace

    fake = types.SimpleNamespace(Timer=Timer)
    monkeypatch.setattr(_workspace, 'threading', fake)
    buffers = []
    array = cpu._Workspace.array

    def tracked(self, name, shape, dtype=numpy.float32):
        buffer = array(self, name, shape, dtype)
        buffers.append(weakref.ref(buffer.base))
        return buffer

    monkeypatch.setattr(cpu._Workspace, 'array', tracked)
    data = series((64, 12, 13))
    plan = Plan.image(radius=2, npoints=8, nframes=64, nbins=6)
    first = run(cpu, plan, [data])
    gc.collect()
    assert buffers
    assert all(ref() is not None for ref in buffers)  # kept
    assert timers[-1].interval == cpu._KEEP_SECONDS > 0
    count = len(buffers)
    second = run(cpu, plan, [data])
    assert_array_equal(second, first)
    assert timers[0].cancelled  # the next call took the buffers
    reused = {id(ref()) for ref in buffers[:count]}
    assert {id(ref()) for ref in buffers[count:]} <= reused
    timers[-1].function()  # the keep period ends
    gc.collect()
    assert all(ref() is None for ref in buffers)  # freed
    assert_array_equal(run(cpu, plan, [data]), first)


def test_sgemm_set():
    """The BLAS call the kernels make: C = A @ B with leading dims."""
    from numba import njit

    from ipcf.engines import _cpu_kernels

    @njit
    def gemm_set(a, b, c):
        # row-major C = A @ B is column-major C.T = B.T @ A.T
        m, k = a.shape
        n = b.shape[1]
        _cpu_kernels._sgemm_set(
            _cpu_kernels.SGEMM,
            n,
            m,
            k,
            b,
            b.strides[0] // 4,
            a,
            a.strides[0] // 4,
            c,
            c.strides[0] // 4,
        )

    rng = numpy.random.default_rng(0)
    for m, k, n in [(1, 1, 1), (3, 7, 5), (33, 256, 16), (128, 19, 30)]:
        # views into larger arrays: leading dimensions beyond the shape
        a = rng.normal(size=(m, k + 3)).astype(numpy.float32)[:, :k]
        b = rng.normal(size=(k, n + 2)).astype(numpy.float32)[:, :n]
        c = rng.normal(size=(m, n + 5)).astype(numpy.float32)
        expected = c.copy()
        expected[:, :n] = a.astype(numpy.float64) @ b
        gemm_set(a, b, c[:, :n])
        assert_allclose(c, expected, rtol=1e-5, atol=1e-4)
        assert_array_equal(c[:, n:], expected[:, n:])


def test_sgemm_single_blas_thread(monkeypatch):
    """Pool threads each call BLAS with one thread: results unchanged."""
    from threadpoolctl import threadpool_info

    seen = []
    compute = cpu._Region.run

    def spy(self):
        seen.extend(
            info['num_threads']
            for info in threadpool_info()
            if info['user_api'] == 'blas'
        )
        return compute(self)

    monkeypatch.setattr(cpu._Region, 'run', spy)
    data = series((64, 12, 13))
    plan = Plan.image(radius=2, npoints=8, nframes=64, nbins=6)
    result = run(cpu, plan, [data], num_threads=2)
    assert seen and set(seen) == {1}
    assert_same_curves(result, run(reference, plan, [data]))
