import sys
import threading

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from ipcf.correlate import (
    BACKENDS,
    DIRECT_MAX_SIZE,
    _auto_backend,
    correlate,
    correlate_backends,
)

AVAILABLE = correlate_backends()
ALL = [*AVAILABLE, 'auto']
FFT_BACKENDS = [name for name in AVAILABLE if name not in {'direct', 'numba'}]


def definition(a, b, circular):
    """Return the SPEC correlation by its defining double loop."""
    n = len(a)
    c = numpy.zeros(n)
    for k in range(n):
        d = k - n // 2
        for t in range(n):
            if circular:
                c[k] += a[(t + d) % n] * b[t]
            elif 0 <= t + d < n:
                c[k] += a[t + d] * b[t]
    return c


def fft_reference(a, b, circular):
    """Return the SPEC correlation by a float64 numpy FFT."""
    n = len(a)
    size = n if circular else 2 * n
    c = numpy.fft.irfft(
        numpy.fft.rfft(a, size) * numpy.fft.rfft(b, size).conj(), size
    )
    return c[(numpy.arange(n) - n // 2) % size]


def assert_close(result, expected):
    scale = max(numpy.abs(expected).max(), 1e-300)
    assert_allclose(result, expected, rtol=0, atol=1e-9 * scale)


@pytest.mark.parametrize('backend', ALL)
@pytest.mark.parametrize(
    ('a', 'b', 'mode', 'expected'),
    [
        ([1, 2], [3, 4], 'linear', [4, 11]),
        ([1, 2], [3, 4], 'circular', [10, 11]),
        ([1, 2, 3], [4, 8, 16], 'linear', [40, 68, 32]),
        ([1, 2, 3], [4, 8, 16], 'circular', [52, 68, 48]),
        ([1, 2, 3, 4], [5, 6, 7, 8], 'linear', [23, 44, 70, 56]),
        ([2], [3], 'linear', [6]),
        ([2], [3], 'circular', [6]),
    ],
)
def test_correlate_worked_values(backend, a, b, mode, expected):
    """Every backend reproduces the worked values of SPEC."""
    result = correlate(a, b, mode=mode, backend=backend)
    assert result.dtype == numpy.float64
    assert result.shape == (len(a),)
    assert_allclose(result, expected, rtol=0, atol=1e-9)


def test_correlate_default_is_linear():
    assert_array_equal(correlate([1, 2], [3, 4]), [4, 11])


@pytest.mark.parametrize('backend', ALL)
@pytest.mark.parametrize('mode', ['linear', 'circular'])
@settings(max_examples=25, deadline=None)
@given(
    size=st.integers(1, 300),
    seed=st.integers(0, 2**32 - 1),
)
def test_correlate_equals_definition(backend, mode, size, seed):
    """Random float64 input of odd and even lengths matches the sum."""
    rng = numpy.random.default_rng(seed)
    a = rng.random(size) - 0.5
    b = rng.random(size) * 100.0
    expected = definition(a, b, mode == 'circular')
    assert_close(correlate(a, b, mode=mode, backend=backend), expected)


@pytest.mark.parametrize('mode', ['linear', 'circular'])
@pytest.mark.parametrize('size', [255, 256, 1000, 1024, 2047, 4096])
def test_correlate_backends_agree_with_direct(mode, size):
    """All backends agree with 'direct' to 1e-9 of the largest value."""
    rng = numpy.random.default_rng(size)
    a = rng.random(size) - 0.5
    b = rng.random(size) - 0.5
    expected = correlate(a, b, mode=mode, backend='direct')
    for backend in ALL:
        result = correlate(a, b, mode=mode, backend=backend)
        assert_close(result, expected)


@pytest.mark.parametrize('mode', ['linear', 'circular'])
@pytest.mark.parametrize('size', [2**13 + 1, 2**14, 2**16 - 1, 2**16])
def test_correlate_fft_backends_large(mode, size):
    """FFT backends agree with a float64 FFT reference up to 2**16."""
    rng = numpy.random.default_rng(size)
    a = rng.random(size) - 0.5
    b = rng.random(size) - 0.5
    expected = fft_reference(a, b, mode == 'circular')
    for backend in [*FFT_BACKENDS, 'auto']:
        assert_close(correlate(a, b, mode=mode, backend=backend), expected)


@pytest.mark.parametrize('size', [2**k for k in range(1, 18)])
def test_correlate_numba_fft_powers_of_two(size):
    """The compiled FFT is exact for every power of two it handles."""
    if 'numba_fft' not in AVAILABLE:
        pytest.skip('numba is not available')
    rng = numpy.random.default_rng(size)
    a = rng.random(size) - 0.5
    b = rng.random(size) - 0.5
    result = correlate(a, b, mode='circular', backend='numba_fft')
    assert_close(result, fft_reference(a, b, True))


@pytest.mark.parametrize('backend', AVAILABLE)
def test_correlate_input_kinds(backend):
    """Integer, float32 and strided input is accepted and not modified."""
    a = numpy.arange(20, dtype=numpy.uint16)
    b = numpy.arange(40, dtype=numpy.float32)[::2]
    a_copy = a.copy()
    b_copy = b.copy()
    expected = definition(a.astype(float), b.astype(float), False)
    assert_close(correlate(a, b, backend=backend), expected)
    assert_array_equal(a, a_copy)
    assert_array_equal(b, b_copy)
    c = correlate(list(range(5)), (1, 2, 3, 4, 5), backend=backend)
    assert_close(c, definition(range(5), (1, 2, 3, 4, 5), False))


@pytest.mark.parametrize(
    ('a', 'b', 'match'),
    [
        ([True, False], [True, True], 'bool'),
        ([1 + 1j, 2], [1, 2], 'complex'),
        (numpy.array([1, 2], dtype=object), [1, 2], 'object'),
        (['a', 'b'], [1, 2], '<U1'),
    ],
)
def test_correlate_type_errors(a, b, match):
    with pytest.raises(TypeError, match=match):
        correlate(a, b)
    with pytest.raises(TypeError, match=match):
        correlate(b, a)


@pytest.mark.parametrize(
    ('a', 'b', 'match'),
    [
        ([[1, 2]], [[1, 2]], 'one-dimensional'),
        (5, 5, 'one-dimensional'),
        ([], [], 'empty'),
        ([1, 2, 3], [1, 2], 'differ in length: 3 != 2'),
    ],
)
def test_correlate_value_errors(a, b, match):
    with pytest.raises(ValueError, match=match):
        correlate(a, b)


@pytest.mark.parametrize('mode', ['same', 'Linear', None, 1])
def test_correlate_mode_error(mode):
    with pytest.raises(ValueError, match="'linear', 'circular'"):
        correlate([1, 2], [3, 4], mode=mode)


@pytest.mark.parametrize('backend', ['mkl', None, 'AUTO'])
def test_correlate_backend_error(backend):
    with pytest.raises(ValueError, match='numpy_fft') as info:
        correlate([1, 2], [3, 4], backend=backend)
    assert 'auto' in str(info.value)


def test_correlate_backends_listed():
    assert AVAILABLE[:4] == [
        'direct',
        'scipy_signal',
        'numpy_fft',
        'scipy_fft',
    ]
    assert set(AVAILABLE) <= set(BACKENDS)


def test_correlate_without_cupy(monkeypatch):
    """Without CuPy the 'cupy' backend is absent and refused."""
    monkeypatch.setitem(sys.modules, 'cupy', None)
    assert 'cupy' not in correlate_backends()
    with pytest.raises(ValueError, match='not available'):
        correlate([1, 2], [3, 4], backend='cupy')


def test_correlate_without_numba(monkeypatch):
    """Without numba (or pyFFTW) 'auto' uses scipy."""
    monkeypatch.setitem(sys.modules, 'numba', None)
    monkeypatch.setitem(sys.modules, 'pyfftw', None)
    names = correlate_backends()
    assert 'numba' not in names
    assert 'numba_fft' not in names
    assert _auto_backend(1024, True) == 'scipy_fft'
    with pytest.raises(ValueError, match='not available'):
        correlate([1, 2], [3, 4], backend='numba')
    assert_allclose(correlate([1, 2], [3, 4], mode='circular'), [10, 11])


def test_correlate_without_pyfftw(monkeypatch):
    """Without pyFFTW the 'fftw' backend is absent and refused."""
    monkeypatch.setitem(sys.modules, 'pyfftw', None)
    assert 'fftw' not in correlate_backends()
    with pytest.raises(ValueError, match='not available'):
        correlate([1, 2], [3, 4], backend='fftw')


def test_correlate_auto_rule(monkeypatch):
    assert _auto_backend(DIRECT_MAX_SIZE, True) == 'direct'
    if 'fftw' in AVAILABLE:
        assert _auto_backend(1000, True) == 'fftw'
        assert _auto_backend(1024, False) == 'fftw'
    monkeypatch.setitem(sys.modules, 'pyfftw', None)
    if 'numba_fft' in AVAILABLE:
        assert _auto_backend(1024, True) == 'numba_fft'
        assert _auto_backend(1000, False) == 'numba_fft'
    assert _auto_backend(1000, True) == 'scipy_fft'


@pytest.mark.parametrize('backend', ['numba', 'numba_fft', 'fftw'])
def test_correlate_numba_concurrent(backend):
    """Concurrent calls from several threads give correct results."""
    if backend not in AVAILABLE:
        pytest.skip(f'{backend} is not available')
    rng = numpy.random.default_rng(3)
    pairs = [(rng.random(1024), rng.random(1024)) for _ in range(4)]
    expected = [fft_reference(a, b, True) for a, b in pairs]
    results = [None] * len(pairs)

    def work(i):
        for _ in range(5):
            a, b = pairs[i]
            results[i] = correlate(a, b, mode='circular', backend=backend)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result, reference in zip(results, expected, strict=True):
        assert_close(result, reference)


def test_correlate_cupy():
    """The CuPy backend equals the direct one."""
    pytest.importorskip('cupy')
    if 'cupy' not in AVAILABLE:
        pytest.skip('CuPy finds no GPU')
    rng = numpy.random.default_rng(4)
    a = rng.random(1001)
    b = rng.random(1001)
    for mode in ('linear', 'circular'):
        expected = correlate(a, b, mode=mode, backend='direct')
        assert_close(correlate(a, b, mode=mode, backend='cupy'), expected)
