"""One-dimensional cross-correlation with interchangeable backends.

:func:`correlate` returns the unnormalized cross-correlation of two real
sequences of equal length, linear (zero-padded) or circular, as SPEC
defines it; :func:`correlate_backends` lists the implementations available
on this machine. All backends agree within 1e-9 of the largest magnitude
of the result; they differ in speed, which ``benchmarks/bench_correlate.py``
(``ipcf bench correlate``) compares.

"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

__all__ = ['BACKENDS', 'MODES', 'correlate', 'correlate_backends']

BACKENDS = (
    'direct',
    'scipy_signal',
    'numpy_fft',
    'scipy_fft',
    'numba',
    'numba_fft',
    'fftw',
    'cupy',
)
"""Backend names, in the order :func:`correlate_backends` lists them."""

MODES = ('linear', 'circular')
"""Values of the ``mode`` argument of :func:`correlate`."""

DIRECT_MAX_SIZE = 128
"""Longest sequences ``backend='auto'`` correlates by the direct sum."""

_NUMBA_LOCK = threading.Lock()
_LOCAL = threading.local()


def correlate(
    a: ArrayLike,
    b: ArrayLike,
    /,
    *,
    mode: str = 'linear',
    backend: str = 'auto',
) -> NDArray[numpy.float64]:
    """Return the cross-correlation of two real sequences of equal length.

    Parameters
    ----------
    a, b : array_like, shape (n,)
        Real sequences, integer or floating-point, ``n >= 1``. Not
        modified.
    mode : {'linear', 'circular'}, optional, default: 'linear'
        ``'linear'`` treats samples outside ``0..n-1`` as zero,
        ``'circular'`` wraps indices modulo ``n``.
    backend : str, optional, default: 'auto'
        Implementation, one of :func:`correlate_backends`:

        - ``'direct'``: sliding dot product, :func:`numpy.correlate`;
        - ``'scipy_signal'``: :func:`scipy.signal.fftconvolve`;
        - ``'numpy_fft'``: :mod:`numpy.fft`, the plain FFT baseline;
        - ``'scipy_fft'``: :mod:`scipy.fft` on one thread, shift folded
          into the spectrum;
        - ``'numba'``: compiled sliding dot product on all cores (on one
          thread while another call holds them);
        - ``'numba_fft'``: compiled FFT for powers of two (linear mode pads
          to one); other circular lengths use ``'scipy_fft'``;
        - ``'fftw'``: the FFTW library through pyFFTW, with plans and
          aligned buffers kept per thread and length; both sequences are
          transformed in one batched call;
        - ``'cupy'``: CuPy FFT on the GPU, where CuPy finds one.

        ``'auto'`` picks ``'direct'`` for ``n <=`` :data:`DIRECT_MAX_SIZE`,
        else ``'fftw'``; without pyFFTW, ``'numba_fft'`` for linear mode
        and for circular mode of a power-of-two length, else
        ``'scipy_fft'``. These were the fastest on a 2-core x86 machine.

    Returns
    -------
    ndarray, shape (n,), dtype float64
        ``c[k]`` is the correlation at delay ``d = k - n // 2``, negative
        delays first: ``c[d] = sum_t a[t + d] * b[t]``.

    Raises
    ------
    TypeError
        If ``a`` or ``b`` is not of integer or floating-point type
        (bool, complex and object arrays are refused).
    ValueError
        If ``a`` or ``b`` is not one-dimensional or empty, the lengths
        differ, or ``mode`` or ``backend`` is not one of the choices.

    Notes
    -----
    The linear correlation sums over ``0 <= t + d < n`` only;
    the circular one takes ``t + d`` modulo ``n``. Unnormalized: the pair
    curve of a centre pixel ``a`` toward a neighbour ``b`` is
    ``correlate(b, a, mode='circular')`` at non-negative delays divided by
    ``n * mean(a) * mean(b)``, minus 1.

    FFT backends compute the circular correlation as the inverse transform
    of ``A * conj(B)`` and the linear one on zero-padded sequences; the
    shift of delay 0 to index ``n // 2`` is a factor ``(-1)**k`` on the
    spectrum for even lengths.

    Examples
    --------
    >>> correlate([1, 2], [3, 4])
    array([ 4., 11.])
    >>> correlate([1, 2], [3, 4], mode='circular')
    array([10., 11.])
    >>> correlate([1, 2, 3], [4, 8, 16], backend='direct')
    array([40., 68., 32.])

    """
    a = _check_sequence(a, 'a')
    b = _check_sequence(b, 'b')
    if a.size != b.size:
        msg = f'a and b differ in length: {a.size} != {b.size}'
        raise ValueError(msg)
    if not isinstance(mode, str) or mode not in MODES:
        msg = f'{mode=!r} is not one of {MODES}'
        raise ValueError(msg)
    circular = mode == 'circular'
    if backend == 'auto':
        backend = _auto_backend(a.size, circular)
    function = _backend_function(backend)
    return function(a, b, circular)


def correlate_backends() -> list[str]:
    """Return the names of the correlate backends available here.

    ``'numba'`` and ``'numba_fft'`` need numba to import, ``'cupy'``
    needs CuPy to import and to find a GPU.

    Returns
    -------
    list of str
        Subset of :data:`BACKENDS`, in that order.

    Examples
    --------
    >>> names = correlate_backends()
    >>> names[:4]
    ['direct', 'scipy_signal', 'numpy_fft', 'scipy_fft']

    """
    return [name for name in BACKENDS if _available(name)]


def _check_sequence(value: ArrayLike, name: str) -> NDArray[numpy.float64]:
    """Return value as a C-contiguous float64 vector or raise."""
    array = numpy.asarray(value)
    if array.dtype.kind not in 'uif':
        msg = (
            f'{name}.dtype={array.dtype} is not an integer or '
            'floating-point type'
        )
        raise TypeError(msg)
    if array.ndim != 1:
        msg = f'{name} must be one-dimensional, not of shape {array.shape}'
        raise ValueError(msg)
    if array.size == 0:
        msg = f'{name} is empty; it needs at least one sample'
        raise ValueError(msg)
    return numpy.ascontiguousarray(array, dtype=numpy.float64)


def _available(name: str) -> bool:
    """Return whether backend name can run here."""
    if name in {'numba', 'numba_fft'}:
        try:
            import numba  # noqa: F401
        except ImportError:
            return False
        return True
    if name == 'fftw':
        try:
            import pyfftw  # noqa: F401
        except ImportError:
            return False
        return True
    if name == 'cupy':
        return _cupy_device_count() > 0
    return name in BACKENDS


def _cupy_device_count() -> int:
    """Return the number of GPUs CuPy can use, 0 without CuPy."""
    try:
        import cupy
    except ImportError:
        return 0
    try:
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # noqa: BLE001 - any CUDA failure means no GPU
        return 0


def _auto_backend(size: int, circular: bool) -> str:
    """Return the backend 'auto' stands for; see :func:`correlate`."""
    if size <= DIRECT_MAX_SIZE:
        return 'direct'
    if _available('fftw'):
        return 'fftw'
    if (not circular or _is_power_of_two(size)) and _available('numba_fft'):
        return 'numba_fft'
    return 'scipy_fft'


def _backend_function(
    name: str,
) -> Callable[
    [NDArray[numpy.float64], NDArray[numpy.float64], bool],
    NDArray[numpy.float64],
]:
    """Return the function of backend name or raise ValueError."""
    function = _FUNCTIONS.get(name) if isinstance(name, str) else None
    if function is None or not _available(name):
        msg = (
            f'backend={name!r} is not available; choose one of '
            f'{["auto", *correlate_backends()]}'
        )
        raise ValueError(msg)
    return function


def _is_power_of_two(size: int) -> bool:
    return size >= 1 and size & (size - 1) == 0


def _pad_size(size: int) -> int:
    """Return the power of two >= 2 that linear correlation pads to."""
    return max(2, 1 << (2 * size - 2).bit_length())


def _center(c: NDArray[numpy.float64], size: int) -> NDArray[numpy.float64]:
    """Return delays -size//2 .. size-1-size//2 of an unshifted result."""
    half = size // 2
    if half == 0:
        return c[:size].copy()
    return numpy.concatenate((c[c.size - half :], c[: size - half]))


def _direct(a, b, circular):
    n = a.size
    if circular:
        half = n // 2
        extended = numpy.concatenate((a[n - half :], a, a[: n - half - 1]))
        return numpy.correlate(extended, b, mode='valid')
    full = numpy.correlate(a, b, mode='full')
    start = n - 1 - n // 2
    return full[start : start + n].copy()


def _scipy_signal(a, b, circular):
    from scipy.signal import fftconvolve

    n = a.size
    if circular:
        half = n // 2
        extended = numpy.concatenate((a[n - half :], a, a[: n - half - 1]))
        return fftconvolve(extended, b[::-1], mode='valid')
    full = fftconvolve(a, b[::-1], mode='full')
    start = n - 1 - n // 2
    return full[start : start + n].copy()


def _numpy_fft(a, b, circular):
    # the tutorial's correlate_fft; linear pads to twice the length
    n = a.size
    size = n if circular else 2 * n
    spectrum = numpy.fft.rfft(a, size)
    spectrum *= numpy.fft.rfft(b, size).conj()
    c = numpy.fft.irfft(spectrum, size)
    if circular:
        return numpy.fft.fftshift(c)
    return _center(c, n)


def _scipy_fft(a, b, circular):
    import scipy.fft

    n = a.size
    size = n if circular else scipy.fft.next_fast_len(2 * n - 1, real=True)
    spectrum = scipy.fft.rfft(a, size, workers=1)
    other = scipy.fft.rfft(b, size, workers=1)
    numpy.conjugate(other, out=other)
    spectrum *= other
    if size % 2 == 0:
        # shift by size/2: (-1)**k on the spectrum instead of a copy
        spectrum[1::2] *= -1.0
        c = scipy.fft.irfft(spectrum, size, overwrite_x=True, workers=1)
        start = size // 2 - n // 2
        if circular:
            return c
        return c[start : start + n].copy()
    c = scipy.fft.irfft(spectrum, size, overwrite_x=True, workers=1)
    return _center(c, n)


def _numba(a, b, circular):
    from . import _correlate_numba

    out = numpy.empty(a.size)
    # numba's workqueue layer aborts on concurrent parallel calls: a call
    # that finds the pool busy runs on its own thread instead
    if _NUMBA_LOCK.acquire(blocking=False):
        try:
            _correlate_numba.direct_parallel(a, b, out, circular)
        finally:
            _NUMBA_LOCK.release()
    else:
        _correlate_numba.direct_serial(a, b, out, circular)
    return out


def _numba_fft(a, b, circular):
    from . import _correlate_numba as kernels

    n = a.size
    if circular:
        if n < 2 or not _is_power_of_two(n):
            return _scipy_fft(a, b, circular)
        out = numpy.empty(n)
        kernels.circular_fft(a, b, out, *kernels.fft_plan(n), _work(n))
        return out
    size = _pad_size(n)
    padded = numpy.zeros((2, size))
    padded[0, :n] = a
    padded[1, :n] = b
    c = numpy.empty(size)
    plan = kernels.fft_plan(size)
    kernels.circular_fft(padded[0], padded[1], c, *plan, _work(size))
    start = size // 2 - n // 2
    return c[start : start + n].copy()


def _work(size: int) -> NDArray[numpy.float64]:
    """Return this thread's work buffer for a numba FFT of size."""
    # reused: a fresh buffer of this size costs page faults on every call
    from ._correlate_numba import work_size

    buffers = getattr(_LOCAL, 'buffers', None)
    if buffers is None:
        buffers = _LOCAL.buffers = {}
    work = buffers.get(size)
    if work is None:
        if len(buffers) > 8:
            buffers.clear()
        work = buffers[size] = numpy.empty(work_size(size))
    return work


def _fftw(a, b, circular):
    n = a.size
    size = n if circular else _pad_size(n)
    plan = _fftw_plan(size)
    signal = plan.input_array
    signal[0, :n] = a
    signal[1, :n] = b
    if size > n:
        signal[:, n:] = 0.0
    plan.forward()
    spectrum, other = plan.spectra
    numpy.conjugate(other, out=other)
    spectrum *= other
    spectrum *= plan.twist
    c = plan.inverse()
    if size % 2 == 0:
        start = size // 2 - n // 2
        return c[start : start + n].copy()
    return _center(c, n)


class _FFTWPlan:
    """FFTW plans and aligned buffers for correlations of one length."""

    def __init__(self, size: int) -> None:
        import pyfftw

        half = size // 2 + 1
        self.input_array = pyfftw.empty_aligned((2, size), 'float64')
        self.spectra = pyfftw.empty_aligned((2, half), 'complex128')
        self.output = pyfftw.empty_aligned(size, 'float64')
        # normalization, and for even sizes the shift of delay 0 to
        # index size // 2 as (-1)**k, in one factor on the spectrum
        self.twist = numpy.full(half, 1.0 / size)
        if size % 2 == 0:
            self.twist[1::2] *= -1.0
        # measuring pays for the lengths that are used over and over;
        # planning other lengths by estimate keeps first calls cheap
        common = size >= 256 and _is_power_of_two(size)
        flags = ('FFTW_MEASURE',) if common else ('FFTW_ESTIMATE',)
        self.forward = pyfftw.FFTW(
            self.input_array,
            self.spectra,
            axes=(1,),
            flags=flags,
            threads=1,
        ).execute
        self._inverse = pyfftw.FFTW(
            self.spectra[0],
            self.output,
            direction='FFTW_BACKWARD',
            flags=(*flags, 'FFTW_DESTROY_INPUT'),
            threads=1,
        ).execute

    def inverse(self) -> NDArray[numpy.float64]:
        """Return the unnormalized inverse transform of spectra[0]."""
        self._inverse()
        return self.output


def _fftw_plan(size: int) -> _FFTWPlan:
    """Return this thread's FFTW plan for correlations of length size."""
    plans = getattr(_LOCAL, 'fftw', None)
    if plans is None:
        plans = _LOCAL.fftw = {}
    plan = plans.get(size)
    if plan is None:
        if len(plans) > 16:
            plans.clear()
        plan = plans[size] = _FFTWPlan(size)
    return plan


def _cupy(a, b, circular):  # pragma: no cover - needs a GPU
    import cupy

    n = a.size
    size = n if circular else _pad_size(n)
    x = cupy.asarray(a)
    y = cupy.asarray(b)
    spectrum = cupy.fft.rfft(x, size)
    spectrum *= cupy.fft.rfft(y, size).conj()
    c = cupy.asnumpy(cupy.fft.irfft(spectrum, size))
    if circular:
        return numpy.fft.fftshift(c)
    return _center(c, n)


_FUNCTIONS = {
    'direct': _direct,
    'scipy_signal': _scipy_signal,
    'numpy_fft': _numpy_fft,
    'scipy_fft': _scipy_fft,
    'numba': _numba,
    'numba_fft': _numba_fft,
    'fftw': _fftw,
    'cupy': _cupy,
}
