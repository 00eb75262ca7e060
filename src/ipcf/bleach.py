"""Correct image time series for photobleaching, pixel by pixel.

Photobleaching makes every pixel's intensity decay over the recording. The
decay correlates every pair of pixels at every delay and hides the pair
correlation of the fluctuations, so it is removed first: each pixel's
slow trend ``s[t]`` is estimated and the series is rescaled to

    y[t] = sqrt(|m / s[t]|) * (x[t] - s[t]) + m

with ``m`` the pixel's mean. The fluctuations around the trend keep their
relative size (they are scaled as if the pixel had kept its mean
brightness), and the series is flat at ``m``. Methods differ in how they
estimate the trend:

``'filter'`` (default, ``'filter:1024'``)
    Forward and backward exponential smoothing with a time constant of
    ``size`` frames, the correction of the tutorial this package follows
    (SPEC "Photobleaching correction"). Follows any slow change, not only
    bleaching (focus drift, lamp flicker), without a model. It removes
    correlations slower than about ``size / 25`` frames as well and drops
    the first and last ``size`` frames, where the smoother has not
    settled. Use it for long series (``T`` well above ``2 * size``) whose
    delays of interest are short compared with ``size``.
``'exp'`` and ``'exp2'``
    A fitted ``b + a * exp(-t / tau)`` (``'exp2'``: two exponentials).
    Keeps every frame and, being smooth over the whole series, distorts
    no delay. Use them for short series, or when long delays matter and
    bleaching follows such a law.
``'poly'`` (``'poly:2'``)
    A fitted polynomial of the given degree (default 2) in time. For
    slow, smooth trends of no particular shape; high degrees follow the
    noise.
``'none'``
    No correction.

>>> data = numpy.random.default_rng(0).poisson(100, (64, 2, 2))
>>> correct(data, method='filter', param=8).shape
(48, 2, 2)

"""

from __future__ import annotations

__all__ = ['METHODS', 'correct', 'frames_dropped', 'parse_method']

import math
from typing import Any

import numpy
from numpy.typing import ArrayLike

from ._utils import number_threads
from ._validate import check_int

METHODS = ('filter', 'exp', 'exp2', 'poly', 'none')
"""Names of the correction methods."""

# default parameter of each method: filter size, polynomial degree
_DEFAULTS: dict[str, int | None] = {
    'filter': 1024,
    'exp': None,
    'exp2': None,
    'poly': 2,
    'none': None,
}
# the fits use the means of this many equal bins of frames
_FIT_BINS = 256
# trial time constants of the exponential fits, log-spaced, in units of
# the series length; the shortest is a few bins, the longest a near line
_TAU_RANGE = (1.0 / 64, 64.0)
_TAU_COUNT = 64
_TAU_COUNT_PAIRS = 32
# golden-section steps refining the time constant of 'exp' (interval
# shrinks to 0.618**steps of two grid steps) and pixels refined at once
_GOLDEN_STEPS = 20
_FIT_PIXELS = 4096
# pixels handled together, a run of a row (or of a whole frame when frames
# are contiguous): longer runs stream better (1.7x from 256 to 2048)
_RUN = 2048
# frames between kept forward values of the filter (see the kernel)
_CHECKPOINT = 64


def parse_method(text: str | None, /) -> tuple[str, int | None]:
    """Return ``(method, param)`` of a ``'METHOD[:param]'`` string.

    Parameters
    ----------
    text : str or None
        ``'filter'``, ``'filter:SIZE'``, ``'exp'``, ``'exp2'``, ``'poly'``,
        ``'poly:DEGREE'`` or ``'none'`` (case-insensitive; None is
        ``'none'``). ``'filter:0'`` is ``('none', None)``.

    Returns
    -------
    method : str
        One of :data:`METHODS`.
    param : int or None
        Filter size in frames (default 1024) or polynomial degree
        (default 2); None for the other methods.

    Raises
    ------
    TypeError
        If `text` is not a string.
    ValueError
        If the method is unknown or its parameter is not a valid integer.

    Examples
    --------
    >>> parse_method('filter')
    ('filter', 1024)
    >>> parse_method('poly:3')
    ('poly', 3)
    >>> parse_method('exp')
    ('exp', None)

    """
    name, param = _split(text)
    if param is None:
        param = _DEFAULTS[name]
    if name == 'filter' and param == 0:
        return 'none', None
    return name, param


def _split(text: Any) -> tuple[str, int | None]:
    """Return (method, explicit parameter or None) of a method string."""
    if text is None:
        return 'none', None
    if not isinstance(text, str):
        msg = f'bleach method {text!r} is not a string like "filter:1024"'
        raise TypeError(msg)
    name, sep, value = text.strip().lower().partition(':')
    name = name.strip()
    if name not in METHODS:
        choices = ', '.join(METHODS)
        msg = (
            f'unknown bleach correction {text!r}; use one of {choices}, '
            f'with a parameter for filter (size) and poly (degree), e.g. '
            f'"filter:1024" or "poly:2"'
        )
        raise ValueError(msg)
    if not sep:
        return name, None
    if _DEFAULTS[name] is None:
        msg = f'bleach correction {name!r} takes no parameter, got {text!r}'
        raise ValueError(msg)
    try:
        param = int(value.strip())
    except ValueError:
        param = -1
    if param < 0:
        what = 'filter size' if name == 'filter' else 'polynomial degree'
        msg = f'{what} in {text!r} must be an integer >= 0'
        raise ValueError(msg)
    return name, param


def frames_dropped(method: str, param: int | None = None, /) -> int:
    """Return how many frames a correction removes from a series.

    Parameters
    ----------
    method : str
        A method name or a ``'METHOD[:param]'`` string, as taken by
        :func:`parse_method`.
    param : int, optional
        The method's parameter; overrides one given in `method`. Default:
        the method's default.

    Returns
    -------
    int
        ``2 * size`` for ``'filter'``, else 0.

    Examples
    --------
    >>> frames_dropped('filter', 1024)
    2048
    >>> frames_dropped('filter:16'), frames_dropped('exp')
    (32, 0)

    """
    name, param = _method_param(method, param)
    return 2 * param if name == 'filter' else 0


def correct(
    data: ArrayLike,
    /,
    *,
    method: str = 'filter',
    param: int | None = None,
    mean: str = 'float',
    out: numpy.ndarray | None = None,
    num_threads: int | None = None,
) -> numpy.ndarray:
    """Return an image series corrected for photobleaching, per pixel.

    Parameters
    ----------
    data : array_like, shape (T, H, W), (T, N) or (T,)
        Time series of every pixel, time first; integer or floating-point.
        Read into memory as a whole (pass one block of pixels with all its
        frames at a time for data larger than memory). Not modified.
    method : str, optional, default: 'filter'
        ``'filter'``, ``'exp'``, ``'exp2'``, ``'poly'`` or ``'none'``; see
        the module description for when to use which. A
        ``'METHOD:param'`` string as :func:`parse_method` takes sets
        `param` too (an explicit `param` wins).
    param : int, optional
        ``'filter'``: the filter size ``f`` in frames, >= 0 (default 1024;
        0 disables the correction). ``'poly'``: the degree, >= 0 (default
        2). Not used by the other methods.
    mean : {'float', 'floor'}, optional, default: 'float'
        The level ``m`` each pixel is brought back to: its mean over all
        ``T`` frames as a float (default), or that mean rounded down, as
        the tutorial's integer division of the integer sum does.
    out : ndarray, optional
        Array to write the result to, of shape ``(T - frames_dropped,
        ...)`` and any integer or floating-point dtype. Values are
        computed for the dtype of `data` (rounded and clipped for integer
        data), then cast. It must not overlap `data`.
    num_threads : int, optional
        Threads to use. Default: all cores.

    Returns
    -------
    ndarray
        The corrected series, of `data`'s dtype (or `out`). ``'filter'``
        returns ``T - 2 * f`` frames: frame ``k`` of the result is frame
        ``k + f`` of the input. The other methods return ``T`` frames.
        ``'none'`` and ``f = 0`` return `data` itself as an array (not a
        copy), or `out` filled with it.

    Raises
    ------
    TypeError
        If `data` is not integer or floating-point, or an argument has
        the wrong type.
    ValueError
        If the method or a parameter is unknown or out of range, `data`
        has too few frames for the method, or `out` has the wrong shape.

    Notes
    -----
    Every method computes, per pixel and frame in float64,

        y[t] = sqrt(|m / s[t]|) * (x[t] - s[t]) + m

    with ``s`` the trend, and ``y[t] = m`` where ``s[t] == 0``. For
    integer data ``y`` is rounded half to even and clipped to the range
    of the dtype; floating-point data are neither rounded nor clipped.

    ``'filter'`` follows SPEC exactly: with ``f0 = 1 / f`` and
    ``f1 = 1 - f0``, forward ``s[0] = x[0]``,
    ``s[t] = f0 * x[t] + f1 * s[t - 1]``, then backward
    ``s[t] = f0 * s[t] + f1 * s[t + 1]`` for ``t = T - 2 .. 0``; the first
    and last ``f`` frames are dropped. The smoothing acts as a high-pass
    filter on the fluctuations: it distorts correlation curves at delays
    beyond about ``f / 25`` frames (40 frames for the default 1024), so
    keep the delays of interest below that or use a larger `f`.

    The fits (``'exp'``, ``'exp2'``, ``'poly'``) are least-squares fits to
    the means of 256 equal bins of frames (all frames if fewer), weighted
    by the bin sizes, which for smooth trends equals a fit to every frame
    while reading each value once. ``'exp'`` fits
    ``b + a * exp(-t / tau)``, ``'exp2'`` ``b + a1 * exp(-t / tau1) +
    a2 * exp(-t / tau2)``, per pixel; ``a`` may have either sign. The time
    constants are chosen from 64 (``'exp2'``: pairs of 32) log-spaced
    values between ``T / 64`` and ``64 T`` (a near-linear trend); for
    ``'exp'`` the best one is refined by a golden-section search between
    its neighbours (to about 1e-4 relative). The amplitudes and the offset
    are then exact least-squares values for those constants. ``'poly'``
    fits Legendre polynomials in ``2 t / (T - 1) - 1``.

    On 18432x76x76 uint16 blocks on a 2-core machine, ``'filter'``
    corrected about 350 MB/s, 14 times a numpy loop over frames; the
    fits about 120-160 MB/s.

    Examples
    --------
    >>> rng = numpy.random.default_rng(0)
    >>> decay = 100 * numpy.exp(-numpy.arange(4096) / 2000)
    >>> data = rng.poisson(decay[:, None, None] + 50, (4096, 4, 4))
    >>> result = correct(data, method='exp')
    >>> result.shape, result.dtype == data.dtype
    ((4096, 4, 4), True)
    >>> bool(abs(result[:512].mean() - result[-512:].mean()) < 1)
    True

    """
    array = numpy.asarray(data)
    if array.dtype.kind not in 'uif':
        msg = (
            f'data has dtype {array.dtype}; expected an integer or '
            f'floating-point type'
        )
        raise TypeError(msg)
    if not 1 <= array.ndim <= 3:
        msg = (
            f'data has shape {array.shape}; expected (T, H, W), (T, N) or '
            f'(T,) with time first'
        )
        raise ValueError(msg)
    name, param = _method_param(method, param)
    if mean not in {'float', 'floor'}:
        msg = f"{mean=!r} is not 'float' or 'floor'"
        raise ValueError(msg)
    nthreads = number_threads(num_threads)
    nframes = array.shape[0]
    dropped = 2 * param if name == 'filter' else 0
    need = {
        'filter': 2 * (param or 0) + 1,
        'exp': 3,
        'exp2': 5,
        'poly': (param or 0) + 1,
        'none': 1,
    }[name]
    if nframes < need:
        if name == 'filter':
            msg = (
                f'data has {nframes} frames, too few for the bleach filter '
                f'of size {param}: it drops the first and last {param} '
                f'frames, so more than {2 * param} are needed; use a '
                f'smaller size or a fit (exp, poly)'
            )
        else:
            msg = (
                f'data has {nframes} frames, too few for the {name!r} '
                f'bleach fit, which needs at least {need}'
            )
        raise ValueError(msg)
    shape = (nframes - dropped, *array.shape[1:])
    if out is not None:
        if not isinstance(out, numpy.ndarray):
            msg = f'out is a {type(out).__name__}, not a numpy array'
            raise TypeError(msg)
        if out.shape != shape:
            msg = (
                f'out.shape={out.shape} does not match the result shape '
                f'{shape} for data of shape {array.shape} and {method=!r}'
            )
            raise ValueError(msg)
        if out.dtype.kind not in 'uif':
            msg = f'out.dtype={out.dtype} is not an integer or float type'
            raise TypeError(msg)
        if numpy.shares_memory(out, array):
            msg = 'out overlaps data; pass a separate array'
            raise ValueError(msg)

    if name == 'none':
        if out is None:
            return array
        out[...] = array
        return out

    dtype = array.dtype.newbyteorder('=')
    x = array.astype(dtype, copy=False)
    while x.ndim < 3:
        x = x[:, None]
    result = numpy.empty(shape, dtype) if out is None else out
    if not result.dtype.isnative:
        msg = f'out.dtype={result.dtype} is not in native byte order'
        raise ValueError(msg)
    if result.size == 0:
        return result
    target = result
    while target.ndim < 3:
        target = target[:, None]
    if name == 'filter':
        _filter(x, target, param, floor=mean == 'floor', nthreads=nthreads)
    else:
        _fit(x, target, name, param, floor=mean == 'floor', nthreads=nthreads)
    return result


def _correct_head(
    x: numpy.ndarray,
    out: numpy.ndarray,
    method: str,
    param: int | None,
    *,
    num_threads: int,
    sums: numpy.ndarray | None = None,
    row: int = 0,
) -> bool:
    """Fill ``out[:, row:row + H]`` with the first frames of ``correct(x)``.

    For callers that analyse only the first frames of a correction (the
    pipeline's power-of-two truncation): nothing else is computed or
    copied. `x` is (T, H, W) in native byte order, C-ordered, `method`
    and `param` as :func:`parse_method` returns them; `out` is a
    C-ordered (n, R, W) buffer, native, not overlapping `x`, with at most
    ``T - frames_dropped`` frames and ``R >= row + H``. Return whether
    `sums` (float64 (H, W), C-ordered) got the sum over the n frames of
    each pixel of the result, exact for integer `out`: the filter gives
    them with the correction, the others do not.
    """
    rows = numpy.s_[:, row : row + x.shape[1]]
    if method == 'none':
        out[rows] = x[: out.shape[0]]
        return False
    if out[rows].size == 0:
        return False
    if method == 'filter':
        _filter(
            x, out, param, floor=False, nthreads=num_threads, sums=sums,
            row=row,
        )  # fmt: skip
        return sums is not None
    if row == 0 and out.shape[1] == x.shape[1]:
        _fit(x, out, method, param, floor=False, nthreads=num_threads)
    else:
        target = numpy.empty((out.shape[0], *x.shape[1:]), out.dtype)
        _fit(x, target, method, param, floor=False, nthreads=num_threads)
        out[rows] = target
    return False


def _method_param(method: Any, param: Any) -> tuple[str, int | None]:
    """Return the validated (method, param) of a method and parameter."""
    name, _ = _split(method)
    if param is None:
        return parse_method(method)
    if _DEFAULTS[name] is None:
        msg = f'{param=} does not apply to the {name!r} bleach correction'
        raise ValueError(msg)
    param = check_int(param, 'param', minimum=0)
    if name == 'filter' and param == 0:
        return 'none', None
    return name, param


def _limits(dtype: numpy.dtype) -> tuple[float, float, bool]:
    """Return (lo, hi, integer) of the values a dtype can hold."""
    if dtype.kind in 'ui':
        info = numpy.iinfo(dtype)
        return float(info.min), float(info.max), True
    return -math.inf, math.inf, False


def _tiles(height: int, width: int, nthreads: int) -> list[numpy.ndarray]:
    """Return pixel runs (y, x0, x1), split into up to nthreads parts."""
    # long runs stream best; as many runs for every thread
    nruns = nthreads * -(-width // (nthreads * _RUN))
    run = -(-width // nruns)
    run = max(8, -(-run // 8) * 8)
    starts = numpy.arange(0, width, run)
    runs = numpy.array(
        [(y, s, min(s + run, width)) for y in range(height) for s in starts],
        dtype=numpy.int64,
    ).reshape(-1, 3)
    parts = min(nthreads, len(runs))
    return [p for p in numpy.array_split(runs, parts) if len(p)]


def _flat(array: numpy.ndarray) -> numpy.ndarray:
    """Return (T, H, W) as a (T, 1, H * W) view if frames are contiguous."""
    _, height, width = array.shape
    item = array.dtype.itemsize
    if height > 1 and array.strides[1:] == (width * item, item):
        return array.reshape(array.shape[0], 1, height * width)
    return array


def _layout(
    x: numpy.ndarray, out: numpy.ndarray, row: int = 0
) -> tuple[numpy.ndarray, numpy.ndarray, int, int]:
    """Return x and out as flat pixel rows if both allow it, else as is.

    With the offsets ``(oy, ox)`` in `out` of pixel ``(0, 0)`` of `x`,
    whose rows go to rows `row` on of `out`.
    """
    fx, fout = _flat(x), _flat(out)
    if fx.shape[1] == 1 and fout.shape[1] == 1:
        return fx, fout, 0, row * x.shape[2]
    return x, out, row, 0


def _run_parts(function: Any, parts: list[numpy.ndarray]) -> None:
    """Call function(part) for every part, in threads if several."""
    if len(parts) == 1:
        function(parts[0])
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(parts)) as pool:
        list(pool.map(function, parts))


def _accumulator(dtype: numpy.dtype) -> numpy.dtype:
    return numpy.dtype(numpy.int64 if dtype.kind in 'ui' else numpy.float64)


def _filter(
    x: numpy.ndarray,
    out: numpy.ndarray,
    size: int,
    *,
    floor: bool,
    nthreads: int,
    sums: numpy.ndarray | None = None,
    row: int = 0,
) -> None:
    """Fill out with the SPEC filter correction of x (T, H, W).

    `sums` (float64 (H, W), C-ordered), if given, gets the sum over the
    frames of out of each pixel as stored. With `row`, `out` is a larger
    buffer (n, R, W) whose rows from `row` on get the result.
    """
    from ._bleach_kernels import filter_correct

    lo, hi, integer = _limits(x.dtype)
    proto = numpy.zeros(1, _accumulator(x.dtype))
    checkpoint = max(1, min(_CHECKPOINT, x.shape[0]))
    fx, out, oy, ox = _layout(x, out, row)
    if sums is None:
        sums = numpy.zeros((0, 0))
    elif fx is not x:
        sums = sums.reshape(1, -1)
    x = fx

    def work(tiles: numpy.ndarray) -> None:
        filter_correct(
            x, out, oy, ox, tiles, size, floor, lo, hi, integer, proto,
            checkpoint, sums,
        )  # fmt: skip

    _run_parts(work, _tiles(x.shape[1], x.shape[2], nthreads))


def _pixel_means(
    x: numpy.ndarray, *, floor: bool, nthreads: int
) -> numpy.ndarray:
    """Return the mean over time of every pixel as float64 (H, W)."""
    from ._bleach_kernels import pixel_sums

    sums = numpy.empty(x.shape[1:], _accumulator(x.dtype))
    flat = _flat(x)
    target = sums.reshape(flat.shape[1:])

    def work(tiles: numpy.ndarray) -> None:
        pixel_sums(flat, tiles, target)

    _run_parts(work, _tiles(flat.shape[1], flat.shape[2], nthreads))
    if floor:
        return (sums // x.shape[0]).astype(numpy.float64)
    return sums / x.shape[0]


def _bin_means(x: numpy.ndarray) -> tuple[numpy.ndarray, ...]:
    """Return (centres, sizes, means (nbins, H*W)) of equal frame bins."""
    nframes = x.shape[0]
    nbins = min(nframes, _FIT_BINS)
    edges = numpy.linspace(0, nframes, nbins + 1).round().astype(numpy.int64)
    starts = edges[:-1]
    sizes = numpy.diff(edges).astype(numpy.float64)
    means = numpy.add.reduceat(x, starts, axis=0, dtype=numpy.float64)
    means /= sizes[:, None, None]
    centres = (edges[:-1] + edges[1:] - 1) / 2.0
    return centres, sizes, means.reshape(nbins, -1)


def _fit(
    x: numpy.ndarray,
    out: numpy.ndarray,
    name: str,
    degree: int | None,
    *,
    floor: bool,
    nthreads: int,
) -> None:
    """Fill out with the correction of x (T, H, W) by a fitted trend."""
    from ._bleach_kernels import model_correct

    nframes, height, width = x.shape
    npixels = height * width
    centres, sizes, means = _bin_means(x)
    weights = sizes / sizes.sum()
    level = weights @ means  # weighted mean of every pixel
    centred = means - level
    empty2 = numpy.zeros((nframes, 0))
    empty3 = numpy.zeros((0, height, width))
    offset = level.copy()
    if name == 'poly':
        from numpy.polynomial import legendre

        span = max(nframes - 1, 1)
        vander = legendre.legvander(2.0 * centres / span - 1.0, degree)
        root = numpy.sqrt(weights)[:, None]
        coef = numpy.linalg.lstsq(root * vander, root * means, rcond=None)[0]
        basis = legendre.legvander(
            2.0 * numpy.arange(nframes) / span - 1.0, degree
        )
        coef = coef.reshape(degree + 1, height, width)
        offset = numpy.zeros(npixels)
        amplitude, rate = empty3, empty3
    else:
        basis, coef = empty2, empty3
        taus = numpy.geomspace(
            _TAU_RANGE[0] * nframes,
            _TAU_RANGE[1] * nframes,
            _TAU_COUNT if name == 'exp' else _TAU_COUNT_PAIRS,
        )
        if name == 'exp':
            rates, amps, offset = _fit_exp(centres, weights, centred, taus)
        else:
            rates, amps, offset = _fit_exp2(centres, weights, centred, taus)
        offset += level
        amplitude = amps.reshape(-1, height, width)
        rate = rates.reshape(-1, height, width)
    offset = offset.reshape(height, width)
    mean = _pixel_means(x, floor=floor, nthreads=nthreads)
    lo, hi, integer = _limits(x.dtype)
    x, out, _, _ = _layout(x, out)
    if x.shape[1] == 1:  # flat pixel rows: parameters likewise
        shape = (1, height * width)
        mean, offset = mean.reshape(shape), offset.reshape(shape)
        coef = coef.reshape(-1, *shape)
        amplitude = amplitude.reshape(-1, *shape)
        rate = rate.reshape(-1, *shape)

    def work(tiles: numpy.ndarray) -> None:
        model_correct(
            x,
            out,
            tiles,
            mean,
            basis,
            coef,
            offset,
            amplitude,
            rate,
            lo,
            hi,
            integer,
        )

    _run_parts(work, _tiles(x.shape[1], x.shape[2], nthreads))


def _basis(
    centres: numpy.ndarray, weights: numpy.ndarray, taus: numpy.ndarray
) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Return weighted-centred unit exponentials (K, nbins), means, norms."""
    raw = numpy.exp(-centres[None, :] / taus[:, None])
    level = raw @ weights
    basis = raw - level[:, None]
    norm = numpy.sqrt((basis**2) @ weights)
    basis /= norm[:, None]
    return basis, level, norm


def _fit_exp(
    centres: numpy.ndarray,
    weights: numpy.ndarray,
    centred: numpy.ndarray,
    taus: numpy.ndarray,
) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Return rates (1, P), amplitudes (1, P) and offsets (P,) of a fit.

    `centred` holds the bin means minus each pixel's weighted mean; the
    returned offsets are relative to that mean.
    """
    basis, _, _ = _basis(centres, weights, taus)
    # the squared residual falls by proj**2 for each trial constant
    proj = (basis * weights) @ centred
    score = proj**2
    best = numpy.argmax(score, axis=0)
    # refine log(tau) by golden-section search between the neighbours
    logtaus = numpy.log(taus)
    lo = logtaus[numpy.maximum(best - 1, 0)]
    hi = logtaus[numpy.minimum(best + 1, len(taus) - 1)]
    tau = numpy.empty(centred.shape[1])
    amp = numpy.empty(centred.shape[1])
    offset = numpy.empty(centred.shape[1])
    for start in range(0, centred.shape[1], _FIT_PIXELS):
        part = slice(start, start + _FIT_PIXELS)
        tau[part], amp[part], offset[part] = _golden(
            centres, weights, centred[:, part], lo[part], hi[part]
        )
    return (1.0 / tau)[None, :], amp[None, :], offset


def _exp_fit(
    centres: numpy.ndarray,
    weights: numpy.ndarray,
    centred: numpy.ndarray,
    logtau: numpy.ndarray,
) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Return (score, amplitude, offset) of each pixel's own tau."""
    raw = numpy.exp(-centres[:, None] * numpy.exp(-logtau)[None, :])
    level = weights @ raw
    raw -= level
    norm = weights @ raw**2
    proj = weights @ (raw * centred)
    with numpy.errstate(divide='ignore', invalid='ignore'):
        amp = numpy.where(norm > 0, proj / norm, 0.0)
    return amp * proj, amp, -amp * level


def _golden(
    centres: numpy.ndarray,
    weights: numpy.ndarray,
    centred: numpy.ndarray,
    lo: numpy.ndarray,
    hi: numpy.ndarray,
) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Return (tau, amplitude, offset) maximizing the score in [lo, hi]."""
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a = lo.copy()
    b = hi.copy()
    c = b - ratio * (b - a)
    d = a + ratio * (b - a)
    fc = _exp_fit(centres, weights, centred, c)[0]
    fd = _exp_fit(centres, weights, centred, d)[0]
    for _ in range(_GOLDEN_STEPS):
        left = fc >= fd  # the maximum lies in [a, d]
        b = numpy.where(left, d, b)
        a = numpy.where(left, a, c)
        new = numpy.where(left, b - ratio * (b - a), a + ratio * (b - a))
        fnew = _exp_fit(centres, weights, centred, new)[0]
        c, d = numpy.where(left, new, d), numpy.where(left, c, new)
        fc, fd = numpy.where(left, fnew, fd), numpy.where(left, fc, fnew)
    logtau = (a + b) / 2.0
    _, amp, offset = _exp_fit(centres, weights, centred, logtau)
    return numpy.exp(logtau), amp, offset


def _fit_exp2(
    centres: numpy.ndarray,
    weights: numpy.ndarray,
    centred: numpy.ndarray,
    taus: numpy.ndarray,
) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Return rates (2, P), amplitudes (2, P) and offsets (P,) of a fit."""
    basis, level, norm = _basis(centres, weights, taus)
    proj = (basis * weights) @ centred
    gram = (basis * weights) @ basis.T
    npixels = centred.shape[1]
    best = numpy.full(npixels, -1.0)
    first = numpy.zeros(npixels, numpy.int64)
    second = numpy.ones(npixels, numpy.int64)
    for i in range(len(taus)):
        for j in range(i + 1, len(taus)):
            g = gram[i, j]
            if g * g > 1 - 1e-6:  # nearly the same shape: ill-posed
                continue
            # squared norm of the projection on span(e_i, e_j)
            score = proj[i] ** 2 + (proj[j] - g * proj[i]) ** 2 / (1 - g * g)
            better = score > best
            best = numpy.where(better, score, best)
            first = numpy.where(better, i, first)
            second = numpy.where(better, j, second)
    # amplitudes on the unit basis, then on the raw exponentials
    g = gram[first, second]
    pi = proj[first, numpy.arange(npixels)]
    pj = proj[second, numpy.arange(npixels)]
    cj = (pj - g * pi) / (1 - g * g)
    ci = pi - g * cj
    amp = numpy.stack([ci / norm[first], cj / norm[second]])
    offset = -(amp[0] * level[first] + amp[1] * level[second])
    rates = numpy.stack([1.0 / taus[first], 1.0 / taus[second]])
    return rates, amp, offset
